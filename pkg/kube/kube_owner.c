/*
 * kube_owner.c — which workload owns a pod: the pod's controller reference,
 * followed one step further for ReplicaSets (to their Deployment), because
 * peers of a leaking pod are the pods of the same Deployment, not of the
 * same ReplicaSet revision.
 *
 * Not for: caching (callers that resolve many pods keep their own), or
 * anything about annotations (kube_pods.c).
 */
#include <stdio.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/kube_objects.h"
#include "lw/lw_str.h"

int kube_resolve_owner(kube_client *c, const json_t *pod, kube_owner *out,
                       kube_response *err_out)
{
    memset(out, 0, sizeof *out);
    if (err_out)
        memset(err_out, 0, sizeof *err_out);
    if (!kube_controller_ref(pod, out)) {
        const char *name = kube_json_str(pod, "metadata.name");
        const char *uid = kube_json_str(pod, "metadata.uid");
        snprintf(out->name, sizeof out->name, "%s", name ? name : "");
        snprintf(out->uid, sizeof out->uid, "%s", uid ? uid : "");
        snprintf(out->api_version, sizeof out->api_version, "v1");
        return 0;
    }
    const char *api = out->api_version;
    if (strcmp(out->kind, "ReplicaSet") != 0 ||
        (strcmp(api, "apps/v1") != 0 && strcmp(api, "extensions/v1beta1") != 0))
        return 0;

    const char *ns = kube_json_str(pod, "metadata.namespace");
    char path[1100], ens[256], ename[768];
    lw_pct_encode(ns ? ns : "default", ens, sizeof ens);
    lw_pct_encode(out->name, ename, sizeof ename);
    snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/replicasets/%s",
             ens, ename);
    kube_response r;
    if (kube_get(c, path, &r) != 0) {
        if (r.status == 404) { /* the ReplicaSet is gone: it is the owner */
            kube_response_free(&r);
            return 0;
        }
        if (err_out)
            *err_out = r;
        else
            kube_response_free(&r);
        return -1;
    }
    /* A Deployment (or a rollout controller such as Argo's Rollout) spans
     * revisions: its pods are peers even across ReplicaSets. */
    kube_owner rsref;
    if (kube_controller_ref(r.json, &rsref) && rsref.kind[0] && rsref.name[0])
        *out = rsref;
    kube_response_free(&r);
    return 0;
}
