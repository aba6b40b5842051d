/*
 * lwa_verdict.c — from snapshots of one process (and optionally a fresh
 * peer) to a verdict and findings ranked most significant first.
 *
 * Not for: the shape arithmetic (lwa_growth.c) or printing.
 *
 * Decision rules
 * ==============
 *
 * A goroutine leak is a population that only grows: goroutines arrive at
 * some rate and never leave.  Everything else that makes counts go up —
 * a burst of slow requests, a pool warming up, a cache of connections
 * filling, streams opening after a deploy — stops growing or comes back
 * down.  The rules below look for the first and dismiss the second, and
 * they prefer "inconclusive" to a guess: a false "leak" makes on-call
 * restart healthy pods, a false "no-leak" is repaired by the next
 * evaluation a few minutes later.
 *
 * Everything is judged per signature (lwa_sigtab.c), never on the process
 * total alone: a leak of 2 goroutines a second hides easily in a total that
 * swings by hundreds.  Ignored stacks (lwa_ignore.c) are not judged.
 *
 * 0. Proof.  Go 1.26's leak detector (GOEXPERIMENT=goroutineleakprofile)
 *    marks goroutines blocked on objects nothing reachable can ever touch.
 *    Such goroutines cannot drain, so the mark is strong evidence for a
 *    stack that grows, and decides with fewer captures than the shape
 *    rules need: min_growth marked in the last capture of a stack that
 *    grew by min_growth is a LEAK whatever the shape (a STEP or a SPIKE
 *    included); with one capture, min_growth marked is a LEAK.  Marked
 *    but not growing is a fixed set stuck once: a SUSPECT when there are
 *    min_growth of them, nothing when fewer.  Fewer marked on a stack
 *    that grew make a SUSPECT.  The goroutine running main.main is never
 *    evidence: a server parked there on `select {}` is marked in every
 *    capture and never grows.  Asking for the goroutineleak profile
 *    changes the process: later debug=2 dumps print no blocked minutes
 *    for marked goroutines, so rule 3 reads their age as unknown, never
 *    as "under a minute".  The converse does not hold: the detector
 *    cannot see goroutines blocked on objects that stay reachable (a
 *    mutex held by a live struct, a sleep loop), so a series of
 *    goroutineleak profiles (which list only proven leaks, except in
 *    debug=2) that shows nothing is inconclusive, never no-leak.
 *
 * 1. Size.  A signature must gain at least min_growth (10) goroutines over
 *    the window, and at least min_relative (10%) of what it started with.
 *    A handful of goroutines is noise at any rate; a pool of 5,000 workers
 *    that gains 30 is load.  The relative test is waived when the
 *    signature has diverged from a fresh peer (rule 5): a pod that has
 *    leaked for a day starts the window huge, and its growth is small
 *    relative to that yet is the very leak.
 *
 * 2. Shape, with three or more captures (lwa_growth.c).  Growth must be
 *    - sustained: most steps do not fall (70% of them non-decreasing) or
 *      the counts sit on a straight line (R^2 >= 0.9), and no dip on the
 *      way is deeper than a quarter of the net growth;
 *    - spread: no single step carries more than 60% of the rise (85% with
 *      just two steps), otherwise it is a jump — a burst caught at its peak
 *      looks exactly like that;
 *    - still there at the end: over the last third of the window the count
 *      must rise by at least half of what the overall trend predicts, and
 *      the very last step must not be flat when the trend predicts four or
 *      more goroutines in it.  A ramp that flattened is a plateau
 *      (connection pools, streams, caches), not a leak;
 *    - not drained: a count that fell back more than half-way from its
 *      peak is a burst returning to baseline.
 *    A series that passes is GROWING and the signature is a LEAK.  A jump
 *    in a single step (SPIKE) is only a SUSPECT: the next captures tell a
 *    burst from a sudden leak.  Plateaus, drains, noise and flat lines are
 *    not findings at all; the largest of them are kept as "dismissed" so a
 *    human can see what was considered and why it was let go.
 *
 * 3. Age (debug=2 only).  Go prints how many minutes a goroutine has been
 *    blocked, counted from the first garbage collection that saw it parked
 *    (so it lags by up to the two-minute forced-GC period, and is a lower
 *    bound).  In a leak the goroutines present at the first capture are
 *    still there, blocked, at the last; in churn they have been replaced.
 *    "held" counts the goroutines of the last capture blocked for at least
 *    the window's length (at least one minute): they were parked before
 *    the window began.  Ages are used three ways:
 *    - two captures: growth plus held >= half of the first count (and at
 *      least min_growth) is a LEAK — old goroutines never released while
 *      new ones arrive;
 *    - one capture with a peer: blocked goroutines spread over several age
 *      bins from "under a minute" to "minutes ago" show an accumulation
 *      still under way (a plateau has no young ones, churn has no old
 *      ones);
 *    - a GROWING signature of a parked kind (not a sleep loop, which wakes
 *      up every iteration and so never ages) whose goroutines are all
 *      under a minute old after a window of five minutes or more is churn,
 *      and is only a SUSPECT.
 *
 * 4. Two captures.  One step says "went up", nothing about whether it
 *    keeps going: without rule 3's age evidence or rule 5's peer evidence
 *    a STEP is a SUSPECT and the verdict inconclusive.
 *
 * 5. Fresh peer.  A freshly started pod of the same workload shows what a
 *    healthy process holds; a signature missing from it has baseline 0.
 *    Diverged means >= 3x the peer's count and 20 more; far above means
 *    >= 5x and 50 more.  Diverged relaxes rule 1's relative test and
 *    rule 2's monotonicity (to 49% of steps); far above plus growth is a
 *    LEAK even with two captures.  With a single capture, far above plus
 *    rule 3's age spread is a LEAK; diverged alone is a SUSPECT; a pod
 *    that matches its peer is no-leak.  A peer never makes a leak out of a
 *    plateau or a drained burst: the shape rules come first.
 *
 * 6. Verdict.  leak if any signature is a LEAK.  Otherwise inconclusive if
 *    any is a SUSPECT, if there is a single capture and no peer, or if the
 *    process total grows steadily (GROWING) and significantly while no
 *    single stack explains it (a leak spread over many small stacks).
 *    Otherwise no-leak.
 *
 * 7. Ranking.  Leaks, then suspects.  Within each: stacks whose
 *    goroutines are known to stay (rule 8) before those whose stay is
 *    unknown; then growth over the window (excess over the peer for one
 *    capture), then current count, then how specific the pattern is (who
 *    is blocked: http/gRPC/semaphore; then a named primitive; then network
 *    I/O; then unknown), then the function name and id so output is
 *    stable.
 *
 * 8. Persistence (debug=2 with goroutine ids).  Go numbers goroutines in
 *    increasing order and a goroutine keeps its number, so a capture
 *    parsed with the previous capture's highest id as cutoff says, per
 *    stack, how many goroutines already existed then ("old").  At each
 *    step where something could have stayed (both counts non-zero), at
 *    most min(previous, current) can be old.  A stack where fewer than
 *    churn_persisted (20%) of those stayed at every such step is churn —
 *    requests in flight, replaced between captures — and is dismissed
 *    whatever its counts did: a burst caught mid-flight must never be
 *    reported, nor outrank a stack whose goroutines persist (rule 7).
 *    With two captures, growth plus the first capture's goroutines still
 *    there (old >= rule 3's held need) is a LEAK.  Goroutines that stay
 *    overrule rule 3's churn reading of blocked minutes (a goroutine that
 *    wakes now and then never ages, yet stays).
 *
 * 9. Sleep loops.  A stack in `select` whose goroutines stayed (ids, at
 *    least persist_share of them at each step) over a run of captures
 *    spanning sleep_loop_minutes (2) or more, yet never showed a blocked
 *    minute in any capture and were not marked leaked, wakes up
 *    periodically: a ticker or timer loop with no exit.  Its pattern is
 *    sleep-loop (stop the ticker; give the loop a ctx.Done() exit), not
 *    select.  Without ids (debug=1, protobuf, dumps not chained) the frames'
 *    pattern stands.
 *
 * 10. One finding per leak.  Findings that grow in lockstep and are tied
 *    (lwa_group.c writes out both tests) are merged into their lead, the
 *    stack with user code, with the others as companions and the ratio of
 *    goroutines per leaked unit; the group takes the strongest status of
 *    its stacks.  Then each finding's growth is split by goroutine label
 *    (lwa_labels.c says when it counts as concentrated).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "lw/lw_grow.h"

const char *lwa_verdict_name(lwa_verdict v)
{
    switch (v) {
    case LWA_VERDICT_LEAK:
        return "leak";
    case LWA_VERDICT_INCONCLUSIVE:
        return "inconclusive";
    case LWA_VERDICT_NO_LEAK:
        break;
    }
    return "no-leak";
}

const char *lwa_status_name(lwa_status s)
{
    switch (s) {
    case LWA_STATUS_LEAK:
        return "leak";
    case LWA_STATUS_SUSPECT:
        return "suspect";
    case LWA_STATUS_NONE:
        break;
    }
    return "none";
}

/* Lower bound of each blocked-minutes bin (see pprof.h). */
static const uint64_t bin_low[PPROF_MINUTES_BINS] = {0,  1,  2,   5,  10,
                                                     30, 60, 180, 600};

static uint64_t held_since(const lwa_minutes *m, double span_minutes)
{
    double need = ceil(span_minutes);
    if (need < 1)
        need = 1;
    uint64_t held = 0;
    for (int k = 0; k < PPROF_MINUTES_BINS; k++)
        if ((double)bin_low[k] >= need)
            held += m->hist[k];
    return held;
}

/* Rule 3, one capture: young and old goroutines side by side.  Marked
 * goroutines print no minutes: unknown, not young. */
static bool age_spread(const lwa_minutes *m, uint64_t count, uint64_t marked)
{
    if (!m || !count)
        return false;
    uint64_t young = m->hist[0] > marked ? m->hist[0] - marked : 0;
    int bins = young != 0;
    uint64_t old = 0;
    for (int k = 1; k < PPROF_MINUTES_BINS; k++) {
        bins += m->hist[k] != 0;
        if (k >= 2)
            old += m->hist[k];
    }
    return young > 0 && bins >= 3 && (double)old >= 0.25 * (double)count;
}

static bool parks_for_good(lwa_pattern p)
{
    return p != LWA_PATTERN_SLEEP_LOOP && p != LWA_PATTERN_UNKNOWN;
}

static int specificity(lwa_pattern p)
{
    switch (p) {
    case LWA_PATTERN_HTTP_BODY:
    case LWA_PATTERN_GRPC_CONN:
    case LWA_PATTERN_SEMAPHORE:
        return 3;
    case LWA_PATTERN_NETWORK_IO:
        return 1;
    case LWA_PATTERN_UNKNOWN:
        return 0;
    default:
        return 2;
    }
}

typedef struct judge_ctx {
    const lwa_thresholds *th;
    size_t n;
    bool has_baseline;
    bool has_times;
    double span_minutes;
} judge_ctx;

/* The goroutine that runs main.main: servers park it for good (select {},
 * a WaitGroup, a signal channel), and Go's detector marks `select {}`
 * there leaked in every capture.  It never grows, so it is no evidence. */
static bool main_goroutine(const lwa_sig *s)
{
    for (uint32_t i = s->nframes; i-- > 0;) {
        const char *fn = s->frames[i].func;
        if (!fn || lwa_func_is_runtime_internal(fn))
            continue;
        return !s->created_by.func && !strcmp(fn, "main.main");
    }
    return false;
}

static void judge(const judge_ctx *cx, lwa_finding *f, const lwa_minutes *last)
{
    const lwa_thresholds *th = cx->th;
    const lwa_growth *g = &f->growth;
    uint64_t b = f->baseline;
    uint64_t floor_b = b ? b : 1;
    bool diverged = cx->has_baseline && f->count >= b &&
                    (double)f->count >= th->baseline_ratio * (double)floor_b &&
                    f->count - b >= th->baseline_excess;
    bool far = cx->has_baseline && f->count >= b &&
               (double)f->count >= th->far_ratio * (double)floor_b &&
               f->count - b >= th->far_excess;

    f->status = LWA_STATUS_NONE;
    /* Rule 0: Go's own leak detector proved these goroutines can never be
     * woken (nothing reachable can complete their operation). */
    bool marked = f->has_leaked && f->leaked && !main_goroutine(f->sig);
    if (marked && f->leaked >= th->min_growth) {
        if (cx->n == 1 || f->delta >= (int64_t)th->min_growth) {
            f->status = LWA_STATUS_LEAK;
            f->why = cx->n == 1
                         ? "Go's leak detector marked them leaked: blocked "
                           "on objects nothing can reach"
                         : "grew, and Go's leak detector marked them leaked: "
                           "blocked on objects nothing can reach";
        } else {
            f->status = LWA_STATUS_SUSPECT;
            f->why = "Go's leak detector marked them leaked, but the count "
                     "does not grow: a fixed set stuck once";
        }
        return;
    }
    /* Rule 8: goroutine ids say every step brought new goroutines. */
    if (f->churn) {
        f->why = "churn: at every step nearly all its goroutines are new "
                 "(goroutine ids), a burst in flight, not an accumulation";
        return;
    }
    if (cx->n == 1) {
        if (!cx->has_baseline) {
            if (f->count >= th->min_growth) {
                f->status = LWA_STATUS_SUSPECT;
                f->why = "one capture: cannot tell growth from a steady state";
            }
        } else if (far && age_spread(last, f->count, f->leaked)) {
            f->status = LWA_STATUS_LEAK;
            f->why = "far above the fresh peer, blocked from minutes ago "
                     "to now";
        } else if (diverged) {
            f->status = LWA_STATUS_SUSPECT;
            f->why = "above the fresh peer; one capture cannot show growth";
        }
        return;
    }

    switch (g->shape) {
    case LWA_SHAPE_STEP: {
        double held_need = th->held_fraction * (double)g->first;
        if (held_need < (double)th->min_growth)
            held_need = (double)th->min_growth;
        if (last && (double)f->held >= held_need) {
            f->status = LWA_STATUS_LEAK;
            f->why = "grew, and the goroutines of the first capture are "
                     "still blocked";
        } else if (f->has_ids && (double)f->old >= held_need) {
            f->status = LWA_STATUS_LEAK;
            f->why = "grew, and the goroutines of the first capture are "
                     "still there (same goroutine ids)";
        } else if (far) {
            f->status = LWA_STATUS_LEAK;
            f->why = "grew, and is far above the fresh peer";
        } else {
            f->status = LWA_STATUS_SUSPECT;
            f->why = "grew between two captures; a third would show "
                     "whether it keeps growing";
        }
        return;
    }
    case LWA_SHAPE_GROWING: {
        /* Marked goroutines lose their blocked minutes once the leak
         * profile was asked for: unknown, not young. */
        uint64_t young = last ? last->hist[0] : 0;
        young = young > f->leaked ? young - f->leaked : 0;
        bool persist = f->has_ids && f->persisted >= th->persist_share;
        if (last && !persist && cx->has_times &&
            cx->span_minutes >= th->churn_minutes &&
            parks_for_good(f->pattern) && young >= f->count) {
            f->status = LWA_STATUS_SUSPECT;
            f->why = "grows, but no goroutine is a minute old: churn, not "
                     "accumulation";
            return;
        }
        f->status = LWA_STATUS_LEAK;
        f->why = far ? "grew steadily through the end of the window, far "
                       "above the fresh peer"
                 : persist ? "grew steadily through the end of the window, "
                             "and its goroutines stay (goroutine ids)"
                           : "grew steadily through the end of the window";
        return;
    }
    case LWA_SHAPE_SPIKE:
        f->status = LWA_STATUS_SUSPECT;
        f->why = "jumped in a single step: a burst or a sudden leak; "
                 "capture again";
        return;
    case LWA_SHAPE_PLATEAU:
        f->why = "grew, then held flat: a ramp that plateaued";
        return;
    case LWA_SHAPE_DRAINED:
        f->why = "rose, then fell back: a burst that drained";
        return;
    case LWA_SHAPE_NOISY:
        f->why = "went up and down: not a steady climb";
        return;
    case LWA_SHAPE_SHRINKING:
        f->why = "fell";
        return;
    case LWA_SHAPE_FLAT:
    case LWA_SHAPE_SINGLE:
        break;
    }
    f->why = "no meaningful change";
}

/* A few goroutines the detector marked: not enough to call a leak, too
 * many to say nothing. */
static void judge_leaked(const judge_ctx *cx, lwa_finding *f)
{
    if (f->status == LWA_STATUS_NONE && f->has_leaked && f->leaked &&
        cx->n > 1 && f->delta > 0 && !f->churn && !main_goroutine(f->sig)) {
        f->status = LWA_STATUS_SUSPECT;
        f->why = "Go's leak detector marked a few of them leaked";
    }
}

/* Rule 8's bookkeeping: over the steps where goroutine ids tell (the
 * capture was parsed with the previous one's highest id as cutoff) and
 * something could have stayed, how many did. */
static void persistence(const lwa_snapshot *const *snaps, size_t n, size_t i,
                        const uint64_t *c, const lwa_thresholds *th,
                        lwa_finding *f)
{
    uint64_t stay = 0, could = 0;
    size_t steps = 0, churned = 0;
    for (size_t k = 1; k < n; k++) {
        if (!snaps[k]->old)
            continue;
        uint64_t m = c[k - 1] < c[k] ? c[k - 1] : c[k];
        if (!m)
            continue;
        uint64_t o = lwa_snapshot_old(snaps[k], i);
        if (o > m)
            o = m;
        stay += o;
        could += m;
        steps++;
        churned += (double)o < th->churn_persisted * (double)m;
    }
    f->has_ids = steps > 0;
    f->old = lwa_snapshot_old(snaps[n - 1], i);
    f->persisted = could ? (double)stay / (double)could : 0;
    f->churn = steps && churned == steps;
}

/* A select whose goroutines stayed (ids) for sleep_loop_minutes or more
 * and never showed blocked minutes: they wake up every so often — a
 * ticker or timer loop with no exit, not a select blocked for good. */
static bool sleeps(const lwa_snapshot *const *snaps, size_t n, size_t i,
                   const uint64_t *c, const lwa_thresholds *th,
                   const lwa_finding *f)
{
    if (f->pattern != LWA_PATTERN_SELECT || f->leaked || !f->has_minutes ||
        f->minutes_max)
        return false;
    /* The run of steps, ending at the last capture, in which the
     * goroutines stayed. */
    size_t e = n - 1;
    while (e > 0) {
        const lwa_snapshot *s = snaps[e];
        uint64_t m = c[e - 1] < c[e] ? c[e - 1] : c[e];
        if (!s->old || !m || !s->has_time || !snaps[e - 1]->has_time ||
            (double)lwa_snapshot_old(s, i) < th->persist_share * (double)m)
            break;
        e--;
    }
    if (e == n - 1)
        return false;
    double minutes =
        (double)(snaps[n - 1]->time_ms - snaps[e]->time_ms) / 60000.0;
    return minutes >= th->sleep_loop_minutes;
}

/* The label values the growth of a finding (lead and companions) is
 * concentrated in: over the window, or against the peer for one
 * capture. */
static int label_shares(lwa_finding *f, const lwa_snapshot *const *snaps,
                        size_t n, const lwa_snapshot *baseline)
{
    uint32_t stack_sigs[16], *sigs = stack_sigs;
    size_t m = 1 + f->ncompanions;
    if (m > sizeof(stack_sigs) / sizeof(stack_sigs[0])) {
        sigs = malloc(m * sizeof(*sigs));
        if (!sigs)
            return -1;
    }
    sigs[0] = f->sig->index;
    for (size_t k = 0; k < f->ncompanions; k++)
        sigs[k + 1] = f->companions[k].sig->index;
    const lwa_snapshot *from = n > 1 ? snaps[0] : baseline;
    int rc = lwa_labels_share(from, snaps[n - 1], sigs, m, &f->labels,
                              &f->nlabels);
    if (sigs != stack_sigs)
        free(sigs);
    return rc;
}

static int cmp_findings(const void *pa, const void *pb)
{
    const lwa_finding *a = pa, *b = pb;
    if (a->status != b->status)
        return a->status > b->status ? -1 : 1;
    /* Goroutines known to stay outrank any whose stay is unknown (churn
     * known from ids is not a finding at all). */
    bool pa_ = a->has_ids && !a->churn, pb_ = b->has_ids && !b->churn;
    if (pa_ != pb_)
        return pa_ ? -1 : 1;
    /* delta is the growth over the window, or the excess over the peer
     * for a single capture. */
    if (a->delta != b->delta)
        return a->delta > b->delta ? -1 : 1;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    int sa = specificity(a->pattern), sb = specificity(b->pattern);
    if (sa != sb)
        return sa > sb ? -1 : 1;
    const char *fa = a->sig->nframes ? a->sig->frames[a->sig->shown].func : 0;
    const char *fb = b->sig->nframes ? b->sig->frames[b->sig->shown].func : 0;
    int c = strcmp(fa ? fa : "", fb ? fb : "");
    if (c)
        return c;
    if (a->sig->id != b->sig->id)
        return a->sig->id < b->sig->id ? -1 : 1;
    return a->sig->index < b->sig->index ? -1 : 1;
}

static int cmp_dismissed(const void *pa, const void *pb)
{
    const lwa_finding *a = pa, *b = pb;
    uint64_t ra = a->growth.max - a->growth.first;
    uint64_t rb = b->growth.max - b->growth.first;
    if (ra != rb)
        return ra > rb ? -1 : 1;
    return a->sig->index < b->sig->index ? -1 : 1;
}

#define MAX_DISMISSED 5

static int push(lwa_finding **arr, size_t *len, size_t *cap,
                const lwa_finding *f)
{
    if (lw_grow(arr, cap, *len, sizeof **arr, 16))
        return -1;
    (*arr)[(*len)++] = *f;
    return 0;
}

/* One stack's finding over the captures: its series and growth, how it
 * stands against the baseline, blocked minutes, persistence by goroutine
 * id, the sleep-loop test, then the rules' judgement. */
static void judge_stack(const judge_ctx *cx, const lwa_sig *sig, size_t i,
                        const lwa_snapshot *const *snaps, size_t n,
                        const lwa_snapshot *baseline, const int64_t *tp,
                        const uint64_t *c, lwa_finding *f)
{
    const lwa_thresholds *th = cx->th;
    const lwa_snapshot *last = snaps[n - 1];
    uint64_t b = baseline ? lwa_snapshot_count(baseline, i) : 0;
    memset(f, 0, sizeof(*f));
    f->sig = sig;
    f->count = c[n - 1];
    f->has_baseline = baseline != NULL;
    f->baseline = b;
    bool diverged = baseline && f->count >= b &&
                    (double)f->count >=
                        th->baseline_ratio * (double)(b ? b : 1) &&
                    f->count - b >= th->baseline_excess;
    lwa_growth_compute(tp, c, n, th, diverged, &f->growth);
    f->delta = n > 1 ? f->growth.delta
                     : (baseline ? (int64_t)f->count - (int64_t)b : 0);
    for (size_t k = 0; k < n; k++) {
        const lwa_minutes *m = lwa_snapshot_minutes(snaps[k], i);
        if (snaps[k]->minutes)
            f->has_minutes = true;
        if (m && m->max > f->minutes_max)
            f->minutes_max = m->max;
    }
    const lwa_minutes *lm = lwa_snapshot_minutes(last, i);
    if (lm)
        f->held = held_since(lm, cx->has_times ? cx->span_minutes : 0);
    f->has_leaked = last->leaked != NULL;
    f->leaked = lwa_snapshot_leaked(last, i);
    f->pattern = sig->pattern;
    persistence(snaps, n, i, c, th, f);
    if (sleeps(snaps, n, i, c, th, f))
        f->pattern = LWA_PATTERN_SLEEP_LOOP;
    judge(cx, f, last->minutes ? (lm ? lm : &(lwa_minutes){0}) : NULL);
    judge_leaked(cx, f);
}

/* Findings in order, label shares per stack then per group (companions
 * folded into their lead), dismissed stacks capped. */
static int order_and_group(lwa_report *r, const lwa_snapshot *const *snaps,
                           size_t n, const lwa_snapshot *baseline)
{
    if (r->nfindings > 1)
        qsort(r->findings, r->nfindings, sizeof(*r->findings), cmp_findings);
    /* Each stack's own label shares tie stacks; then the group's. */
    for (size_t k = 0; k < r->nfindings; k++)
        if (label_shares(&r->findings[k], snaps, n, baseline) < 0)
            return -1;
    if (lwa_group_findings(r, cmp_findings) < 0)
        return -1;
    for (size_t k = 0; k < r->nfindings; k++) {
        lwa_finding *f = &r->findings[k];
        if (!f->ncompanions)
            continue;
        free(f->labels);
        f->labels = NULL;
        f->nlabels = 0;
        if (label_shares(f, snaps, n, baseline) < 0)
            return -1;
    }
    /* Companions can lift a lead's status. */
    if (r->nfindings > 1)
        qsort(r->findings, r->nfindings, sizeof(*r->findings), cmp_findings);
    if (r->ndismissed > 1)
        qsort(r->dismissed, r->ndismissed, sizeof(*r->dismissed),
              cmp_dismissed);
    while (r->ndismissed > MAX_DISMISSED)
        free(r->dismissed[--r->ndismissed].series);
    for (size_t k = 0; k < r->ndismissed; k++)
        lwa_group_single(&r->dismissed[k]);

    return 0;
}

/* The report's verdict and why, from its findings and the captures. */
static void overall_verdict(lwa_report *r, const lwa_snapshot *const *snaps,
                            size_t n, const lwa_snapshot *baseline)
{
    /* goroutineleak profiles other than debug=2 dumps list only what the
     * detector proved; their silence is not evidence of health. */
    bool proof_only = true;
    for (size_t k = 0; k < n; k++)
        proof_only = proof_only && snaps[k]->kind == PPROF_KIND_GOROUTINELEAK &&
                     snaps[k]->format != PPROF_FORMAT_DEBUG2;
    size_t leaks = 0, suspects = 0;
    for (size_t i = 0; i < r->nfindings; i++) {
        leaks += r->findings[i].status == LWA_STATUS_LEAK;
        suspects += r->findings[i].status == LWA_STATUS_SUSPECT;
    }
    if (leaks) {
        r->verdict = LWA_VERDICT_LEAK;
        r->why = r->findings[0].why;
    } else if (n == 1 && !baseline) {
        r->verdict = LWA_VERDICT_INCONCLUSIVE;
        r->why = "one capture without a fresh peer cannot show growth";
    } else if (suspects) {
        r->verdict = LWA_VERDICT_INCONCLUSIVE;
        r->why = r->findings[0].why;
    } else if (proof_only) {
        r->verdict = LWA_VERDICT_INCONCLUSIVE;
        r->why = "Go's leak detector proved no leak, and it cannot see "
                 "goroutines blocked on reachable objects (a held mutex, a "
                 "sleep loop)";
    } else if (r->total.shape == LWA_SHAPE_GROWING) {
        r->verdict = LWA_VERDICT_INCONCLUSIVE;
        r->why = "goroutines climb steadily but no single stack accounts "
                 "for it";
    } else {
        r->verdict = LWA_VERDICT_NO_LEAK;
        r->why = n == 1 ? "no stack stands out from the fresh peer"
                        : "no stack grew steadily";
    }
}

lwa_report *lwa_analyze(const lwa_sigtab *t, const lwa_snapshot *const *snaps,
                        size_t n, const lwa_snapshot *baseline,
                        const lwa_thresholds *th)
{
    lwa_thresholds defaults;
    if (!th) {
        lwa_thresholds_default(&defaults);
        th = &defaults;
    }
    if (!t || !snaps || !n)
        return NULL;
    lwa_report *r = calloc(1, sizeof(*r));
    int64_t *tms = calloc(n, sizeof(*tms));
    uint64_t *c = calloc(n, sizeof(*c));
    size_t fcap = 0, dcap = 0;
    if (!r || !tms || !c)
        goto fail;
    r->nsnapshots = n;
    r->has_baseline = baseline != NULL;

    bool times = true;
    for (size_t k = 0; k < n; k++) {
        times = times && snaps[k]->has_time;
        tms[k] = snaps[k]->time_ms;
        if (k && tms[k] <= tms[k - 1])
            times = false;
        c[k] = snaps[k]->total;
    }
    const int64_t *tp = times ? tms : NULL;
    lwa_growth_compute(tp, c, n, th, false, &r->total);
    r->has_times = times && n > 1;
    r->span_minutes = r->total.span_minutes;
    r->total_first = r->total.first;
    r->total_last = r->total.last;
    r->total_per_minute = r->total.per_minute;

    judge_ctx cx = {th, n, baseline != NULL, r->has_times, r->span_minutes};
    const lwa_snapshot *last = snaps[n - 1];
    size_t nsig = lwa_sigtab_size(t);
    for (size_t i = 0; i < nsig; i++) {
        const lwa_sig *sig = lwa_sigtab_at(t, i);
        if (sig->ignored_by && !sig->allowance)
            continue;
        uint64_t hi = 0;
        for (size_t k = 0; k < n; k++) {
            c[k] = lwa_snapshot_count(snaps[k], i);
            if (c[k] > hi)
                hi = c[k];
        }
        /* Nothing below min_growth can matter to any rule but the leak
         * detector's. */
        if (hi < th->min_growth && !lwa_snapshot_leaked(last, i))
            continue;

        lwa_finding f;
        judge_stack(&cx, sig, i, snaps, n, baseline, tp, c, &f);
        bool keep = f.status != LWA_STATUS_NONE;
        bool dismiss = !keep && n > 1 &&
                       f.growth.max - f.growth.first >= th->min_growth;
        if (keep || dismiss) {
            f.series = malloc(n * sizeof(*f.series));
            if (!f.series)
                goto fail;
            memcpy(f.series, c, n * sizeof(*f.series));
            int rc = keep ? push(&r->findings, &r->nfindings, &fcap, &f)
                          : push(&r->dismissed, &r->ndismissed, &dcap, &f);
            if (rc < 0) {
                free(f.series);
                goto fail;
            }
        }
    }
    if (order_and_group(r, snaps, n, baseline) < 0)
        goto fail;
    overall_verdict(r, snaps, n, baseline);
    free(tms);
    free(c);
    return r;

fail:
    free(tms);
    free(c);
    lwa_report_free(r);
    return NULL;
}

void lwa_report_free(lwa_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nfindings; i++) {
        free(r->findings[i].series);
        free(r->findings[i].companions);
        free(r->findings[i].labels);
    }
    for (size_t i = 0; i < r->ndismissed; i++)
        free(r->dismissed[i].series);
    free(r->findings);
    free(r->dismissed);
    free(r);
}
