/*
 * test_kube_lease_flow.c — two electors in one process against a scripted
 * Lease store on loopback (test_kube_watch_fakeapi.h) with real
 * resourceVersion conflicts: one leads; the other never takes over while
 * the leader renews, even though the leader's clock is decades off (its
 * renewTime says 2000); a graceful stop releases and the other, watching
 * the Lease, leads at once instead of at its next poll; a leader whose writes fail steps down within renewDeadline and
 * the other takes over after leaseDuration; never two leaders at once; a
 * shard's member Lease is created labelled and deleted as its holder
 * stops, again after a conflicting DELETE; a Lease not held is deleted
 * only at the version read.
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
    int deletes, delete_conflicts;
    int refuse_deletes;     /* answer this many DELETEs 409 (a renewal that
                               landed after its holder stopped waiting)  */
    char frozen[32];        /* writes by this holder fail with 500 */
    char skewed[32];        /* this holder's clock says the year 2000 */
    int watchers[16];       /* open watch streams (fds), -1 = free */
    json_t *history;        /* every event sent, as the watch cache keeps
                               them: a watch from resourceVersion N gets
                               those after N, as from a real apiserver */
    int watches;            /* watch requests seen */
} lstore;

static void send_event(int fd, const json_t *ev)
{
    char *line = json_dumps(ev, JSON_COMPACT);
    size_t n = strlen(line);
    char *nl = malloc(n + 2);
    memcpy(nl, line, n);
    memcpy(nl + n, "\n", 2);
    fake_chunk(fd, nl, n + 1);
    free(nl);
    free(line);
}

/* Sends one watch event to every open watch and keeps it for watches
 * that start later from an older resourceVersion (caller holds s->mu). */
static void notify(lstore *s, const char *type)
{
    json_t *ev = json_pack("{s:s,s:O}", "type", type, "object", s->lease);
    for (int i = 0; i < 16; i++)
        if (s->watchers[i] >= 0)
            send_event(s->watchers[i], ev);
    if (!s->history)
        s->history = json_array();
    json_array_append_new(s->history, ev);
}

static long rv_of(const json_t *obj)
{
    const char *rv = json_string_value(json_object_get(
        json_object_get(obj, "metadata"), "resourceVersion"));
    return rv ? atol(rv) : 0;
}

/* GET on the collection: a list, or a watch held open until the client
 * goes away. */
static int list_or_watch(fake_api *a, lstore *s, const fake_req *r, int fd)
{
    if (!strstr(r->path, "watch=1")) {
        char rv[32];
        snprintf(rv, sizeof rv, "%ld", s->rv);
        json_t *items = json_array();
        if (s->lease)
            json_array_append(items, s->lease);
        json_t *l = json_pack("{s:s,s:{s:s},s:o}", "kind", "LeaseList",
                              "metadata", "resourceVersion", rv, "items",
                              items);
        pthread_mutex_unlock(&s->mu);
        fake_send_json(fd, 200, l);
        json_decref(l);
        return FAKE_KEEP;
    }
    s->watches++;
    int slot = -1;
    for (int i = 0; i < 16 && slot < 0; i++)
        if (s->watchers[i] < 0)
            slot = i;
    if (slot >= 0) {
        fake_stream_begin(fd);
        s->watchers[slot] = fd;
        /* A LIST then a WATCH from its resourceVersion must not lose what
         * happened in between (a release right after the LIST). */
        char from[32];
        fake_query(r->path, "resourceVersion", from, sizeof from);
        size_t i;
        json_t *ev;
        json_array_foreach(s->history, i, ev)
            if (from[0] && rv_of(json_object_get(ev, "object")) > atol(from))
                send_event(fd, ev);
    }
    pthread_mutex_unlock(&s->mu);
    fake_hold(a, fd);
    pthread_mutex_lock(&s->mu);
    if (slot >= 0)
        s->watchers[slot] = -1;
    pthread_mutex_unlock(&s->mu);
    return FAKE_CLOSE;
}

static const char *holder_of(const json_t *l)
{
    const char *h = json_string_value(
        json_object_get(json_object_get(l, "spec"), "holderIdentity"));
    return h ? h : "";
}

static int lease_handler(fake_api *a, const fake_req *r, int fd, void *ud)
{
    lstore *s = ud;
    const char *coll = "/apis/coordination.k8s.io/v1/namespaces/ns/leases";
    size_t cl = strlen(coll);
    if (strncmp(r->path, coll, cl) != 0) {
        fake_send_status(fd, 404, "NotFound", "no such path");
        return FAKE_KEEP;
    }
    const char *name = r->path[cl] == '/' ? r->path + cl + 1 : "";
    pthread_mutex_lock(&s->mu);
    if (!strcmp(r->method, "GET") && (r->path[cl] == '?' || !r->path[cl]))
        return list_or_watch(a, s, r, fd);
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
    if (!strcmp(r->method, "DELETE") && !strcmp(name, "lead")) {
        /* DeleteOptions: preconditions.resourceVersion must match. */
        json_t *opts = json_loadb(r->body, r->body_len, 0, NULL);
        const char *want = json_string_value(json_object_get(
            json_object_get(opts, "preconditions"), "resourceVersion"));
        int code = !s->lease ? 404
                   : s->refuse_deletes > 0 ? 409
                   : !want || rv_of(s->lease) == atol(want) ? 200 : 409;
        if (s->refuse_deletes > 0)
            s->refuse_deletes--;
        if (code == 200) {
            s->deletes++;
            notify(s, "DELETED");
            json_decref(s->lease);
            s->lease = NULL;
        } else if (code == 409) {
            s->delete_conflicts++;
        }
        pthread_mutex_unlock(&s->mu);
        json_decref(opts);
        if (code == 200)
            fake_send_status(fd, 200, "", "deleted");
        else
            fake_send_status(fd, code, code == 409 ? "Conflict" : "NotFound",
                             "precondition failed");
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
        notify(s, code == 201 ? "ADDED" : "MODIFIED");
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
    int started, stopped, leaders_seen;
    int64_t started_at, stopped_at;
} who;

static void leader_seen(const char *id, void *ud)
{
    (void)id;
    who *w = ud;
    pthread_mutex_lock(&w->mu);
    w->leaders_seen++;
    pthread_mutex_unlock(&w->mu);
}

/* One more of a leadership edge of w, and when (under w's lock: the
 * elector's thread writes, the test reads). */
static void count_edge(who *w, int *n, int64_t *at)
{
    pthread_mutex_lock(&w->mu);
    (*n)++;
    *at = fake_now_ms();
    pthread_mutex_unlock(&w->mu);
}

static void started(void *ud)
{
    who *w = ud;
    count_edge(w, &w->started, &w->started_at);
}

static void stopped(void *ud)
{
    who *w = ud;
    count_edge(w, &w->stopped, &w->stopped_at);
}

static void quiet(const char *msg, void *ud)
{
    (void)msg;
    (void)ud;
}

static kube_lease_opts opts_for(who *w, long lease_ms, long renew_ms,
                                 long retry_ms)
{
    kube_lease_opts o = {.namespace = "ns",
                         .name = "lead",
                         .identity = w->id,
                         .lease_duration_ms = lease_ms,
                         .renew_deadline_ms = renew_ms,
                         .retry_period_ms = retry_ms,
                         .on_started_leading = started,
                         .on_stopped_leading = stopped,
                         .on_new_leader = leader_seen,
                         .ud = w,
                         .log = quiet};
    return o;
}

static kube_lease *start(kube_client *c, const kube_lease_opts *o)
{
    char err[256];
    kube_lease *l = kube_lease_start(c, o, err, sizeof err);
    assert_non_null(l);
    return l;
}

static kube_lease *elect_with(kube_client *c, who *w, long lease_ms,
                              long renew_ms, long retry_ms)
{
    kube_lease_opts o = opts_for(w, lease_ms, renew_ms, retry_ms);
    return start(c, &o);
}

/* A member Lease: one candidate, labelled, deleted when it stops. */
static kube_lease *member(kube_client *c, who *w)
{
    kube_lease_opts o = opts_for(w, 2000, 1500, 300);
    o.sole_candidate = true;
    o.delete_on_stop = true;
    o.label_key = "leakwatch.dev/shard-of";
    o.label_value = "lw";
    return start(c, &o);
}

static kube_lease *elect(kube_client *c, who *w)
{
    return elect_with(c, w, 2000, 1500, 300);
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

/* Everything a test starts lives here, on the heap, and teardown stops it
 * even when an assertion failed half way (cmocka leaves the test by
 * longjmp; threads must not be left using its stack). */
typedef struct fx {
    lstore s;
    fake_api api;
    bool api_up;
    kube_client *c;
    kube_lease *a, *b;
    who wa, wb;
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    pthread_mutex_init(&f->s.mu, NULL);
    memset(f->s.watchers, -1, sizeof f->s.watchers);
    pthread_mutex_init(&f->wa.mu, NULL);
    pthread_mutex_init(&f->wb.mu, NULL);
    f->wa.id = "a";
    f->wb.id = "b";
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    kube_lease_stop(f->a);
    kube_lease_stop(f->b);
    fake_api_disconnect(f->api_up ? &f->api : NULL, f->c);
    json_decref(f->s.lease);
    json_decref(f->s.history);
    pthread_mutex_destroy(&f->s.mu);
    pthread_mutex_destroy(&f->wa.mu);
    pthread_mutex_destroy(&f->wb.mu);
    free(f);
    return 0;
}

static void fx_start(fx *f)
{
    f->c = fake_api_connect(&f->api, lease_handler, &f->s, "ns");
    assert_non_null(f->c);
    f->api_up = true;
}

static int counter(who *w, const int *field)
{
    pthread_mutex_lock(&w->mu);
    int v = *field;
    pthread_mutex_unlock(&w->mu);
    return v;
}

static void test_skew_and_graceful_release(void **state)
{
    fx *f = *state;
    snprintf(f->s.skewed, sizeof f->s.skewed, "a");
    fx_start(f);
    f->a = elect_with(f->c, &f->wa, 4000, 3000, 500);
    assert_true(watch_until(f->a, NULL, 30000, a_leads));
    assert_string_equal(kube_lease_identity(f->a), "a");
    f->b = elect_with(f->c, &f->wb, 4000, 3000, 500);
    /* Two lease durations: b must not take over from a live leader whose
     * renewTime claims it last renewed in the year 2000. */
    assert_false(watch_until(f->a, f->b, 8000, b_leads));
    assert_true(kube_lease_is_leader(f->a));
    assert_int_equal(counter(&f->wb, &f->wb.started), 0);
    assert_int_equal(transitions(&f->s), 0);

    /* Graceful stop: released, b leads well before the lease (4 s) would
     * have run out. */
    int64_t t0 = fake_now_ms();
    kube_lease_stop(f->a);
    f->a = NULL;
    assert_int_equal(counter(&f->wa, &f->wa.stopped), 1);
    assert_true(watch_until(NULL, f->b, 10000, b_leads));
    assert_true(fake_now_ms() - t0 < 3500);
    assert_int_equal(transitions(&f->s), 1);
    pthread_mutex_lock(&f->s.mu);
    assert_string_equal(holder_of(f->s.lease), "b");
    pthread_mutex_unlock(&f->s.mu);
    kube_lease_stop(f->b);
    f->b = NULL;
    assert_int_equal(counter(&f->wb, &f->wb.started), 1);
    assert_int_equal(counter(&f->wb, &f->wb.stopped), 1);
    pthread_mutex_lock(&f->s.mu);
    assert_string_equal(holder_of(f->s.lease), "");
    pthread_mutex_unlock(&f->s.mu);
}

/* A member Lease is created with its label, and deleted when its holder
 * stops; when the DELETE's precondition fails (a renewal it stopped
 * waiting for landed meanwhile), it reads the Lease again and deletes what
 * it still holds. */
static void test_member_lease_labelled_and_deleted(void **state)
{
    fx *f = *state;
    fx_start(f);
    f->a = member(f->c, &f->wa);
    assert_true(watch_until(f->a, NULL, 30000, a_leads));
    pthread_mutex_lock(&f->s.mu);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(f->s.lease, "metadata"),
                                            "labels"),
                            "leakwatch.dev/shard-of")),
                        "lw");
    f->s.refuse_deletes = 1;
    pthread_mutex_unlock(&f->s.mu);
    kube_lease_stop(f->a);
    f->a = NULL;
    assert_int_equal(counter(&f->wa, &f->wa.stopped), 1);
    pthread_mutex_lock(&f->s.mu);
    assert_null(f->s.lease);
    assert_int_equal(f->s.deletes, 1);
    assert_int_equal(f->s.delete_conflicts, 1);
    pthread_mutex_unlock(&f->s.mu);
}

/* Deleting a Lease this process does not hold (the leader collecting a
 * dead member's): only the version read, and gone counts as done. */
static void test_delete_only_the_version_read(void **state)
{
    fx *f = *state;
    fx_start(f);
    f->a = elect(f->c, &f->wa);
    assert_true(watch_until(f->a, NULL, 30000, a_leads));
    kube_lease_stop(f->a); /* released: the Lease stays, held by nobody */
    f->a = NULL;
    pthread_mutex_lock(&f->s.mu);
    char rv[32];
    snprintf(rv, sizeof rv, "%ld", rv_of(f->s.lease));
    pthread_mutex_unlock(&f->s.mu);
    kube_response r;
    assert_int_equal(kube_lease_delete(f->c, "ns", "lead", "1", &r), -1);
    assert_int_equal(r.status, 409);
    kube_response_free(&r);
    assert_int_equal(kube_lease_delete(f->c, "ns", "lead", rv, &r), 0);
    kube_response_free(&r);
    assert_int_equal(kube_lease_delete(f->c, "ns", "lead", rv, &r), 0);
    assert_int_equal(r.status, 404);
    kube_response_free(&r);
    pthread_mutex_lock(&f->s.mu);
    assert_null(f->s.lease);
    assert_int_equal(f->s.deletes, 1);
    pthread_mutex_unlock(&f->s.mu);
}

static void test_frozen_leader_steps_down(void **state)
{
    fx *f = *state;
    fx_start(f);
    f->a = elect(f->c, &f->wa);
    assert_true(watch_until(f->a, NULL, 30000, a_leads));
    f->b = elect(f->c, &f->wb);
    assert_false(watch_until(f->a, f->b, 1000, b_leads));

    /* a can no longer write: it must step down by renewDeadline after its
     * last renew, and b may lead only after a full lease duration without a
     * change — never both at once (watch_until checks every 10 ms). */
    pthread_mutex_lock(&f->s.mu);
    snprintf(f->s.frozen, sizeof f->s.frozen, "a");
    pthread_mutex_unlock(&f->s.mu);
    int64_t t0 = fake_now_ms();
    assert_true(watch_until(f->a, f->b, 30000, b_leads));
    int64_t took = fake_now_ms() - t0;
    pthread_mutex_lock(&f->wa.mu);
    int64_t a_stopped = f->wa.stopped_at;
    int a_stops = f->wa.stopped;
    pthread_mutex_unlock(&f->wa.mu);
    pthread_mutex_lock(&f->wb.mu);
    int64_t b_started = f->wb.started_at;
    pthread_mutex_unlock(&f->wb.mu);
    print_message("  a stepped down after %lld ms, b led after %lld ms\n",
                  (long long)(a_stopped - t0), (long long)took);
    assert_int_equal(a_stops, 1);
    /* renewDeadline (1.5 s) after its last renew; the slack is for a
     * loaded machine, the order below is what matters. */
    assert_true(a_stopped - t0 <= 1500 + 1500);
    assert_true(b_started >= a_stopped);
    /* Not before a lease duration after a's last renew (which was at most
     * a retry period before t0); and not absurdly later. */
    assert_true(took >= 2000 - 300 - 50);
    assert_true(took <= 2000 + 700 + 3000);
    assert_int_equal(transitions(&f->s), 1);
    kube_lease_stop(f->a); /* not leading: no release, no second callback */
    f->a = NULL;
    assert_int_equal(counter(&f->wa, &f->wa.stopped), 1);
}

static bool seen_leader(who *w)
{
    pthread_mutex_lock(&w->mu);
    bool seen = w->leaders_seen > 0;
    pthread_mutex_unlock(&w->mu);
    return seen;
}

/* The successor learns of a release from its watch of the Lease, not from
 * its next poll: with a 5 s retry period and the leader stopped right after
 * the successor's first look, only the watch can make it lead within 2 s. */
static void test_release_wakes_the_successor(void **state)
{
    fx *f = *state;
    fx_start(f);
    f->a = elect_with(f->c, &f->wa, 20000, 15000, 5000);
    assert_true(watch_until(f->a, NULL, 30000, a_leads));
    f->b = elect_with(f->c, &f->wb, 20000, 15000, 5000);
    int64_t end = fake_now_ms() + 30000;
    while (!seen_leader(&f->wb) && fake_now_ms() < end)
        fake_sleep_ms(5);
    assert_true(seen_leader(&f->wb));
    /* Whether b's watch is up yet or not: one that starts later lists the
     * released Lease and wakes b just the same. */
    int64_t t0 = fake_now_ms();
    kube_lease_stop(f->a);
    f->a = NULL;
    assert_true(watch_until(NULL, f->b, 4000, b_leads));
    int64_t took = fake_now_ms() - t0;
    print_message("  b leads %lld ms after a was told to stop\n",
                  (long long)took);
    assert_true(took < 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_skew_and_graceful_release,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_member_lease_labelled_and_deleted,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_delete_only_the_version_read,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_frozen_leader_steps_down,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_release_wakes_the_successor,
                                        fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
