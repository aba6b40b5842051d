/*
 * kube_evict.h — asking the API server to evict one pod (policy/v1
 * Eviction, POST pods/NAME/eviction), with the answers told apart: evicted,
 * blocked by a PodDisruptionBudget, more than one budget, not found,
 * forbidden, precondition failed, throttled, or something else.
 *
 * The request is sent once, never retried: a 429 here is usually the
 * disruption budget answering "not now", and a 500 usually "more than one
 * budget" — both are answers for the caller's restart planning, not
 * transient faults to hide behind backoff.  Blocking; never call it from the
 * client's I/O thread.
 *
 * Not for: deciding whether to evict (pkg/contain), or deleting pods.
 */
#ifndef KUBE_EVICT_H
#define KUBE_EVICT_H

#include "kube/kube.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum kube_evict_result {
    KUBE_EVICT_EVICTED = 0,  /* 2xx (201); with dry_run: would be evicted */
    KUBE_EVICT_PDB_BLOCKED,  /* 429: would violate a disruption budget    */
    KUBE_EVICT_MULTIPLE_PDBS,/* 500: more than one budget selects the pod */
    KUBE_EVICT_NOT_FOUND,    /* 404: pod (or namespace) gone              */
    KUBE_EVICT_FORBIDDEN,    /* 403: RBAC, or namespace terminating       */
    KUBE_EVICT_CONFLICT,     /* 409: uid precondition failed (replaced)   */
    KUBE_EVICT_THROTTLED,    /* 429 that is not a budget: server overload */
    KUBE_EVICT_ERROR,        /* transport errors and everything else      */
} kube_evict_result;

typedef struct kube_evict_opts {
    bool dry_run;               /* ?dryRun=All: validated, not executed   */
    long grace_period_seconds;  /* < 0 (or 0 with set_grace false): pod's */
    bool set_grace;             /* send grace_period_seconds              */
    const char *uid;            /* precondition: evict only this incarnation */
    long timeout_ms;            /* whole request; default 30000           */
} kube_evict_opts;

typedef struct kube_evict_outcome {
    kube_evict_result result;
    long status;                /* HTTP status; 0 = no response           */
    long retry_after_s;         /* Retry-After / details, -1 when absent  */
    char message[768];          /* the API Status sentence or the error   */
} kube_evict_outcome;

/* Evicts ns/name.  Returns out->result (out must not be NULL). */
kube_evict_result kube_evict_pod(kube_client *c, const char *ns,
                                 const char *name, const kube_evict_opts *o,
                                 kube_evict_outcome *out);

/* Classifies one response (status and its body, JSON or raw; either may be
 * NULL).  Exposed for tests. */
void kube_evict_classify(long status, const json_t *body, const char *raw,
                         size_t raw_len, long retry_after_s,
                         kube_evict_outcome *out);

/* "evicted", "pdb-blocked", "multiple-pdbs", "not-found", "forbidden",
 * "conflict", "throttled", "error". */
const char *kube_evict_result_name(kube_evict_result r);

#endif
