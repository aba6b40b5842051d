/*
 * test_kube_lease_flow.c — two electors in one process against a scripted
 * Lease store on loopback (test_kube_watch_fakeapi.h) with real
 * resourceVersion conflicts: one leads; the other never takes over while
 * the leader renews, even though the leader's clock is decades off (its
 * renewTime says 2000); a graceful stop releases so the other leads at its
 * next retry; a leader whose writes fail steps down within renewDeadline and
 * the other takes over after leaseDuration; never two leaders at once.
 *
 * Not for: real processes and a real API server (tests/e2e/kubelease_*).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kube/kube_lease.h"

#include "test_kube_watch_fakeapi.h"

typedef struct lstore {
    pthread_mutex_t mu;
    json_t *lease;          /* NULL until created */
    long rv;
    int conflicts;
    char frozen[32];        /* writes by this holder fail with 500 */
    char skewed[32];        /* this holder's clock says the year 2000 */
} lstore;

static const char *holder_of(const json_t *l)
{
    const char *h = json_string_value(
        json_object_get(json_object_get(l, "spec"), "holderIdentity"));
    return h ? h : "";
}

static int lease_handler(fake_api *a, const fake_req *r, int fd, void *ud)
{
    (void)a;
    lstore *s = ud;
    const char *coll = "/apis/coordination.k8s.io/v1/namespaces/ns/leases";
    size_t cl = strlen(coll);
    if (strncmp(r->path, coll, cl) != 0) {
        fake_send_status(fd, 404, "NotFound", "no such path");
        return FAKE_KEEP;
    }
    const char *name = r->path[cl] == '/' ? r->path + cl + 1 : "";
    pthread_mutex_lock(&s->mu);
    if (!strcmp(r->method, "GET") && !strcmp(name, "lead")) {
        json_t *copy = s->lease ? json_deep_copy(s->lease) : NULL;
        pthread_mutex_unlock(&s->mu);
        if (copy)
            fake_send_json(fd, 200, copy);
        else
            fake_send_status(fd, 404, "NotFound",
                             "leases.coordination.k8s.io \"lead\" not found");
        json_decref(copy);
        return FAKE_KEEP;
    }
    json_t *body = json_loadb(r->body, r->body_len, 0, NULL);
    const char *holder = holder_of(body);
    if (s->frozen[0] && !strcmp(holder, s->frozen)) {
        pthread_mutex_unlock(&s->mu);
        json_decref(body);
        fake_send_status(fd, 500, "InternalError", "etcd unreachable");
        return FAKE_KEEP;
    }
    if (s->skewed[0] && !strcmp(holder, s->skewed))
        json_object_set_new(json_object_get(body, "spec"), "renewTime",
                            json_string("2000-01-01T00:00:00.000000Z"));
    int code;
    if (!strcmp(r->method, "POST") && !*name) {
        code = s->lease ? 409 : 201;
    } else if (!strcmp(r->method, "PUT") && !strcmp(name, "lead")) {
        const char *want = json_string_value(json_object_get(
            json_object_get(s->lease, "metadata"), "resourceVersion"));
        const char *got = json_string_value(json_object_get(
            json_object_get(body, "metadata"), "resourceVersion"));
        code = s->lease && want && got && !strcmp(want, got) ? 200 : 409;
    } else {
        code = 405;
    }
    if (code == 200 || code == 201) {
        char rv[32];
        snprintf(rv, sizeof rv, "%ld", ++s->rv);
        json_object_set_new(json_object_get(body, "metadata"),
                            "resourceVersion", json_string(rv));
        json_decref(s->lease);
        s->lease = json_incref(body);
        json_t *copy = json_deep_copy(body);
        pthread_mutex_unlock(&s->mu);
        fake_send_json(fd, code, copy);
        json_decref(copy);
    } else {
        if (code == 409)
            s->conflicts++;
        pthread_mutex_unlock(&s->mu);
        fake_send_status(fd, code, code == 409 ? "Conflict" : "BadRequest",
                         "the object has been modified; please apply your "
                         "changes to the latest version and try again");
    }
    json_decref(body);
    return FAKE_KEEP;
}

typedef struct who {
    pthread_mutex_t mu;
    const char *id;
    int started, stopped;
    int64_t started_at, stopped_at;
} who;

static void started(void *ud)
{
    who *w = ud;
    pthread_mutex_lock(&w->mu);
    w->started++;
    w->started_at = fake_now_ms();
    pthread_mutex_unlock(&w->mu);
}

static void stopped(void *ud)
{
    who *w = ud;
    pthread_mutex_lock(&w->mu);
    w->stopped++;
    w->stopped_at = fake_now_ms();
    pthread_mutex_unlock(&w->mu);
}

static void quiet(const char *msg, void *ud)
{
    (void)msg;
    (void)ud;
}

static kube_lease *elect(kube_client *c, who *w)
{
    kube_lease_opts o = {.namespace = "ns",
                         .name = "lead",
                         .identity = w->id,
                         .lease_duration_ms = 2000,
                         .renew_deadline_ms = 1500,
                         .retry_period_ms = 300,
                         .on_started_leading = started,
                         .on_stopped_leading = stopped,
                         .ud = w,
                         .log = quiet};
    char err[256];
    kube_lease *l = kube_lease_start(c, &o, err, sizeof err);
    assert_non_null(l);
    return l;
}

/* Waits up to ms for pred; fails the test if two lead at once meanwhile. */
static bool watch_until(kube_lease *a, kube_lease *b, long ms,
                        bool (*pred)(kube_lease *, kube_lease *))
{
    int64_t end = fake_now_ms() + ms;
    while (fake_now_ms() < end) {
        assert_false(a && b && kube_lease_is_leader(a) &&
                     kube_lease_is_leader(b));
        if (pred && pred(a, b))
            return true;
        fake_sleep_ms(10);
    }
    return false;
}

static bool a_leads(kube_lease *a, kube_lease *b)
{
    (void)b;
    return kube_lease_is_leader(a);
}

static bool b_leads(kube_lease *a, kube_lease *b)
{
    (void)a;
    return kube_lease_is_leader(b);
}

static long transitions(lstore *s)
{
    pthread_mutex_lock(&s->mu);
    long t = (long)json_integer_value(json_object_get(
        json_object_get(s->lease, "spec"), "leaseTransitions"));
    pthread_mutex_unlock(&s->mu);
    return t;
}

static void test_skew_and_graceful_release(void **state)
{
    (void)state;
    lstore s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    snprintf(s.skewed, sizeof s.skewed, "a");
    fake_api api;
    assert_int_equal(fake_api_start(&api, lease_handler, &s, "ns"), 0);
    char err[512];
    kube_client *c = fake_client(&api, err, sizeof err);
    assert_non_null(c);
    who wa = {.mu = PTHREAD_MUTEX_INITIALIZER, .id = "a"};
    who wb = {.mu = PTHREAD_MUTEX_INITIALIZER, .id = "b"};
    kube_lease *a = elect(c, &wa);
    assert_true(watch_until(a, NULL, 5000, a_leads));
    assert_string_equal(kube_lease_identity(a), "a");
    kube_lease *b = elect(c, &wb);
    /* Three lease durations: b must not take over from a live leader whose
     * renewTime claims it last renewed in the year 2000. */
    assert_false(watch_until(a, b, 6000, b_leads));
    assert_true(kube_lease_is_leader(a));
    assert_int_equal(wb.started, 0);
    assert_int_equal(transitions(&s), 0);

    /* Graceful stop: released, b leads at its next retry (0.36 s max),
     * far sooner than the 2 s lease duration. */
    int64_t t0 = fake_now_ms();
    kube_lease_stop(a);
    assert_int_equal(wa.stopped, 1);
    assert_true(watch_until(NULL, b, 3000, b_leads));
    assert_true(fake_now_ms() - t0 < 1500);
    assert_int_equal(transitions(&s), 1);
    pthread_mutex_lock(&s.mu);
    assert_string_equal(holder_of(s.lease), "b");
    pthread_mutex_unlock(&s.mu);
    kube_lease_stop(b);
    assert_int_equal(wb.started, 1);
    assert_int_equal(wb.stopped, 1);
    pthread_mutex_lock(&s.mu);
    assert_string_equal(holder_of(s.lease), "");
    pthread_mutex_unlock(&s.mu);
    kube_client_free(c);
    fake_api_stop(&api);
    json_decref(s.lease);
}

static void test_frozen_leader_steps_down(void **state)
{
    (void)state;
    lstore s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    fake_api api;
    assert_int_equal(fake_api_start(&api, lease_handler, &s, "ns"), 0);
    char err[512];
    kube_client *c = fake_client(&api, err, sizeof err);
    assert_non_null(c);
    who wa = {.mu = PTHREAD_MUTEX_INITIALIZER, .id = "a"};
    who wb = {.mu = PTHREAD_MUTEX_INITIALIZER, .id = "b"};
    kube_lease *a = elect(c, &wa);
    assert_true(watch_until(a, NULL, 5000, a_leads));
    kube_lease *b = elect(c, &wb);
    assert_false(watch_until(a, b, 1000, b_leads));

    /* a can no longer write: it must step down by renewDeadline after its
     * last renew, and b may lead only after a full lease duration without a
     * change — never both at once (watch_until checks every 10 ms). */
    pthread_mutex_lock(&s.mu);
    snprintf(s.frozen, sizeof s.frozen, "a");
    pthread_mutex_unlock(&s.mu);
    int64_t t0 = fake_now_ms();
    assert_true(watch_until(a, b, 6000, b_leads));
    int64_t took = fake_now_ms() - t0;
    pthread_mutex_lock(&wa.mu);
    int64_t a_stopped = wa.stopped_at;
    pthread_mutex_unlock(&wa.mu);
    pthread_mutex_lock(&wb.mu);
    int64_t b_started = wb.started_at;
    pthread_mutex_unlock(&wb.mu);
    assert_int_equal(wa.stopped, 1);
    assert_true(a_stopped - t0 <= 1500 + 400);
    assert_true(b_started >= a_stopped);
    /* Lease duration after a's last renew (which was at most a retry
     * period before t0), plus b's retry period with jitter. */
    assert_true(took >= 2000 - 300 - 50);
    assert_true(took <= 2000 + 700 + 300);
    assert_int_equal(transitions(&s), 1);
    kube_lease_stop(a); /* not leading: no release, no second callback */
    assert_int_equal(wa.stopped, 1);
    kube_lease_stop(b);
    kube_client_free(c);
    fake_api_stop(&api);
    json_decref(s.lease);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skew_and_graceful_release),
        cmocka_unit_test(test_frozen_leader_steps_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
