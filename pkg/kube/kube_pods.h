/*
 * kube_pods.h — what leakwatch reads from a Pod object: whether it opted in
 * to goroutine capture (the leakwatch.dev annotations or Grafana's
 * profiles.grafana.com/goroutine.* annotations, see DESIGN.md), where its
 * pprof endpoint is, whether restarts are allowed, and the pod facts every
 * caller needs (readiness, phase, start time, IP, node).
 *
 * All functions read a pod as the API returns it (a JSON object) and never
 * talk to the server.  Not for: owners and peers (kube.h's
 * kube_resolve_owner), or fetching profiles (pkg/capture).
 */
#ifndef KUBE_PODS_H
#define KUBE_PODS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum kube_scrape_source {
    KUBE_SCRAPE_NONE = 0,   /* not opted in                               */
    KUBE_SCRAPE_LEAKWATCH,  /* leakwatch.dev/scrape: "true"               */
    KUBE_SCRAPE_GRAFANA,    /* profiles.grafana.com/goroutine.scrape      */
} kube_scrape_source;

typedef struct kube_pod_endpoint {
    kube_scrape_source source;
    char scheme[8];           /* "http" or "https"                        */
    int port;                 /* 1..65535                                 */
    char port_name[64];       /* the container port's name, or ""         */
    char container[254];      /* container declaring the port, or ""      */
    /* pprof base without trailing slash ("/debug/pprof"); profiles are
     * base + "/goroutine", base + "/goroutineleak"...                      */
    char path[256];
    /* the goroutine profile itself: base + "/goroutine", or for Grafana
     * annotations exactly their .path (which names the profile)           */
    char goroutine_path[300];
    bool containment_restart; /* leakwatch.dev/containment: "restart"     */
    char error[512];          /* why the annotations are unusable, or ""  */
} kube_pod_endpoint;

/* 0: not opted in (out->source is KUBE_SCRAPE_NONE); 1: opted in and the
 * endpoint resolved; -1: opted in but an annotation is wrong — out->error
 * names the annotation and why ("leakwatch.dev/port: no container port
 * named \"pprf\"").  An explicit leakwatch.dev/scrape: "false" opts out
 * even when Grafana's annotation says true. */
int kube_pod_endpoint_resolve(const json_t *pod, kube_pod_endpoint *out);

/* scheme://ip:port<path><suffix>, IPv6 in brackets; "" when ip is empty.
 * suffix may be NULL ("/goroutine?debug=2" with path = ep->path). */
void kube_pod_endpoint_url(const kube_pod_endpoint *ep, const char *ip,
                           const char *path, const char *suffix, char *out,
                           size_t outlen);

/* The port a container of the pod declares under name, searched as
 * Kubernetes resolves a Service's named targetPort: the containers, then the
 * native sidecars (init containers with restartPolicy: Always), which serve
 * for the pod's whole life; a plain init container has exited and is
 * skipped.  0 when no container declares it. */
int kube_pod_named_port(const json_t *pod, const char *name);
/* The annotations' default: the port named pprof, http-pprof, metrics or
 * http, the first of these names declared; 0 when none is. */
int kube_pod_default_port(const json_t *pod);

/* The Ready condition is True. */
bool kube_pod_ready(const json_t *pod);
/* Ready containers out of all regular containers ("1/2" in kubectl). */
void kube_pod_container_counts(const json_t *pod, int *ready, int *total);
/* status.phase, or "" */
const char *kube_pod_phase(const json_t *pod);
/* status.startTime, else metadata.creationTimestamp; unix seconds or -1. */
int64_t kube_pod_start_time(const json_t *pod);
/* status.podIP / spec.nodeName, or "" */
const char *kube_pod_ip(const json_t *pod);
const char *kube_pod_node(const json_t *pod);
/* metadata.deletionTimestamp is set */
bool kube_pod_terminating(const json_t *pod);
/* Sum of restartCount over containers. */
int kube_pod_restarts(const json_t *pod);
/* The pod template's revision hash its workload labelled it with:
 * pod-template-hash (a Deployment's ReplicaSet) or controller-revision-hash
 * (StatefulSet, DaemonSet); "" when it has neither. */
const char *kube_pod_revision_hash(const json_t *pod);
/* The regular containers' images, comma-separated in spec order, with the
 * registry path cut to its last element ("reg.io/team/orders:1.4.2" ->
 * "orders:1.4.2"): what an engineer calls a version.  Truncated to outlen. */
void kube_pod_images(const json_t *pod, char *out, size_t outlen);

#endif
