/*
 * test_contain_plan.c — containment's rules without a network: memory
 * quantities and limits, the projection to a limit, the restart ledger
 * (budgets, cooldowns, Events not counted twice), severity order, the
 * workload's settled state and ready floor, and the decision order with the
 * exact sentences the Events carry.  Quantity parsing is lw_units's
 * (test_lw_units.c).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "contain/cnt_plan.h"
#include "kube/kube_workload.h"

/* ---- units ----------------------------------------------------------------- */

static void test_formats(void **state)
{
    (void)state;
    char b[64];
    cnt_format_quantity(268435456, b, sizeof b);
    assert_string_equal(b, "256Mi");
    cnt_format_quantity(1000000000, b, sizeof b);
    assert_string_equal(b, "1G");
    cnt_format_quantity(1610612736, b, sizeof b);
    assert_string_equal(b, "1536Mi");
    cnt_format_quantity(1610612737, b, sizeof b);
    assert_string_equal(b, "1.5Gi");
    cnt_format_quantity(1023, b, sizeof b);
    assert_string_equal(b, "1023");

    cnt_format_duration(7800, b, sizeof b);
    assert_string_equal(b, "2h10m");
    cnt_format_duration(21600, b, sizeof b);
    assert_string_equal(b, "6h");
    cnt_format_duration(2700, b, sizeof b);
    assert_string_equal(b, "45m");
    cnt_format_duration(270, b, sizeof b);
    assert_string_equal(b, "4m30s");
    cnt_format_duration(30, b, sizeof b);
    assert_string_equal(b, "30s");
    cnt_format_duration(273600, b, sizeof b);
    assert_string_equal(b, "3d4h");
    cnt_format_duration(INFINITY, b, sizeof b);
    assert_string_equal(b, "never");
    cnt_format_duration(1e12, b, sizeof b);
    assert_string_equal(b, ">999d");

    cnt_format_size(8192, b, sizeof b);
    assert_string_equal(b, "8 KiB");
    cnt_format_size(1536, b, sizeof b);
    assert_string_equal(b, "1.5 KiB");
    cnt_format_size(300, b, sizeof b);
    assert_string_equal(b, "300 B");
}

static void expect_trimmed(const char *in, const char *want)
{
    char s[16];
    snprintf(s, sizeof s, "%s", in);
    cnt_utf8_trim(s);
    assert_string_equal(s, want);
}

static void test_utf8_trim(void **state)
{
    (void)state;
    expect_trimmed("ab\xe2\x80", "ab"); /* an em dash cut after 2 of 3 bytes */
    expect_trimmed("ab\xe2\x80\x94", "ab\xe2\x80\x94");
    expect_trimmed("x\xc3", "x");
    expect_trimmed("\xf0\x9f\x98", "");
    expect_trimmed("plain", "plain");
}

static json_t *pod_json(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        fail_msg("bad test JSON: %s", e.text);
    return j;
}

/* The limit of the pod `text`: found, and as given. */
static void expect_limit(const char *text, uint64_t bytes, const char *as,
                         const char *source)
{
    cnt_mem_limit l;
    char err[256];
    json_t *p = pod_json(text);
    if (cnt_pod_memory_limit(p, &l, err, sizeof err) != 1)
        fail_msg("no limit found in %s (%s)", text, err);
    assert_int_equal(l.bytes, bytes);
    assert_string_equal(l.text, as);
    assert_string_equal(l.source, source);
    json_decref(p);
}

static void test_memory_limit(void **state)
{
    (void)state;
    cnt_mem_limit l;
    char err[256];
    /* One container: its limit, as written. */
    expect_limit("{\"spec\":{\"containers\":[{\"name\":\"app\","
                 "\"resources\":{\"limits\":{\"memory\":\"256Mi\"}}}]}}",
                 268435456, "256Mi", "container app");

    /* Two containers, the pprof one is known: its limit, not the sum. */
    expect_limit("{\"metadata\":{\"annotations\":{\"leakwatch.dev/scrape\":\"true\"}},"
                 "\"spec\":{\"containers\":["
                 "{\"name\":\"proxy\",\"resources\":{\"limits\":{\"memory\":\"1Gi\"}}},"
                 "{\"name\":\"app\",\"ports\":[{\"name\":\"pprof\",\"containerPort\":6060}],"
                 "\"resources\":{\"limits\":{\"memory\":\"128Mi\"}}}]}}",
                 134217728, "128Mi", "container app");

    /* Unknown which container: the sum, only when every one has a limit. */
    expect_limit("{\"spec\":{\"containers\":["
                 "{\"name\":\"a\",\"resources\":{\"limits\":{\"memory\":\"1Gi\"}}},"
                 "{\"name\":\"b\",\"resources\":{\"limits\":{\"memory\":\"512Mi\"}}}]}}",
                 1610612736, "1536Mi", "2 containers");
    json_t *p = pod_json("{\"spec\":{\"containers\":["
                         "{\"name\":\"a\",\"resources\":{\"limits\":{\"memory\":\"1Gi\"}}},"
                         "{\"name\":\"b\"}]}}");
    assert_int_equal(cnt_pod_memory_limit(p, &l, err, sizeof err), 0);
    json_decref(p);

    /* A pod-level limit caps the containers'. */
    expect_limit("{\"spec\":{\"resources\":{\"limits\":{\"memory\":\"200Mi\"}},"
                 "\"containers\":[{\"name\":\"app\",\"resources\":{\"limits\":"
                 "{\"memory\":\"256Mi\"}}}]}}",
                 209715200, "200Mi", "pod");

    /* A limit that is not a quantity: an error naming it. */
    p = pod_json("{\"spec\":{\"containers\":[{\"name\":\"app\","
                 "\"resources\":{\"limits\":{\"memory\":\"12XB\"}}}]}}");
    assert_int_equal(cnt_pod_memory_limit(p, &l, err, sizeof err), -1);
    assert_non_null(strstr(err, "container app"));
    assert_non_null(strstr(err, "\"12XB\""));
    json_decref(p);

    assert_int_equal(cnt_pod_memory_limit(NULL, &l, err, sizeof err), 0);
}

/* ---- urgency -------------------------------------------------------------------- */

static cnt_config config(void)
{
    cnt_config c;
    cnt_config_default(&c);
    c.enabled = true;
    return c;
}

static void test_urgency_memory(void **state)
{
    (void)state;
    cnt_config cfg = config();
    cnt_candidate cand = {.goroutines = 0, .per_minute = 256,
                          .bytes_per_goroutine = 8192};
    cnt_mem_limit lim = {.bytes = 268435456, .text = "256Mi",
                         .source = "container app"};
    cnt_urgency u;
    cnt_urgency_eval(&cfg, &cand, &lim, &u);
    /* 256/min x 8 KiB = 2 MiB/min: 256 MiB in 128 minutes. */
    assert_true(u.urgent);
    assert_int_equal(u.basis, CNT_BASIS_MEMORY);
    assert_true(fabs(u.eta_s - 7680) < 1e-6);
    assert_string_equal(u.phrase, "projected to reach its 256Mi memory limit in "
                        "2h8m at +256 goroutines/min (~8 KiB each) \u2014 under "
                        "the 6h horizon");

    /* The measured footprint shortens it; without one the goroutines
     * themselves are the floor (1000 x 8 KiB). */
    cand.memory_bytes = 134217728;
    cnt_urgency_eval(&cfg, &cand, &lim, &u);
    assert_true(fabs(u.eta_s - 3840) < 1e-6);
    cand.memory_bytes = 0;
    cand.goroutines = 16384; /* 128 MiB of goroutines at 8 KiB */
    cnt_urgency_eval(&cfg, &cand, &lim, &u);
    assert_true(fabs(u.eta_s - 3840) < 1e-6);

    /* Already past the limit: now. */
    cand.memory_bytes = 300000000;
    cnt_urgency_eval(&cfg, &cand, &lim, &u);
    assert_true(u.urgent);
    assert_true(u.eta_s == 0);
    assert_non_null(strstr(u.phrase, "already at its 256Mi memory limit"));

    /* Mild: a 64Gi limit at +120/min with the default estimate. */
    cand = (cnt_candidate){.goroutines = 500, .per_minute = 120};
    lim = (cnt_mem_limit){.bytes = 68719476736LL, .text = "64Gi",
                          .source = "container app"};
    cnt_urgency_eval(&cfg, &cand, &lim, &u);
    assert_false(u.urgent);
    assert_true(u.bpg_estimated);
    assert_non_null(strstr(u.phrase, "~8 KiB each, estimated"));
    assert_non_null(strstr(u.phrase, "beyond the 6h horizon"));
    assert_non_null(strstr(u.phrase, "in 48d"));

    /* Not growing: never. */
    cand.per_minute = 0;
    cnt_urgency_eval(&cfg, &cand, &lim, &u);
    assert_false(u.urgent);
    assert_true(isinf(u.eta_s));
    assert_non_null(strstr(u.phrase, "not growing toward its 64Gi memory limit"));
}

static void test_urgency_cap_and_rate(void **state)
{
    (void)state;
    cnt_config cfg = config();
    cfg.goroutine_cap = 10000;
    cnt_candidate cand = {.goroutines = 4000, .per_minute = 100};
    cnt_mem_limit lim = {.bytes = 68719476736LL, .text = "64Gi"};
    cnt_urgency u;
    /* The cap (60 minutes) is nearer than the memory limit. */
    cnt_urgency_eval(&cfg, &cand, &lim, &u);
    assert_int_equal(u.basis, CNT_BASIS_CAP);
    assert_true(fabs(u.eta_s - 3600) < 1e-6);
    assert_true(u.urgent);
    assert_string_equal(u.phrase, "projected to reach the goroutine cap of 10000 "
                        "in 1h at +100 goroutines/min (now 4000) \u2014 under "
                        "the 6h horizon");

    /* No limit at all: only the minimum rate can make it urgent. */
    cfg.goroutine_cap = 0;
    cand.per_minute = 400;
    cnt_urgency_eval(&cfg, &cand, NULL, &u);
    assert_false(u.urgent);
    assert_int_equal(u.basis, CNT_BASIS_NONE);
    assert_string_equal(u.phrase, "growing at +400 goroutines/min with no memory "
                        "limit or goroutine cap to project against");
    cfg.min_rate_per_min = 300;
    cnt_urgency_eval(&cfg, &cand, NULL, &u);
    assert_true(u.urgent);
    assert_true(u.by_rate);
    assert_non_null(strstr(u.phrase, "but +400/min reaches the minimum rate of 300/min"));
    cand.per_minute = 299;
    cnt_urgency_eval(&cfg, &cand, NULL, &u);
    assert_false(u.urgent);
    assert_non_null(strstr(u.phrase, "below the minimum rate of 300/min"));

    /* Horizon 0: projections never make it urgent. */
    cfg.min_rate_per_min = 0;
    cfg.horizon_s = 0;
    cfg.goroutine_cap = 10000;
    cand.per_minute = 100000;
    cnt_urgency_eval(&cfg, &cand, NULL, &u);
    assert_false(u.urgent);

    /* NaN from upstream reads as flat. */
    cfg.horizon_s = 3600;
    cand.per_minute = NAN;
    cnt_urgency_eval(&cfg, &cand, NULL, &u);
    assert_false(u.urgent);
    assert_true(u.per_minute == 0);
}

/* ---- ledger ---------------------------------------------------------------------- */

static cnt_action act(int64_t t, const char *wl, const char *pod, bool dry,
                      bool ev)
{
    cnt_action a = {.t_s = t, .dry_run = dry, .from_events = ev};
    snprintf(a.ns, sizeof a.ns, "shop");
    snprintf(a.workload_uid, sizeof a.workload_uid, "%s", wl);
    snprintf(a.pod, sizeof a.pod, "%s", pod);
    return a;
}

static void test_ledger(void **state)
{
    (void)state;
    cnt_ledger l;
    cnt_ledger_init(&l);
    int64_t now = 100000;
    cnt_action a = act(now - 10, "w1", "orders-a", false, false);
    assert_int_equal(cnt_ledger_add(&l, &a), 0);
    /* Its Event, read back a few seconds later: the same restart. */
    cnt_action e = act(now - 7, "w1", "orders-a", false, true);
    assert_int_equal(cnt_ledger_add(&l, &e), 1);
    e = act(now - 1000, "w1", "orders-b", false, true);
    assert_int_equal(cnt_ledger_add(&l, &e), 0);
    e = act(now - 4000, "w1", "orders-c", false, true); /* over an hour ago */
    assert_int_equal(cnt_ledger_add(&l, &e), 0);
    e = act(now - 50, "w2", "billing-a", false, true);
    assert_int_equal(cnt_ledger_add(&l, &e), 0);
    e = act(now - 60, "w1", "orders-d", true, false); /* dry-run */
    assert_int_equal(cnt_ledger_add(&l, &e), 0);

    int64_t since = now - CNT_BUDGET_WINDOW_S;
    assert_int_equal(cnt_ledger_count(&l, "w1", since, false), 2);
    assert_int_equal(cnt_ledger_count(&l, "w1", since, true), 3);
    assert_int_equal(cnt_ledger_count(&l, NULL, since, false), 3);
    assert_int_equal(cnt_ledger_count(&l, "w3", since, false), 0);
    assert_int_equal(cnt_ledger_last(&l, "shop", "orders-a", NULL, false), now - 10);
    assert_int_equal(cnt_ledger_last(&l, "other", "orders-a", NULL, false), -1);
    assert_int_equal(cnt_ledger_last(&l, NULL, NULL, "w1", false), now - 10);
    assert_int_equal(cnt_ledger_last(&l, NULL, NULL, "w1", true), now - 10);
    assert_int_equal(cnt_ledger_last(&l, "shop", "orders-d", NULL, false), -1);

    /* A reservation whose eviction was refused is taken back. */
    cnt_ledger_remove(&l, &a);
    assert_int_equal(cnt_ledger_count(&l, "w1", since, false), 1);
    cnt_ledger_prune(&l, since);
    assert_int_equal(l.n, 3);
    cnt_ledger_clear(&l);
    assert_int_equal(l.n, 0);
}

/* ---- ranking ------------------------------------------------------------------------ */

static void test_rank(void **state)
{
    (void)state;
    int64_t now = 1000000;
    cnt_rank_item it[] = {
        {.name = "a", .eta_s = INFINITY, .per_minute = 900, .eligible = true,
         .last_ms = now - 1000, .prev_ms = now - 31000},
        {.name = "b", .eta_s = 5000, .per_minute = 100, .eligible = true,
         .last_ms = now - 1000, .prev_ms = now - 31000},
        {.name = "c", .eta_s = 4000, .per_minute = 120, .eligible = true,
         .last_ms = now - 200000, .prev_ms = now - 230000}, /* stale */
        {.name = "d", .eta_s = 4500, .per_minute = 110, .eligible = false,
         .last_ms = now - 1000, .prev_ms = now - 31000},
        {.name = "e", .eta_s = 5000, .per_minute = 150, .eligible = true,
         .last_ms = now - 1000, .prev_ms = 0},
    };
    /* e: same eta as b, steeper. c would be first but its finding
     * cleared (not seen for 200 s at a 30 s rhythm); d is not eligible. */
    assert_int_equal(cnt_rank_first(it, 5, now), 4);
    assert_true(cnt_rank_compare(&it[1], &it[0]) < 0); /* projected first */
    assert_true(cnt_rank_compare(&it[2], &it[1]) < 0); /* nearer first */
    assert_int_equal(cnt_rank_fresh_count(it, 5, now), 4);
    /* Fast rhythm: three missed 3 s intervals still count as fresh for
     * the 30 s minimum. */
    cnt_rank_item f = {.name = "f", .last_ms = now - 25000, .prev_ms = now - 28000};
    assert_true(cnt_rank_fresh(&f, now));
    f.last_ms = now - 31000;
    assert_false(cnt_rank_fresh(&f, now));
    /* Two sightings far apart: no more than ten minutes of grace. */
    cnt_rank_item g = {.name = "g", .last_ms = now - 700000, .prev_ms = now - 9000000};
    assert_false(cnt_rank_fresh(&g, now));
    it[4].eligible = false;
    it[1].eligible = false;
    assert_int_equal(cnt_rank_first(it, 5, now), 0);
    it[0].eligible = false;
    assert_int_equal(cnt_rank_first(it, 5, now), -1);
}

/* ---- workloads ------------------------------------------------------------------------ */

static const char *deploy3 =
    "{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"orders\",\"uid\":\"w1\","
    "\"generation\":4},\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":"
    "{\"app\":\"orders\"}}},\"status\":{\"observedGeneration\":4,"
    "\"readyReplicas\":3,\"updatedReplicas\":3}}";

static json_t *pod(const char *name, bool ready, bool terminating)
{
    json_t *p = json_pack("{s:{s:s},s:{s:s,s:[{s:s,s:s}]}}", "metadata", "name",
                          name, "status", "phase", "Running", "conditions",
                          "type", "Ready", "status", ready ? "True" : "False");
    if (terminating)
        json_object_set_new(json_object_get(p, "metadata"), "deletionTimestamp",
                            json_string("2026-01-01T00:00:00Z"));
    return p;
}

static void count(cnt_workload_state *st, const char *name, bool ready,
                  bool terminating)
{
    json_t *p = pod(name, ready, terminating);
    kube_pod kp;
    kube_pod_parse(p, &kp);
    cnt_workload_count_pod(st, &kp);
    json_decref(p);
}

static void test_workload_settled_and_floor(void **state)
{
    (void)state;
    char err[256], why[512];
    json_t *d = pod_json(deploy3);
    cnt_workload_state st;
    assert_int_equal(cnt_workload_parse(d, &st, err, sizeof err), 0);
    assert_int_equal(st.replicas, 3);
    assert_int_equal(st.max_unavailable, 0); /* 25% of 3, rounded down */
    assert_int_equal(st.max_surge, 1);
    assert_string_equal(st.selector, "app=orders");
    count(&st, "orders-a", true, false);
    count(&st, "orders-b", true, false);
    count(&st, "orders-c", true, false);
    assert_true(cnt_workload_settled(&st, why, sizeof why));
    /* readyReplicas - 1 = 2 >= max(1, 3 - max(1, 0)) = 2 */
    assert_true(cnt_workload_floor_ok(&st, false, why, sizeof why));
    assert_true(cnt_workload_floor_ok(&st, true, why, sizeof why));

    /* A pod terminating (the last restart's, say) holds everything. */
    cnt_workload_state t = st;
    count(&t, "orders-x", true, true);
    assert_false(cnt_workload_settled(&t, why, sizeof why));
    assert_string_equal(why, "deployment/orders has 3/3 ready; orders-x terminating");

    /* Its replacement not Ready yet, or not even created. */
    t = st;
    t.pods_ready = 2;
    assert_false(cnt_workload_settled(&t, why, sizeof why));
    assert_string_equal(why, "deployment/orders has 2/3 ready; a replacement is "
                        "not created yet");
    count(&t, "orders-d", false, false);
    assert_false(cnt_workload_settled(&t, why, sizeof why));
    assert_non_null(strstr(why, "orders-d not Ready"));

    /* The status has not caught up, or a rollout is under way. */
    t = st;
    t.ready_status = 2;
    assert_false(cnt_workload_settled(&t, why, sizeof why));
    assert_non_null(strstr(why, "reports 2/3 ready"));
    t = st;
    t.updated = 1;
    assert_false(cnt_workload_settled(&t, why, sizeof why));
    assert_non_null(strstr(why, "rolling out: 1/3"));
    t = st;
    t.generation_observed = false;
    assert_false(cnt_workload_settled(&t, why, sizeof why));

    /* One replica: never evicted. */
    t = st;
    t.replicas = 1;
    t.ready_status = 1;
    t.pods_ready = 1;
    assert_false(cnt_workload_floor_ok(&t, false, why, sizeof why));
    assert_string_equal(why, "deployment/orders has 1/1 ready; evicting one would "
                        "leave 0, below its floor of 1 ready");
    /* ...but a rollout surges a new one first. */
    t.max_unavailable = 0;
    t.max_surge = 1;
    assert_true(cnt_workload_floor_ok(&t, true, why, sizeof why));
    t.recreate = true;
    t.max_unavailable = 1;
    assert_false(cnt_workload_floor_ok(&t, true, why, sizeof why));
    assert_non_null(strstr(why, "Recreate"));

    /* maxUnavailable 2 of 5: floor 3, so from 4 ready one may go; from 3 not. */
    t = st;
    t.replicas = 5;
    t.max_unavailable = 2;
    t.pods_ready = t.ready_status = 4;
    assert_true(cnt_workload_floor_ok(&t, false, why, sizeof why));
    t.pods_ready = 3;
    assert_false(cnt_workload_floor_ok(&t, false, why, sizeof why));
    json_decref(d);

    /* StatefulSets: OnDelete cannot be rolled; one replica cannot either. */
    d = pod_json("{\"kind\":\"StatefulSet\",\"metadata\":{\"name\":\"db\",\"uid\":"
                 "\"s1\"},\"spec\":{\"replicas\":1,\"updateStrategy\":{\"type\":"
                 "\"OnDelete\"},\"selector\":{\"matchLabels\":{\"app\":\"db\"}}}}");
    assert_int_equal(cnt_workload_parse(d, &st, err, sizeof err), 0);
    assert_true(st.on_delete);
    assert_false(cnt_workload_floor_ok(&st, true, why, sizeof why));
    assert_non_null(strstr(why, "OnDelete"));
    assert_int_equal(st.updated, -1);
    json_decref(d);

    d = pod_json("{\"kind\":\"DaemonSet\",\"metadata\":{\"name\":\"x\",\"uid\":\"d\"}}");
    assert_int_equal(cnt_workload_parse(d, &st, err, sizeof err), -1);
    assert_non_null(strstr(err, "DaemonSet"));
    json_decref(d);
}

static void test_selector_and_percent(void **state)
{
    (void)state;
    char out[256], err[256];
    json_t *s = pod_json("{\"matchLabels\":{\"app\":\"orders\"},\"matchExpressions\":["
                         "{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]},"
                         "{\"key\":\"canary\",\"operator\":\"DoesNotExist\"},"
                         "{\"key\":\"zone\",\"operator\":\"NotIn\",\"values\":[\"x\"]},"
                         "{\"key\":\"team\",\"operator\":\"Exists\"}]}");
    assert_int_equal(kube_selector_string(s, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "app=orders,tier in (a,b),!canary,zone notin (x),team");
    json_decref(s);
    s = pod_json("{}");
    assert_int_equal(kube_selector_string(s, out, sizeof out, err, sizeof err), -1);
    assert_non_null(strstr(err, "empty"));
    json_decref(s);
    s = pod_json("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Near\"}]}");
    assert_int_equal(kube_selector_string(s, out, sizeof out, err, sizeof err), -1);
    assert_non_null(strstr(err, "Near"));
    json_decref(s);
    s = pod_json("{\"matchLabels\":{\"app\":\"orders\"}}");
    assert_int_equal(kube_selector_string(s, out, 5, err, sizeof err), -1);
    assert_non_null(strstr(err, "longer"));
    json_decref(s);

    json_t *v = json_string("25%");
    assert_int_equal(cnt_int_or_percent(v, 3, false, 9), 0);
    assert_int_equal(cnt_int_or_percent(v, 3, true, 9), 1);
    assert_int_equal(cnt_int_or_percent(v, 8, false, 9), 2);
    json_decref(v);
    v = json_integer(2);
    assert_int_equal(cnt_int_or_percent(v, 3, false, 9), 2);
    json_decref(v);
    v = json_string("two");
    assert_int_equal(cnt_int_or_percent(v, 3, false, 9), 9);
    json_decref(v);
    assert_int_equal(cnt_int_or_percent(NULL, 3, false, 7), 7);
}

/* ---- decisions ------------------------------------------------------------------------------ */

typedef struct fixture {
    cnt_config cfg;
    cnt_candidate cand;
    cnt_urgency urg;
    cnt_mem_limit lim;
    cnt_workload_state wl;
    cnt_facts f;
} fixture;

/* Urgent opted-in pod of deployment/orders with evidence, nothing used. */
static void setup_fixture(fixture *x)
{
    memset(x, 0, sizeof *x);
    x->cfg = config();
    x->cand = (cnt_candidate){.ns = "shop", .pod = "orders-a", .pod_uid = "p1",
                              .owner_kind = "Deployment", .owner_name = "orders",
                              .owner_uid = "w1", .owner_api_version = "apps/v1",
                              .opted_in = true, .goroutines = 0,
                              .per_minute = 256, .bytes_per_goroutine = 8192,
                              .pattern = "chan-send"};
    x->lim = (cnt_mem_limit){.bytes = 268435456, .text = "256Mi",
                             .source = "container app"};
    cnt_urgency_eval(&x->cfg, &x->cand, &x->lim, &x->urg);
    json_t *d = pod_json(deploy3);
    char err[128];
    cnt_workload_parse(d, &x->wl, err, sizeof err);
    json_decref(d);
    x->wl.pods_ready = 3;
    x->wl.candidate_live = true;
    x->f = (cnt_facts){.cfg = &x->cfg, .cand = &x->cand, .urg = &x->urg,
                       .has_controller = true, .evidence_ok = true,
                       .leaking = 3, .since_pod_restart_s = -1,
                       .since_workload_restart_s = -1};
    snprintf(x->f.evidence, sizeof x->f.evidence, "/e/suspect.pb.gz, /e/baseline.pb.gz");
}

static cnt_kind decide(fixture *x, cnt_decision *d)
{
    cnt_decide(&x->f, d);
    return d->kind;
}

static void with_cluster(fixture *x)
{
    x->f.have_cluster = true;
    x->f.wl = &x->wl;
}

static void test_decide_opt_in_owner_urgency(void **state)
{
    (void)state;
    fixture x;
    cnt_decision d;

    setup_fixture(&x);
    x.cand.opted_in = false;
    x.cfg.enabled = false;
    assert_int_equal(decide(&x, &d), CNT_SILENT);
    x.cfg.enabled = true;
    assert_int_equal(decide(&x, &d), CNT_NOT_OPTED_IN);
    assert_false(cnt_kind_warning(d.kind));
    assert_non_null(strstr(d.msg, "not restarting (not opted in): annotate"));

    setup_fixture(&x);
    x.cfg.enabled = false;
    assert_int_equal(decide(&x, &d), CNT_DISABLED);
    assert_non_null(strstr(d.msg, "without --containment"));

    setup_fixture(&x);
    x.cand.owner_kind = "";
    x.f.has_controller = false;
    assert_int_equal(decide(&x, &d), CNT_NO_OWNER);
    assert_true(cnt_kind_warning(d.kind));
    assert_false(cnt_kind_on_workload(d.kind));
    /* A controller the caller could not resolve is not "no owner". */
    x.f.has_controller = true;
    assert_int_equal(decide(&x, &d), CNT_SILENT);
    setup_fixture(&x);
    x.f.has_controller = false; /* owner known, but the pod says otherwise */
    assert_int_equal(decide(&x, &d), CNT_NO_OWNER);

    setup_fixture(&x);
    x.lim.bytes = 68719476736LL;
    snprintf(x.lim.text, sizeof x.lim.text, "64Gi");
    cnt_urgency_eval(&x.cfg, &x.cand, &x.lim, &x.urg);
    assert_int_equal(decide(&x, &d), CNT_MILD);
    assert_string_equal(d.msg, "not restarting (mild leak): chan-send leak projected "
                        "to reach its 64Gi memory limit in 22d18h at +256 "
                        "goroutines/min (~8 KiB each) \u2014 beyond the 6h horizon; "
                        "reporting only");

    setup_fixture(&x);
    x.cand.owner_kind = "DaemonSet";
    assert_int_equal(decide(&x, &d), CNT_UNSUPPORTED);
    assert_non_null(strstr(d.msg, "daemonset/orders"));
    setup_fixture(&x);
    x.cand.owner_kind = "ReplicaSet";
    with_cluster(&x);
    assert_int_equal(decide(&x, &d), CNT_ACT);
    x.cfg.rollout = true;
    assert_int_equal(decide(&x, &d), CNT_UNSUPPORTED);

    setup_fixture(&x);
    x.f.evidence_ok = false;
    snprintf(x.f.evidence, sizeof x.f.evidence, "suspect profile /e/s.pb.gz: No such "
             "file or directory");
    assert_int_equal(decide(&x, &d), CNT_NO_EVIDENCE);
    assert_non_null(strstr(d.msg, "not restarting (evidence missing): suspect profile "
                           "/e/s.pb.gz: No such file or directory; a restart would "
                           "destroy the only evidence"));
}

static void test_decide_budgets_cooldown_backoff(void **state)
{
    (void)state;
    fixture x;
    cnt_decision d;

    setup_fixture(&x);
    x.cfg.budget_per_workload = 1;
    x.f.used_workload = 1;
    x.f.leaking = 2;
    assert_int_equal(decide(&x, &d), CNT_BUDGET_WORKLOAD);
    assert_true(cnt_kind_warning(d.kind));
    assert_non_null(strstr(d.msg, "budget exhausted: 1/1 restarts this hour for "
                           "deployment/orders; 2 leaking pods left; chan-send leak"));
    x.f.leaking = 1;
    decide(&x, &d);
    assert_non_null(strstr(d.msg, "; 1 leaking pod left;"));

    /* Global before per-workload. */
    x.cfg.budget_global = 4;
    x.f.used_global = 4;
    assert_int_equal(decide(&x, &d), CNT_BUDGET_GLOBAL);
    assert_non_null(strstr(d.msg, "budget exhausted: 4/4 restarts this hour across "
                           "all workloads; 1 leaking pod of deployment/orders left"));
    /* A zero budget means never. */
    setup_fixture(&x);
    x.cfg.budget_per_workload = 0;
    assert_int_equal(decide(&x, &d), CNT_BUDGET_WORKLOAD);

    setup_fixture(&x);
    x.f.since_pod_restart_s = 120;
    assert_int_equal(decide(&x, &d), CNT_COOLDOWN);
    assert_string_equal(d.msg, "waiting (cooldown): a pod named orders-a was "
                        "restarted 2m ago; cooldown 10m");
    x.f.since_pod_restart_s = 601;
    with_cluster(&x);
    assert_int_equal(decide(&x, &d), CNT_ACT);

    /* Rollout mode cools down per workload: every pod was restarted. */
    x.cfg.rollout = true;
    assert_int_equal(decide(&x, &d), CNT_ACT);
    x.f.since_pod_restart_s = 120;
    assert_int_equal(decide(&x, &d), CNT_COOLDOWN);
    assert_string_equal(d.msg, "waiting (cooldown): deployment/orders was restarted "
                        "by rollout 2m ago; cooldown 10m");

    setup_fixture(&x);
    x.f.retry_in_s = 45;
    x.f.retry_kind = CNT_DEFERRED_PDB;
    snprintf(x.f.retry_reason, sizeof x.f.retry_reason, "Cannot evict pod as it "
             "would violate the pod's disruption budget.");
    assert_int_equal(decide(&x, &d), CNT_DEFERRED_PDB);
    assert_string_equal(d.msg, "deferred by PodDisruptionBudget: Cannot evict pod as "
                        "it would violate the pod's disruption budget.; retrying in 45s");
    x.f.retry_kind = CNT_FAILED;
    snprintf(x.f.retry_reason, sizeof x.f.retry_reason, "connection refused");
    assert_int_equal(decide(&x, &d), CNT_FAILED);

    setup_fixture(&x);
    x.f.stopped = true;
    snprintf(x.f.stopped_reason, sizeof x.f.stopped_reason, "several budgets");
    assert_int_equal(decide(&x, &d), CNT_MULTIPLE_PDBS);
    assert_string_equal(d.msg, "stopped (several PodDisruptionBudgets): several budgets");

    /* Everything cheap passes: read the workload. */
    setup_fixture(&x);
    assert_int_equal(decide(&x, &d), CNT_ACT);
    assert_true(d.need_cluster);
}

static void test_decide_workload_and_order(void **state)
{
    (void)state;
    fixture x;
    cnt_decision d;

    setup_fixture(&x);
    with_cluster(&x);
    x.wl.pods_terminating = 1;
    snprintf(x.wl.terminating, sizeof x.wl.terminating, "orders-z");
    assert_int_equal(decide(&x, &d), CNT_IN_PROGRESS);
    assert_false(d.need_cluster);
    assert_false(cnt_kind_on_workload(d.kind));
    assert_string_equal(d.msg, "waiting (restart in progress): deployment/orders has "
                        "3/3 ready; orders-z terminating; one pod at a time");
    /* Stuck past the ready timeout after our restart: a Warning. */
    x.f.since_workload_restart_s = 400;
    assert_int_equal(decide(&x, &d), CNT_NOT_READY);
    assert_true(cnt_kind_warning(d.kind));
    assert_non_null(strstr(d.msg, "6m40s after leakwatch's last restart "
                           "(--ready-timeout 5m)"));
    x.f.since_workload_restart_s = 200;
    assert_int_equal(decide(&x, &d), CNT_IN_PROGRESS);

    setup_fixture(&x);
    with_cluster(&x);
    x.wl.replicas = x.wl.ready_status = x.wl.pods_ready = 1;
    x.wl.updated = 1;
    assert_int_equal(decide(&x, &d), CNT_FLOOR);
    assert_non_null(strstr(d.msg, "not restarting (ready floor): deployment/orders "
                           "has 1/1 ready"));

    /* The pod went away since the watch cache saw it: nothing to say. */
    setup_fixture(&x);
    with_cluster(&x);
    x.wl.candidate_live = false;
    assert_int_equal(decide(&x, &d), CNT_SILENT);
    assert_non_null(strstr(d.msg, "orders-a is no longer a live pod of deployment/orders"));

    setup_fixture(&x);
    with_cluster(&x);
    x.f.first_sight = true;
    assert_int_equal(decide(&x, &d), CNT_GATHERING);
    x.f.first_sight = false;
    x.f.steeper = "orders-b";
    x.f.steeper_eta_s = 3000;
    assert_int_equal(decide(&x, &d), CNT_QUEUED);
    assert_string_equal(d.msg, "waiting (steeper pod first): orders-b is nearer its "
                        "limit (50m) and goes first");
    x.f.steeper = NULL;
    assert_int_equal(decide(&x, &d), CNT_ACT);
    assert_false(d.need_cluster);
}

static bool starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

static void test_outcomes_and_parse(void **state)
{
    (void)state;
    fixture x;
    cnt_decision d;
    char pod[64], wmsg[4096];

    setup_fixture(&x);
    x.f.used_workload = 1;
    x.f.used_global = 4;
    cnt_describe_outcome(&x.f, CNT_EVICTED, NULL, 0, &d);
    assert_int_equal(d.kind, CNT_EVICTED);
    assert_string_equal(d.msg, "evicted: chan-send leak projected to reach its 256Mi "
                        "memory limit in 2h8m at +256 goroutines/min (~8 KiB each) "
                        "\u2014 under the 6h horizon; evidence: /e/suspect.pb.gz, "
                        "/e/baseline.pb.gz; restart 2/3 this hour for "
                        "deployment/orders (5/10 overall)");
    cnt_workload_message("orders-a", d.msg, wmsg, sizeof wmsg);
    assert_int_equal(cnt_kind_parse(wmsg, pod, sizeof pod), CNT_EVICTED);
    assert_string_equal(pod, "orders-a");
    assert_int_equal(cnt_kind_parse(d.msg, pod, sizeof pod), CNT_EVICTED);
    assert_string_equal(pod, "");

    x.cfg.dry_run = true;
    cnt_describe_outcome(&x.f, CNT_WOULD, NULL, 0, &d);
    assert_true(starts(d.msg, "dry-run: would evict: chan-send leak"));
    assert_non_null(strstr(d.msg, "it would be restart 2/3 this hour"));
    assert_int_equal(cnt_kind_parse(d.msg, NULL, 0), CNT_WOULD);
    cnt_describe_outcome(&x.f, CNT_DEFERRED_PDB, "Cannot evict pod", 30, &d);
    assert_string_equal(d.msg, "dry-run: deferred by PodDisruptionBudget: Cannot "
                        "evict pod; retrying in 30s; chan-send leak projected to "
                        "reach its 256Mi memory limit in 2h8m at +256 "
                        "goroutines/min (~8 KiB each) \u2014 under the 6h horizon");
    assert_int_equal(cnt_kind_parse(d.msg, NULL, 0), CNT_DEFERRED_PDB);

    /* Every dry-run sentence is marked, even a refusal; a very long one is
     * cut, still marked and still valid UTF-8. */
    x.f.used_workload = 3;
    cnt_decide(&x.f, &d);
    assert_true(starts(d.msg, "dry-run: budget exhausted: 3/3 restarts"));
    assert_true(cnt_message_dry_run(d.msg));
    cnt_workload_message("orders-a", d.msg, wmsg, sizeof wmsg);
    assert_true(cnt_message_dry_run(wmsg));
    assert_int_equal(cnt_kind_parse(wmsg, NULL, 0), CNT_BUDGET_WORKLOAD);
    x.f.used_workload = 1;
    memset(x.f.evidence, 'e', sizeof x.f.evidence - 1);
    x.f.evidence[sizeof x.f.evidence - 1] = '\0';
    char dashes[301 * 3];
    for (int i = 0; i < 300; i++)
        memcpy(dashes + 3 * i, "\xe2\x80\x94", 3);
    dashes[900] = '\0';
    for (int i = 0; i < 3; i++) {
        dashes[900 - i] = '\0'; /* cut at every offset of a sequence */
        x.cand.pattern = dashes;
        cnt_describe_outcome(&x.f, CNT_WOULD, NULL, 0, &d);
        assert_true(starts(d.msg, "dry-run: would evict: "));
        json_t *js = json_string(d.msg);
        assert_non_null(js);
        json_decref(js);
    }
    x.cand.pattern = "chan-send";
    snprintf(x.f.evidence, sizeof x.f.evidence, "/e/suspect.pb.gz, /e/baseline.pb.gz");
    assert_false(cnt_message_dry_run("evicted: x"));
    assert_false(cnt_message_dry_run(NULL));

    x.cfg.dry_run = false;
    x.cfg.rollout = true;
    cnt_describe_outcome(&x.f, CNT_ROLLED_OUT, NULL, 0, &d);
    assert_true(starts(d.msg, "restarted by rollout of deployment/orders: "
                         "chan-send leak"));
    assert_int_equal(cnt_kind_parse(d.msg, NULL, 0), CNT_ROLLED_OUT);
    x.cfg.dry_run = true;
    cnt_describe_outcome(&x.f, CNT_WOULD, NULL, 0, &d);
    assert_true(starts(d.msg, "dry-run: would restart by rollout of "
                         "deployment/orders: "));
    assert_int_equal(cnt_kind_parse(d.msg, NULL, 0), CNT_WOULD);
    x.cfg.dry_run = false;
    cnt_describe_outcome(&x.f, CNT_FAILED, "deployments.apps \"orders\" is forbidden",
                         60, &d);
    assert_string_equal(d.msg, "restart failed: rollout restart of deployment/orders: "
                        "deployments.apps \"orders\" is forbidden; retrying in 1m");
    assert_int_equal(cnt_kind_parse(d.msg, NULL, 0), CNT_FAILED);
    x.cfg.rollout = false;
    cnt_describe_outcome(&x.f, CNT_MULTIPLE_PDBS, "This pod has more than one "
                         "PodDisruptionBudget", 0, &d);
    assert_int_equal(cnt_kind_parse(d.msg, NULL, 0), CNT_MULTIPLE_PDBS);
    assert_non_null(strstr(d.msg, "no restarts for deployment/orders for the next hour"));

    /* Every spoken decision reads back as itself, in both forms and after
     * the recorder combined it with similar ones. */
    fixture y;
    cnt_kind kinds[] = {CNT_NOT_OPTED_IN, CNT_DISABLED, CNT_NO_OWNER, CNT_MILD,
                        CNT_UNSUPPORTED, CNT_NO_EVIDENCE, CNT_MULTIPLE_PDBS,
                        CNT_BUDGET_WORKLOAD, CNT_BUDGET_GLOBAL, CNT_COOLDOWN,
                        CNT_IN_PROGRESS, CNT_NOT_READY, CNT_FLOOR, CNT_QUEUED};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        setup_fixture(&y);
        switch (kinds[i]) {
        case CNT_NOT_OPTED_IN: y.cand.opted_in = false; break;
        case CNT_DISABLED: y.cfg.enabled = false; break;
        case CNT_NO_OWNER: y.f.has_controller = false; break;
        case CNT_MILD: y.urg.urgent = false; break;
        case CNT_UNSUPPORTED: y.cand.owner_kind = "Job"; break;
        case CNT_NO_EVIDENCE: y.f.evidence_ok = false; break;
        case CNT_MULTIPLE_PDBS: y.f.stopped = true; break;
        case CNT_BUDGET_WORKLOAD: y.f.used_workload = 3; break;
        case CNT_BUDGET_GLOBAL: y.f.used_global = 10; break;
        case CNT_COOLDOWN: y.f.since_pod_restart_s = 1; break;
        case CNT_IN_PROGRESS: with_cluster(&y); y.wl.pods_ready = 2; break;
        case CNT_NOT_READY:
            with_cluster(&y);
            y.wl.pods_ready = 2;
            y.f.since_workload_restart_s = 1000;
            break;
        case CNT_FLOOR:
            with_cluster(&y);
            y.wl.replicas = y.wl.ready_status = y.wl.pods_ready = y.wl.updated = 1;
            break;
        case CNT_QUEUED: with_cluster(&y); y.f.steeper = "orders-b"; y.f.steeper_eta_s = INFINITY; break;
        default: break;
        }
        assert_int_equal(decide(&y, &d), kinds[i]);
        assert_int_equal(cnt_kind_parse(d.msg, NULL, 0), kinds[i]);
        cnt_workload_message("orders-a", d.msg, wmsg, sizeof wmsg);
        char combined[4200];
        snprintf(combined, sizeof combined, "(combined from similar events): %s", wmsg);
        assert_int_equal(cnt_kind_parse(combined, pod, sizeof pod), kinds[i]);
        assert_string_equal(pod, "orders-a");
    }
    assert_int_equal(cnt_kind_parse("Scaled up replica set orders-7d to 3", NULL, 0),
                     CNT_SILENT);
    assert_int_equal(cnt_kind_parse("pod orders-a without colon", NULL, 0), CNT_SILENT);
    assert_int_equal(cnt_kind_parse("would evict: no dry-run prefix", NULL, 0), CNT_SILENT);
    assert_int_equal(cnt_kind_parse(NULL, NULL, 0), CNT_SILENT);

    /* Waiting is one thing to say, whatever the reason. */
    assert_int_equal(cnt_kind_class(CNT_QUEUED), cnt_kind_class(CNT_IN_PROGRESS));
    assert_int_equal(cnt_kind_class(CNT_COOLDOWN), cnt_kind_class(CNT_IN_PROGRESS));
    assert_int_not_equal(cnt_kind_class(CNT_BUDGET_WORKLOAD), cnt_kind_class(CNT_MILD));
    assert_string_equal(cnt_kind_name(CNT_DEFERRED_PDB), "deferred-pdb");
    assert_string_equal(cnt_kind_name((cnt_kind)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_utf8_trim),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_urgency_memory),
        cmocka_unit_test(test_urgency_cap_and_rate),
        cmocka_unit_test(test_ledger),
        cmocka_unit_test(test_rank),
        cmocka_unit_test(test_workload_settled_and_floor),
        cmocka_unit_test(test_selector_and_percent),
        cmocka_unit_test(test_decide_opt_in_owner_urgency),
        cmocka_unit_test(test_decide_budgets_cooldown_backoff),
        cmocka_unit_test(test_decide_workload_and_order),
        cmocka_unit_test(test_outcomes_and_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
