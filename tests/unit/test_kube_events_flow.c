/*
 * test_kube_events_flow.c — the Event recorder against a scripted API
 * server on loopback (test_kube_watch_fakeapi.h) through the real client:
 * create, repeats PATCH count/lastTimestamp, a garbage-collected Event
 * (PATCH 404) is created again, a name collision (POST 409) retries under a
 * new name, the spam filter and the queue bound drop, bad arguments are
 * refused, long messages are cut at a UTF-8 boundary, and a hung server
 * cannot hold kube_recorder_free beyond the request timeout.
 *
 * Not for: a real API server (tests/e2e/kubeevents_*).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kube/kube_events.h"

#include "test_kube_watch_fakeapi.h"

typedef struct store {
    pthread_mutex_t mu;
    json_t *events;       /* name -> Event */
    int posts, patches, patch_404, post_409;
    bool conflict_next;   /* answer the next POST with 409 */
    bool hang;            /* never answer */
    long rv;
    char last_patch_ctype[64];
} store;

static int events_handler(fake_api *a, const fake_req *r, int fd, void *ud)
{
    store *s = ud;
    pthread_mutex_lock(&s->mu);
    bool hang = s->hang;
    pthread_mutex_unlock(&s->mu);
    if (hang) {
        fake_hold(a, fd);
        return FAKE_CLOSE;
    }
    const char *prefix = "/api/v1/namespaces/";
    if (strncmp(r->path, prefix, strlen(prefix)) != 0 ||
        !strstr(r->path, "/events")) {
        fake_send_status(fd, 404, "NotFound", "no such path");
        return FAKE_KEEP;
    }
    const char *tail = strstr(r->path, "/events") + 7;
    pthread_mutex_lock(&s->mu);
    if (!strcmp(r->method, "POST") && !*tail) {
        s->posts++;
        const char *name;
        json_t *ev = fake_event_body(fd, &s->mu, r, &name);
        if (!ev)
            return FAKE_KEEP;
        if (s->conflict_next || json_object_get(s->events, name)) {
            s->conflict_next = false;
            s->post_409++;
            pthread_mutex_unlock(&s->mu);
            json_decref(ev);
            fake_send_status(fd, 409, "AlreadyExists",
                             "events \"x\" already exists");
            return FAKE_KEEP;
        }
        char rv[32];
        snprintf(rv, sizeof rv, "%ld", ++s->rv);
        json_object_set_new(json_object_get(ev, "metadata"),
                            "resourceVersion", json_string(rv));
        json_object_set(s->events, name, ev);
        pthread_mutex_unlock(&s->mu);
        fake_send_json(fd, 201, ev);
        json_decref(ev);
        return FAKE_KEEP;
    }
    if (!strcmp(r->method, "PATCH") && *tail == '/') {
        s->patches++;
        json_t *ev = json_object_get(s->events, tail + 1);
        if (!ev)
            s->patch_404++;
        return fake_event_patch(fd, &s->mu, ev, r);
    }
    pthread_mutex_unlock(&s->mu);
    fake_send_status(fd, 405, "MethodNotAllowed", "no");
    return FAKE_KEEP;
}

static void quiet(const char *msg, void *ud)
{
    (void)msg;
    (void)ud;
}

typedef struct env {
    store s;
    fake_api api;
    kube_client *c;
} env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    pthread_mutex_init(&e->s.mu, NULL);
    e->s.events = json_object();
    e->c = fake_api_connect(&e->api, events_handler, &e->s, "shop");
    if (!e->c)
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    fake_api_disconnect(&e->api, e->c);
    json_decref(e->s.events);
    pthread_mutex_destroy(&e->s.mu);
    free(e);
    return 0;
}

static kube_object_ref ref(void)
{
    kube_object_ref r = {.api_version = "v1",
                         .kind = "Pod",
                         .namespace = "shop",
                         .name = "api-7f9",
                         .uid = "0c6f-11"};
    return r;
}

/* The single stored Event whose message starts with prefix. */
static json_t *find(store *s, const char *prefix, int *matches)
{
    json_t *hit = NULL;
    *matches = 0;
    const char *k;
    json_t *v;
    pthread_mutex_lock(&s->mu);
    json_object_foreach(s->events, k, v) {
        const char *m = json_string_value(json_object_get(v, "message"));
        if (m && !strncmp(m, prefix, strlen(prefix))) {
            (*matches)++;
            hit = v;
        }
    }
    json_incref(hit);
    pthread_mutex_unlock(&s->mu);
    return hit;
}

static void test_create_patch_recreate(void **state)
{
    env *e = *state;
    char err[256];
    kube_recorder_opts o = {.instance = "lw-test", .log = quiet};
    kube_recorder *r = kube_recorder_new(e->c, &o, err, sizeof err);
    assert_non_null(r);
    kube_object_ref a = ref();
    for (int i = 0; i < 3; i++) {
        assert_int_equal(kube_event_record(r, &a, "Warning", "GoroutineLeak",
                                           "chan-send leak in worker.run"),
                         KUBE_EVENT_QUEUED);
        assert_int_equal(kube_recorder_flush(r, 5000), 0);
    }
    int n;
    json_t *ev = find(&e->s, "chan-send", &n);
    assert_int_equal(n, 1);
    assert_int_equal(json_integer_value(json_object_get(ev, "count")), 3);
    const json_t *inv = json_object_get(ev, "involvedObject");
    assert_string_equal(json_string_value(json_object_get(inv, "uid")),
                        "0c6f-11");
    assert_string_equal(json_string_value(json_object_get(inv, "kind")),
                        "Pod");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(ev, "source"), "component")),
                        "leakwatch");
    assert_string_equal(
        json_string_value(json_object_get(ev, "reportingInstance")),
        "lw-test");
    char first_name[256];
    snprintf(first_name, sizeof first_name, "%s",
             json_string_value(json_object_get(json_object_get(ev, "metadata"),
                                               "name")));
    json_decref(ev);
    assert_int_equal(e->s.posts, 1);
    assert_int_equal(e->s.patches, 2);

    /* The Event expires on the server (TTL): the next repeat's PATCH gets
     * 404 and a new Event is created. */
    pthread_mutex_lock(&e->s.mu);
    json_object_clear(e->s.events);
    pthread_mutex_unlock(&e->s.mu);
    kube_event_record(r, &a, "Warning", "GoroutineLeak",
                      "chan-send leak in worker.run");
    assert_int_equal(kube_recorder_flush(r, 5000), 0);
    ev = find(&e->s, "chan-send", &n);
    assert_int_equal(n, 1);
    assert_int_equal(json_integer_value(json_object_get(ev, "count")), 1);
    assert_string_not_equal(
        json_string_value(json_object_get(json_object_get(ev, "metadata"),
                                          "name")),
        first_name);
    json_decref(ev);
    assert_int_equal(e->s.patch_404, 1);
    /* ...and later repeats patch the new one. */
    kube_event_record(r, &a, "Warning", "GoroutineLeak",
                      "chan-send leak in worker.run");
    assert_int_equal(kube_recorder_flush(r, 5000), 0);
    ev = find(&e->s, "chan-send", &n);
    assert_int_equal(json_integer_value(json_object_get(ev, "count")), 2);
    json_decref(ev);

    /* A name collision on create retries under a fresh name. */
    pthread_mutex_lock(&e->s.mu);
    e->s.conflict_next = true;
    pthread_mutex_unlock(&e->s.mu);
    kube_event_record(r, &a, "Normal", "LeakContainment", "restarted api-7f9");
    assert_int_equal(kube_recorder_flush(r, 5000), 0);
    ev = find(&e->s, "restarted", &n);
    assert_int_equal(n, 1);
    json_decref(ev);
    assert_int_equal(e->s.post_409, 1);

    kube_recorder_stats st;
    kube_recorder_get_stats(r, &st);
    assert_int_equal(st.created, 2);
    assert_int_equal(st.patched, 3);
    assert_int_equal(st.recreated, 1);
    assert_int_equal(st.failed, 0);
    kube_recorder_free(r);
}

static void test_refusals_and_limits(void **state)
{
    env *e = *state;
    char err[256];
    assert_null(kube_recorder_new(NULL, NULL, err, sizeof err));
    kube_recorder_opts bad = {.dedup_window_s = -1};
    assert_null(kube_recorder_new(e->c, &bad, err, sizeof err));

    kube_recorder_opts o = {.spam_burst = 3,
                            .max_message_bytes = 16,
                            .log = quiet};
    kube_recorder *r = kube_recorder_new(e->c, &o, err, sizeof err);
    assert_non_null(r);
    kube_object_ref a = ref();
    a.name = "spammy";
    kube_object_ref noname = ref();
    noname.name = "";
    assert_int_equal(kube_event_record(r, &a, "Error", "R", "m"),
                     KUBE_EVENT_INVALID);
    assert_int_equal(kube_event_record(r, NULL, "Normal", "R", "m"),
                     KUBE_EVENT_INVALID);
    assert_int_equal(kube_event_record(r, &a, "Normal", "", "m"),
                     KUBE_EVENT_INVALID);
    assert_int_equal(kube_event_record(r, &noname, "Normal", "R", "m"),
                     KUBE_EVENT_INVALID);
    assert_int_equal(kube_event_record(NULL, &a, "Normal", "R", "m"),
                     KUBE_EVENT_INVALID);
    /* 17 bytes, the cut falls inside the two-byte "é". */
    assert_int_equal(kube_event_recordf(r, &a, "Warning", "Cut",
                                        "%s", "abcdefghijklé-xyz"),
                     KUBE_EVENT_QUEUED);
    assert_int_equal(kube_event_record(r, &a, "Warning", "R", "two"),
                     KUBE_EVENT_QUEUED);
    assert_int_equal(kube_event_record(r, &a, "Warning", "R", "three"),
                     KUBE_EVENT_QUEUED);
    assert_int_equal(kube_event_record(r, &a, "Warning", "R", "four"),
                     KUBE_EVENT_SPAM);
    assert_int_equal(kube_recorder_flush(r, 5000), 0);
    int n;
    json_t *ev = find(&e->s, "abcdefghijkl", &n);
    assert_int_equal(n, 1);
    assert_string_equal(json_string_value(json_object_get(ev, "message")),
                        "abcdefghijkl...");
    json_decref(ev);
    kube_recorder_stats st;
    kube_recorder_get_stats(r, &st);
    assert_int_equal(st.dropped_spam, 1);
    assert_int_equal(st.created, 3);
    kube_recorder_free(r);
}

static void test_hung_server(void **state)
{
    env *e = *state;
    pthread_mutex_lock(&e->s.mu);
    e->s.hang = true;
    pthread_mutex_unlock(&e->s.mu);
    char err[256];
    kube_recorder_opts o = {.queue_max = 2,
                            .request_timeout_ms = 300,
                            .log = quiet};
    kube_recorder *r = kube_recorder_new(e->c, &o, err, sizeof err);
    assert_non_null(r);
    kube_object_ref a = ref();
    /* One goes to the worker, two wait, then the queue is full.  Recording
     * never waits on the network. */
    int64_t t0 = fake_now_ms();
    int queued = 0, full = 0;
    for (int i = 0; i < 6; i++) {
        char m[16];
        snprintf(m, sizeof m, "m%d", i);
        kube_event_status st = kube_event_record(r, &a, "Normal", "R", m);
        queued += st == KUBE_EVENT_QUEUED;
        full += st == KUBE_EVENT_QUEUE_FULL;
        if (i == 0)
            fake_sleep_ms(50); /* let the worker take the first one */
    }
    /* Far below the 300 ms request timeout each would cost if it waited;
     * the slack is for valgrind on a loaded machine. */
    assert_true(fake_now_ms() - t0 < 3000);
    assert_int_equal(queued, 3);
    assert_int_equal(full, 3);
    assert_int_equal(kube_recorder_flush(r, 100), -1);
    t0 = fake_now_ms();
    kube_recorder_free(r);
    /* The flush wait (300) plus the request in flight (300), plus slack:
     * without the cancellation it would wait for the hung server forever
     * (until fake_api_stop). */
    assert_true(fake_now_ms() - t0 < 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_patch_recreate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refusals_and_limits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hung_server, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
