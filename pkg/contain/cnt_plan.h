/*
 * cnt_plan.h — containment's decisions without the network: how urgent a
 * leak is (time to the memory limit or goroutine cap), whether a workload
 * can lose one ready pod now, how many restarts this hour allows, which
 * leaking replica goes first, and the sentence that explains it all.
 *
 * Everything here is a pure function of its inputs (time included), so the
 * rules can be tested exactly; cnt_contain.c gathers the inputs from the
 * candidate and the cluster and acts on the outcome.
 *
 * Not for: API calls (cnt_cluster.h) or remembering state across calls.
 */
#ifndef CNT_PLAN_H
#define CNT_PLAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contain/contain.h"
#include "kube/kube_objects.h"

/* What one leaked goroutine costs when the controller cannot tell: its
 * stack (2 KiB at first, commonly grown to 4-8 KiB by the time it blocks)
 * plus the runtime's g and the small objects it pins.  The memory the
 * goroutine references (buffers, request contexts) is extra, so the
 * projection errs late rather than early. */
#define CNT_DEFAULT_BYTES_PER_GOROUTINE 8192.0

/* Restarts count against budgets for this long (the budgets are per hour). */
#define CNT_BUDGET_WINDOW_S 3600

/* ---- units -------------------------------------------------------------- */

/* 268435456 -> "256Mi", 1610612736 -> "1.5Gi", 1000000 -> "1M"... */
void cnt_format_quantity(int64_t bytes, char *out, size_t outlen);
/* 8192 -> "8 KiB", 1536 -> "1.5 KiB", 300 -> "300 B". */
void cnt_format_size(double bytes, char *out, size_t outlen);
/* 7800 -> "2h10m", 2700 -> "45m", 30 -> "30s", 273600 -> "3d4h". */
void cnt_format_duration(double seconds, char *out, size_t outlen);

/* Cuts an incomplete UTF-8 sequence off the end of s (left by a truncating
 * snprintf), so Event messages stay valid JSON strings. */
void cnt_utf8_trim(char *s);

typedef struct cnt_mem_limit {
    int64_t bytes;          /* 0: no limit                                   */
    char text[32];          /* as written when one quantity ("256Mi")       */
    char source[300];       /* "container app", "3 containers", "pod"        */
} cnt_mem_limit;

/* The memory limit that would OOM-kill the Go process: the limit of the
 * container that serves pprof when it can be told (the container declaring
 * the leakwatch endpoint, or the only container); otherwise the sum of all
 * containers' limits when every container has one; capped by a pod-level
 * spec.resources.limits.memory.  1 found, 0 none, -1 a quantity that does
 * not parse (err names the container and the value). */
int cnt_pod_memory_limit(const json_t *pod, cnt_mem_limit *out, char *err,
                         size_t errlen);

/* ---- urgency ------------------------------------------------------------ */

typedef enum cnt_basis {
    CNT_BASIS_NONE = 0,     /* no limit to project against                  */
    CNT_BASIS_MEMORY,       /* the container's memory limit                 */
    CNT_BASIS_CAP,          /* --goroutine-cap                              */
} cnt_basis;

typedef struct cnt_urgency {
    bool urgent;            /* eta under the horizon, or by_rate            */
    bool by_rate;           /* per_minute >= --containment-min-rate (> 0)   */
    bool under_horizon;
    cnt_basis basis;        /* the nearer limit                             */
    double eta_s;           /* to that limit; INFINITY when none or flat    */
    double bpg;             /* bytes per goroutine used                     */
    bool bpg_estimated;     /* the default, not a measurement               */
    double per_minute;
    /* "projected to reach its 256Mi memory limit in 2h10m at +412
     * goroutines/min (~8 KiB each) — under the 6h horizon" */
    char phrase[640];
} cnt_urgency;

/* lim may be NULL (no memory limit). */
void cnt_urgency_eval(const cnt_config *cfg, const cnt_candidate *cand,
                      const cnt_mem_limit *lim, cnt_urgency *out);

/* ---- restart ledger: budgets and cooldowns ------------------------------ */

typedef struct cnt_action {
    int64_t t_s;            /* unix seconds                                  */
    bool dry_run;           /* simulated: counts only in dry-run mode        */
    bool from_events;       /* learnt from the cluster's Events              */
    char ns[64];
    char workload_uid[64];
    char pod[254];          /* the pod restarted, or whose leak triggered
                               the rollout                                  */
} cnt_action;

typedef struct cnt_ledger {
    cnt_action *v;
    size_t n, cap;
} cnt_ledger;

void cnt_ledger_init(cnt_ledger *l);
void cnt_ledger_clear(cnt_ledger *l);
/* Adds a, unless it is one already known: the same workload and pod within
 * two minutes (an Event describing an action this process took).  0 added,
 * 1 already known, -1 out of memory. */
int cnt_ledger_add(cnt_ledger *l, const cnt_action *a);
/* Removes the entry exactly equal in time, workload and pod (a reservation
 * whose restart did not happen). */
void cnt_ledger_remove(cnt_ledger *l, const cnt_action *a);
/* Restarts since since_s, of one workload (uid) or of all (NULL). */
long cnt_ledger_count(const cnt_ledger *l, const char *workload_uid,
                      int64_t since_s, bool include_dry);
/* The last restart of pod ns/pod, or of any pod of the workload when pod is
 * NULL; -1 when none. */
int64_t cnt_ledger_last(const cnt_ledger *l, const char *ns, const char *pod,
                        const char *workload_uid, bool include_dry);
void cnt_ledger_prune(cnt_ledger *l, int64_t before_s);

/* ---- severity ordering -------------------------------------------------- */

typedef struct cnt_rank_item {
    const char *name;
    double eta_s;           /* INFINITY when not projected                   */
    double per_minute;
    bool eligible;          /* would be restarted if it were its turn        */
    int64_t last_ms, prev_ms; /* the last two considerations (prev 0: one)   */
} cnt_rank_item;

/* Still leaking: considered within three of its own intervals (30 s at
 * least, 10 min at most), so a pod whose finding cleared drops out of the
 * ranking. */
bool cnt_rank_fresh(const cnt_rank_item *it, int64_t now_ms);
/* < 0 when a is more severe: nearer limit first, projected before not,
 * then steeper growth, then name. */
int cnt_rank_compare(const cnt_rank_item *a, const cnt_rank_item *b);
/* The most severe fresh eligible item, or -1. */
int cnt_rank_first(const cnt_rank_item *items, size_t n, int64_t now_ms);
size_t cnt_rank_fresh_count(const cnt_rank_item *items, size_t n,
                            int64_t now_ms);

/* ---- the workload -------------------------------------------------------- */

typedef struct cnt_workload_state {
    char kind[32], name[254], uid[64];
    long replicas;          /* spec.replicas (default 1)                    */
    long ready_status;      /* status.readyReplicas                         */
    long updated;           /* status.updatedReplicas (-1: not reported)    */
    bool generation_observed; /* status.observedGeneration >= generation    */
    long max_unavailable;   /* resolved against replicas                    */
    long max_surge;         /* Deployment only                              */
    bool recreate;          /* Deployment strategy Recreate                 */
    bool on_delete;         /* StatefulSet updateStrategy OnDelete          */
    char selector[1024];    /* label selector of its pods                   */
    /* From its pods (cnt_workload_count_pod). */
    long pods_ready, pods_terminating, pods_not_ready;
    char terminating[254];  /* one terminating pod, for the message         */
    char not_ready[254];    /* one pod not Ready                            */
    bool candidate_live;    /* the candidate is among them, not terminating */
} cnt_workload_state;

/* A workload object (Deployment, StatefulSet, ReplicaSet).  0, or -1 with
 * err saying what is malformed. */
int cnt_workload_parse(const json_t *obj, cnt_workload_state *out, char *err,
                       size_t errlen);
/* Counts one pod of the workload (terminal pods are ignored). */
void cnt_workload_count_pod(cnt_workload_state *st, const kube_pod *pod);
/* An IntOrString ("25%" or 1) resolved against total; absent -> dflt.
 * Percentages round up or down as the Deployment controller does. */
long cnt_int_or_percent(const json_t *v, long total, bool round_up,
                        long dflt);
/* "deployment/orders" */
void cnt_workload_label(const char *kind, const char *name, char *out,
                        size_t outlen);

/* Is a restart in progress?  false with why ("2/3 ready; orders-a
 * terminating") until every replica is Ready, none is terminating and the
 * workload's status has caught up. */
bool cnt_workload_settled(const cnt_workload_state *st, char *why,
                          size_t whylen);
/* May one pod go down now?  Evict: readyReplicas - 1 >= max(1, replicas -
 * max(1, maxUnavailable)).  Rollout: the strategy itself must keep one
 * ready replica (not Recreate, not OnDelete; one replica needs surge). */
bool cnt_workload_floor_ok(const cnt_workload_state *st, bool rollout,
                           char *why, size_t whylen);

/* ---- decisions ---------------------------------------------------------- */

typedef enum cnt_kind {
    CNT_SILENT = 0,         /* containment off and the pod did not opt in   */
    CNT_EVICTED,            /* Normal: evicted                              */
    CNT_ROLLED_OUT,         /* Normal: rollout restart of the workload      */
    CNT_WOULD,              /* Normal: dry-run, would evict / restart       */
    CNT_DEFERRED_PDB,       /* Warning: eviction refused by a PDB (429)     */
    CNT_MULTIPLE_PDBS,      /* Warning: several PDBs (500): stop workload   */
    CNT_FAILED,             /* Warning: the API call failed otherwise       */
    CNT_BUDGET_WORKLOAD,    /* Warning                                      */
    CNT_BUDGET_GLOBAL,      /* Warning                                      */
    CNT_MILD,               /* Normal: not urgent                           */
    CNT_NO_OWNER,           /* Warning: bare pod                            */
    CNT_NOT_OPTED_IN,       /* Normal                                       */
    CNT_DISABLED,           /* Normal: opted in, --containment off          */
    CNT_NO_EVIDENCE,        /* Warning                                      */
    CNT_UNSUPPORTED,        /* Warning: owner kind cannot be restarted      */
    CNT_FLOOR,              /* Warning: would go below the ready floor      */
    CNT_IN_PROGRESS,        /* Normal: waiting for a replacement            */
    CNT_QUEUED,             /* Normal: a steeper pod goes first             */
    CNT_COOLDOWN,           /* Normal: restarted recently                   */
    CNT_GATHERING,          /* silent: first sight, rank at the next call   */
    CNT_NOT_READY,          /* Warning: replacement not Ready in time       */
    CNT_ACT,                /* the plan says restart now (never spoken)     */
    CNT_KIND_COUNT
} cnt_kind;

/* Metric/log label: "evicted", "deferred-pdb", "mild"... */
const char *cnt_kind_name(cnt_kind k);
bool cnt_kind_warning(cnt_kind k);
/* Spoken on the workload too (lasting decisions), not only on the pod. */
bool cnt_kind_on_workload(cnt_kind k);
/* Kinds that say the same thing for dedup ("waiting" in its forms). */
int cnt_kind_class(cnt_kind k);
/* The kind of a LeakContainment message leakwatch wrote (pod or workload
 * form, possibly "(combined from similar events): ..."); the pod it names
 * in the workload form goes to pod (may be NULL).  CNT_SILENT when the
 * message is not one of ours. */
cnt_kind cnt_kind_parse(const char *msg, char *pod, size_t podlen);

/* Everything one decision depends on.  Filled in two rounds: the cheap
 * facts first (have_cluster false), the workload's state when the cheap
 * facts say a restart is possible. */
typedef struct cnt_facts {
    const cnt_config *cfg;
    const cnt_candidate *cand;
    const cnt_urgency *urg;
    bool has_controller;      /* the pod has a controller ownerReference   */
    bool evidence_ok;
    char evidence[1024];      /* "/e/a.pb.gz, /e/b.pb.gz" or what is wrong */
    long used_workload, used_global;  /* restarts this hour                */
    long leaking;             /* fresh leaking pods of the workload        */
    double since_pod_restart_s;       /* < 0: none within the window; in
                                         rollout mode, of the workload     */
    double retry_in_s;        /* backoff after a 429 / failure (0: none)   */
    cnt_kind retry_kind;      /* CNT_DEFERRED_PDB or CNT_FAILED            */
    char retry_reason[512];
    bool stopped;             /* multiple PDBs: stopped for this workload  */
    char stopped_reason[512];
    /* Round two. */
    bool have_cluster;
    const cnt_workload_state *wl;
    double since_workload_restart_s;  /* our last restart of it, < 0: none */
    bool first_sight;         /* considered once only so far               */
    const char *steeper;      /* a more severe eligible pod, or NULL       */
    double steeper_eta_s, steeper_per_minute;
} cnt_facts;

typedef struct cnt_decision {
    cnt_kind kind;
    bool need_cluster;        /* round one: read the workload, then decide */
    char msg[3072];           /* the pod's Event message                   */
} cnt_decision;

/* The decision for f, in the order documented in README (opt-in, owner,
 * urgency, evidence, budgets, cooldown, backoff, workload state, floor,
 * severity order).  CNT_ACT means restart now.  In dry-run mode every
 * message starts with "dry-run: ". */
void cnt_decide(const cnt_facts *f, cnt_decision *d);

/* The message after acting: kind is the outcome (CNT_EVICTED,
 * CNT_ROLLED_OUT, CNT_WOULD, CNT_DEFERRED_PDB, CNT_MULTIPLE_PDBS,
 * CNT_FAILED); api is the API server's sentence for refusals; retry_s the
 * backoff chosen. */
void cnt_describe_outcome(const cnt_facts *f, cnt_kind outcome,
                          const char *api, double retry_s, cnt_decision *d);

/* Was the message said in dry-run mode ("dry-run: ..." in either form)? */
bool cnt_message_dry_run(const char *msg);

/* The workload's form of a pod message: "pod orders-a: <msg>". */
void cnt_workload_message(const char *pod, const char *msg, char *out,
                          size_t outlen);

#endif
