/*
 * test_analysis_group.c — one finding per leak (lwa_group.c) and the label
 * a leak's growth is concentrated in (lwa_labels.c), through lwa_analyze
 * on synthetic captures: stacks that grow in lockstep and are tied become
 * one finding named by the stack with user code; two independent leaks
 * stay two; the tenant that leaks is named even when healthy tenants
 * share the stack.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/analysis.h"
#include "pprof/pprof.h"
#include "support.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *lead_func(const lwa_finding *f)
{
    return ts_shown(f->sig);
}

static const lwa_companion *companion(const lwa_finding *f, const char *func)
{
    for (size_t i = 0; i < f->ncompanions; i++)
        if (!strcmp(ts_shown(f->companions[i].sig), func))
            return &f->companions[i];
    return NULL;
}

/* Stacks of a grpc-go ClientConn as Go prints them (frames innermost
 * first, runtime frames left out), created by grpc itself. */
#define GRPC_CBS "google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"
#define GRPC_READER                                                          \
    "internal/poll.(*FD).Read;net.(*conn).Read;bufio.(*Reader).Read;"       \
    "golang.org/x/net/http2.(*Framer).ReadFrame;"                           \
    "google.golang.org/grpc/internal/transport.(*http2Client).reader"
#define GRPC_LOOPY                                                           \
    "google.golang.org/grpc/internal/transport.(*controlBuffer).get;"       \
    "google.golang.org/grpc/internal/transport.(*loopyWriter).run;"         \
    "google.golang.org/grpc/internal/transport.newHTTP2Client.func6"

static void add_grpc(ts_gr *g, uint64_t conns)
{
    g[0] = (ts_gr){GRPC_CBS, "select", 3 * conns, 0,
                   "google.golang.org/grpc/internal/grpcsync.NewCallbackSerializer",
                   0, NULL};
    g[1] = (ts_gr){GRPC_READER, "IO wait", conns, 0,
                   "google.golang.org/grpc/internal/transport.newHTTP2Client",
                   0, NULL};
    g[2] = (ts_gr){GRPC_LOOPY, "select", conns, 0,
                   "google.golang.org/grpc/internal/transport.newHTTP2Client",
                   0, NULL};
}

static void test_grpc_conn_is_one_finding(void **state)
{
    (void)state;
    ts_world w;
    ts_world_init(&w);
    /* 3:1:1, with a conn half set up at the third capture (the reader
     * and loopy writer started, one serializer short) */
    const uint64_t conns[] = {0, 4, 8, 12, 16};
    for (size_t i = 0; i < N(conns); i++) {
        ts_gr g[4];
        add_grpc(g, conns[i]);
        if (i == 2)
            g[0].count -= 1;
        g[3] = (ts_gr){"main.idle", "select", 5, 0, NULL, 0, NULL};
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, N(g), (int64_t)i * 15);
    }
    const lwa_report *r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    assert_int_equal(r->nfindings, 1);
    const lwa_finding *f = &r->findings[0];
    assert_string_equal(lead_func(f), GRPC_CBS);
    assert_int_equal(f->ncompanions, 2);
    assert_true(f->per_unit == 3);
    assert_true(f->group_per_unit == 5);
    assert_int_equal(f->units, 16);
    assert_string_equal(f->unit, "leaked ClientConn");
    const lwa_companion *c = companion(
        f, "google.golang.org/grpc/internal/transport.(*http2Client).reader");
    assert_non_null(c);
    assert_int_equal(c->delta, 16);
    assert_int_equal(c->count, 16);
    assert_true(c->per_unit == 1);
    assert_non_null(companion(
        f, "google.golang.org/grpc/internal/transport.(*controlBuffer).get"));
    ts_world_free(&w);
}

/* The SSE case: the user's handler blocked in a write, and net/http's
 * backgroundRead for the same connection. */
#define SSE_HANDLER                                                          \
    "internal/poll.(*FD).Write;net.(*conn).Write;"                          \
    "net/http.checkConnErrorWriter.Write;bufio.(*Writer).Flush;"            \
    "net/http.(*response).Flush;main.(*hub).serveEvents;"                   \
    "net/http.HandlerFunc.ServeHTTP;net/http.serverHandler.ServeHTTP;"      \
    "net/http.(*conn).serve"
#define SSE_BGREAD                                                           \
    "internal/poll.(*FD).Read;net.(*conn).Read;"                            \
    "net/http.(*connReader).backgroundRead"

static void test_sse_names_the_handler(void **state)
{
    (void)state;
    ts_world w;
    ts_world_init(&w);
    const uint64_t c[] = {2, 12, 22, 33, 43};
    for (size_t i = 0; i < N(c); i++) {
        ts_gr g[] = {
            {SSE_BGREAD, "IO wait", c[i], 0,
             "net/http.(*connReader).startBackgroundRead", 0, NULL},
            {SSE_HANDLER, "IO wait", c[i], 0, "net/http.(*Server).Serve", 0,
             NULL},
        };
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, N(g), (int64_t)i * 12);
    }
    const lwa_report *r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    assert_int_equal(r->nfindings, 1);
    const lwa_finding *f = &r->findings[0];
    /* the handler leads even if another engineer's folding shows a
     * different frame of it: it is the stack with user code */
    bool handler = false;
    for (uint32_t i = 0; i < f->sig->nframes; i++)
        handler = handler ||
                  !strcmp(f->sig->frames[i].func, "main.(*hub).serveEvents");
    assert_true(handler);
    assert_int_equal(f->ncompanions, 1);
    assert_true(f->group_per_unit == 2);
    assert_int_equal(f->units, 41);
    assert_non_null(companion(f, "net/http.(*connReader).backgroundRead"));
    ts_world_free(&w);
}

static void test_independent_leaks_stay_apart(void **state)
{
    (void)state;
    /* Two leaks of one process, started together and growing at steady
     * rates (so in lockstep), but nothing ties them: two findings. */
    ts_world w;
    ts_world_init(&w);
    for (int i = 0; i < 5; i++) {
        uint64_t k = (uint64_t)i;
        ts_gr g[] = {
            {"sync.(*Cond).Wait;main.(*replySlot).wait;main.handle", "sync.Cond.Wait",
             10 * k, 0, "main.(*server).dispatch", 0, NULL},
            {"database/sql.(*Rows).awaitDone", "select", 20 * k, 0,
             "database/sql.(*Rows).initContextClose", 0, NULL},
        };
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, N(g), i * 12);
    }
    const lwa_report *r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    assert_int_equal(r->nfindings, 2);
    assert_int_equal(r->findings[0].ncompanions, 0);
    assert_int_equal(r->findings[1].ncompanions, 0);
    ts_world_free(&w);

    /* Tied stacks that do not move together: apart too (the reader here
     * starts growing one capture later than the serializers). */
    ts_world_init(&w);
    const uint64_t cbs[] = {0, 6, 12, 18, 24}, rd[] = {0, 0, 5, 10, 15};
    for (size_t i = 0; i < N(cbs); i++) {
        ts_gr g[3];
        add_grpc(g, 0);
        g[0].count = cbs[i];
        g[1].count = rd[i];
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, 2, (int64_t)i * 12);
    }
    r = ts_world_judge(&w);
    assert_int_equal(r->nfindings, 2);
    assert_int_equal(r->findings[0].ncompanions, 0);
    ts_world_free(&w);
}

static void test_lockstep_and_ties(void **state)
{
    (void)state;
    const uint64_t a[] = {0, 9, 18, 26, 36}, b[] = {0, 3, 6, 9, 12};
    assert_true(lwa_group_lockstep(a, b, 5));
    assert_true(lwa_group_lockstep(b, a, 5));
    /* b stalls for a step while a keeps going */
    const uint64_t c[] = {0, 3, 3, 9, 12};
    assert_false(lwa_group_lockstep(a, c, 5));
    /* not growing */
    const uint64_t flat[] = {5, 5, 5, 5, 5};
    assert_false(lwa_group_lockstep(a, flat, 5));
    assert_false(lwa_group_lockstep(a, b, 1));

    /* ties, on stacks from a table */
    lwa_sigtab *t = lwa_sigtab_new(NULL);
    ts_gr g[] = {
        {"main.worker;main.run", "chan send", 1, 0, "main.start", 0, NULL},
        {"main.helper", "chan receive", 1, 0, "main.run", 0, NULL},
        {"main.other", "chan receive", 1, 0, "main.boot", 0, NULL},
        {"net/http.(*persistConn).readLoop", "select", 1, 0,
         "net/http.(*Transport).dialConn", 0, NULL},
        {"net/http.(*persistConn).writeLoop", "select", 1, 0,
         "net/http.(*Transport).dialConn", 0, NULL},
        {"example.com/lib/a.(*X).loop", "select", 1, 0, "example.com/lib/a.New",
         0, NULL},
        {"example.com/lib/b.(*Y).loop", "select", 1, 0, "example.com/lib/b.New",
         0, NULL},
    };
    lwa_snapshot *s = ts_take(t, PPROF_FORMAT_DEBUG2, g, N(g));
    const lwa_sig *sg[N(g)];
    for (size_t i = 0; i < N(g); i++)
        sg[i] = lwa_sigtab_at(t, i);
    /* created by a function on the other's stack */
    assert_true(lwa_group_tied(sg[0], sg[1]));
    assert_true(lwa_group_tied(sg[1], sg[0]));
    /* two main stacks with nothing in common */
    assert_false(lwa_group_tied(sg[0], sg[2]));
    /* siblings started by the same function */
    assert_true(lwa_group_tied(sg[3], sg[4]));
    /* one third-party module: example.com/lib holds both packages */
    assert_true(lwa_group_tied(sg[5], sg[6]));
    /* the standard library alone is no module */
    assert_false(lwa_group_tied(sg[3], sg[0]));
    lwa_snapshot_free(s);
    lwa_sigtab_free(t);
}

/* ---- labels ---- */

static void test_label_split(void **state)
{
    (void)state;
    lwa_labels *l = lwa_labels_new();
    assert_non_null(l);
    assert_int_equal(lwa_labels_add(l, 3, "route=/a,b,tenant=acme", 5), 0);
    assert_int_equal(lwa_labels_add(l, 1, "tenant=beta", 2), 0);
    assert_int_equal(lwa_labels_add(l, 3, "route=/a,b,tenant=acme", 4), 0);
    assert_int_equal(lwa_labels_add(l, 3, NULL, 4), 0);
    lwa_labels_seal(l);
    assert_int_equal(lwa_labels_size(l), 3);
    const lwa_label_count *e;
    assert_int_equal(lwa_labels_of(l, 3, &e), 2);
    /* a value with a comma in it stays whole */
    assert_string_equal(e[0].key, "route");
    assert_string_equal(e[0].value, "/a,b");
    assert_int_equal(e[0].count, 9);
    assert_string_equal(e[1].key, "tenant");
    assert_string_equal(e[1].value, "acme");
    assert_int_equal(lwa_labels_of(l, 1, &e), 1);
    assert_int_equal(e[0].count, 2);
    assert_int_equal(lwa_labels_of(l, 2, &e), 0);
    assert_null(e);
    lwa_labels_free(l);
    lwa_labels_free(NULL);
}

static void test_leaking_tenant(void **state)
{
    (void)state;
    /* One stack shared by three tenants; acme's goroutines pile up, the
     * others come and go around a steady level. */
    ts_world w;
    ts_world_init(&w);
    for (int i = 0; i < 5; i++) {
        uint64_t k = (uint64_t)i;
        ts_gr g[] = {
            {"main.(*store).wait;main.handle", "chan receive", 2 + 20 * k, 0,
             NULL, 0, "route=/sync,tenant=acme"},
            {"main.(*store).wait;main.handle", "chan receive",
             30 + (k % 2), 0, NULL, 0, "route=/sync,tenant=beta"},
            {"main.(*store).wait;main.handle", "chan receive", 25, 0, NULL, 0,
             "route=/sync,tenant=gamma"},
        };
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, N(g), i * 12);
    }
    const lwa_report *r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    assert_int_equal(r->nfindings, 1);
    const lwa_finding *f = &r->findings[0];
    /* tenant: acme has 80 of the 80 (beta is back where it started), and
     * comes first: it tells one tenant among three; route: one value for
     * every goroutine, so all of it, after */
    assert_int_equal(f->nlabels, 2);
    assert_string_equal(f->labels[0].key, "tenant");
    assert_string_equal(f->labels[0].value, "acme");
    assert_true(f->labels[0].share > 0.99);
    assert_int_equal(f->labels[0].delta, 80);
    assert_string_equal(f->labels[1].key, "route");
    assert_string_equal(f->labels[1].value, "/sync");
    assert_true(f->labels[1].share > 0.99);
    ts_world_free(&w);

    /* growth spread evenly over tenants names nobody */
    ts_world_init(&w);
    for (int i = 0; i < 5; i++) {
        uint64_t k = (uint64_t)i;
        ts_gr g[] = {
            {"main.wait", "chan receive", 10 * k, 0, NULL, 0, "tenant=a"},
            {"main.wait", "chan receive", 10 * k, 0, NULL, 0, "tenant=b"},
            {"main.wait", "chan receive", 10 * k, 0, NULL, 0, "tenant=c"},
        };
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, N(g), i * 12);
    }
    r = ts_world_judge(&w);
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    assert_int_equal(r->findings[0].nlabels, 0);
    assert_null(r->findings[0].labels);
    ts_world_free(&w);

    /* unlabelled growth dilutes: 30 of acme against 60 without labels */
    ts_world_init(&w);
    for (int i = 0; i < 5; i++) {
        uint64_t k = (uint64_t)i;
        ts_gr g[] = {
            {"main.wait", "chan receive", 10 + 10 * k, 0, NULL, 0, "tenant=acme"},
            {"main.wait", "chan receive", 20 * k, 0, NULL, 0, NULL},
        };
        ts_world_add(&w, PPROF_FORMAT_DEBUG2, g, N(g), i * 12);
    }
    r = ts_world_judge(&w);
    assert_int_equal(r->findings[0].nlabels, 0);
    ts_world_free(&w);
}

static void test_labels_follow_the_group(void **state)
{
    (void)state;
    /* The handler carries the tenant (pprof.Do), net/http's reader for the
     * same connection was started before it and has none: the share is
     * the handler's, not diluted by its companion. */
    ts_world w;
    ts_world_init(&w);
    for (int i = 0; i < 5; i++) {
        uint64_t k = (uint64_t)i;
        ts_gr g[] = {
            {SSE_BGREAD, "IO wait", 1 + 10 * k, 0,
             "net/http.(*connReader).startBackgroundRead", 0, NULL},
            {SSE_HANDLER, "IO wait", 10 * k, 0, "net/http.(*Server).Serve", 0,
             "tenant=acme"},
            {SSE_HANDLER, "IO wait", 1, 0, "net/http.(*Server).Serve", 0,
             "tenant=beta"},
        };
        ts_world_add(&w, PPROF_FORMAT_DEBUG1, g, N(g), i * 12);
    }
    const lwa_report *r = ts_world_judge(&w);
    assert_int_equal(r->nfindings, 1);
    const lwa_finding *f = &r->findings[0];
    assert_int_equal(f->ncompanions, 1);
    assert_int_equal(f->nlabels, 1);
    assert_string_equal(f->labels[0].value, "acme");
    assert_true(f->labels[0].share > 0.99);
    ts_world_free(&w);
}

static void test_label_ties(void **state)
{
    (void)state;
    /* Two main stacks, nothing in their frames ties them, but both grow
     * only under job=nightly-7 (the goroutines one job leaves behind
     * inherit its labels): one leak.  With different jobs: two. */
    for (int same = 1; same >= 0; same--) {
        ts_world w;
        ts_world_init(&w);
        for (int i = 0; i < 5; i++) {
            uint64_t k = (uint64_t)i;
            ts_gr g[] = {
                {"main.(*exporter).push", "chan send", 10 * k, 0, "main.runJob",
                 0, "job=nightly-7"},
                {"main.(*exporter).push", "chan send", 3, 0, "main.runJob", 0,
                 "job=nightly-6"},
                {"main.(*progress).report", "select", 10 * k, 0,
                 "main.startReporter", 0, same ? "job=nightly-7" : "job=nightly-8"},
            };
            ts_world_add(&w, PPROF_FORMAT_DEBUG1, g, N(g), i * 12);
        }
        const lwa_report *r = ts_world_judge(&w);
        assert_int_equal(r->nfindings, same ? 1 : 2);
        if (same) {
            assert_int_equal(r->findings[0].ncompanions, 1);
            /* the group's share: both stacks' growth is nightly-7's */
            assert_int_equal(r->findings[0].nlabels, 1);
            assert_string_equal(r->findings[0].labels[0].value, "nightly-7");
            assert_true(r->findings[0].labels[0].share > 0.99);
        }
        ts_world_free(&w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grpc_conn_is_one_finding),
        cmocka_unit_test(test_sse_names_the_handler),
        cmocka_unit_test(test_independent_leaks_stay_apart),
        cmocka_unit_test(test_lockstep_and_ties),
        cmocka_unit_test(test_label_split),
        cmocka_unit_test(test_leaking_tenant),
        cmocka_unit_test(test_labels_follow_the_group),
        cmocka_unit_test(test_label_ties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
