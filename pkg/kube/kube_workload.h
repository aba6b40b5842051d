/*
 * kube_workload.h — a workload (Deployment, StatefulSet, ReplicaSet) and its
 * own pods, read once: its label selector as a string, the pods the
 * selector lists that it really owns, each parsed into a kube_pod, and the
 * choice of its fresh peer.  `leakwatch capture deployment/NAME` and
 * containment read workloads through here.
 *
 * Not for: deciding anything about restarts (pkg/contain), owners of a
 * single pod (kube_resolve_owner), the controller's watch cache.
 */
#ifndef KUBE_WORKLOAD_H
#define KUBE_WORKLOAD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "kube/kube.h"
#include "kube/kube_objects.h"

/* A LabelSelector object as the labelSelector query wants it:
 * "app=orders,tier in (a,b),!canary,zone notin (x),team".  0, or -1 with
 * err naming the fault (an unknown operator, a missing key, an empty
 * selector — which would select every pod — or one longer than outlen). */
int kube_selector_string(const json_t *selector, char *out, size_t outlen,
                         char *err, size_t errlen);

/* The API resource of a workload kind ("Deployment" -> "deployments");
 * NULL for a kind leakwatch does not read as a workload. */
const char *kube_workload_resource(const char *kind);

typedef struct kube_workload {
    char ns[64], kind[32], name[254], uid[64];
    char selector[3072];
    json_t *obj;          /* the object as the API returned it (owned)     */
    kube_pod *pods;       /* its own pods, in listing order (owned)         */
    json_t **pod_objs;    /* the same pods as the API returned them (owned
                             references), for what kube_pod does not hold  */
    size_t npods;
} kube_workload;

/* GETs the workload kind ("Deployment", "StatefulSet", "ReplicaSet") ns/name
 * and lists its pods by its selector, keeping those it owns
 * (kube_workload_owns).  NULL on failure, with err (the API's sentence, or
 * what is wrong with the object) and *http_status the failed request's
 * status (404: the workload is gone; 0 otherwise). */
kube_workload *kube_workload_get(kube_client *c, const char *ns,
                                 const char *kind, const char *name,
                                 long *http_status, char *err, size_t errlen);
void kube_workload_free(kube_workload *w);

/* Whether the pod is the workload's own and not a stray that matches the
 * selector: its controller is the workload itself, or for a Deployment one
 * of its ReplicaSets — the Deployment controller names every ReplicaSet it
 * creates <deployment>-<pod-template-hash>, and the hash has no '-'. */
bool kube_workload_owns(const kube_workload *w, const kube_pod *p);

/* Index of the freshest serving pod of pods[0..n) other than skip (NULL:
 * none skipped) by kube_serving and kube_fresher; -1 when none serves. */
long kube_fresh_peer(const kube_pod *pods, size_t n, const kube_pod *skip);

#endif
