/*
 * ctl_pods.h — the controller's registry of watched pods: what the watch
 * cache says about each annotated pod (endpoint, readiness, age, node, IP,
 * owner) plus what sampling learned (the count window, suspicion, the
 * finding in force).
 *
 * The registry is filled only from watch callbacks (level-triggered: every
 * add/update re-derives the pod's facts from the object, so a missed
 * update is healed by the next one) and read by the scheduler and the
 * workers.  One mutex guards it; workers copy what they need under the lock
 * and work on the copy without it.
 *
 * Not for: capturing, analysing or recording anything (controller.c).
 */
#ifndef CTL_PODS_H
#define CTL_PODS_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/ctl_window.h"
#include "kube/kube.h"
#include "kube/kube_pods.h"

typedef struct ctl_full {
    unsigned char *raw;   /* the bytes the pod served                   */
    size_t len;
    int64_t t_ms;         /* capture time                               */
    char ext[16];         /* "txt", "pb.gz"                             */
} ctl_full;

/*
 * What a finding says, allocated only while a pod has one: these texts are
 * most of a pod's size, and most pods never leak, so a registry of
 * thousands of pods keeps them only for the few that do.
 */
typedef struct ctl_finding_text {
    /* The leaking stacks' functions, one per line (independent leaks of
     * one process are separate findings; the first is the strongest). */
    char func[768];
    char summary[1024];          /* the Event sentence                   */
    char evidence_suspect[1024]; /* evidence files of the finding        */
    char evidence_baseline[1024];
    char evidence_error[256];    /* why they could not be saved, or ""   */
} ctl_finding_text;

typedef struct ctl_pod {
    char uid[64];
    char ip[64];
    /* What the pod shares with the other pods of its workload or node,
     * interned (lw_intern.h): a thousand pods of ten Deployments hold ten
     * copies of a pprof endpoint, not a thousand.  Never NULL in the
     * registry; read-only; set only by the registry (ctl_pods_upsert,
     * ctl_pods_set_owner), which also releases them. */
    const char *ns;
    const char *name;
    const char *node;
    const char *rs_uid;   /* controller owner as the pod names it        */
    const char *rs_kind;
    const char *rs_name;
    const char *rev_hash; /* pod-template-hash / controller-revision-hash */
    const char *images;   /* kube_pod_images: "orders:1.4.2"             */
    const kube_pod_endpoint *ep;
    int ep_state;         /* 1 usable, -1 annotation error               */
    bool ready;
    bool terminating;
    int64_t start_s;
    int restarts;

    /* Owner resolution (Pod -> ReplicaSet -> Deployment) is done once by a
     * worker; peers are pods with the same owner uid. */
    bool owner_resolved;
    const kube_owner *owner; /* interned; all empty until resolved     */
    long revision;        /* the workload revision of its template, -1
                             unknown (resolved with the owner)           */
    int64_t revision_since_s; /* when that revision was created, -1      */

    /* This replica samples it: always without sharding; with sharding
     * when its workload hashes to this replica (ctl_shard.h). */
    bool mine;

    /* Sampling state. */
    ctl_window win;
    ctl_trend trend;
    int64_t last_count;   /* -1 unknown                                   */
    /* The pod's request counter (cap_prom_scan) since this process was
     * first sampled, -1 unknown: the load a finding was made at. */
    double req_first, req_last;
    int64_t req_first_ms, req_last_ms;
    int64_t last_sample_ms;
    int64_t next_due_ms;
    bool busy;            /* a worker holds it                           */
    bool metrics_absent;  /* no go_goroutines: cheap sample is debug=1    */
    int failures;         /* consecutive failed samples                  */
    unsigned failure_kinds_logged; /* bit per cap_status warned this streak */
    bool diverged;        /* stands out from its peers (age-normalised)  */
    /* Its rate in the last gathering of peer rates, when counted there. */
    double peer_rate;
    bool peer_rate_counted;

    /* Suspicion episode: full captures since the window turned suspect
     * (ctl_episode.h).  NULL while a worker holds it or none is open;
     * episode_gen moves on whenever the episode is discarded, so a worker
     * never puts back an episode of a process that has since restarted. */
    struct ctl_episode *episode;
    unsigned episode_gen;

    /* Finding in force. */
    bool finding;
    bool adopted;         /* open in the cluster from an earlier leakwatch,
                             not yet re-established by this one (ctl_open.h):
                             clears like a finding, captures like a suspect */
    int64_t finding_ms;
    char finding_pattern[32];
    ctl_finding_text *finding_text; /* NULL: no finding named a stack yet */
    bool annotation_reported;
    uint64_t annotation_error_hash; /* lw_hash of the error reported     */
} ctl_pod;

typedef struct ctl_pods ctl_pods;

/* window: the samples a pod's count window keeps (--window). */
ctl_pods *ctl_pods_new(unsigned window);
void ctl_pods_free(ctl_pods *r);

/* The lock; hold it while touching any ctl_pod. */
void ctl_pods_lock(ctl_pods *r);
void ctl_pods_unlock(ctl_pods *r);

typedef enum ctl_upsert_result {
    CTL_POD_IGNORED = 0,   /* not opted in (and not known)               */
    CTL_POD_ADDED,
    CTL_POD_UPDATED,
    CTL_POD_REMOVED,       /* opted out or finished: dropped             */
    CTL_POD_RESTARTED,     /* container restarts changed: window reset   */
} ctl_upsert_result;

/* From a watch add/update.  Caller holds the lock.  *out points at the
 * pod (or NULL when ignored/removed; for REMOVED the caller gets a copy in
 * removed_copy when non-NULL before it is freed). */
ctl_upsert_result ctl_pods_upsert(ctl_pods *r, const json_t *pod,
                                  ctl_pod **out, ctl_pod *removed_copy);
/* Cuts a pod object down, in place, to what ctl_pods_upsert and
 * containment read: for a pod that has not opted in, its identity only.
 * The pod cache's transform: what it stores for every pod. */
void ctl_pod_slim(json_t *pod);

/* From a watch delete.  Caller holds the lock.  true when it was known;
 * removed_copy (optional) receives its last state. */
bool ctl_pods_remove(ctl_pods *r, const char *uid, ctl_pod *removed_copy);
ctl_pod *ctl_pods_get(ctl_pods *r, const char *uid);
/* The owner a worker resolved for p.  false when out of memory (p keeps
 * the owner it had).  Caller holds the lock. */
bool ctl_pods_set_owner(ctl_pods *r, ctl_pod *p, const kube_owner *owner);
/* The interned values the registry holds, and their bytes.  Caller holds
 * the lock. */
void ctl_pods_shared_stats(ctl_pods *r, size_t *values, size_t *bytes);
size_t ctl_pods_count(ctl_pods *r);
/* Iteration under the lock: fn returns non-zero to stop. */
void ctl_pods_foreach(ctl_pods *r, int (*fn)(ctl_pod *p, void *ud), void *ud);

/* The baseline peer of p (same owner uid, not p, serving): a pod of an
 * older revision of the workload when one serves — the runbook's "a pod
 * that has not yet rolled", which runs the code before the change — else
 * the freshest, i.e. the youngest; NULL when none.  Caller holds the
 * lock. */
ctl_pod *ctl_pods_fresh_peer(ctl_pods *r, const ctl_pod *p);
/* How old the peer rates a sample is compared with may be, in seconds. */
#define CTL_PEER_REFRESH_S 15
/* Median of the peers' last counts normalised by age (goroutines per
 * minute of age), excluding p; -1 when fewer than two peers have counts.
 * The counts are those of the last gathering of every group's rates,
 * redone when it is CTL_PEER_REFRESH_S old (now_s, unix seconds, drives
 * it).  Caller holds the lock. */
double ctl_pods_peer_rate_median(ctl_pods *r, const ctl_pod *p, int64_t now_s);

/* A request counter reading (monotonic ms); a smaller value than the last
 * is a new process and starts over. */
void ctl_pod_note_requests(ctl_pod *p, double requests, int64_t now_ms);
/* Requests per second since the first reading, -1 when unknown or read
 * over under 10 s. */
double ctl_pod_request_rate(const ctl_pod *p);

/* The pod's finding text, allocated (empty) on first use; NULL only when
 * out of memory.  Caller holds the lock. */
ctl_finding_text *ctl_pod_finding_text(ctl_pod *p);
/* The finding's functions, "" when none was named. */
const char *ctl_pod_finding_funcs(const ctl_pod *p);
/* Forgets the finding's text (the finding cleared). */
void ctl_pod_drop_finding_text(ctl_pod *p);

void ctl_full_clear(ctl_full *f);
/* Frees the owned parts of a removed copy and releases its interned
 * values; any thread, with or without the lock. */
void ctl_pod_release(ctl_pod *p);
/* Forgets what sampling learned about the pod (window, episode, finding,
 * failures): another replica samples it now, and the Events carry the
 * finding to it.  Caller holds the lock. */
void ctl_pod_forget_sampling(ctl_pod *p);
/* Ends the pod's episode (if one is attached) and moves the generation on.
 * Caller holds the lock. */
void ctl_pod_end_episode(ctl_pod *p);

#endif
