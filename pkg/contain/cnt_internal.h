/*
 * cnt_internal.h — the state one cnt_containment keeps between calls, shared
 * by the files of pkg/contain that need it (cnt_contain.c acts and speaks,
 * cnt_memory.c keeps what the cluster's Events say).  Not a public header.
 */
#ifndef CNT_INTERNAL_H
#define CNT_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "contain/cnt_cluster.h"
#include "contain/cnt_plan.h"
#include "contain/contain.h"

typedef struct cnt_pod_ent {
    char uid[64], ns[64], name[254], wl_uid[64];
    int64_t last_ms, prev_ms;
    unsigned calls;
    double eta_s, per_minute;
    bool eligible;      /* would be restarted if it were its turn          */
    bool acted;         /* restarted (or, dry-run, would have been)        */
    bool checked;       /* its earlier decision looked up in the Events    */
    cnt_kind spoken;    /* the last decision said, CNT_SILENT for none     */
} cnt_pod_ent;

typedef struct cnt_wl_ent {
    char uid[64], ns[64], kind[32], name[254];
    int64_t last_ms;
    bool busy;          /* a thread is reading/acting on it                */
    int64_t retry_at_ms;
    double backoff_s;
    cnt_kind retry_kind;
    char retry_reason[512];
    int64_t stopped_until_s;
    char stopped_reason[512];
    bool checked;       /* its earlier decision looked up in the Events    */
    cnt_kind spoken;    /* the last decision said on the workload          */
} cnt_wl_ent;

typedef struct cnt_events_fetch {
    char ns[64];        /* "" = every namespace                            */
    int64_t at_ms;
} cnt_events_fetch;

struct cnt_containment {
    kube_client *kube;
    kube_recorder *rec;
    obs_logger *log;
    cnt_config cfg;
    obs_metric *m_restarts, *m_budget, *m_decisions;
    cnt_clock_fn clock;
    void *clock_ud;

    pthread_mutex_t mu;
    cnt_pod_ent *pods;
    size_t npods, cappods;
    cnt_wl_ent *wls;
    size_t nwls, capwls;
    cnt_ledger ledger;
    cnt_seen_events seen;       /* last lists: decisions per pod, stops     */
    cnt_events_fetch fetches[16];   /* when each scope was listed              */
    size_t nfetches;
    bool cluster_list_denied;   /* list namespace by namespace instead     */
    bool events_loading;
};

/* ---- cnt_memory.c: what the cluster remembers -------------------------- */

/* Is the Events picture of ns (or of every namespace) recent enough? */
bool cnt_events_fresh(cnt_containment *c, const char *ns, int64_t now);
/* Lists leakwatch's LeakContainment Events of the last hour and learns
 * from them.  Takes mu itself; call without it. */
void cnt_refresh_events(cnt_containment *c, const char *ns);
/* The newest decision other than a restart that leakwatch recorded on the
 * pod (on_pod) or workload with this uid (CNT_SILENT: none).  Under mu. */
cnt_kind cnt_seen_kind(cnt_containment *c, const char *uid, bool on_pod);
/* The newest "several PodDisruptionBudgets" stop of the workload since
 * since_s, or NULL.  Under mu. */
const cnt_seen_event *cnt_seen_stop(cnt_containment *c, const char *wl_uid,
                                    int64_t since_s);
/* The containment's clock (unix ms). */
int64_t cnt_now_ms(cnt_containment *c);

#endif
