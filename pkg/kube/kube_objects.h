/*
 * kube_objects.h — a Pod as leakwatch reads it, parsed once from the API's
 * JSON into a typed kube_pod: identity, node and IP, readiness, deletion,
 * phase, start time, restarts, its controller reference and its pprof
 * endpoint (or why the annotations are unusable).  Also the one lookup of an
 * object's controller reference, which every caller shares, and the one
 * definition of a serving pod and of a fresher one.
 *
 * Everything here reads JSON already fetched and never talks to the server.
 * Not for: following the owner chain (kube_resolve_owner in kube.h), a
 * workload's pods and peer choice (kube_workload.h), annotation grammar
 * (kube_pods.h).
 */
#ifndef KUBE_OBJECTS_H
#define KUBE_OBJECTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "kube/kube.h"
#include "kube/kube_pods.h"

/* The ownerReference with controller: true.  true and *out filled, or false
 * with *out zeroed (no controller: a bare object). */
bool kube_controller_ref(const json_t *obj, kube_owner *out);

typedef struct kube_pod {
    char ns[64], name[254], uid[64]; /* a namespace name is at most 63 */
    char node[254], ip[64];
    char phase[16];          /* status.phase, or ""                        */
    bool ready;              /* the Ready condition is True                */
    bool terminating;        /* metadata.deletionTimestamp is set          */
    bool finished;           /* phase Succeeded or Failed                  */
    int64_t start_s;         /* status.startTime (else creation), or -1    */
    int restarts;            /* sum over containers                        */
    char rev_hash[64];       /* kube_pod_revision_hash, or ""              */
    char images[512];        /* kube_pod_images                            */
    bool has_controller;
    kube_owner controller;   /* the controller reference, as the pod names
                                it (a ReplicaSet for a Deployment's pods)  */
    int ep_state;            /* kube_pod_endpoint_resolve's: 1 usable, 0
                                not opted in, -1 annotation error          */
    kube_pod_endpoint ep;
} kube_pod;

/* Fills *out from a Pod object (a missing field is "" / false / -1).  The
 * struct owns no memory: copying it is enough. */
void kube_pod_parse(const json_t *obj, kube_pod *out);

/* The one rule for "serving" and "fresher", on the facts themselves so that
 * holders of pods in other shapes (the controller's registry) choose by it
 * too.  Serving: Ready, not being deleted, not finished — the pods a
 * workload counts as up and the only ones a fresh peer is chosen among. */
bool kube_serving(bool ready, bool terminating, bool finished);
/* Pod a (started a_start_s, named a_name) is fresher than b: it started
 * later; equal starts go to the smaller name, so the choice is the same on
 * every run. */
bool kube_fresher(int64_t a_start_s, const char *a_name, int64_t b_start_s,
                  const char *b_name);

#endif
