/*
 * test_analysis_catalog.c — the analysis over time on the recorded catalog
 * services (tests/fixtures/catalog-<go version>[-goroutineleakprofile]/):
 * each debug=2 series parsed as `leakwatch analyze` does, every dump with
 * the previous one's highest goroutine id as cutoff, and checked against
 * its MANIFEST.json for what test_analysis_fixtures.c does not look at:
 *   - one finding per leak: every stack the manifest lists as growing
 *     belongs to one finding (its lead or a companion), unless the
 *     manifest lists several independent leaks (expected_leaks), which
 *     must be as many findings, none a companion of another;
 *   - the label the leak is concentrated in (expected_labels) is the
 *     finding's, with at least 60% of the growth (in debug=1, and in
 *     debug=2 when the dump carries labels);
 *   - goroutine ids: a leak's goroutines stay (persisted), and no finding
 *     is churn;
 *   - a pattern that only behaviour over time shows (the manifest's
 *     expected_pattern differs from expected_static_pattern: a ticker loop
 *     is a sleep-loop, not a select) comes out with ids and stays the
 *     static one without them.
 * One test per fixture directory, discovered at run time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "analysis/analysis.h"
#include "pprof/pprof.h"
#include "support.h"

typedef ts_fixture fixture;

typedef struct series {
    lwa_ignore *ig;
    lwa_options o;
    lwa_sigtab *t;
    lwa_snapshot *s[64];
    size_t n;
    lwa_report *r;
} series;

static void load(series *se, const fixture *fx, const char *key, bool chain)
{
    memset(se, 0, sizeof(*se));
    se->ig = lwa_ignore_new(true);
    lwa_options_default(&se->o);
    se->o.ignore = se->ig;
    se->t = lwa_sigtab_new(&se->o);
    assert_non_null(se->t);
    json_t *snaps = json_object_get(fx->manifest, "snapshots");
    se->n = json_array_size(snaps);
    assert_true(se->n >= 2 && se->n <= 64);
    uint64_t cutoff = 0;
    for (size_t i = 0; i < se->n; i++) {
        json_t *snap = json_array_get(snaps, i);
        const char *file = json_string_value(
            json_object_get(json_object_get(snap, "files"), key));
        assert_non_null(file);
        char path[4096], err[512];
        snprintf(path, sizeof(path), "%s/%s", fx->dir, file);
        pprof_limits lim;
        pprof_limits_default(&lim);
        lim.goid_cutoff = chain ? cutoff : 0;
        pprof_profile *p = pprof_parse_file(path, &lim, err, sizeof(err));
        if (!p)
            fail_msg("%s", err);
        se->s[i] = lwa_snapshot_take_after(se->t, p, file, lim.goid_cutoff);
        cutoff = p->has_goids ? p->max_goid : 0;
        pprof_profile_free(p);
        assert_non_null(se->s[i]);
        lwa_snapshot_set_time(se->s[i],
                              (int64_t)json_integer_value(json_object_get(
                                  snap, "captured_at_unix_ms")));
    }
    se->r = lwa_analyze(se->t, (const lwa_snapshot *const *)se->s, se->n,
                        NULL, NULL);
    assert_non_null(se->r);
}

static void unload(series *se)
{
    lwa_report_free(se->r);
    for (size_t i = 0; i < se->n; i++)
        lwa_snapshot_free(se->s[i]);
    lwa_sigtab_free(se->t);
    lwa_ignore_free(se->ig);
}

static bool has_func(const lwa_sig *s, const char *func)
{
    for (uint32_t i = 0; i < s->nframes; i++)
        if (s->frames[i].func && !strcmp(s->frames[i].func, func))
            return true;
    return false;
}

/* The leak finding holding `func` as lead (*companion false) or
 * companion; -1 when none. */
static long finding_with(const lwa_report *r, const char *func,
                         bool *companion)
{
    for (size_t i = 0; i < r->nfindings; i++) {
        const lwa_finding *f = &r->findings[i];
        if (f->status != LWA_STATUS_LEAK)
            continue;
        if (has_func(f->sig, func)) {
            *companion = false;
            return (long)i;
        }
        for (size_t k = 0; k < f->ncompanions; k++)
            if (has_func(f->companions[k].sig, func)) {
                *companion = true;
                return (long)i;
            }
    }
    return -1;
}

static void check_labels(const fixture *fx, const lwa_finding *f,
                         json_t *labels)
{
    const char *key;
    json_t *v;
    json_object_foreach(labels, key, v) {
        bool found = false;
        for (size_t i = 0; i < f->nlabels; i++)
            found = found || (!strcmp(f->labels[i].key, key) &&
                              !strcmp(f->labels[i].value,
                                      json_string_value(v)) &&
                              f->labels[i].share >= 0.6);
        if (!found)
            fail_msg("%s: no %s=%s share in the top finding", fx->dir, key,
                     json_string_value(v));
    }
}

static void test_catalog(void **state)
{
    const fixture *fx = *state;
    json_t *m = fx->manifest;
    const char *verdict =
        json_string_value(json_object_get(m, "expected_verdict"));
    assert_non_null(verdict);
    series se;
    load(&se, fx, "debug2", true);
    const lwa_report *r = se.r;
    for (size_t i = 0; i < r->nfindings; i++)
        if (r->findings[i].churn)
            fail_msg("%s: finding %zu is churn", fx->dir, i);
    if (strcmp(verdict, "leak")) {
        unload(&se);
        return;
    }
    assert_int_equal(r->verdict, LWA_VERDICT_LEAK);
    json_t *leaks = json_object_get(m, "expected_leaks");
    json_t *growing = json_object_get(m, "expected_growing_stacks");
    bool comp;
    if (json_array_size(leaks) > 1) {
        /* independent leaks: each the lead of its own finding */
        long seen[8];
        size_t nl = json_array_size(leaks);
        assert_true(nl <= 8);
        for (size_t i = 0; i < nl; i++) {
            const char *fn = json_string_value(
                json_object_get(json_array_get(leaks, i), "function"));
            seen[i] = finding_with(r, fn, &comp);
            if (seen[i] < 0 || comp)
                fail_msg("%s: %s is not the lead of a leak finding", fx->dir,
                         fn);
            for (size_t k = 0; k < i; k++)
                if (seen[k] == seen[i])
                    fail_msg("%s: independent leaks grouped as one", fx->dir);
        }
    } else {
        /* one leak: every growing stack in the top finding */
        for (size_t i = 0; i < json_array_size(growing); i++) {
            const char *fn = json_string_value(
                json_object_get(json_array_get(growing, i), "function"));
            long at = finding_with(r, fn, &comp);
            if (at != 0)
                fail_msg("%s: growing stack %s is %s", fx->dir, fn,
                         at < 0 ? "in no leak finding"
                                : "not in the top finding");
        }
        const lwa_finding *f = &r->findings[0];
        assert_int_equal(f->ncompanions + 1 >= json_array_size(growing), 1);
        assert_true(f->group_per_unit >= (double)json_array_size(growing));
        /* the stack with user code leads: named by a frame outside the
         * standard library when one of the group has such a frame */
        const char *top = json_string_value(
            json_object_get(m, "expected_top_function"));
        if (!has_func(f->sig, top))
            fail_msg("%s: lead %s, want %s", fx->dir,
                     f->sig->frames[f->sig->shown].func, top);
    }
    const lwa_finding *f = &r->findings[0];
    /* a leak keeps its goroutines */
    assert_true(f->has_ids);
    if (f->persisted < 0.5)
        fail_msg("%s: persisted %.2f", fx->dir, f->persisted);
    /* the tenant that leaks: debug=1 carries labels on every Go version,
     * debug=2 from Go 1.26 with GODEBUG=tracebacklabels=1 */
    json_t *labels = json_object_get(m, "expected_labels");
    if (json_object_size(labels)) {
        if (se.s[se.n - 1]->labels)
            check_labels(fx, f, labels);
        series d1;
        load(&d1, fx, "debug1", false);
        check_labels(fx, &d1.r->findings[0], labels);
        unload(&d1);
    }
    /* behaviour over time names the pattern, with ids only */
    const char *want = json_string_value(json_object_get(m, "expected_pattern"));
    const char *stat =
        json_string_value(json_object_get(m, "expected_static_pattern"));
    if (want && stat && strcmp(want, stat)) {
        assert_string_equal(lwa_pattern_name(f->pattern), want);
        assert_string_equal(lwa_pattern_name(f->sig->pattern), stat);
        unload(&se);
        load(&se, fx, "debug2", false);
        assert_string_equal(lwa_pattern_name(se.r->findings[0].pattern), stat);
    }
    unload(&se);
}

int main(void)
{
    return ts_run_fixtures("analysis catalog", "catalog-", test_catalog);
}
