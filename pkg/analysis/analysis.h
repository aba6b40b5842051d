/*
 * analysis.h — what goroutine captures mean: which stacks are the same,
 * which to ignore, how each stack's count moved between captures, what kind
 * of blocking it is, and whether the whole picture is a leak.
 *
 * The unit of everything here is the signature: a stack reduced to what is
 * stable across captures, processes, Go versions and formats (function
 * names, optionally file:line; never addresses, arguments or goroutine
 * ids).  A signature table (lwa_sigtab) gives every signature a dense index;
 * a snapshot (lwa_snapshot) is one capture counted by that index, so diffs
 * and series are array walks, and the table keeps copies of what it needs
 * so a profile can be freed as soon as its snapshot is taken.
 *
 *   pprof_profile --lwa_snapshot_take--> lwa_snapshot (counts per signature)
 *   two snapshots --lwa_diff_new-------> rows sorted by growth
 *   snapshots [+ peer baseline] --lwa_analyze--> verdict + ranked findings
 *
 * Not for: parsing (pkg/pprof), deciding when to capture or what to do
 * about a verdict (pkg/controller), printing (cmd/leakwatch).
 */
#ifndef LWA_ANALYSIS_H
#define LWA_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pprof/pprof.h"

/* ------------------------------------------------------------------ */
/* Patterns: the fixed vocabulary of DESIGN.md, each with a first fix.   */

typedef enum lwa_pattern {
    LWA_PATTERN_UNKNOWN = 0,
    LWA_PATTERN_CHAN_SEND,
    LWA_PATTERN_CHAN_RECEIVE,
    LWA_PATTERN_NIL_CHANNEL,
    LWA_PATTERN_SELECT,
    LWA_PATTERN_SELECT_NO_CASES,
    LWA_PATTERN_HTTP_BODY,  /* "http-body-not-closed" */
    LWA_PATTERN_NETWORK_IO,
    LWA_PATTERN_GRPC_CONN,  /* "grpc-conn-not-closed" */
    LWA_PATTERN_GRPC_STREAM, /* "grpc-stream-not-cancelled" */
    LWA_PATTERN_SQL_ROWS,   /* "sql-rows-not-closed" */
    LWA_PATTERN_WAITGROUP,
    LWA_PATTERN_MUTEX,
    LWA_PATTERN_COND,
    LWA_PATTERN_SEMAPHORE,
    LWA_PATTERN_SLEEP_LOOP,
    LWA_PATTERN_COUNT
} lwa_pattern;

const char *lwa_pattern_name(lwa_pattern p); /* "chan-send" ...         */
const char *lwa_pattern_fix(lwa_pattern p);  /* one line from the runbook */
/* The pattern named `name`, or -1. */
int lwa_pattern_from_name(const char *name);

typedef struct lwa_class {
    lwa_pattern pattern;
    uint32_t culprit;        /* index of the frame that names who is blocked
                                (what users are shown first)               */
    const char *wait_reason; /* the reason used: the given one, or one
                                inferred from frames (static); NULL if none */
    bool reason_inferred;
} lwa_class;

/*
 * Classify one stack (innermost first, as pprof gives it).  `wait_reason`
 * is what Go printed (debug=2) or what the parser inferred
 * (reason_inferred), NULL when unknown; `created_by` may be NULL.
 */
void lwa_classify(const pprof_frame *frames, uint32_t nframes,
                  const char *wait_reason, bool reason_inferred,
                  const char *created_by, lwa_class *out);

/* Goroutines of p whose shown frame (lwa_class.culprit) is `func`. */
uint64_t lwa_count_on(const pprof_profile *p, const char *func);

/* Unexported runtime functions ("runtime.gopark", "runtime.chansend1"):
 * what Go's own tracebacks hide, and what signatures leave out so that
 * debug=1, debug=2 and protobuf captures of one stack match. */
bool lwa_func_is_runtime_internal(const char *func);
/* Runtime internals plus the blocking plumbing users do not write
 * themselves (sync, internal/poll, net's fd layer, bufio, io, time.Sleep):
 * folded away when showing "the innermost user function". */
bool lwa_func_is_plumbing(const char *func);
/* The Go standard library: the first path element has no dot
 * ("net/http.(*conn).serve", "fmt.Fprint"); "main." is not. */
bool lwa_func_is_stdlib(const char *func);
/* Index of the frame users are shown first: the innermost one outside the
 * standard library, the plumbing and the common libraries (grpc-go,
 * protobuf, golang.org/x) when the stack has one (an SSE handler, not
 * net/http's writer under it), else outside the standard library and the
 * plumbing, else the innermost frame that is not plumbing, else the first
 * one a traceback shows. */
uint32_t lwa_user_frame(const pprof_frame *frames, uint32_t nframes);
/* Index of the innermost frame that is not plumbing (nframes when none):
 * where the blocking machinery of a stack ends. */
uint32_t lwa_plumbing_end(const pprof_frame *frames, uint32_t nframes);

/* ------------------------------------------------------------------ */
/* Ignore rules, after go.uber.org/goleak.                              */

typedef enum lwa_ignore_kind {
    LWA_IGNORE_TOP,        /* the stack's top function (first non-runtime
                              frame) or its innermost user function       */
    LWA_IGNORE_ANY,        /* any frame of the stack                       */
    LWA_IGNORE_CREATED_BY, /* the function that started the goroutine
                              (debug=2 only: other formats do not say)     */
} lwa_ignore_kind;

typedef struct lwa_ignore lwa_ignore;

/* builtins: also ignore what every Go service has and nobody leaks (the
 * goroutine serving the capture, signal loops, runtime background workers,
 * the testing harness, one net/http accept loop per stack). */
lwa_ignore *lwa_ignore_new(bool builtins);
void lwa_ignore_free(lwa_ignore *ig);
/* `func` is an exact function name, or a prefix when it ends in '*'.
 * 0 on success, -1 on an empty name or out of memory. */
int lwa_ignore_add(lwa_ignore *ig, lwa_ignore_kind kind, const char *func);

typedef struct lwa_ignore_match {
    const char *rule;   /* e.g. "built-in: pprof capture", "--ignore-top X" */
    uint64_t allowance; /* 0: ignore every goroutine of the stack; N: only
                           the first N (an expected singleton)            */
} lwa_ignore_match;

bool lwa_ignore_stack(const lwa_ignore *ig, const pprof_frame *frames,
                      uint32_t nframes, lwa_ignore_match *m);
bool lwa_ignore_creator(const lwa_ignore *ig, const char *created_by,
                        lwa_ignore_match *m);

/* ------------------------------------------------------------------ */
/* Signatures and snapshots.                                            */

typedef struct lwa_options {
    bool file_line;          /* key by function and file:line           */
    bool fold_runtime;       /* show the innermost user frame first     */
    const lwa_ignore *ignore; /* borrowed; NULL ignores nothing          */
} lwa_options;

/* file_line off, fold_runtime on, no ignore rules. */
void lwa_options_default(lwa_options *o);

typedef struct lwa_sig {
    uint64_t id;              /* 64-bit hash of the key frames            */
    uint32_t index;           /* dense, in order of first sight           */
    uint32_t nframes;
    const pprof_frame *frames; /* a representative stack, innermost first,
                                 owned by the table                      */
    uint32_t shown;           /* frames[shown] is the first frame shown:
                                 the culprit when folding, else 0         */
    lwa_pattern pattern;
    const char *wait_reason;  /* NULL when unknown                        */
    bool reason_inferred;
    pprof_frame created_by;   /* .func NULL when no capture said          */
    const char *ignored_by;   /* rule that drops the whole stack, or NULL */
    uint64_t allowance;       /* goroutines the rule lets through unseen  */
    int evidence;             /* how the representative was chosen
                                 (explicit reason beats inferred...)     */
} lwa_sig;

typedef struct lwa_sigtab lwa_sigtab;

/* The options (and the ignore rules they point to) must outlive the
 * table.  NULL when out of memory. */
lwa_sigtab *lwa_sigtab_new(const lwa_options *opt);
void lwa_sigtab_free(lwa_sigtab *t);
size_t lwa_sigtab_size(const lwa_sigtab *t);
const lwa_sig *lwa_sigtab_at(const lwa_sigtab *t, size_t index);
/* By id; NULL when absent. */
const lwa_sig *lwa_sigtab_find(const lwa_sigtab *t, uint64_t id);
const lwa_options *lwa_sigtab_options(const lwa_sigtab *t);

/* Goroutine labels per signature (lwa_labels.c): one count per
 * (signature, key, value), kept only for signatures that have labels. */
typedef struct lwa_labels lwa_labels;

typedef struct lwa_label_count {
    uint32_t sig;           /* signature index                          */
    const char *key, *value;
    uint64_t count;
} lwa_label_count;

lwa_labels *lwa_labels_new(void);
void lwa_labels_free(lwa_labels *l);
/* Counts `count` goroutines of signature `sig` under `labels` ("k1=v1,
 * k2=v2" as pkg/pprof spells them; NULL or "" adds nothing).  -1 when out
 * of memory. */
int lwa_labels_add(lwa_labels *l, uint32_t sig, const char *labels,
                   uint64_t count);
/* Sorts and merges what was added; lookups need it. */
void lwa_labels_seal(lwa_labels *l);
/* The entries of one signature, sorted by key then value; 0 when none. */
size_t lwa_labels_of(const lwa_labels *l, uint32_t sig,
                     const lwa_label_count **out);
/* Entries kept (distinct signature, key, value). */
size_t lwa_labels_size(const lwa_labels *l);

/* How long the goroutines of one signature had been blocked (debug=2). */
typedef struct lwa_minutes {
    uint64_t max;
    uint64_t hist[PPROF_MINUTES_BINS]; /* bins of pprof_minutes_bin()    */
} lwa_minutes;

typedef struct lwa_snapshot {
    char *name;             /* owned copy, e.g. the file name            */
    bool has_time;
    int64_t time_ms;        /* unix ms of the capture when has_time      */
    pprof_format format;
    pprof_kind kind;
    bool truncated;         /* the parser saw a cut-off input            */
    uint64_t total;         /* what the process reported                 */
    uint64_t ignored;       /* goroutines dropped by ignore rules        */
    size_t nbuckets;        /* parser buckets                            */
    size_t nstats;          /* entries: at least the signatures known
                               when taken                                */
    uint64_t *counts;       /* by lwa_sig.index; beyond nstats: 0        */
    lwa_minutes *minutes;   /* by index, only when blocked minutes are
                               known (debug=2), else NULL               */
    uint64_t *leaked;       /* by index: goroutines Go's leak detector
                               marked leaked (a goroutineleak profile, or
                               "(leaked)" in a dump), else NULL          */
    lwa_labels *labels;     /* goroutines per label pair, sealed; NULL
                               when no goroutine had labels              */
    uint64_t *old;          /* by index: goroutines that already existed
                               at the previous capture (debug=2 parsed
                               with that capture's highest goroutine id
                               as cutoff), else NULL                     */
} lwa_snapshot;

/* Counts `p` into a new snapshot, adding its signatures to `t`.  The
 * capture time is taken from the profile when it has one.  NULL when out
 * of memory. */
lwa_snapshot *lwa_snapshot_take(lwa_sigtab *t, const pprof_profile *p,
                                const char *name);
/* The same for a debug=2 dump parsed with pprof_limits.goid_cutoff =
 * `cutoff` (the previous capture's max_goid): also keeps, per signature,
 * the goroutines that already existed then (pprof_bucket.old).  Not when
 * cutoff is 0, the dump has no ids, or its ids went below the cutoff (the
 * process restarted). */
lwa_snapshot *lwa_snapshot_take_after(lwa_sigtab *t, const pprof_profile *p,
                                      const char *name, uint64_t cutoff);
void lwa_snapshot_free(lwa_snapshot *s);
void lwa_snapshot_set_time(lwa_snapshot *s, int64_t unix_ms);
uint64_t lwa_snapshot_count(const lwa_snapshot *s, size_t index);
/* NULL when the snapshot has no blocked minutes for that signature. */
const lwa_minutes *lwa_snapshot_minutes(const lwa_snapshot *s, size_t index);
uint64_t lwa_snapshot_leaked(const lwa_snapshot *s, size_t index);
/* 0 when ids are unknown (s->old NULL). */
uint64_t lwa_snapshot_old(const lwa_snapshot *s, size_t index);
/* Goroutines counted (total minus ignored, as seen through signatures). */
uint64_t lwa_snapshot_counted(const lwa_snapshot *s);
/* Signatures with at least one goroutine in this snapshot. */
size_t lwa_snapshot_unique(const lwa_snapshot *s);

/* ------------------------------------------------------------------ */
/* Diff of two captures.                                                */

typedef struct lwa_diff_row {
    const lwa_sig *sig;
    uint64_t base, target;
    int64_t delta;
} lwa_diff_row;

typedef struct lwa_diff {
    uint64_t base_total, target_total;   /* as the processes reported  */
    int64_t total_delta;
    size_t grew, shrank, appeared, vanished;
    size_t nrows;           /* signatures present in either capture    */
    lwa_diff_row *rows;     /* delta descending, then target, then id  */
} lwa_diff;

lwa_diff *lwa_diff_new(const lwa_sigtab *t, const lwa_snapshot *base,
                       const lwa_snapshot *target);
void lwa_diff_free(lwa_diff *d);

/* ------------------------------------------------------------------ */
/* Growth over a series and the verdict.  The decision rules are written
 * out in lwa_verdict.c; the numbers they use are these.                */

typedef struct lwa_thresholds {
    uint64_t min_growth;      /* goroutines a stack must gain (10)          */
    double min_relative;      /* ... and as a fraction of its first count
                                 (0.10) unless far above the baseline      */
    double min_nondecreasing; /* fraction of steps that must not fall (0.7)*/
    double min_r2;            /* or a straight-line fit this good (0.9)    */
    double max_step_share;    /* largest single rise / all rises (0.6)     */
    double max_drawdown;      /* largest fall / net growth (0.25)          */
    double drained_fraction;  /* fallen this much from the peak: drained
                                 (0.5)                                      */
    double tail_fraction;     /* the end of the window (last 1/3)          */
    double min_tail_share;    /* growth there vs the trend (0.5)           */
    double baseline_ratio;    /* diverged: >= ratio x peer count (3)       */
    uint64_t baseline_excess; /* ... and this many more (20)               */
    double far_ratio;         /* far above the peer (5)                    */
    uint64_t far_excess;      /* ... and this many more (50)               */
    double held_fraction;     /* 2 captures: share of the first count still
                                 blocked since before it (0.5)             */
    double churn_minutes;     /* window long enough to expect old
                                 goroutines in a real leak (5)             */
    double churn_persisted;   /* ids: at most this share of the goroutines
                                 that could have stayed did, at every
                                 step: churn (0.2)                         */
    double persist_share;     /* ids: at least this share stayed: the
                                 goroutines persist (0.9)                  */
    double sleep_loop_minutes; /* a select whose goroutines persisted this
                                 long without ever showing blocked minutes
                                 wakes periodically: sleep-loop (2)        */
} lwa_thresholds;

void lwa_thresholds_default(lwa_thresholds *th);

typedef enum lwa_shape {
    LWA_SHAPE_SINGLE = 0, /* one capture: no shape                          */
    LWA_SHAPE_FLAT,       /* no meaningful change                           */
    LWA_SHAPE_SHRINKING,  /* fell                                           */
    LWA_SHAPE_STEP,       /* two captures, went up                          */
    LWA_SHAPE_GROWING,    /* steady growth through the end                  */
    LWA_SHAPE_PLATEAU,    /* grew, then flat at the end                     */
    LWA_SHAPE_DRAINED,    /* rose, then fell back                           */
    LWA_SHAPE_SPIKE,      /* growth concentrated in one step                */
    LWA_SHAPE_NOISY,      /* net growth, but up and down                    */
} lwa_shape;

const char *lwa_shape_name(lwa_shape s);

typedef struct lwa_growth {
    size_t n;
    uint64_t first, last, min, max;
    int64_t delta;          /* last - first                              */
    bool has_rate;          /* capture times known                       */
    double span_minutes;
    double per_minute;      /* least-squares slope (0 without times)     */
    double r2;              /* fit of that line, 0..1                    */
    double nondecreasing;   /* fraction of steps that do not fall        */
    double max_step_share;  /* largest rise / sum of rises (as rates)    */
    uint64_t drawdown;      /* largest fall below an earlier high        */
    int64_t tail_delta;     /* growth over the end of the window         */
    double tail_expected;   /* what the overall trend predicts there     */
    bool significant;       /* gained enough, absolutely and relatively  */
    lwa_shape shape;
} lwa_growth;

/*
 * Shape of one count series, oldest first.  t_ms may be NULL (times
 * unknown: steps are taken as equal and no rate is given).  relax_relative
 * waives the relative-growth test (the stack is far above a fresh peer).
 */
void lwa_growth_compute(const int64_t *t_ms, const uint64_t *counts,
                        size_t n, const lwa_thresholds *th,
                        bool relax_relative, lwa_growth *out);

typedef enum lwa_verdict {
    LWA_VERDICT_NO_LEAK = 0,
    LWA_VERDICT_LEAK,
    LWA_VERDICT_INCONCLUSIVE,
} lwa_verdict;

const char *lwa_verdict_name(lwa_verdict v); /* "leak", "no-leak"...      */

typedef enum lwa_status {
    LWA_STATUS_NONE = 0, /* moved, but is not evidence (see why)          */
    LWA_STATUS_SUSPECT,  /* could be a leak; more data would tell         */
    LWA_STATUS_LEAK,
} lwa_status;

const char *lwa_status_name(lwa_status s);

/* A label value a finding's growth is concentrated in (lwa_labels.c). */
typedef struct lwa_label_share {
    const char *key, *value; /* owned with the array                    */
    double share;            /* of the growth of the stacks with the key */
    int64_t delta;           /* growth of this value                    */
} lwa_label_share;

/* The label values the growth of stacks `sigs` between `from` and `to`
 * is concentrated in (from NULL: all of `to` counts as growth).  *out is
 * one allocation (free(*out)), NULL when nothing is concentrated.  -1
 * when out of memory. */
int lwa_labels_share(const lwa_snapshot *from, const lwa_snapshot *to,
                     const uint32_t *sigs, size_t nsigs,
                     lwa_label_share **out, size_t *nout);

/* A stack that grows in lockstep with a finding's lead and is tied to it
 * (lwa_group.c): the same leaked object seen from another goroutine. */
typedef struct lwa_companion {
    const lwa_sig *sig;
    lwa_status status;      /* as judged alone                            */
    uint64_t count;         /* in the last capture                        */
    int64_t delta;          /* last - first                               */
    double per_unit;        /* goroutines of this stack per leaked unit   */
} lwa_companion;

typedef struct lwa_finding {
    const lwa_sig *sig;     /* the lead: the stack with user code         */
    lwa_status status;
    lwa_growth growth;
    uint64_t count;         /* in the last capture                        */
    bool has_baseline;
    uint64_t baseline;      /* in the peer (0 when absent from it)        */
    int64_t delta;          /* last - first; last - baseline for one capture */
    bool has_minutes;
    uint64_t minutes_max;   /* longest blocked, over the captures         */
    uint64_t held;          /* last capture: blocked since before the first */
    bool has_leaked;
    uint64_t leaked;        /* last capture: marked leaked by Go's detector */
    uint64_t *series;       /* the count in each capture (nsnapshots of
                               them), owned by the report                  */
    const char *why;        /* static phrase: why this status             */
    lwa_pattern pattern;    /* sig->pattern, unless behaviour over time
                               says otherwise (a select that keeps its
                               goroutines yet never ages: sleep-loop)     */
    /* One leak, several stacks (lwa_group.c).  Without companions
     * per_unit is 1, group_per_unit 1 and units the delta. */
    lwa_companion *companions; /* owned by the report, by delta          */
    size_t ncompanions;
    double per_unit;        /* the lead's goroutines per leaked unit      */
    double group_per_unit;  /* all the group's goroutines per unit        */
    uint64_t units;         /* leaked units over the window               */
    const char *unit;       /* static: "leaked ClientConn"...; NULL when
                               the pattern names no object (say "per
                               stuck <lead function>")                    */
    /* Label values the growth is concentrated in, most concentrated key
     * first (lwa_labels.c); owned by the report. */
    lwa_label_share *labels;
    size_t nlabels;
    /* Persistence from goroutine ids (debug=2 parsed with the previous
     * capture's highest id as cutoff): whether the goroutines stay. */
    bool has_ids;           /* some step had ids on both sides            */
    uint64_t old;           /* last capture: goroutines that existed at
                               the capture before                         */
    double persisted;       /* of the goroutines that could have stayed
                               (min of the two counts) over the informative
                               steps, the share that did: ~1 a leak, ~0
                               churn; 0 without ids                      */
    bool churn;             /* ids show (nearly) all new at every step    */
} lwa_finding;

typedef struct lwa_report {
    lwa_verdict verdict;
    const char *why;        /* static phrase: what decided the verdict    */
    size_t nsnapshots;
    bool has_baseline;
    bool has_times;
    double span_minutes;
    uint64_t total_first, total_last;
    double total_per_minute; /* 0 without times                          */
    lwa_growth total;        /* shape of the process totals               */
    size_t nfindings;        /* leaks, then suspects, most significant first */
    lwa_finding *findings;
    size_t ndismissed;       /* the largest movers that are not evidence   */
    lwa_finding *dismissed;
} lwa_report;

/*
 * Judge snapshots of one process, oldest first (n >= 1), optionally against
 * a fresh peer's snapshot.  All snapshots must come from `t`.  Times are
 * used when every snapshot has one and they increase.  NULL when out of
 * memory or given nothing to judge.
 */
lwa_report *lwa_analyze(const lwa_sigtab *t, const lwa_snapshot *const *snaps,
                        size_t n, const lwa_snapshot *baseline,
                        const lwa_thresholds *th);
void lwa_report_free(lwa_report *r);

/* ------------------------------------------------------------------ */
/* One finding per leak (lwa_group.c; the rules are written out there).  */

/* Tied: something other than timing says two stacks are one object's
 * goroutines (a creator on the other's stack, the same creator, one
 * library's goroutines). */
bool lwa_group_tied(const lwa_sig *a, const lwa_sig *b);
/* Lockstep: two count series (n captures) that start growing at the same
 * capture and rise in the same proportion at every step. */
bool lwa_group_lockstep(const uint64_t *a, const uint64_t *b, size_t n);
/* A finding alone: per_unit 1, units its delta, unit from its pattern. */
void lwa_group_single(lwa_finding *f);
/* Merges the findings of `r` that are one leak into their lead (listing
 * the others as companions and the ratio); `rank` orders findings (the
 * verdict's ranking, best first) and picks the lead among stacks of equal
 * standing.  -1 when out of memory. */
int lwa_group_findings(lwa_report *r,
                       int (*rank)(const void *, const void *));

#endif
