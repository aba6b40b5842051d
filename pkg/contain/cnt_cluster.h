/*
 * cnt_cluster.h — what containment reads from and writes to the API
 * server: the LeakContainment Events leakwatch wrote before (restarts this
 * hour, stops, the last decision per pod), a workload and its pods, and
 * the rollout-restart patch.  Evictions go through kube_evict.h directly.
 *
 * Internal to pkg/contain (tests use it too).  Not for: decisions.
 */
#ifndef CNT_CLUSTER_H
#define CNT_CLUSTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contain/cnt_plan.h"
#include "kube/kube.h"

#define CNT_REASON "LeakContainment"
#define CNT_COMPONENT "leakwatch"

/* One LeakContainment Event leakwatch wrote. */
typedef struct cnt_seen_event {
    cnt_kind kind;          /* parsed from the message                       */
    bool on_pod;            /* involvedObject is a Pod (else a workload)     */
    bool dry_run;           /* said by a dry-run leakwatch                   */
    int64_t t_s;            /* lastTimestamp (or eventTime...)               */
    int64_t first_s;        /* firstTimestamp, or t_s                        */
    long count;
    char ns[64];
    char uid[64];           /* involvedObject.uid                            */
    char pod[254];          /* the pod: involvedObject's name, or the one a
                               workload message names                      */
    char message[640];
} cnt_seen_event;

typedef struct cnt_seen_events {
    cnt_seen_event *v;
    size_t n, cap;
} cnt_seen_events;

void cnt_seen_events_clear(cnt_seen_events *e);

/* Parses one Event object; false when it is not a LeakContainment Event of
 * leakwatch's, or older than since_s. */
bool cnt_seen_event_parse(const json_t *ev, int64_t since_s,
                          cnt_seen_event *out);

/* Lists leakwatch's LeakContainment Events newer than since_s, in ns or in
 * every namespace (ns NULL).  0, or -1 with err_out filled (caller frees). */
int cnt_cluster_events(kube_client *kube, const char *ns, int64_t since_s,
                       cnt_seen_events *out, kube_response *err_out);

/* Reads the workload and counts its pods into st, noting whether pod_uid
 * is one of them and not terminating.  0; -1 with err (the
 * API's sentence, or what is wrong with the object).  *not_found is set
 * when the workload is gone (404) or was replaced (uid differs). */
int cnt_cluster_workload(kube_client *kube, const char *ns, const char *kind,
                         const char *name, const char *uid,
                         const char *pod_uid, cnt_workload_state *st,
                         bool *not_found, char *err, size_t errlen);

/* PATCHes spec.template.metadata.annotations["kubectl.kubernetes.io/
 * restartedAt"] = at (RFC 3339), as `kubectl rollout restart` does, with a
 * strategic merge patch; dry_run sends ?dryRun=All.  0, or -1 (r says
 * why; caller frees r either way). */
int cnt_cluster_rollout_restart(kube_client *kube, const char *ns,
                                const char *kind, const char *name,
                                const char *at, bool dry_run,
                                kube_response *r);

/* The strategic merge patch body (new reference). */
json_t *cnt_rollout_patch(const char *at);

#endif
