/*
 * cap_pod.c — capture targets for a pod and for a workload's serving pods
 * (see cap_pod.h).  The port is the user's when given (a number, or a name
 * looked up as Kubernetes does), else the annotations' endpoint, else — for
 * a pod that did not opt in — the annotations' default port names.
 *
 * Not for: fetching, output files, the controller's targets.
 */
#include "capture/cap_pod.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube_objects.h"
#include "kube/kube_pods.h"
#include "kube/kube_workload.h"

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* The port to capture from, or 0 with err said. */
static int choose_port(const json_t *pod, const kube_pod *kp,
                       const cap_overrides *o, char *err, size_t errlen)
{
    int port;
    if (o->port) {
        port = all_digits(o->port) ? atoi(o->port)
                                   : kube_pod_named_port(pod, o->port);
        if (port <= 0 || port > 65535)
            snprintf(err, errlen, "pod %s/%s: no container port named \"%s\"",
                     kp->ns, kp->name, o->port);
        return port > 0 && port <= 65535 ? port : 0;
    }
    if (kp->ep_state == 1)
        return kp->ep.port;
    if (kp->ep_state == -1) {
        snprintf(err, errlen, "pod %s/%s: %s (or pass --port)", kp->ns,
                 kp->name, kp->ep.error);
        return 0;
    }
    /* Not opted in: the same default as the annotations'. */
    port = kube_pod_default_port(pod);
    if (!port)
        snprintf(err, errlen, "pod %s/%s has no leakwatch.dev/port "
                 "annotation and no container port named pprof, "
                 "http-pprof, metrics or http: pass --port", kp->ns, kp->name);
    return port;
}

int cap_pod_target_resolve(const json_t *pod, const cap_overrides *o,
                           cap_pod_target *out, char *err, size_t errlen)
{
    kube_pod kp;
    kube_pod_parse(pod, &kp);
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", kp.name[0] ? kp.name : "?");
    snprintf(out->ns, sizeof out->ns, "%s", kp.ns);
    snprintf(kp.name, sizeof kp.name, "%s", out->name);
    snprintf(out->uid, sizeof out->uid, "%s", kp.uid);
    snprintf(out->node, sizeof out->node, "%s", kp.node);
    snprintf(out->ip, sizeof out->ip, "%s", kp.ip);
    out->start_s = kp.start_s;
    int port = choose_port(pod, &kp, o, err, errlen);
    if (!port)
        return -1;
    bool annotated = kp.ep_state == 1;
    snprintf(out->path, sizeof out->path, "%s",
             o->path ? o->path : annotated ? kp.ep.path : "/debug/pprof");
    bool https = o->scheme ? !strcmp(o->scheme, "https")
                           : annotated && !strcmp(kp.ep.scheme, "https");
    out->t.namespace = out->ns;
    out->t.pod = out->name;
    out->t.uid = out->uid[0] ? out->uid : NULL;
    out->t.node = out->node;
    out->t.pod_ip = out->ip;
    out->t.port = (uint16_t)port;
    out->t.path = out->path;
    out->t.https = https;
    return 0;
}

void cap_workload_targets_clear(cap_workload_targets *t)
{
    free(t->v);
    memset(t, 0, sizeof *t);
    t->fresh = -1;
}

int cap_workload_targets_get(kube_client *kc, const char *ns, const char *kind,
                             const char *name, const cap_overrides *o,
                             cap_workload_targets *out, char *err,
                             size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->fresh = -1;
    char why[1024], label[300];
    snprintf(label, sizeof label, "%s", kind);
    for (char *c = label; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    long status;
    kube_workload *w = kube_workload_get(kc, ns, kind, name, &status, why,
                                         sizeof why);
    if (!w) {
        snprintf(err, errlen, "%s %s/%s: %s", label, ns, name, why);
        return -1;
    }
    long fresh = kube_fresh_peer(w->pods, w->npods, NULL);
    out->v = calloc(w->npods ? w->npods : 1, sizeof *out->v);
    if (!out->v) {
        snprintf(err, errlen, "out of memory");
        kube_workload_free(w);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < w->npods && rc == 0; i++) {
        const kube_pod *p = &w->pods[i];
        if (!kube_serving(p->ready, p->terminating, p->finished))
            continue;
        if (cap_pod_target_resolve(w->pod_objs[i], o, &out->v[out->n], err,
                                   errlen) < 0) {
            rc = -1;
            break;
        }
        if ((long)i == fresh)
            out->fresh = (long)out->n;
        out->n++;
    }
    kube_workload_free(w);
    if (rc)
        cap_workload_targets_clear(out);
    return rc;
}
