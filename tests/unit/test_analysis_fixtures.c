/*
 * test_analysis_fixtures.c — every recorded fixture (tests/fixtures/<go
 * version>/<behaviour>/), in every format it was recorded in, with and
 * without its fresh peer as baseline, through the real parser and
 * lwa_analyze, against its MANIFEST.json: leaks must come out "leak" with
 * the manifest's pattern and top function in the top finding, controls
 * "no-leak".
 *
 * Two allowances, both about what a format cannot carry rather than about
 * the analysis:
 *   - debug=1 hides the runtime frames of a goroutine parked on a channel
 *     or in a select, and has no wait reason: there the pattern may be
 *     "unknown" (never a wrong one);
 *   - a goroutineleak profile (debug=1 or protobuf) lists only the
 *     goroutines Go's detector proved leaked; when the whole series is
 *     empty the detector did not see the leak (a mutex stays reachable)
 *     and the verdict must be "inconclusive", never "no-leak".
 * Also, from the manifest when it says so:
 *   - expected_leaks: several independent leaks in one process; each must
 *     be a finding of its own, with its pattern;
 *   - expected_static_pattern: what the stack alone says when the
 *     expected pattern needs behaviour over time (a ticker loop is a
 *     select that never shows blocked minutes); the signature's static
 *     pattern is held to it.
 * Everywhere: when the top finding's stack has a frame outside the
 * standard library and the plumbing, that is the frame shown first.
 * One test per fixture directory, discovered at run time; the capture
 * times come from the manifest (git keeps no file times).
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

static bool pattern_hidden_in_debug1(const char *pattern)
{
    /* a channel operation or a select parks inside runtime frames only */
    static const char *const hidden[] = {"chan-send", "chan-receive",
                                         "nil-channel", "select",
                                         "select-no-cases"};
    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
        if (!strcmp(pattern, hidden[i]))
            return true;
    return false;
}

/* Standard library or plumbing: what the shown frame must not be when
 * the stack has anything else. */
static bool is_library_frame(const char *func)
{
    return !func || lwa_func_is_plumbing(func) || lwa_func_is_stdlib(func);
}

static bool sig_holds(const lwa_sig *sig, const char *func)
{
    for (uint32_t i = sig->shown; i < sig->nframes; i++)
        if (sig->frames[i].func && func && !strcmp(sig->frames[i].func, func))
            return true;
    return false;
}

static bool pattern_ok(const char *got, const char *want, bool debug1)
{
    return !strcmp(got, want) ||
           (debug1 && !strcmp(got, "unknown") && pattern_hidden_in_debug1(want));
}

static pprof_profile *parse(const fixture *fx, const char *file)
{
    char path[4096], err[512];
    snprintf(path, sizeof(path), "%s/%s", fx->dir, file);
    pprof_limits lim;
    pprof_limits_default(&lim);
    pprof_profile *p = pprof_parse_file(path, &lim, err, sizeof(err));
    if (!p)
        fail_msg("%s", err);
    return p;
}

/* One format of one fixture, with or without the peer. */
static void check_format(const fixture *fx, const char *key, bool baseline)
{
    json_t *m = fx->manifest;
    json_t *snaps = json_object_get(m, "snapshots");
    size_t n = json_array_size(snaps);
    assert_true(n >= 1 && n <= 64);
    const char *expected = json_string_value(json_object_get(m, "expected_verdict"));
    const char *want_pattern =
        json_string_value(json_object_get(m, "expected_pattern"));
    const char *want_top =
        json_string_value(json_object_get(m, "expected_top_function"));
    const char *static_pattern =
        json_string_value(json_object_get(m, "expected_static_pattern"));
    if (static_pattern)
        want_pattern = static_pattern;
    json_t *leaks = json_object_get(m, "expected_leaks");
    assert_non_null(expected);

    lwa_ignore *ig = lwa_ignore_new(true);
    lwa_options o;
    lwa_options_default(&o);
    o.ignore = ig;
    lwa_sigtab *t = lwa_sigtab_new(&o);
    lwa_snapshot *s[64] = {0}, *peer = NULL;
    bool proof_only = !strncmp(key, "goroutineleak_", 14) &&
                      strcmp(key, "goroutineleak_debug2") != 0;
    uint64_t proven = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *snap = json_array_get(snaps, i);
        const char *file = json_string_value(
            json_object_get(json_object_get(snap, "files"), key));
        assert_non_null(file);
        pprof_profile *p = parse(fx, file);
        proven += p->total;
        s[i] = lwa_snapshot_take(t, p, file);
        pprof_profile_free(p);
        assert_non_null(s[i]);
        json_t *ms = json_object_get(snap, "captured_at_unix_ms");
        assert_true(json_is_integer(ms));
        lwa_snapshot_set_time(s[i], (int64_t)json_integer_value(ms));
    }
    if (baseline) {
        const char *file = json_string_value(json_object_get(
            json_object_get(json_object_get(m, "peer"), "files"), key));
        assert_non_null(file);
        pprof_profile *p = parse(fx, file);
        peer = lwa_snapshot_take(t, p, file);
        pprof_profile_free(p);
        assert_non_null(peer);
    }
    lwa_report *r = lwa_analyze(t, (const lwa_snapshot *const *)s, n, peer,
                                NULL);
    assert_non_null(r);

    const char *got = lwa_verdict_name(r->verdict);
    const char *ctx = baseline ? "with peer" : "alone";
    if (proof_only && !proven) {
        if (r->verdict != LWA_VERDICT_INCONCLUSIVE)
            fail_msg("%s %s %s: empty goroutineleak series gave %s", fx->dir,
                     key, ctx, got);
    } else if (strcmp(got, expected)) {
        fail_msg("%s %s %s: verdict %s, want %s (%s)", fx->dir, key, ctx, got,
                 expected, r->why);
    } else if (r->verdict == LWA_VERDICT_LEAK) {
        assert_true(r->nfindings > 0);
        const lwa_finding *f = &r->findings[0];
        const lwa_sig *sig = f->sig;
        const char *pat = lwa_pattern_name(sig->pattern);
        bool debug1 = !strcmp(key, "debug1") ||
                      !strcmp(key, "goroutineleak_debug1");
        if (json_array_size(leaks) > 0) {
            /* Each independent leak is a finding of its own; the top one
             * is one of them. */
            bool top_is_one = false;
            size_t li;
            json_t *leak;
            json_array_foreach(leaks, li, leak) {
                const char *lp =
                    json_string_value(json_object_get(leak, "pattern"));
                const char *lf =
                    json_string_value(json_object_get(leak, "function"));
                bool seen = false;
                for (size_t k = 0; k < r->nfindings && !seen; k++) {
                    const lwa_finding *g = &r->findings[k];
                    seen = g->status == LWA_STATUS_LEAK && sig_holds(g->sig, lf) &&
                           pattern_ok(lwa_pattern_name(g->sig->pattern), lp, debug1);
                }
                if (!seen)
                    fail_msg("%s %s %s: no leak finding %s in %s", fx->dir, key,
                             ctx, lp, lf);
                top_is_one = top_is_one || sig_holds(sig, lf);
            }
            if (!top_is_one)
                fail_msg("%s %s %s: top finding %s is none of the leaks",
                         fx->dir, key, ctx, sig->frames[sig->shown].func);
        } else {
            if (want_pattern && !pattern_ok(pat, want_pattern, debug1))
                fail_msg("%s %s %s: pattern %s, want %s", fx->dir, key, ctx,
                         pat, want_pattern);
            if (!sig_holds(sig, want_top))
                fail_msg("%s %s %s: top finding %s does not hold %s", fx->dir,
                         key, ctx, sig->frames[sig->shown].func, want_top);
        }
        /* Named by the innermost frame someone outside Go wrote. */
        const char *shown = sig->frames[sig->shown].func;
        for (uint32_t i = 0; i < sig->nframes && is_library_frame(shown); i++)
            if (!is_library_frame(sig->frames[i].func))
                fail_msg("%s %s %s: top finding shown as %s, not as %s",
                         fx->dir, key, ctx, shown, sig->frames[i].func);
        assert_int_equal(f->status, LWA_STATUS_LEAK);
        assert_true(f->delta > 0);
        if (baseline)
            assert_true(f->has_baseline);
    }
    lwa_report_free(r);
    for (size_t i = 0; i < n; i++)
        lwa_snapshot_free(s[i]);
    lwa_snapshot_free(peer);
    lwa_sigtab_free(t);
    lwa_ignore_free(ig);
}

static void test_fixture(void **state)
{
    const fixture *fx = *state;
    json_t *files = json_object_get(
        json_array_get(json_object_get(fx->manifest, "snapshots"), 0), "files");
    assert_non_null(files);
    const char *key;
    json_t *v;
    int formats = 0;
    json_object_foreach(files, key, v) {
        (void)v;
        if (!strcmp(key, "metrics"))
            continue;
        check_format(fx, key, false);
        check_format(fx, key, true);
        formats++;
    }
    /* debug=1, debug=2 and protobuf at least */
    assert_true(formats >= 3);
}

int main(void)
{
    return ts_run_fixtures("analysis fixtures", "", test_fixture);
}
