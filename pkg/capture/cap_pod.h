/*
 * cap_pod.h — what to capture for a pod or a workload, as `leakwatch
 * capture` asks: a pod's target from its annotations' endpoint (or the
 * default port names) with the user's --port/--path/--scheme on top, and a
 * workload's serving pods as targets with its fresh peer among them.
 *
 * Not for: fetching (capture.h), where the bytes go (the caller), the
 * controller's targets (it keeps its own registry of pods).
 */
#ifndef CAP_POD_H
#define CAP_POD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/capture.h"
#include "kube/kube.h"

/* The user's say over a pod's endpoint; NULL fields: the pod's own. */
typedef struct cap_overrides {
    const char *port;    /* a number or a container port name            */
    const char *path;    /* pprof base path                              */
    const char *scheme;  /* "http" or "https"                            */
} cap_overrides;

/* A target with the strings it points at. */
typedef struct cap_pod_target {
    cap_target t;
    char ns[64], name[254], uid[64], node[254], ip[64], path[256];
    int64_t start_s;     /* the pod's start, unix seconds, or -1          */
} cap_pod_target;

/* Fills out from a Pod object.  0, or -1 with err naming the pod and why no
 * port can be chosen ("pod ns/p: no container port named \"x\""). */
int cap_pod_target_resolve(const json_t *pod, const cap_overrides *o,
                           cap_pod_target *out, char *err, size_t errlen);

typedef struct cap_workload_targets {
    cap_pod_target *v;   /* the workload's serving pods, in listing order */
    size_t n;
    long fresh;          /* index in v of the fresh peer; -1 when n is 0 */
} cap_workload_targets;

/* Reads the workload kind ns/name (kube_workload.h) and resolves a target
 * for each of its serving pods.  0 (n may be 0: none serves), or -1 with
 * err ("deployment ns/name: <why>", or the pod that cannot be targeted). */
int cap_workload_targets_get(kube_client *kc, const char *ns, const char *kind,
                             const char *name, const cap_overrides *o,
                             cap_workload_targets *out, char *err,
                             size_t errlen);
void cap_workload_targets_clear(cap_workload_targets *t);

#endif
