/*
 * kube_owner.c — which workload owns a pod: the pod's controller reference,
 * followed one step further for ReplicaSets (to their Deployment), because
 * peers of a leaking pod are the pods of the same Deployment, not of the
 * same ReplicaSet revision.
 *
 * Also the revision number of the pod's template (kube_pod_revision), read
 * from the same objects.
 *
 * Not for: caching (callers that resolve many pods keep their own), or
 * anything about annotations (kube_pods.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/kube_objects.h"
#include "lw/lw_str.h"

/* GET an apps/v1 object of a pod's namespace: 1 with *r filled, 0 when
 * it is gone (404: nothing to follow), -1 on another error, given to
 * *err_out when the caller wants it. */
static int get_apps_object(kube_client *c, const char *ns, const char *resource,
                           const char *name, kube_response *r,
                           kube_response *err_out)
{
    char path[1100], ens[256], ename[768];
    lw_pct_encode(ns ? ns : "default", ens, sizeof ens);
    lw_pct_encode(name, ename, sizeof ename);
    snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/%s/%s", ens,
             resource, ename);
    if (kube_get(c, path, r) == 0)
        return 1;
    if (r->status == 404 || !err_out) {
        int gone = r->status == 404;
        kube_response_free(r);
        return gone ? 0 : -1;
    }
    *err_out = *r;
    return -1;
}

/* A ReplicaSet's place in its Deployment's history (-1 when it has none)
 * and its creation time.  A rollback re-uses an old ReplicaSet under a new
 * number, so the time is then the template's first rollout. */
static void replicaset_revision(const json_t *rs, kube_revision *rev)
{
    const json_t *ann = kube_json_get(rs, "metadata.annotations");
    const char *v = json_string_value(
        json_object_get(ann, "deployment.kubernetes.io/revision"));
    char *end = NULL;
    long n = v ? strtol(v, &end, 10) : -1;
    rev->number = v && end != v && !*end && n > 0 ? n : -1;
    rev->created_s = kube_parse_time(kube_json_str(rs, "metadata.creationTimestamp"));
}

/* kube_resolve_owner, and when rs_rev is given, the revision of the
 * ReplicaSet it read on the way (so a Deployment pod's revision costs no
 * second GET). */
static int resolve_owner(kube_client *c, const json_t *pod, kube_owner *out,
                         kube_revision *rs_rev, kube_response *err_out)
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

    kube_response r;
    int got = get_apps_object(c, kube_json_str(pod, "metadata.namespace"),
                              "replicasets", out->name, &r, err_out);
    if (got <= 0) /* gone (the ReplicaSet is the owner), or an error */
        return got;
    /* A Deployment (or a rollout controller such as Argo's Rollout) spans
     * revisions: its pods are peers even across ReplicaSets. */
    kube_owner rsref;
    if (kube_controller_ref(r.json, &rsref) && rsref.kind[0] && rsref.name[0])
        *out = rsref;
    if (rs_rev)
        replicaset_revision(r.json, rs_rev);
    kube_response_free(&r);
    return 0;
}

int kube_resolve_owner(kube_client *c, const json_t *pod, kube_owner *out,
                       kube_response *err_out)
{
    return resolve_owner(c, pod, out, NULL, err_out);
}

int kube_resolve_workload(kube_client *c, const json_t *pod, kube_owner *out,
                          kube_revision *rev, kube_response *err_out)
{
    rev->number = -1;
    rev->created_s = -1;
    int rc = resolve_owner(c, pod, out, rev, err_out);
    kube_owner direct;
    if (rc < 0 || rev->number > 0 || !kube_controller_ref(pod, &direct) ||
        !strcmp(direct.kind, "ReplicaSet"))
        return rc;
    /* A StatefulSet or DaemonSet: its ControllerRevision says. */
    return kube_pod_revision(c, pod, rev, err_out) < 0 ? 1 : 0;
}

int kube_pod_revision(kube_client *c, const json_t *pod, kube_revision *rev,
                      kube_response *err_out)
{
    rev->number = -1;
    rev->created_s = -1;
    if (err_out)
        memset(err_out, 0, sizeof *err_out);
    kube_owner ref;
    if (!kube_controller_ref(pod, &ref))
        return 0;
    const char *hash = kube_pod_revision_hash(pod);
    const char *ns = kube_json_str(pod, "metadata.namespace");
    char obj[600];
    bool rs = !strcmp(ref.kind, "ReplicaSet");
    if (rs)
        obj[0] = '\0';
    else if ((!strcmp(ref.kind, "StatefulSet") ||
              !strcmp(ref.kind, "DaemonSet")) && *hash) {
        /* A StatefulSet labels its pods with the ControllerRevision's whole
         * name (<sts>-<hash>), a DaemonSet with the hash alone. */
        size_t n = strlen(ref.name);
        if (!strncmp(hash, ref.name, n) && hash[n] == '-')
            snprintf(obj, sizeof obj, "%s", hash);
        else
            snprintf(obj, sizeof obj, "%s-%s", ref.name, hash);
    } else
        return 0;
    kube_response r;
    int got = get_apps_object(c, ns, rs ? "replicasets" : "controllerrevisions",
                              rs ? ref.name : obj, &r, err_out);
    if (got <= 0) /* gone: no revision to name, or an error */
        return got;
    if (rs) {
        replicaset_revision(r.json, rev);
    } else {
        const json_t *v = json_object_get(r.json, "revision");
        if (json_is_integer(v) && json_integer_value(v) > 0)
            rev->number = (long)json_integer_value(v);
        rev->created_s = kube_parse_time(kube_json_str(r.json, "metadata.creationTimestamp"));
    }
    kube_response_free(&r);
    return 0;
}
