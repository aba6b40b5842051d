/*
 * kube_workload.c — a workload, its selector and its own pods, and the
 * fresh peer among them (see kube_workload.h).
 *
 * Not for: decisions about the workload (pkg/contain) or captures.
 */
#include "kube/kube_workload.h"
#include "lw/lw_str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PODS_PAGE 500

static int append(char *out, size_t outlen, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > outlen)
        return -1;
    memcpy(out + *len, s, n + 1);
    *len += n;
    return 0;
}

/* "key in (a,b)" / "key notin (a,b)" into part; -1 when it does not fit. */
static int set_expression(const json_t *e, const char *key, bool in,
                          const char *sep, char *part, size_t partlen)
{
    size_t pl = (size_t)snprintf(part, partlen, "%s%s %s (", sep, key,
                                 in ? "in" : "notin");
    size_t j;
    const json_t *val;
    json_array_foreach(json_object_get(e, "values"), j, val)
    {
        if (pl < partlen)
            pl += (size_t)snprintf(part + pl, partlen - pl, "%s%s",
                                   j ? "," : "",
                                   json_is_string(val) ? json_string_value(val)
                                                       : "");
    }
    if (pl < partlen)
        pl += (size_t)snprintf(part + pl, partlen - pl, ")");
    return pl < partlen ? 0 : -1;
}

int kube_selector_string(const json_t *selector, char *out, size_t outlen,
                         char *err, size_t errlen)
{
    size_t len = 0;
    out[0] = '\0';
    const char *k;
    const json_t *v;
    char part[600];
    json_object_foreach((json_t *)json_object_get(selector, "matchLabels"), k, v)
    {
        const char *val = json_string_value(v);
        snprintf(part, sizeof part, "%s%s=%s", len ? "," : "", k, val ? val : "");
        if (append(out, outlen, &len, part) < 0)
            goto toolong;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(selector, "matchExpressions"), i, e)
    {
        const char *key = json_string_value(json_object_get(e, "key"));
        const char *op = json_string_value(json_object_get(e, "operator"));
        const char *sep = len ? "," : "";
        if (!key || !op) {
            snprintf(err, errlen, "selector.matchExpressions[%zu]: key and "
                     "operator are required", i);
            return -1;
        }
        if (!strcmp(op, "Exists"))
            snprintf(part, sizeof part, "%s%s", sep, key);
        else if (!strcmp(op, "DoesNotExist"))
            snprintf(part, sizeof part, "%s!%s", sep, key);
        else if (!strcmp(op, "In") || !strcmp(op, "NotIn")) {
            if (set_expression(e, key, !strcmp(op, "In"), sep, part,
                               sizeof part) < 0)
                goto toolong;
        } else {
            snprintf(err, errlen, "selector.matchExpressions[%zu]: unknown "
                     "operator \"%.32s\"", i, op);
            return -1;
        }
        if (append(out, outlen, &len, part) < 0)
            goto toolong;
    }
    if (!len) {
        /* An empty selector selects every pod of the namespace: never a
         * workload's own set. */
        snprintf(err, errlen, "the workload's selector is empty");
        return -1;
    }
    return 0;
toolong:
    snprintf(err, errlen, "the workload's selector is longer than %zu bytes",
             outlen - 1);
    return -1;
}

const char *kube_workload_resource(const char *kind)
{
    if (!strcmp(kind, "Deployment"))
        return "deployments";
    if (!strcmp(kind, "StatefulSet"))
        return "statefulsets";
    if (!strcmp(kind, "ReplicaSet"))
        return "replicasets";
    return NULL;
}

bool kube_workload_owns(const kube_workload *w, const kube_pod *p)
{
    if (!p->has_controller)
        return false;
    if (strcmp(w->kind, "Deployment") != 0)
        return !strcmp(p->controller.uid, w->uid);
    if (strcmp(p->controller.kind, "ReplicaSet") != 0)
        return false;
    size_t n = strlen(w->name);
    const char *rs = p->controller.name;
    return !strncmp(rs, w->name, n) && rs[n] == '-' && rs[n + 1] &&
           !strchr(rs + n + 1, '-');
}

long kube_fresh_peer(const kube_pod *pods, size_t n, const kube_pod *skip)
{
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        const kube_pod *q = &pods[i];
        if (q == skip || !kube_serving(q->ready, q->terminating, q->finished))
            continue;
        if (best < 0 || kube_fresher(q->start_s, q->name, pods[best].start_s,
                                     pods[best].name))
            best = (long)i;
    }
    return best;
}

void kube_workload_free(kube_workload *w)
{
    if (!w)
        return;
    json_decref(w->obj);
    for (size_t i = 0; i < w->npods; i++)
        json_decref(w->pod_objs[i]);
    free(w->pod_objs);
    free(w->pods);
    free(w);
}

typedef struct collect_ctx {
    kube_workload *w;
    size_t cap;
} collect_ctx;

static int collect_pod(json_t *item, void *ud)
{
    collect_ctx *x = ud;
    kube_workload *w = x->w;
    kube_pod p;
    kube_pod_parse(item, &p);
    if (!kube_workload_owns(w, &p))
        return 0;
    if (w->npods == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 16;
        kube_pod *np = realloc(w->pods, cap * sizeof *np);
        if (np)
            w->pods = np;
        json_t **no = np ? realloc(w->pod_objs, cap * sizeof *no) : NULL;
        if (!no)
            return 2;
        w->pod_objs = no;
        x->cap = cap;
    }
    w->pod_objs[w->npods] = json_incref(item);
    w->pods[w->npods++] = p;
    return 0;
}

/* Reads the object into w (kind, uid, selector). */
static int read_object(kube_client *c, kube_workload *w, long *http_status,
                       char *err, size_t errlen)
{
    char ens[192], ename[768], path[1200];
    lw_pct_encode(w->ns, ens, sizeof ens);
    lw_pct_encode(w->name, ename, sizeof ename);
    snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/%s/%s", ens,
             kube_workload_resource(w->kind), ename);
    kube_response r;
    if (kube_get(c, path, &r) != 0) {
        *http_status = r.status;
        snprintf(err, errlen, "%s", r.error);
        kube_response_free(&r);
        return -1;
    }
    w->obj = json_incref(r.json);
    kube_response_free(&r);
    /* A GET carries kind; be explicit anyway for proxies that strip it. */
    if (!json_object_get(w->obj, "kind"))
        json_object_set_new(w->obj, "kind", json_string(w->kind));
    const char *uid = kube_json_str(w->obj, "metadata.uid");
    if (!uid) {
        snprintf(err, errlen, "%s/%s has no uid", w->kind, w->name);
        return -1;
    }
    snprintf(w->uid, sizeof w->uid, "%s", uid);
    return kube_selector_string(kube_json_get(w->obj, "spec.selector"),
                                w->selector, sizeof w->selector, err, errlen);
}

static int list_pods(kube_client *c, kube_workload *w, char *err,
                     size_t errlen)
{
    char ens[192];
    lw_pct_encode(w->ns, ens, sizeof ens);
    size_t plen = 64 + strlen(ens) + 3 * strlen(w->selector) + 1;
    char *path = malloc(plen), *esel = malloc(3 * strlen(w->selector) + 1);
    if (!path || !esel) {
        free(path);
        free(esel);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    lw_pct_encode(w->selector, esel, 3 * strlen(w->selector) + 1);
    snprintf(path, plen, "/api/v1/namespaces/%s/pods?labelSelector=%s", ens,
             esel);
    free(esel);
    collect_ctx x = {.w = w};
    kube_response le;
    int rc = kube_list(c, path, PODS_PAGE, collect_pod, &x, NULL, 0, &le);
    free(path);
    if (rc == -1)
        snprintf(err, errlen, "listing pods: %s", le.error);
    else if (rc)
        snprintf(err, errlen, "listing pods: out of memory");
    if (rc == -1)
        kube_response_free(&le);
    return rc ? -1 : 0;
}

kube_workload *kube_workload_get(kube_client *c, const char *ns,
                                 const char *kind, const char *name,
                                 long *http_status, char *err, size_t errlen)
{
    *http_status = 0;
    if (!kube_workload_resource(kind)) {
        snprintf(err, errlen, "%s is not a Deployment, StatefulSet or "
                 "ReplicaSet", kind);
        return NULL;
    }
    kube_workload *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(w->ns, sizeof w->ns, "%s", ns);
    snprintf(w->kind, sizeof w->kind, "%s", kind);
    snprintf(w->name, sizeof w->name, "%s", name);
    if (read_object(c, w, http_status, err, errlen) < 0 ||
        list_pods(c, w, err, errlen) < 0) {
        kube_workload_free(w);
        return NULL;
    }
    return w;
}
