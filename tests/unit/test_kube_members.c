/*
 * test_kube_members.c — the live members of a group of Leases, fed through
 * the group's watch handler as the API server would feed it: a renewing
 * member stays, one that stops renewing drops out one lease duration after
 * its last renewal reached us (our clock, not the server's renewTime), a
 * released or deleted Lease drops out at once, a Lease first listed counts
 * for one duration, one holder on two Leases counts once, and Leases gone
 * long enough are offered for collection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kube/kube_members.h"
#include "lw/lw_clock.h"

static json_t *lease(const char *name, const char *holder, long dur_s,
                     const char *rv, const char *renew)
{
    return json_pack("{s:s,s:{s:s,s:s,s:s,s:s},s:{s:s,s:I,s:s}}", "kind", "Lease",
                     "metadata", "name", name, "namespace", "lw", "uid", name,
                     "resourceVersion", rv, "spec", "holderIdentity", holder,
                     "leaseDurationSeconds", (json_int_t)dur_s, "renewTime",
                     renew);
}

static void list(const kube_watch_handler *h, json_t **items, int n, const char *rv)
{
    h->list_begin(h->ud);
    for (int i = 0; i < n; i++) {
        h->list_item(items[i], h->ud);
        json_decref(items[i]);
    }
    h->list_end(rv, h->ud);
}

static void event(const kube_watch_handler *h, kube_watch_event_type t, json_t *o)
{
    h->event(t, o, h->ud);
    json_decref(o);
}

static size_t live(kube_members *m, int64_t at, char (*ids)[256])
{
    return kube_members_live(m, at, ids, 8);
}

static void test_liveness(void **state)
{
    (void)state;
    char err[256];
    kube_members_opts o = {.namespace = "lw", .label_selector = "leakwatch.dev/shard-of=lw"};
    kube_members *m = kube_members_new(NULL, &o, err, sizeof err);
    assert_non_null(m);
    assert_int_equal(kube_members_start(m, err, sizeof err), -1);
    const kube_watch_handler *h = kube_members_watch_handler(m);
    assert_false(kube_members_synced(m));

    int64_t t0 = lw_mono_ms();
    json_t *items[] = {lease("lw-member-b", "b", 10, "1", "2026-01-01T00:00:00.000000Z"),
                       lease("lw-member-a", "a", 10, "2", "2026-01-01T00:00:00.000000Z"),
                       lease("lw-member-gone", "", 1, "3", "2026-01-01T00:00:00.000000Z")};
    list(h, items, 3, "3");
    assert_true(kube_members_synced(m));
    char ids[8][256];
    /* Listed: counted alive for one duration, sorted; released: not. */
    assert_int_equal(live(m, t0, ids), 2);
    assert_string_equal(ids[0], "a");
    assert_string_equal(ids[1], "b");

    /* a renews (a new resourceVersion) a little later; b does not.  Our
     * clock is what counts: the renewTime a server writes (here long past)
     * is never compared. */
    int64_t t_listed = lw_mono_ms();
    usleep(20000);
    int64_t t_renew = lw_mono_ms();
    event(h, KUBE_WATCH_MODIFIED,
          lease("lw-member-a", "a", 10, "4", "1999-01-01T00:00:00.000000Z"));
    int64_t t_after = lw_mono_ms();
    /* b expires 10 s after it was listed, a 10 s after its renewal. */
    assert_int_equal(live(m, t_listed + 10000, ids), 1);
    assert_string_equal(ids[0], "a");
    assert_int_equal(live(m, t_renew + 9999, ids), 1);
    assert_int_equal(live(m, t_after + 10000, ids), 0);

    /* The same object again (a relist of an unchanged Lease) does not
     * restart the clock. */
    event(h, KUBE_WATCH_MODIFIED,
          lease("lw-member-a", "a", 10, "4", "1999-01-01T00:00:00.000000Z"));
    assert_int_equal(live(m, t_after + 10000, ids), 0);

    /* Released: out at once.  Deleted: out at once. */
    event(h, KUBE_WATCH_MODIFIED,
          lease("lw-member-a", "", 1, "5", "1999-01-01T00:00:00.000000Z"));
    assert_int_equal(live(m, lw_mono_ms(), ids), 1);
    assert_string_equal(ids[0], "b");
    event(h, KUBE_WATCH_DELETED,
          lease("lw-member-b", "b", 10, "6", "1999-01-01T00:00:00.000000Z"));
    assert_int_equal(live(m, lw_mono_ms(), ids), 0);

    /* One holder on two Leases is one member. */
    event(h, KUBE_WATCH_ADDED, lease("lw-member-c1", "c", 10, "7", "x"));
    event(h, KUBE_WATCH_ADDED, lease("lw-member-c2", "c", 10, "8", "x"));
    event(h, KUBE_WATCH_ADDED, lease("lw-member-d", "d", 10, "9", "x"));
    assert_int_equal(live(m, lw_mono_ms(), ids), 2);
    assert_string_equal(ids[0], "c");
    assert_string_equal(ids[1], "d");
    /* cap smaller than the count: the count is still whole. */
    assert_int_equal(kube_members_live(m, lw_mono_ms(), ids, 1), 2);

    /* A deletion the watch missed, found by a relist, drops it too. */
    json_t *relist[] = {lease("lw-member-d", "d", 10, "9", "x")};
    list(h, relist, 1, "10");
    assert_int_equal(live(m, lw_mono_ms(), ids), 1);
    assert_string_equal(ids[0], "d");
    kube_members_free(m);
}

static void test_stale_for_collection(void **state)
{
    (void)state;
    char err[256];
    kube_members_opts o = {.namespace = "lw", .label_selector = "k=v"};
    kube_members *m = kube_members_new(NULL, &o, err, sizeof err);
    assert_non_null(m);
    const kube_watch_handler *h = kube_members_watch_handler(m);
    int64_t t0 = lw_mono_ms();
    json_t *items[] = {lease("lw-member-dead", "dead", 10, "1", "x"),
                       lease("lw-member-released", "", 1, "2", "x")};
    list(h, items, 2, "2");
    int64_t t1 = lw_mono_ms();
    kube_member out[4];
    /* Alive for 10 s: not stale whatever the threshold; released: gone
     * since it was seen. */
    assert_int_equal(kube_members_stale(m, t1, 0, out, 4), 1);
    assert_string_equal(out[0].lease, "lw-member-released");
    assert_string_equal(out[0].rv, "2");
    /* A holder that stopped renewing is gone from its expiry on. */
    assert_int_equal(kube_members_stale(m, t0 + 69999, 60000, out, 4), 1);
    assert_string_equal(out[0].lease, "lw-member-released");
    assert_int_equal(kube_members_stale(m, t1 + 70000, 60000, out, 4), 2);
    assert_int_equal(kube_members_stale(m, t1 + 70000, 60000, out, 1), 2);
    kube_members_free(m);
}

static void test_bad_options(void **state)
{
    (void)state;
    char err[256];
    kube_members_opts o = {.namespace = "lw"};
    assert_null(kube_members_new(NULL, &o, err, sizeof err));
    assert_non_null(strstr(err, "label selector"));
    assert_null(kube_members_new(NULL, NULL, err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_liveness),
        cmocka_unit_test(test_stale_for_collection),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
