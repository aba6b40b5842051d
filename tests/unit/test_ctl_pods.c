/*
 * test_ctl_pods.c — the controller's pod registry (from pod objects as the
 * API returns them) and the Event sentence it writes for a finding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "controller/ctl_message.h"
#include "controller/ctl_pods.h"

static json_t *pod(const char *name, const char *uid, const char *scrape,
                   const char *port, int restarts, const char *phase,
                   const char *start, const char *rs_uid)
{
    char buf[4096];
    snprintf(buf, sizeof(buf),
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"demo\",\"uid\":\"%s\","
             "\"annotations\":{\"leakwatch.dev/scrape\":\"%s\",\"leakwatch.dev/port\":\"%s\"},"
             "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\","
             "\"name\":\"web-7d9f\",\"uid\":\"%s\",\"controller\":true}]},"
             "\"spec\":{\"nodeName\":\"kwok-node-0\",\"containers\":[{\"name\":\"app\","
             "\"ports\":[{\"name\":\"pprof\",\"containerPort\":6060}]}]},"
             "\"status\":{\"phase\":\"%s\",\"podIP\":\"127.1.0.7\",\"startTime\":\"%s\","
             "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
             "\"containerStatuses\":[{\"name\":\"app\",\"ready\":true,\"restartCount\":%d}]}}",
             name, uid, scrape, port, rs_uid, phase, start, restarts);
    json_error_t e;
    json_t *j = json_loads(buf, 0, &e);
    assert_non_null(j);
    return j;
}

static void set_owner(ctl_pods *r, ctl_pod *p, const char *kind, const char *uid)
{
    kube_owner o;
    memset(&o, 0, sizeof o);
    snprintf(o.kind, sizeof(o.kind), "%s", kind);
    snprintf(o.uid, sizeof(o.uid), "%s", uid);
    assert_true(ctl_pods_set_owner(r, p, &o));
}

static void test_upsert_lifecycle(void **state)
{
    (void)state;
    ctl_pods *r = ctl_pods_new(10);
    ctl_pod *p, removed;
    ctl_pods_lock(r);
    json_t *a = pod("web-1", "u1", "true", "pprof", 0, "Running", "2026-11-23T04:00:00Z", "rs1");
    assert_int_equal(ctl_pods_upsert(r, a, &p, NULL), CTL_POD_ADDED);
    assert_non_null(p);
    assert_int_equal(p->ep_state, 1);
    assert_int_equal(p->ep->port, 6060);
    assert_string_equal(p->ip, "127.1.0.7");
    assert_string_equal(p->rs_uid, "rs1");
    assert_true(p->ready);
    assert_int_equal(ctl_pods_upsert(r, a, &p, NULL), CTL_POD_UPDATED);

    /* Not annotated: ignored. */
    json_t *b = pod("other", "u2", "false", "pprof", 0, "Running", "2026-11-23T04:00:00Z", "rs1");
    assert_int_equal(ctl_pods_upsert(r, b, &p, NULL), CTL_POD_IGNORED);
    assert_null(ctl_pods_get(r, "u2"));

    /* Bad annotation: kept, with the error, so it can be reported. */
    json_t *c = pod("bad", "u3", "true", "60x60", 0, "Running", "2026-11-23T04:00:00Z", "rs1");
    assert_int_equal(ctl_pods_upsert(r, c, &p, NULL), CTL_POD_ADDED);
    assert_int_equal(p->ep_state, -1);
    assert_non_null(strstr(p->ep->error, "60x60"));

    /* A container restart starts the window over. */
    p = ctl_pods_get(r, "u1");
    ctl_window_add(&p->win, 1000, 10);
    json_t *a2 = pod("web-1", "u1", "true", "pprof", 1, "Running", "2026-11-23T04:00:00Z", "rs1");
    assert_int_equal(ctl_pods_upsert(r, a2, &p, NULL), CTL_POD_RESTARTED);
    assert_int_equal(p->win.n, 0);

    /* A finding's text exists only once a finding names a stack, and is
     * gone when it clears. */
    assert_string_equal(ctl_pod_finding_funcs(p), "");
    assert_null(p->finding_text);
    ctl_finding_text *ft = ctl_pod_finding_text(p);
    assert_non_null(ft);
    assert_ptr_equal(ctl_pod_finding_text(p), ft);
    snprintf(ft->func, sizeof(ft->func), "main.leak\nmain.other");
    assert_string_equal(ctl_pod_finding_funcs(p), "main.leak\nmain.other");
    ctl_pod_drop_finding_text(p);
    assert_null(p->finding_text);
    assert_string_equal(ctl_pod_finding_funcs(p), "");
    snprintf(ctl_pod_finding_text(p)->func, sizeof(ft->func), "main.leak");

    /* Finished: removed, and the caller gets its last state, the finding's
     * text included (freed by the release; the leak checkers of make
     * test-asan and test-valgrind would see it otherwise). */
    json_t *a3 = pod("web-1", "u1", "true", "pprof", 1, "Succeeded", "2026-11-23T04:00:00Z", "rs1");
    assert_int_equal(ctl_pods_upsert(r, a3, &p, &removed), CTL_POD_REMOVED);
    assert_string_equal(removed.name, "web-1");
    assert_string_equal(ctl_pod_finding_funcs(&removed), "main.leak");
    ctl_pod_release(&removed);
    assert_null(removed.finding_text);
    assert_null(ctl_pods_get(r, "u1"));
    assert_int_equal(ctl_pods_count(r), 1);
    assert_true(ctl_pods_remove(r, "u3", NULL));
    assert_false(ctl_pods_remove(r, "u3", NULL));
    ctl_pods_unlock(r);
    json_decref(a);
    json_decref(a2);
    json_decref(a3);
    json_decref(b);
    json_decref(c);
    ctl_pods_free(r);
}

/* Pods of one ReplicaSet hold one copy of what they share (namespace,
 * ReplicaSet, endpoint, owner) and their own names; what rollouts leave
 * behind is freed, so the shared values stay as many as the templates in
 * use, however many pods come and go. */
static void test_pods_share_what_their_workload_says(void **state)
{
    (void)state;
    ctl_pods *r = ctl_pods_new(10);
    ctl_pod *p;
    ctl_pods_lock(r);
    json_t *j = pod("web-0", "w0", "true", "pprof", 0, "Running", "2026-11-23T04:00:00Z", "rs1");
    assert_int_equal(ctl_pods_upsert(r, j, &p, NULL), CTL_POD_ADDED);
    json_decref(j);
    ctl_pod *first = p;
    j = pod("web-1", "w1", "true", "pprof", 0, "Running", "2026-11-23T04:00:00Z", "rs1");
    assert_int_equal(ctl_pods_upsert(r, j, &p, NULL), CTL_POD_ADDED);
    json_decref(j);
    assert_ptr_equal(p->ep, first->ep);
    assert_ptr_equal(p->ns, first->ns);
    assert_ptr_equal(p->rs_uid, first->rs_uid);
    assert_ptr_equal(p->node, first->node);
    assert_ptr_equal(p->owner, first->owner); /* both unresolved */
    assert_true(p->name != first->name);
    assert_string_equal(p->name, "web-1");
    assert_string_equal(first->name, "web-0");
    set_owner(r, first, "Deployment", "dep1");
    assert_string_equal(first->owner->uid, "dep1");
    assert_string_equal(p->owner->uid, ""); /* the other keeps its own */
    set_owner(r, p, "Deployment", "dep1");
    assert_ptr_equal(p->owner, first->owner);

    /* An update that changes one fact changes that pod alone. */
    j = pod("web-1", "w1", "true", "6061", 0, "Running", "2026-11-23T04:00:00Z", "rs1");
    assert_int_equal(ctl_pods_upsert(r, j, &p, NULL), CTL_POD_UPDATED);
    json_decref(j);
    assert_int_equal(p->ep->port, 6061);
    assert_int_equal(first->ep->port, 6060);
    assert_true(p->ep != first->ep);

    /* Fifty rollouts of twenty pods: each replaces the last. */
    size_t values0, bytes0;
    ctl_pods_shared_stats(r, &values0, &bytes0);
    size_t most = 0;
    for (int roll = 0; roll < 50; roll++) {
        char rs[32], name[32], uid[32];
        snprintf(rs, sizeof(rs), "rs-%d", roll);
        for (int i = 0; i < 20; i++) {
            snprintf(name, sizeof(name), "r%d-%d", roll, i);
            snprintf(uid, sizeof(uid), "r%d-%d", roll, i);
            j = pod(name, uid, "true", "pprof", 0, "Running", "2026-11-23T04:00:00Z", rs);
            assert_int_equal(ctl_pods_upsert(r, j, &p, NULL), CTL_POD_ADDED);
            json_decref(j);
        }
        if (roll > 0)
            for (int i = 0; i < 20; i++) {
                ctl_pod removed;
                snprintf(uid, sizeof(uid), "r%d-%d", roll - 1, i);
                assert_true(ctl_pods_remove(r, uid, &removed));
                /* The copy still reads what it shared after removal. */
                char prev[32];
                snprintf(prev, sizeof(prev), "rs-%d", roll - 1);
                assert_string_equal(removed.rs_uid, prev);
                ctl_pod_release(&removed);
            }
        size_t values, bytes;
        ctl_pods_shared_stats(r, &values, &bytes);
        if (values > most)
            most = values;
    }
    /* Live: the two first pods' values and one rollout's twenty names and
     * one ReplicaSet uid; what is not held yet awaits a sweep, which runs
     * once the table doubles, so never more than twice that and a floor. */
    assert_true(ctl_pods_count(r) == 22);
    assert_true(most <= 2 * (values0 + 21) + 64);
    ctl_pods_unlock(r);
    ctl_pods_free(r);
}

/* The pod cache keeps what ctl_pod_slim leaves: every fact the registry
 * reads survives it, and of a pod that has not opted in only its
 * identity is kept. */
static void test_slim_keeps_what_the_registry_reads(void **state)
{
    (void)state;
    json_t *full = pod("web-0", "s0", "true", "pprof", 2, "Running", "2026-11-23T04:00:00Z", "rs1");
    json_object_set_new(json_object_get(full, "metadata"), "managedFields",
                        json_pack("[{s:s}]", "manager", "kubectl"));
    json_object_set_new(json_object_get(full, "spec"), "volumes",
                        json_pack("[{s:s}]", "name", "data"));
    json_t *meta = json_object_get(full, "metadata");
    json_object_set_new(meta, "labels", json_pack("{s:s,s:s}", "app", "web",
                                                  "pod-template-hash", "7d9f"));
    json_object_set_new(json_object_get(meta, "annotations"), "sidecar.istio.io/status",
                        json_string("{\"initContainers\":[\"istio-init\"]}"));
    json_array_insert_new(json_object_get(meta, "ownerReferences"), 0,
                          json_pack("{s:s,s:s,s:s}", "kind", "Lease", "name", "x", "uid", "l1"));
    json_array_append_new(json_object_get(json_object_get(full, "status"), "conditions"),
                          json_pack("{s:s,s:s}", "type", "PodScheduled", "status", "True"));
    json_t *slim = json_deep_copy(full);
    ctl_pod_slim(slim);
    json_t *smeta = json_object_get(slim, "metadata");
    assert_null(json_object_get(smeta, "managedFields"));
    assert_null(json_object_get(json_object_get(slim, "spec"), "volumes"));
    assert_int_equal(json_object_size(json_object_get(smeta, "labels")), 1);
    assert_null(json_object_get(json_object_get(smeta, "annotations"), "sidecar.istio.io/status"));
    assert_non_null(json_object_get(json_object_get(smeta, "annotations"), "leakwatch.dev/port"));
    assert_int_equal(json_array_size(json_object_get(smeta, "ownerReferences")), 1);
    assert_int_equal(json_array_size(json_object_get(json_object_get(slim, "status"),
                                                     "conditions")), 1);

    ctl_pods *r = ctl_pods_new(10), *rs = ctl_pods_new(10);
    ctl_pod *a, *b;
    ctl_pods_lock(r);
    ctl_pods_lock(rs);
    assert_int_equal(ctl_pods_upsert(r, full, &a, NULL), CTL_POD_ADDED);
    assert_int_equal(ctl_pods_upsert(rs, slim, &b, NULL), CTL_POD_ADDED);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->ns, b->ns);
    assert_string_equal(a->node, b->node);
    assert_string_equal(a->ip, b->ip);
    assert_string_equal(a->rs_uid, b->rs_uid);
    assert_string_equal(a->rs_kind, b->rs_kind);
    assert_string_equal(a->rs_name, b->rs_name);
    assert_string_equal(a->images, b->images);
    assert_string_equal(a->rev_hash, "7d9f");
    assert_string_equal(a->rev_hash, b->rev_hash);
    assert_memory_equal(a->ep, b->ep, sizeof(*a->ep));
    assert_int_equal(a->ep_state, b->ep_state);
    assert_int_equal(a->ready, b->ready);
    assert_int_equal(a->start_s, b->start_s);
    assert_int_equal(a->restarts, b->restarts);
    ctl_pods_unlock(rs);
    ctl_pods_unlock(r);
    ctl_pods_free(r);
    ctl_pods_free(rs);
    json_decref(full);
    json_decref(slim);

    json_t *other = pod("db-0", "s1", "false", "pprof", 0, "Running", "2026-11-23T04:00:00Z", "rs9");
    ctl_pod_slim(other);
    meta = json_object_get(other, "metadata");
    assert_int_equal(json_object_size(other), 1);
    assert_string_equal(json_string_value(json_object_get(meta, "uid")), "s1");
    assert_string_equal(json_string_value(json_object_get(meta, "name")), "db-0");
    assert_string_equal(json_string_value(json_object_get(meta, "namespace")), "demo");
    assert_null(json_object_get(meta, "annotations"));
    assert_null(json_object_get(meta, "ownerReferences"));
    json_decref(other);
}

/* A pod of group dep (or bare when dep is NULL) ten minutes old with
 * count goroutines: rate count / 10 per minute. */
static ctl_pod *rated_pod(ctl_pods *r, const char *uid, const char *dep,
                          int64_t now_s, int64_t count)
{
    ctl_pod *p;
    json_t *j = pod(uid, uid, "true", "6060", 0, "Running", "2026-11-23T04:00:00Z", "rs");
    assert_int_equal(ctl_pods_upsert(r, j, &p, NULL), CTL_POD_ADDED);
    json_decref(j);
    p->owner_resolved = true;
    if (dep)
        set_owner(r, p, "Deployment", dep);
    p->start_s = now_s - 600;
    p->last_count = count;
    return p;
}

/* count goroutines at t seconds after the pods were ten minutes old, per
 * minute of age. */
static double per_min(double count, int64_t t)
{
    return count / ((600.0 + (double)t) / 60.0);
}

static bool near(double a, double b)
{
    return a > b - 1e-9 && a < b + 1e-9;
}

/* Peer rates: the median of the other pods of the group, per minute of
 * age; gathered for every group at once and at most CTL_PEER_REFRESH_S
 * old; every member counts, however large the group. */
static void test_peer_rate_median(void **state)
{
    (void)state;
    ctl_pods *r = ctl_pods_new(10);
    int64_t now = 1795000000;
    ctl_pods_lock(r);
    ctl_pod *a1 = rated_pod(r, "a1", "dep-a", now, 10);   /* 1/min  */
    rated_pod(r, "a2", "dep-a", now, 20);                 /* 2/min  */
    rated_pod(r, "a3", "dep-a", now, 30);                 /* 3/min  */
    ctl_pod *a4 = rated_pod(r, "a4", "dep-a", now, 100);  /* 10/min */
    ctl_pod *b1 = rated_pod(r, "b1", "dep-b", now, 50);
    rated_pod(r, "b2", "dep-b", now, 70);
    ctl_pod *bare = rated_pod(r, "bare", NULL, now, 500);

    /* Each pod's own rate is left out of its group's median. */
    assert_true(ctl_pods_peer_rate_median(r, a4, now) == 2.0);
    assert_true(ctl_pods_peer_rate_median(r, a1, now) == 3.0);
    /* One peer is not a median; a bare pod has no peers. */
    assert_true(ctl_pods_peer_rate_median(r, b1, now) == -1);
    assert_true(ctl_pods_peer_rate_median(r, bare, now) == -1);

    /* Counts move: the median follows at the next gathering, not before. */
    a1->last_count = 90;                                  /* 9/min  */
    assert_true(ctl_pods_peer_rate_median(r, a4, now + 5) == 2.0);
    assert_true(near(ctl_pods_peer_rate_median(r, a4, now + CTL_PEER_REFRESH_S),
                     per_min(30, CTL_PEER_REFRESH_S)));
    /* A pod that leaves is gone from its group at the next gathering. */
    assert_true(ctl_pods_remove(r, "a2", NULL));
    assert_true(near(ctl_pods_peer_rate_median(r, a4, now + 2 * CTL_PEER_REFRESH_S),
                     per_min((90 + 30) / 2, 2 * CTL_PEER_REFRESH_S)));
    /* A pod not yet counted (no sample) sees its whole group. */
    ctl_pod *a5 = rated_pod(r, "a5", "dep-a", now, -1);
    assert_true(near(ctl_pods_peer_rate_median(r, a5, now + 3 * CTL_PEER_REFRESH_S),
                     per_min(90, 3 * CTL_PEER_REFRESH_S)));

    /* A group of 301: every member is a peer (the median of 300 others). */
    for (int i = 0; i < 301; i++) {
        char uid[16];
        snprintf(uid, sizeof(uid), "big%d", i);
        rated_pod(r, uid, "dep-big", now, (int64_t)i * 10);
    }
    ctl_pod *top = ctl_pods_get(r, "big300");
    /* Others: counts 0..2990; median (1490 + 1500) / 2. */
    assert_true(near(ctl_pods_peer_rate_median(r, top, now + 4 * CTL_PEER_REFRESH_S),
                     per_min(1495, 4 * CTL_PEER_REFRESH_S)));
    ctl_pods_unlock(r);
    ctl_pods_free(r);
}

static void test_fresh_peer_and_many_pods(void **state)
{
    (void)state;
    ctl_pods *r = ctl_pods_new(10);
    ctl_pod *p;
    ctl_pods_lock(r);
    const char *starts[] = {"2026-11-23T04:00:00Z", "2026-11-23T04:30:00Z", "2026-11-23T04:10:00Z"};
    for (int i = 0; i < 3; i++) {
        char name[16], uid[16];
        snprintf(name, sizeof(name), "web-%d", i);
        snprintf(uid, sizeof(uid), "u%d", i);
        json_t *j = pod(name, uid, "true", "6060", 0, "Running", starts[i], "rs1");
        ctl_pods_upsert(r, j, &p, NULL);
        p->owner_resolved = true;
        set_owner(r, p, "Deployment", "dep1");
        json_decref(j);
    }
    ctl_pod *old = ctl_pods_get(r, "u0");
    ctl_pod *peer = ctl_pods_fresh_peer(r, old);
    assert_non_null(peer);
    assert_string_equal(peer->name, "web-1"); /* the youngest */
    assert_ptr_equal(ctl_pods_fresh_peer(r, peer), ctl_pods_get(r, "u2"));

    /* Mid-rollout: web-0 and web-2 run revision 6, web-1 revision 7.  The
     * new pod's baseline is the youngest pod that has not yet rolled; an
     * old pod still takes the freshest, and unknown revisions change
     * nothing. */
    ctl_pods_get(r, "u0")->revision = 6;
    ctl_pods_get(r, "u1")->revision = 7;
    ctl_pods_get(r, "u2")->revision = 6;
    assert_ptr_equal(ctl_pods_fresh_peer(r, ctl_pods_get(r, "u1")),
                     ctl_pods_get(r, "u2"));
    ctl_pods_get(r, "u2")->revision = 7;
    assert_ptr_equal(ctl_pods_fresh_peer(r, ctl_pods_get(r, "u1")),
                     ctl_pods_get(r, "u0"));
    assert_ptr_equal(ctl_pods_fresh_peer(r, old), ctl_pods_get(r, "u1"));
    ctl_pods_get(r, "u0")->revision = -1;
    assert_ptr_equal(ctl_pods_fresh_peer(r, ctl_pods_get(r, "u1")),
                     ctl_pods_get(r, "u2"));

    /* The index survives growth and removals. */
    for (int i = 3; i < 2000; i++) {
        char name[16], uid[16];
        snprintf(name, sizeof(name), "p-%d", i);
        snprintf(uid, sizeof(uid), "u%d", i);
        json_t *j = pod(name, uid, "true", "6060", 0, "Running", starts[0], "rs2");
        ctl_pods_upsert(r, j, &p, NULL);
        json_decref(j);
    }
    for (int i = 3; i < 2000; i += 2) {
        char uid[16];
        snprintf(uid, sizeof(uid), "u%d", i);
        assert_true(ctl_pods_remove(r, uid, NULL));
    }
    assert_int_equal(ctl_pods_count(r), 3 + 998);
    assert_non_null(ctl_pods_get(r, "u1998"));
    assert_null(ctl_pods_get(r, "u1999"));
    ctl_pods_unlock(r);
    ctl_pods_free(r);
}

static void test_message_reads_like_an_answer(void **state)
{
    (void)state;
    pprof_frame frames[] = {
        {"runtime.gopark", "/usr/local/go/src/runtime/proc.go", 460},
        {"main.(*fetcher).gather.func1", "/src/app/fetch.go", 88},
    };
    lwa_sig sig = {.nframes = 2, .frames = frames, .shown = 1,
                   .pattern = LWA_PATTERN_CHAN_SEND, .wait_reason = "chan send",
                   .created_by = {"main.(*fetcher).gather", NULL, 0}};
    lwa_finding f = {.sig = &sig, .status = LWA_STATUS_LEAK, .count = 3790,
                     .has_baseline = true, .baseline = 12, .delta = 3778,
                     .has_minutes = true, .minutes_max = 3,
                     .pattern = LWA_PATTERN_CHAN_SEND};
    ctl_finding_msg m = {.growth = 3812, .span_minutes = 4, .per_minute = 15.9,
                         .peer_name = "web-7d9f-x2k", .peer_age_minutes = 2,
                         .pod_age_minutes = 30,
                         .peer_count = 41, .top = &f,
                         .suspect_path = "/ev/s.pb.gz", .baseline_path = "/ev/b.pb.gz"};
    char out[2048];
    ctl_format_finding(&m, out, sizeof(out));
    assert_non_null(strstr(out, "+3,812 goroutines in 4m (15.9/min) vs fresh peer web-7d9f-x2k (2m old, 41 goroutines)"));
    assert_non_null(strstr(out, "main.(*fetcher).gather.func1 fetch.go:88 [chan send, 3 min]"));
    assert_non_null(strstr(out, "created by main.(*fetcher).gather"));
    assert_non_null(strstr(out, "pattern chan-send: "));
    assert_non_null(strstr(out, "go tool pprof -diff_base /ev/b.pb.gz /ev/s.pb.gz"));

    /* Evidence that could not be saved is said, never silently dropped. */
    m.suspect_path = m.baseline_path = NULL;
    m.evidence_error = "evidence /ev/s.pb.gz: write: No space left on device";
    ctl_format_finding(&m, out, sizeof(out));
    assert_non_null(strstr(out, ". Evidence could not be saved: evidence /ev/s.pb.gz: "
                                "write: No space left on device"));
    assert_null(strstr(out, "Evidence: "));
    m.suspect_path = "/ev/s.pb.gz";
    m.evidence_error = "evidence /ev/b.pb.gz: write: No space left on device";
    ctl_format_finding(&m, out, sizeof(out));
    assert_non_null(strstr(out, ". Evidence: /ev/s.pb.gz (baseline could not be saved: "
                                "evidence /ev/b.pb.gz: write: No space left on device)"));
    m.baseline_path = "/ev/b.pb.gz";
    m.evidence_error = NULL;

    /* A peer as old as the pod is not "fresh". */
    m.peer_age_minutes = 29;
    ctl_format_finding(&m, out, sizeof(out));
    assert_non_null(strstr(out, " vs peer web-7d9f-x2k (29m old"));

    /* Revisions known: the pod's revision and images, the peer that has
     * not yet rolled, and the old revision flat on the stack (12 of 3,790,
     * over 29m, longer than the 4m window). */
    m.revision = 7;
    m.images = "orders:1.4.2";
    m.peer_revision = 6;
    m.peer_images = "orders:1.4.1";
    ctl_format_finding(&m, out, sizeof(out));
    assert_non_null(strstr(out, "(15.9/min) in revision 7 (orders:1.4.2) vs "
                                "not-yet-rolled peer web-7d9f-x2k of revision "
                                "6 (orders:1.4.1) (29m old, 41 goroutines)"));
    assert_non_null(strstr(out, "; new in revision 7 (orders:1.4.2); revision "
                                "6 (orders:1.4.1) flat on this stack; pattern"));
    /* When the revision was rolled out, once known. */
    m.revision_age_minutes = 125;
    ctl_format_finding(&m, out, sizeof(out));
    assert_non_null(strstr(out, "(15.9/min) in revision 7 (orders:1.4.2, rolled out "
                                "2h5m ago) vs not-yet-rolled peer"));
    m.revision_age_minutes = 0;
    /* The old revision holding the stack as well is not "new". */
    f.baseline = 900;
    ctl_format_finding(&m, out, sizeof(out));
    assert_null(strstr(out, "; new in revision"));
    assert_non_null(strstr(out, "; revision 6 (orders:1.4.1) holds 900 on this "
                                "stack too: not new in revision 7; pattern"));
    f.baseline = 12;
    /* A peer of the same revision is an ordinary peer. */
    m.peer_revision = 7;
    ctl_format_finding(&m, out, sizeof(out));
    assert_non_null(strstr(out, "in revision 7 (orders:1.4.2) vs peer web-7d9f-x2k (29m old"));
    assert_null(strstr(out, "flat on this stack"));
    /* ... and then the evidence kept of revision 6 is the last green
     * deploy: 12 of 3,790 is new here, 900 is not. */
    m.prev_revision = 6;
    m.prev_images = "orders:1.4.1";
    m.prev_count = 12;
    m.prev_age_minutes = 130;
    ctl_format_finding(&m, out, sizeof(out));
    assert_non_null(strstr(out, "; new in revision 7 (orders:1.4.2); revision 6 "
                                "(orders:1.4.1) held 12 on this stack in evidence "
                                "kept 2h10m ago; pattern"));
    m.prev_count = 900;
    ctl_format_finding(&m, out, sizeof(out));
    assert_non_null(strstr(out, "; revision 6 (orders:1.4.1) held 900 on this stack "
                                "too in evidence kept 2h10m ago: not new in revision 7; "
                                "pattern"));
    /* A peer of the older revision says it from the pod instead. */
    m.peer_revision = 6;
    ctl_format_finding(&m, out, sizeof(out));
    assert_null(strstr(out, "in evidence kept"));
    m.prev_revision = 0;
    m.revision = m.peer_revision = -1;

    /* Without a peer it says what it compared with; tiny buffers cut, never overflow. */
    m.peer_name = NULL;
    ctl_format_finding(&m, out, sizeof(out));
    assert_non_null(strstr(out, "its own first capture"));
    char tiny[16];
    ctl_format_finding(&m, tiny, sizeof(tiny));
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);

    /* The pattern the analysis settled on wins over the stack's own (a
     * select that never ages is a sleep loop). */
    f.pattern = LWA_PATTERN_SLEEP_LOOP;
    ctl_format_finding(&m, out, sizeof(out));
    assert_non_null(strstr(out, "pattern sleep-loop: "));
    f.pattern = LWA_PATTERN_CHAN_SEND;

    /* One leak on several stacks, and the tenant that carries it. */
    pprof_frame cframes[] = {{"google.golang.org/grpc/internal/transport.(*http2Client).reader", NULL, 0}};
    lwa_sig csig = {.nframes = 1, .frames = cframes};
    lwa_companion comp = {.sig = &csig, .count = 3790, .delta = 3778, .per_unit = 1};
    lwa_label_share share = {.key = "tenant", .value = "acme", .share = 0.98, .delta = 3700};
    f.companions = &comp;
    f.ncompanions = 1;
    f.group_per_unit = 2;
    f.unit = "leaked ClientConn";
    f.labels = &share;
    f.nlabels = 1;
    ctl_format_finding(&m, out, sizeof(out));
    assert_non_null(strstr(out, "; one leak on 2 stacks, 2 goroutines per leaked ClientConn "
                                "(with google.golang.org/grpc/internal/transport.(*http2Client).reader x1)"));
    assert_non_null(strstr(out, "; 98% tenant=acme; pattern chan-send: "));

    /* The workload's story sums up its replicas. */
    char w[4096];
    ctl_format_workload(2, 3, 1, "a +1.0/min, b +2.0/min", "a", "MSG", w, sizeof(w));
    assert_string_equal(w, "2 of 3 replicas leak on this stack (a +1.0/min, b +2.0/min), "
                           "1 more growing; pod a: MSG");
    ctl_format_workload(1, 1, 0, "", "a", "MSG", w, sizeof(w));
    assert_string_equal(w, "1 of 1 replica leaks on this stack (a); pod a: MSG");

    char d[32];
    ctl_fmt_duration(72, d, sizeof(d));
    assert_string_equal(d, "1h12m");
    ctl_fmt_duration(0.5, d, sizeof(d));
    assert_string_equal(d, "30s");
    ctl_fmt_count(-1234567, d, sizeof(d));
    assert_string_equal(d, "-1,234,567");
}

/* Workload Events read back, as the controller wrote them on the local
 * cluster (tests/e2e/rollout.sh). */
static void test_parse_workload_event(void **state)
{
    (void)state;
    ctl_event_reader *r = ctl_event_reader_new();
    assert_non_null(r);
    ctl_story_event ev;
    const char *leak =
        "1 of 3 replicas leaks on this stack (orders-6fb6c5d59b-tg9jt +479.0/min); "
        "pod orders-6fb6c5d59b-tg9jt: +216 goroutines in 27s (479.0/min) in revision 2 "
        "(orders:1.1, rolled out 31s ago) vs not-yet-rolled peer orders-5fc4b5d475-8tb8f "
        "of revision 1 (orders:1.0) (36s old, 12 goroutines), far above its peers for its "
        "age: main.(*fetcher).gather.func1 chansend.go:40 [chan send] x242 (+192, 0 in "
        "baseline), created by main.(*fetcher).gather; new in revision 2 (orders:1.1); "
        "revision 1 (orders:1.0) flat on this stack; pattern chan-send: buffer the channel "
        "or select on ctx.Done() in the sender. Evidence: go tool pprof -diff_base a b";
    assert_true(ctl_parse_workload_event(r, "GoroutineLeak", leak, &ev));
    assert_true(ev.open);
    assert_string_equal(ev.func, "main.(*fetcher).gather.func1");
    assert_string_equal(ev.pattern, "chan-send");
    assert_int_equal(ev.revision, 2);
    assert_string_equal(ev.images, "orders:1.1");
    assert_true(ev.per_minute == 479.0);
    assert_true(ev.req_per_s == -1);
    /* No revision, no wait reason, several images. */
    assert_true(ctl_parse_workload_event(r, "GoroutineLeak",
        "2 of 2 replicas leak on this stack (a +3.0/min); pod a: +30 goroutines in 10m "
        "(3.0/min) vs fresh peer b (1m old): main.worker ? x30 (+30); pattern unknown: x",
        &ev));
    assert_string_equal(ev.func, "main.worker");
    assert_int_equal(ev.revision, -1);
    assert_true(ctl_parse_workload_event(r, "GoroutineLeak",
        "1 of 1 replica leaks on this stack (a +3.0/min); pod a: +30 goroutines in 10m "
        "(3.0/min) in revision 4 (api:2,sidecar:1) vs its own first capture (no ready "
        "peer): main.worker w.go:3 [select, 12 min] x30 (+30); pattern select: x", &ev));
    assert_string_equal(ev.images, "api:2,sidecar:1");
    assert_int_equal(ev.revision, 4);
    const char *not_fixed =
        "main.(*fetcher).gather.func1 still grows in revision 3 (orders:1.2): 4 \xe2\x86\x92 "
        "246 over 30s (+479.1/min) on pod orders-64c4d76cb7-7q84j at 4.0 req/s; it grew "
        "+486.3/min in revision 2 (orders:1.1) at 4.0 req/s. Pattern chan-send: buffer";
    assert_true(ctl_parse_workload_event(r, "GoroutineLeakNotFixed", not_fixed, &ev));
    assert_true(ev.open);
    assert_int_equal(ev.revision, 3);
    assert_string_equal(ev.images, "orders:1.2");
    assert_true(ev.per_minute == 479.1);
    assert_true(ev.req_per_s == 4.0);
    assert_string_equal(ev.pattern, "chan-send");
    assert_true(ctl_parse_workload_event(r, "GoroutineLeakFixed",
        "main.(*fetcher).gather.func1 no longer grows in revision 4 (orders:1.3): 0 \xe2\x86\x92 "
        "0 over 31s on pod p at 4.0 req/s; it grew +479.4/min in revision 3", &ev));
    assert_false(ev.open);
    assert_string_equal(ev.func, "main.(*fetcher).gather.func1");
    assert_true(ctl_parse_workload_event(r, "GoroutineLeakCleared",
        "goroutine leak (chan-send) on main.f no longer observed in any replica: flat", &ev));
    assert_false(ev.open);
    assert_string_equal(ev.func, "main.f");
    assert_false(ctl_parse_workload_event(r, "LeakContainment", "evicted: x", &ev));
    assert_false(ctl_parse_workload_event(r, "GoroutineLeak", "garbage", &ev));
    assert_false(ctl_parse_workload_event(r, "GoroutineLeakCleared",
        "goroutine leak (chan-send) on main.f no longer observed: pod gone", &ev));
    assert_false(ctl_parse_workload_event(r, NULL, "x", &ev));
    ctl_event_reader_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_workload_event),
        cmocka_unit_test(test_upsert_lifecycle),
        cmocka_unit_test(test_pods_share_what_their_workload_says),
        cmocka_unit_test(test_slim_keeps_what_the_registry_reads),
        cmocka_unit_test(test_fresh_peer_and_many_pods),
        cmocka_unit_test(test_peer_rate_median),
        cmocka_unit_test(test_message_reads_like_an_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
