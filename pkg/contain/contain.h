/*
 * contain.h — containment: the runbook's band-aid while the fix ships.  When
 * a pod leaks goroutines steeply enough to hit its limit soon, restart it —
 * one pod of a workload at a time, never below the workload's ready floor,
 * within hourly budgets, through the Eviction API (so PodDisruptionBudgets
 * have the last word) or by a rollout restart of the owning workload.
 *
 * Opt-in twice: the pod's `leakwatch.dev/containment: "restart"` annotation
 * AND the controller's --containment.  Without both, leakwatch only reports.
 *
 * Every decision (restarted, deferred, refused, waiting) becomes a
 * `LeakContainment` Event on the pod and, for lasting decisions, on its
 * workload; a decision is spoken when it changes, not every interval.
 * State that matters for safety (restarts this hour, a restart in progress)
 * is derived from the cluster — the workload's status and pods, and the
 * LeakContainment Events leakwatch wrote earlier — so a restarted or newly
 * elected controller neither repeats a restart nor exceeds a budget.
 *
 * Threads: cnt_consider() may be called from many threads at once; it
 * blocks on API calls (a few seconds at most).  Only the leader calls it.
 *
 * Not for: finding leaks (pkg/controller), talking HTTP (pkg/kube).  The
 * pure decision logic lives in cnt_plan.h.
 */
#ifndef CNT_CONTAIN_H
#define CNT_CONTAIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube/kube.h"
#include "kube/kube_events.h"
#include "obs/obs_log.h"
#include "obs/obs_metrics.h"

/* Same meaning as the controller's options of the same names. */
typedef struct cnt_config {
    bool enabled;              /* --containment: the second opt-in          */
    bool dry_run;              /* decide and say "would ...", change nothing */
    bool rollout;              /* rollout restart of the workload; else evict */
    double horizon_s;          /* restart when a limit is nearer than this  */
    long goroutine_cap;        /* goroutines treated as a limit (0: none)   */
    double min_rate_per_min;   /* growth that alone justifies (0: off)      */
    long budget_per_workload;  /* restarts per hour per workload            */
    long budget_global;        /* restarts per hour in total                */
    double pod_cooldown_s;     /* no second restart of one pod within this  */
    double ready_timeout_s;    /* warn when a replacement is not Ready by then */
} cnt_config;

/* The controller's defaults: off, evict, 6h, no cap, no min rate, 3/h per
 * workload, 10/h in total, 600 s cooldown, 300 s ready timeout. */
void cnt_config_default(cnt_config *cfg);

typedef struct cnt_candidate {
    const char *ns, *pod, *pod_uid;   /* the leaking pod                      */
    const json_t *pod_obj;            /* as the watch cache has it; borrowed;
                                         may be NULL (no limits known)       */
    /* The resolved workload ("" kind = bare pod). */
    const char *owner_kind, *owner_name, *owner_uid, *owner_api_version;
    bool opted_in;                    /* leakwatch.dev/containment: "restart" */
    int64_t goroutines;               /* current count                        */
    double per_minute;                /* observed robust growth               */
    double bytes_per_goroutine;       /* 0: CNT_DEFAULT_BYTES_PER_GOROUTINE   */
    int64_t memory_bytes;             /* current process memory (0: unknown)  */
    const char *pattern, *summary;    /* the finding, one line                */
    const char *evidence_suspect, *evidence_baseline; /* paths, or NULL       */
    const char *evidence_error;       /* why they could not be saved, or NULL */
} cnt_candidate;

typedef struct cnt_containment cnt_containment;

/* kube, rec, metrics and log are borrowed and must outlive the result; rec,
 * metrics and log may be NULL (no Events / metrics / logs).  The config is
 * copied.  NULL with a one-line message in err on a bad config. */
cnt_containment *cnt_new(kube_client *kube, kube_recorder *rec,
                         const cnt_config *cfg, obs_registry *metrics,
                         obs_logger *log, char *err, size_t errlen);
void cnt_free(cnt_containment *c);

/* Called every interval while the pod has a GoroutineLeak finding, and only
 * while this replica leads.  Thread-safe; may block on API calls. */
void cnt_consider(cnt_containment *c, const cnt_candidate *cand);

/* Tests: replace the wall clock (unix milliseconds). */
typedef int64_t (*cnt_clock_fn)(void *ud);
void cnt_set_clock(cnt_containment *c, cnt_clock_fn fn, void *ud);

#endif
