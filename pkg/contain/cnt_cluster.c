/*
 * cnt_cluster.c — containment's API calls (see cnt_cluster.h).  Every read
 * here is what makes a restarted controller safe: restarts this hour come
 * from Events, a restart in progress from the workload and its pods.
 */
#include "contain/cnt_cluster.h"

#include "kube/kube_workload.h"
#include "lw/lw_grow.h"
#include "lw/lw_str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cnt_seen_events_clear(cnt_seen_events *e)
{
    free(e->v);
    memset(e, 0, sizeof *e);
}

bool cnt_seen_event_parse(const json_t *ev, int64_t since_s,
                          cnt_seen_event *out)
{
    memset(out, 0, sizeof *out);
    const char *reason = kube_json_str(ev, "reason");
    if (!reason || strcmp(reason, CNT_REASON) || !kube_event_from(ev, CNT_COMPONENT))
        return false;
    out->t_s = kube_event_time(ev);
    if (out->t_s < since_s)
        return false;
    int64_t first = kube_parse_time(kube_json_str(ev, "firstTimestamp"));
    out->first_s = first > 0 ? first : out->t_s;
    const json_t *cnt = json_object_get(ev, "count");
    out->count = json_is_integer(cnt) && json_integer_value(cnt) > 0
                     ? (long)json_integer_value(cnt)
                     : 1;
    const char *msg = kube_json_str(ev, "message");
    const char *kind = kube_json_str(ev, "involvedObject.kind");
    const char *ns = kube_json_str(ev, "involvedObject.namespace");
    const char *uid = kube_json_str(ev, "involvedObject.uid");
    const char *name = kube_json_str(ev, "involvedObject.name");
    if (!msg || !kind || !uid)
        return false;
    out->on_pod = !strcmp(kind, "Pod");
    snprintf(out->ns, sizeof out->ns, "%s", ns ? ns : "");
    snprintf(out->uid, sizeof out->uid, "%s", uid);
    snprintf(out->message, sizeof out->message, "%s", msg);
    char named[254];
    out->kind = cnt_kind_parse(msg, named, sizeof named);
    out->dry_run = cnt_message_dry_run(msg);
    snprintf(out->pod, sizeof out->pod, "%s",
             out->on_pod ? (name ? name : "") : named);
    return out->kind != CNT_SILENT;
}

typedef struct collect_ctx {
    cnt_seen_events *out;
    int64_t since_s;
    bool oom;
} collect_ctx;

static int collect(json_t *item, void *ud)
{
    collect_ctx *x = ud;
    cnt_seen_event e;
    if (!cnt_seen_event_parse(item, x->since_s, &e))
        return 0;
    cnt_seen_events *o = x->out;
    if (lw_grow(&o->v, &o->cap, o->n, sizeof *o->v, 32)) {
        x->oom = true;
        return 1;
    }
    o->v[o->n++] = e;
    return 0;
}

int cnt_cluster_events(kube_client *kube, const char *ns, int64_t since_s,
                       cnt_seen_events *out, kube_response *err_out)
{
    char sel[128];
    snprintf(sel, sizeof sel, "reason=%s,source=%s", CNT_REASON, CNT_COMPONENT);
    collect_ctx x = {.out = out, .since_s = since_s};
    int rc = kube_events_list(kube, ns, sel, CNT_COMPONENT, collect, &x, err_out);
    if (x.oom) {
        snprintf(err_out->error, sizeof err_out->error, "LIST events: out of memory");
        return -1;
    }
    return rc == 0 ? 0 : -1;
}

int cnt_cluster_workload(kube_client *kube, const char *ns, const char *kind,
                         const char *name, const char *uid,
                         const char *pod_uid, cnt_workload_state *st,
                         bool *not_found, char *err, size_t errlen)
{
    *not_found = false;
    memset(st, 0, sizeof *st);
    if (!kube_workload_resource(kind)) {
        snprintf(err, errlen, "%s is not a workload leakwatch restarts", kind);
        return -1;
    }
    long status = 0;
    kube_workload *w = kube_workload_get(kube, ns, kind, name, &status, err,
                                         errlen);
    if (!w) {
        *not_found = status == 404;
        return -1;
    }
    int rc = cnt_workload_parse(w->obj, st, err, errlen);
    if (rc == 0 && uid && *uid && strcmp(uid, st->uid)) {
        *not_found = true;
        snprintf(err, errlen, "%s/%s was replaced (uid %s, expected %s)", kind,
                 name, st->uid, uid);
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < w->npods; i++) {
        const kube_pod *p = &w->pods[i];
        cnt_workload_count_pod(st, p);
        if (pod_uid && !strcmp(p->uid, pod_uid) && !p->terminating)
            st->candidate_live = true;
    }
    kube_workload_free(w);
    return rc;
}

json_t *cnt_rollout_patch(const char *at)
{
    return json_pack("{s:{s:{s:{s:{s:s}}}}}", "spec", "template", "metadata",
                     "annotations", "kubectl.kubernetes.io/restartedAt", at);
}

int cnt_cluster_rollout_restart(kube_client *kube, const char *ns,
                                const char *kind, const char *name,
                                const char *at, bool dry_run,
                                kube_response *r)
{
    memset(r, 0, sizeof *r);
    const char *res = kube_workload_resource(kind);
    if (!res || !strcmp(kind, "ReplicaSet")) {
        snprintf(r->error, sizeof r->error, "%s cannot be restarted by a "
                 "rollout", kind);
        return -1;
    }
    char ens[192], ename[768], path[1200];
    lw_pct_encode(ns, ens, sizeof ens);
    lw_pct_encode(name, ename, sizeof ename);
    snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/%s/%s%s", ens, res,
             ename, dry_run ? "?dryRun=All" : "");
    json_t *body = cnt_rollout_patch(at);
    if (!body) {
        snprintf(r->error, sizeof r->error, "out of memory");
        return -1;
    }
    int rc = kube_request(kube, "PATCH", path, body,
                          "application/strategic-merge-patch+json", r);
    json_decref(body);
    return rc;
}
