/*
 * test_kube_watch_stream.c — the list + watch loop and the cache against a
 * scripted API server on loopback (test_kube_watch_fakeapi.h), through the
 * real client: an event split across chunks, an invalid JSON line (nothing
 * after it may be applied; resume from the last good version), a reset in
 * the middle of an event, an ERROR 410 (relist, and the relist diff delivers
 * the deletion that happened meanwhile), a bookmark, a clean end, a 500, a
 * 10 MB event, an over-long line (relist), a server that is down, and
 * stopping with a stream held open.
 *
 * Not for: a real API server (tests/e2e/kubecache_*).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kube/kube_cache.h"
#include "kube/kube_watch.h"

#include "test_kube_watch_fakeapi.h"

typedef struct scen {
    pthread_mutex_t mu;
    int lists, watches;
    char watch_rvs[16][32];
    char label_sel[128];
    size_t max_line; /* scenario 2: how long the bad line is */
    int variant;
} scen;

static char *pod_json(const char *name, const char *uid, const char *rv,
                      size_t pad)
{
    json_t *p = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s},s:{s:s}}", "kind",
                          "Pod", "apiVersion", "v1", "metadata", "name", name,
                          "namespace", "t", "uid", uid, "resourceVersion", rv,
                          "status", "phase", "Running");
    if (pad) {
        char *big = malloc(pad + 1);
        memset(big, 'a', pad);
        big[pad] = '\0';
        json_object_set_new(json_object_get(p, "metadata"), "annotations",
                            json_pack("{s:s}", "big", big));
        free(big);
    }
    char *s = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    return s;
}

static char *event_line(const char *type, const char *name, const char *uid,
                        const char *rv, size_t pad)
{
    char *o = pod_json(name, uid, rv, pad);
    size_t n = strlen(o) + 64;
    char *s = malloc(n);
    snprintf(s, n, "{\"type\":\"%s\",\"object\":%s}\n", type, o);
    free(o);
    return s;
}

static void send_line(int fd, const char *type, const char *name,
                      const char *uid, const char *rv)
{
    char *l = event_line(type, name, uid, rv, 0);
    fake_chunk_str(fd, l);
    free(l);
}

static void send_list(int fd, const char *rv, const char **names,
                      const char **uids, const char **rvs, int n)
{
    json_t *items = json_array();
    for (int i = 0; i < n; i++) {
        char *s = pod_json(names[i], uids[i], rvs[i], 0);
        json_t *o = json_loads(s, 0, NULL);
        json_object_del(o, "kind"); /* list items carry no kind */
        json_object_del(o, "apiVersion");
        json_array_append_new(items, o);
        free(s);
    }
    json_t *l = json_pack("{s:s,s:s,s:{s:s},s:o}", "kind", "PodList",
                          "apiVersion", "v1", "metadata", "resourceVersion",
                          rv, "items", items);
    fake_send_json(fd, 200, l);
    json_decref(l);
}

/* Counts a list or watch request (returning which one of its kind it is),
 * keeps the resourceVersion each watch resumed from and, when asked, the
 * label selector of each list. */
static int note_request(scen *s, const fake_req *r, bool keep_selector,
                        bool *watch)
{
    char rv[32];
    fake_query(r->path, "resourceVersion", rv, sizeof rv);
    pthread_mutex_lock(&s->mu);
    *watch = strstr(r->path, "watch=1") != NULL;
    int n = *watch ? ++s->watches : ++s->lists;
    if (*watch && n <= 16)
        snprintf(s->watch_rvs[n - 1], sizeof s->watch_rvs[0], "%s", rv);
    if (!*watch && keep_selector)
        fake_query(r->path, "labelSelector", s->label_sel,
                   sizeof s->label_sel);
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Scenario 1: every fault in order. */
static int handler1(fake_api *a, const fake_req *r, int fd, void *ud)
{
    scen *s = ud;
    bool watch;
    int n = note_request(s, r, true, &watch);

    if (!watch) {
        if (n == 1) {
            const char *names[] = {"a", "b"}, *uids[] = {"ua", "ub"},
                       *rvs[] = {"10", "11"};
            send_list(fd, "100", names, uids, rvs, 2);
        } else {
            /* c was deleted while the watch was down. */
            const char *names[] = {"a", "d"}, *uids[] = {"ua", "ud"},
                       *rvs[] = {"102", "104"};
            send_list(fd, "110", names, uids, rvs, 2);
        }
        return FAKE_KEEP;
    }
    switch (n) {
    case 1: {
        fake_stream_begin(fd);
        char *l = event_line("ADDED", "c", "uc", "101", 0);
        size_t half = strlen(l) / 2;
        fake_chunk(fd, l, half);
        fake_sleep_ms(30);
        fake_chunk(fd, l + half, strlen(l) - half);
        free(l);
        send_line(fd, "MODIFIED", "a", "ua", "102");
        fake_chunk_str(fd, "{\"type\":\"MODIFIED\",\"object\":{not json\n");
        /* Must never be applied: it came after the bad line. */
        send_line(fd, "ADDED", "zombie", "uz", "150");
        fake_hold(a, fd);
        return FAKE_CLOSE;
    }
    case 2:
        fake_stream_begin(fd);
        send_line(fd, "DELETED", "b", "ub", "103");
        fake_chunk_str(fd, "{\"type\":\"MODIFIED\",\"obj");
        fake_sleep_ms(30);
        return FAKE_RESET;
    case 3:
        fake_stream_begin(fd);
        fake_chunk_str(fd, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
                           "\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                           "\"Failure\",\"message\":\"too old resource "
                           "version: 103 (105)\",\"reason\":\"Expired\","
                           "\"code\":410}}\n");
        fake_hold(a, fd);
        return FAKE_CLOSE;
    case 4:
        fake_stream_begin(fd);
        fake_chunk_str(fd, "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\","
                           "\"apiVersion\":\"v1\",\"metadata\":{"
                           "\"resourceVersion\":\"120\"}}}\n");
        fake_stream_end(fd);
        return FAKE_KEEP;
    case 5:
        fake_send_status(fd, 500, "InternalError", "etcdserver: leader changed");
        return FAKE_KEEP;
    case 6: {
        fake_stream_begin(fd);
        char *l = event_line("MODIFIED", "a", "ua", "121", 10u << 20);
        size_t len = strlen(l);
        for (size_t off = 0; off < len; off += 65536)
            fake_chunk(fd, l + off, len - off < 65536 ? len - off : 65536);
        free(l);
        send_line(fd, "ADDED", "e", "ue", "122");
        fake_hold(a, fd);
        return FAKE_CLOSE;
    }
    default:
        fake_stream_begin(fd);
        fake_hold(a, fd);
        return FAKE_CLOSE;
    }
}

typedef struct log {
    pthread_mutex_t mu;
    char lines[64][96];
    int n;
} log_t;

static void logpush(log_t *l, const char *what, const json_t *o, bool unk)
{
    const json_t *md = json_object_get(o, "metadata");
    pthread_mutex_lock(&l->mu);
    if (l->n < 64)
        snprintf(l->lines[l->n], sizeof l->lines[0], "%s %s %s%s", what,
                 json_string_value(json_object_get(md, "name")),
                 json_string_value(json_object_get(md, "resourceVersion")),
                 unk ? " unknown" : "");
    l->n++;
    pthread_mutex_unlock(&l->mu);
}

static void c_add(const json_t *o, void *ud) { logpush(ud, "add", o, false); }
static void c_upd(const json_t *old, const json_t *o, void *ud)
{
    (void)old;
    logpush(ud, "update", o, false);
}
static void c_del(const json_t *o, bool unk, void *ud)
{
    logpush(ud, "delete", o, unk);
}

static void quiet(const char *msg, void *ud)
{
    (void)ud;
    (void)msg;
}

static bool wait_for(kube_cache *c, const char *name, long ms)
{
    int64_t end = fake_now_ms() + ms;
    while (fake_now_ms() < end) {
        json_t *o = kube_cache_get(c, "t", name);
        if (o) {
            json_decref(o);
            return true;
        }
        fake_sleep_ms(10);
    }
    return false;
}

/* Everything a test starts lives here, on the heap, and teardown stops it
 * even when an assertion failed half way (cmocka leaves the test function
 * by longjmp; threads must not be left using its stack). */
typedef struct fx {
    scen s;
    log_t lg;
    fake_api api;
    bool api_up;
    kube_client *c;
    kube_cache *cache;
    kube_watch *w;
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    pthread_mutex_init(&f->s.mu, NULL);
    pthread_mutex_init(&f->lg.mu, NULL);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    kube_cache_free(f->cache);
    kube_watch_stop(f->w);
    fake_api_disconnect(f->api_up ? &f->api : NULL, f->c);
    pthread_mutex_destroy(&f->s.mu);
    pthread_mutex_destroy(&f->lg.mu);
    free(f);
    return 0;
}

static void fx_start(fx *f, fake_handler h)
{
    f->c = fake_api_connect(&f->api, h, &f->s, "t");
    assert_non_null(f->c);
    f->api_up = true;
}

/* The cache of namespace "t" with options `o` (its log quiet), started
 * against the fake server; fails the test if it cannot start. */
static void fx_cache_start(fx *f, kube_cache_opts *o,
                           const kube_cache_handlers *h)
{
    char err[512];
    o->namespace = "t";
    o->log = quiet;
    f->cache = kube_cache_new(f->c, o, h, err, sizeof err);
    if (!f->cache || kube_cache_start(f->cache, err, sizeof err) != 0)
        fail_msg("cache: %s", err);
}

static void test_every_fault(void **state)
{
    fx *f = *state;
    fx_start(f, handler1);
    kube_cache_handlers h = {c_add, c_upd, c_del, NULL, &f->lg};
    kube_cache_opts o = {.label_selector = "app=x,tier in (a,b)",
                         .timeout_seconds = 30,
                         .backoff_initial_ms = 20,
                         .backoff_max_ms = 100};
    fx_cache_start(f, &o, &h);
    /* Generous: a loaded machine under valgrind parses 10 MB slowly. */
    assert_true(kube_cache_wait_synced(f->cache, 60000));
    assert_true(wait_for(f->cache, "e", 180000));

    int64_t t0 = fake_now_ms();
    kube_cache_stats st;
    kube_cache_get_stats(f->cache, &st);
    json_t *a = kube_cache_get(f->cache, "t", "a");
    assert_non_null(a);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(a, "metadata"),
                                          "resourceVersion")),
        "121");
    json_decref(a);
    assert_null(kube_cache_get(f->cache, "t", "zombie"));
    assert_null(kube_cache_get(f->cache, "t", "b"));
    assert_null(kube_cache_get(f->cache, "t", "c"));
    kube_cache_free(f->cache);
    f->cache = NULL;
    /* Stopping with a stream held open is prompt. */
    assert_true(fake_now_ms() - t0 < 5000);

    const char *want[] = {
        "add a 10",    "add b 11",         "add c 101",
        "update a 102", "delete b 103",    "add d 104",
        "delete c 101 unknown", "update a 121", "add e 122",
    };
    log_t *lg = &f->lg;
    for (int i = 0; i < lg->n && i < 64; i++)
        print_message("  callback %d: %s\n", i, lg->lines[i]);
    assert_int_equal(lg->n, 9);
    for (int i = 0; i < 9; i++)
        assert_string_equal(lg->lines[i], want[i]);
    const char *rvs[] = {"100", "102", "103", "110", "120", "120"};
    pthread_mutex_lock(&f->s.mu);
    int watches = f->s.watches, lists = f->s.lists;
    pthread_mutex_unlock(&f->s.mu);
    assert_true(watches >= 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal(f->s.watch_rvs[i], rvs[i]);
    assert_int_equal(lists, 2);
    assert_string_equal(f->s.label_sel, "app%3Dx%2Ctier%20in%20%28a%2Cb%29");
    assert_int_equal(st.watch.lists, 2);
    assert_int_equal(st.watch.relists_expired, 1);
    assert_int_equal(st.watch.invalid_lines, 1);
    assert_int_equal(st.watch.bookmarks, 1);
    assert_int_equal(st.deletes_inferred, 1);
}

/* Scenario 2: an event line over the cap makes the watch relist. */
static int handler2(fake_api *a, const fake_req *r, int fd, void *ud)
{
    scen *s = ud;
    pthread_mutex_lock(&s->mu);
    bool watch = strstr(r->path, "watch=1") != NULL;
    int n = watch ? ++s->watches : ++s->lists;
    pthread_mutex_unlock(&s->mu);
    if (!watch) {
        const char *names[] = {"a"}, *uids[] = {"ua"}, *rvs[] = {"10"};
        const char *names2[] = {"a", "big"}, *uids2[] = {"ua", "ubig"},
                   *rvs2[] = {"10", "12"};
        if (n == 1)
            send_list(fd, "10", names, uids, rvs, 1);
        else
            send_list(fd, "12", names2, uids2, rvs2, 2);
        return FAKE_KEEP;
    }
    fake_stream_begin(fd);
    if (n == 1) {
        char *l = event_line("ADDED", "big", "ubig", "12", s->max_line);
        fake_chunk_str(fd, l);
        free(l);
    }
    fake_hold(a, fd);
    return FAKE_CLOSE;
}

static void test_line_cap_relists(void **state)
{
    fx *f = *state;
    f->s.max_line = 8192;
    fx_start(f, handler2);
    kube_cache_handlers h = {c_add, c_upd, c_del, NULL, &f->lg};
    kube_cache_opts o = {.max_line_bytes = 4096,
                         .backoff_initial_ms = 20,
                         .backoff_max_ms = 50};
    fx_cache_start(f, &o, &h);
    /* The object that was too big for the watch line arrives by the list
     * (list responses are not limited by the line cap). */
    assert_true(wait_for(f->cache, "big", 60000));
    kube_cache_stats st;
    kube_cache_get_stats(f->cache, &st);
    assert_int_equal(st.watch.lists, 2);
}

/* Scenario 3: nothing listens; the watch keeps backing off, never syncs,
 * and stops promptly. */
static void test_server_down(void **state)
{
    fx *f = *state;
    fx_start(f, handler2);
    fake_api_stop(&f->api); /* the port is closed from now on */
    f->api_up = false;
    kube_cache_opts o = {.backoff_initial_ms = 10,
                         .backoff_max_ms = 40};
    fx_cache_start(f, &o, NULL);
    assert_false(kube_cache_wait_synced(f->cache, 500));
    int64_t t0 = fake_now_ms();
    kube_cache_free(f->cache);
    f->cache = NULL;
    assert_true(fake_now_ms() - t0 < 5000);
}

/* Scenario 4: a plain kube_watch resumed from a stored version; its handler
 * sees events only (no list), then a 410 makes it list. */
typedef struct wlog {
    pthread_mutex_t mu;
    int begins, items, ends, events;
} wlog;

static void w_begin(void *ud)
{
    wlog *l = ud;
    pthread_mutex_lock(&l->mu);
    l->begins++;
    pthread_mutex_unlock(&l->mu);
}
static void w_item(json_t *it, void *ud)
{
    (void)it;
    wlog *l = ud;
    pthread_mutex_lock(&l->mu);
    l->items++;
    pthread_mutex_unlock(&l->mu);
}
static void w_end(const char *rv, void *ud)
{
    (void)rv;
    wlog *l = ud;
    pthread_mutex_lock(&l->mu);
    l->ends++;
    pthread_mutex_unlock(&l->mu);
}
static void w_event(kube_watch_event_type t, json_t *o, void *ud)
{
    (void)t;
    (void)o;
    wlog *l = ud;
    pthread_mutex_lock(&l->mu);
    l->events++;
    pthread_mutex_unlock(&l->mu);
}

static int handler4(fake_api *a, const fake_req *r, int fd, void *ud)
{
    scen *s = ud;
    bool watch;
    int n = note_request(s, r, false, &watch);
    if (!watch) {
        const char *names[] = {"a", "b", "c"}, *uids[] = {"1", "2", "3"},
                   *rvs[] = {"7", "8", "9"};
        send_list(fd, "60", names, uids, rvs, 3);
        return FAKE_KEEP;
    }
    if (n == 1) {
        fake_stream_begin(fd);
        send_line(fd, "ADDED", "x", "ux", "51");
        fake_chunk_str(fd, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
                           "\"code\":410,\"reason\":\"Gone\"}}\n");
        fake_hold(a, fd);
        return FAKE_CLOSE;
    }
    fake_stream_begin(fd);
    fake_hold(a, fd);
    return FAKE_CLOSE;
}

static void test_resume_then_expire(void **state)
{
    fx *f = *state;
    fx_start(f, handler4);
    char err[512];
    wlog l = {.mu = PTHREAD_MUTEX_INITIALIZER};
    kube_watch_handler h = {w_begin, w_item, w_end, w_event, &l};
    kube_watch_opts o = {.path = "/api/v1/namespaces/t/pods",
                         .resource_version = "50",
                         .backoff_initial_ms = 10,
                         .log = quiet};
    assert_null(kube_watch_start(f->c, &(kube_watch_opts){.path = "pods"}, &h,
                                 err, sizeof err));
    assert_null(kube_watch_start(
        f->c, &(kube_watch_opts){.path = "/api/v1/pods?watch=1"}, &h, err,
        sizeof err));
    f->w = kube_watch_start(f->c, &o, &h, err, sizeof err);
    assert_non_null(f->w);
    int64_t end = fake_now_ms() + 60000;
    kube_watch_stats st = {0};
    while (fake_now_ms() < end) {
        kube_watch_get_stats(f->w, &st);
        pthread_mutex_lock(&f->s.mu);
        int watches = f->s.watches;
        pthread_mutex_unlock(&f->s.mu);
        if (st.lists == 1 && watches >= 2)
            break;
        fake_sleep_ms(10);
    }
    /* Stopped here: the handler's counters live on this stack. */
    kube_watch_stop(f->w);
    f->w = NULL;
    assert_int_equal(l.events, 1);
    assert_int_equal(l.begins, 1);
    assert_int_equal(l.items, 3);
    assert_int_equal(l.ends, 1);
    assert_int_equal(st.relists_expired, 1);
    assert_string_equal(f->s.watch_rvs[0], "50");
    assert_string_equal(f->s.watch_rvs[1], "60");
    assert_string_equal(st.resource_version, "60");
}

/* Scenario 5: a server that ends every watch at once, after a bookmark
 * (an apiserver starting up, a proxy cutting streams): the loop must back
 * off, not storm. */
static int handler5(fake_api *a, const fake_req *r, int fd, void *ud)
{
    (void)a;
    scen *s = ud;
    pthread_mutex_lock(&s->mu);
    bool watch = strstr(r->path, "watch=1") != NULL;
    if (watch)
        s->watches++;
    else
        s->lists++;
    pthread_mutex_unlock(&s->mu);
    if (!watch) {
        send_list(fd, "5", NULL, NULL, NULL, 0);
        return FAKE_KEEP;
    }
    fake_stream_begin(fd);
    fake_chunk_str(fd, "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{"
                       "\"resourceVersion\":\"6\"}}}\n");
    fake_stream_end(fd);
    return FAKE_KEEP;
}

static void test_no_reconnect_storm(void **state)
{
    fx *f = *state;
    fx_start(f, handler5);
    kube_cache_opts o = {.backoff_initial_ms = 50,
                         .backoff_max_ms = 400};
    fx_cache_start(f, &o, NULL);
    fake_sleep_ms(2000);
    kube_cache_stats st;
    kube_cache_get_stats(f->cache, &st);
    print_message("  %llu watch requests in 2 s\n",
                  (unsigned long long)st.watch.connects);
    /* Backoff 25-50, 50-100, 100-200, then 200-400 ms: about ten in 2 s
     * (hundreds without it). */
    assert_true(st.watch.connects >= 2);
    assert_true(st.watch.connects <= 20);
    assert_true(st.watch.bookmarks >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_fault, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_line_cap_relists, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_server_down, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_resume_then_expire, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_no_reconnect_storm, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
