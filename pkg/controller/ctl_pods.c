/*
 * ctl_pods.c — the registry of watched pods (see ctl_pods.h).
 *
 * A plain array of pointers with a uid index (open addressing) is enough
 * for the thousands of pods one controller watches; removal swaps the last
 * entry into the hole and rebuilds the index slot.
 *
 * Peer rates are the one question asked of a pod's whole group on every
 * sample.  Answered by a scan of the registry, a round cost O(pods^2).
 * So the rates of every group are gathered in one sorted pass, at most
 * every CTL_PEER_REFRESH_S, and a sample looks its group up: O(pods log
 * pods) per refresh and O(log pods) per sample.  A rate up to that old is fine
 * for what it serves, telling a replica that stands out from its peers.
 */
#include "ctl_pods.h"

#include <stdlib.h>
#include <string.h>

#include "controller/ctl_episode.h"
#include "kube/kube_objects.h"
#include "lw/lw_grow.h"
#include "lw/lw_hash.h"
#include "lw/lw_intern.h"
#include "lw/lw_str.h"

/* A group of peers (pods of one controller owner) in the last gathering:
 * its members' rates are peer_rates[first .. first + n), ascending. */
typedef struct peer_group {
    char owner_uid[sizeof(((kube_owner *)0)->uid)];
    size_t first, n;
} peer_group;

struct ctl_pods {
    pthread_mutex_t mu;
    lw_intern *shared; /* the pods' interned values (ctl_pod) */
    unsigned window;
    ctl_pod **pods;
    size_t n, cap;
    int32_t *index;   /* slot -> position in pods, -1 empty */
    size_t index_cap;

    /* Peer rates as last gathered (at peer_at_s, 0 never). */
    double *peer_rates;
    size_t peer_rates_cap;
    peer_group *peer_groups;
    size_t npeer_groups, peer_groups_cap;
    int64_t peer_at_s;
};

ctl_pods *ctl_pods_new(unsigned window)
{
    ctl_pods *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->shared = lw_intern_new();
    if (!r->shared) {
        free(r);
        return NULL;
    }
    r->window = window;
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

void ctl_full_clear(ctl_full *f)
{
    free(f->raw);
    memset(f, 0, sizeof(*f));
}

void ctl_pod_end_episode(ctl_pod *p)
{
    ctl_episode_free(p->episode);
    p->episode = NULL;
    p->episode_gen++;
}

ctl_finding_text *ctl_pod_finding_text(ctl_pod *p)
{
    if (!p->finding_text)
        p->finding_text = calloc(1, sizeof(*p->finding_text));
    return p->finding_text;
}

const char *ctl_pod_finding_funcs(const ctl_pod *p)
{
    return p->finding_text ? p->finding_text->func : "";
}

void ctl_pod_drop_finding_text(ctl_pod *p)
{
    free(p->finding_text);
    p->finding_text = NULL;
}

void ctl_pod_release(ctl_pod *p)
{
    ctl_pod_end_episode(p);
    ctl_pod_drop_finding_text(p);
    ctl_window_free(&p->win);
    const void *shared[] = {p->ns, p->name, p->node, p->rs_uid, p->rs_kind,
                            p->rs_name, p->rev_hash, p->images, p->ep, p->owner};
    for (size_t i = 0; i < sizeof shared / sizeof *shared; i++)
        lw_intern_put(shared[i]);
    p->ns = p->name = p->node = p->rs_uid = p->rs_kind = p->rs_name = NULL;
    p->rev_hash = p->images = NULL;
    p->ep = NULL;
    p->owner = NULL;
}

/* *slot becomes the interned copy of the len bytes at v (unless it holds
 * them already, below).  false when out of memory (*slot unchanged). */
static bool replace_shared(ctl_pods *r, const void **slot, const void *v, size_t len)
{
    const void *n = lw_intern_get(r->shared, v, len);
    if (!n)
        return false;
    lw_intern_put(*slot);
    *slot = n;
    return true;
}

/* For values of one size (a struct). */
static bool set_shared(ctl_pods *r, const void **slot, const void *v, size_t len)
{
    return (*slot && !memcmp(*slot, v, len)) || replace_shared(r, slot, v, len);
}

static bool set_shared_str(ctl_pods *r, const char **slot, const char *s)
{
    if (*slot && !strcmp(*slot, s))
        return true;
    const void *v = *slot;
    bool ok = replace_shared(r, &v, s, strlen(s));
    *slot = v;
    return ok;
}

bool ctl_pods_set_owner(ctl_pods *r, ctl_pod *p, const kube_owner *owner)
{
    const void *v = p->owner;
    bool ok = set_shared(r, &v, owner, sizeof *owner);
    p->owner = v;
    return ok;
}

void ctl_pods_shared_stats(ctl_pods *r, size_t *values, size_t *bytes)
{
    lw_intern_stats st;
    lw_intern_stats_get(r->shared, &st);
    *values = st.values;
    *bytes = st.bytes;
}

void ctl_pods_free(ctl_pods *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        ctl_pod_release(r->pods[i]);
        free(r->pods[i]);
    }
    free(r->pods);
    free(r->index);
    free(r->peer_rates);
    free(r->peer_groups);
    lw_intern_free(r->shared);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

void ctl_pods_lock(ctl_pods *r)
{
    pthread_mutex_lock(&r->mu);
}

void ctl_pods_unlock(ctl_pods *r)
{
    pthread_mutex_unlock(&r->mu);
}

static size_t slot_for(const ctl_pods *r, const char *uid)
{
    return (size_t)lw_hash_bytes(uid, strlen(uid), 0x706f6473) & (r->index_cap - 1);
}

static int reindex(ctl_pods *r, size_t cap)
{
    int32_t *idx = malloc(cap * sizeof(*idx));
    if (!idx)
        return -1;
    for (size_t i = 0; i < cap; i++)
        idx[i] = -1;
    free(r->index);
    r->index = idx;
    r->index_cap = cap;
    for (size_t i = 0; i < r->n; i++) {
        size_t s = slot_for(r, r->pods[i]->uid);
        while (r->index[s] >= 0)
            s = (s + 1) & (cap - 1);
        r->index[s] = (int32_t)i;
    }
    return 0;
}

static long find_pos(const ctl_pods *r, const char *uid)
{
    if (!r->index_cap)
        return -1;
    size_t s = slot_for(r, uid);
    while (r->index[s] >= 0) {
        if (!strcmp(r->pods[r->index[s]]->uid, uid))
            return r->index[s];
        s = (s + 1) & (r->index_cap - 1);
    }
    return -1;
}

ctl_pod *ctl_pods_get(ctl_pods *r, const char *uid)
{
    long pos = find_pos(r, uid);
    return pos >= 0 ? r->pods[pos] : NULL;
}

size_t ctl_pods_count(ctl_pods *r)
{
    return r->n;
}

bool ctl_pods_remove(ctl_pods *r, const char *uid, ctl_pod *removed_copy)
{
    long pos = find_pos(r, uid);
    if (pos < 0)
        return false;
    ctl_pod *p = r->pods[pos];
    if (removed_copy)
        *removed_copy = *p; /* takes the owned buffers along */
    else
        ctl_pod_release(p);
    free(p);
    r->pods[pos] = r->pods[--r->n];
    reindex(r, r->index_cap); /* same size: cannot grow, rarely fails */
    return true;
}

static void start_over(ctl_pod *p)
{
    ctl_window_reset(&p->win);
    ctl_pod_end_episode(p);
    p->last_count = -1;
    p->req_first = p->req_last = -1;
}

void ctl_pod_forget_sampling(ctl_pod *p)
{
    start_over(p);
    /* Suspicion too: it is the new owner's to raise again. */
    ctl_window_clear(&p->win);
    memset(&p->trend, 0, sizeof(p->trend));
    p->peer_rate_counted = false;
    p->diverged = false;
    p->failures = 0;
    p->failure_kinds_logged = 0;
    p->finding = false;
    p->adopted = false;
    p->finding_ms = 0;
    p->finding_pattern[0] = '\0';
    ctl_pod_drop_finding_text(p);
}

ctl_upsert_result ctl_pods_upsert(ctl_pods *r, const json_t *pod, ctl_pod **out,
                                  ctl_pod *removed_copy)
{
    *out = NULL;
    /* One parse of the object: every fact below comes from it. */
    kube_pod kp;
    kube_pod_parse(pod, &kp);
    const char *uid = kp.uid;
    if (!*uid)
        return CTL_POD_IGNORED;
    ctl_pod *p = ctl_pods_get(r, uid);
    if (kp.ep_state == 0 || kp.finished) {
        if (p && ctl_pods_remove(r, uid, removed_copy))
            return CTL_POD_REMOVED;
        return CTL_POD_IGNORED;
    }
    ctl_upsert_result res = CTL_POD_UPDATED;
    if (!p) {
        if (lw_grow(&r->pods, &r->cap, r->n, sizeof *r->pods, 64))
            return CTL_POD_IGNORED;
        if ((r->n + 1) * 2 > r->index_cap &&
            reindex(r, r->index_cap ? r->index_cap * 2 : 128) < 0)
            return CTL_POD_IGNORED;
        p = calloc(1, sizeof(*p));
        if (!p)
            return CTL_POD_IGNORED;
        static const kube_owner unresolved;
        const void *owner = NULL;
        if (!set_shared(r, &owner, &unresolved, sizeof unresolved)) {
            free(p);
            return CTL_POD_IGNORED;
        }
        p->owner = owner;
        lw_strlcpy(p->uid, uid, sizeof(p->uid));
        ctl_window_init(&p->win, r->window);
        p->last_count = -1;
        p->req_first = p->req_last = -1;
        p->revision = -1;
        p->revision_since_s = -1;
        p->restarts = kp.restarts;
        r->pods[r->n] = p;
        size_t s = slot_for(r, uid);
        while (r->index[s] >= 0)
            s = (s + 1) & (r->index_cap - 1);
        r->index[s] = (int32_t)r->n;
        r->n++;
        res = CTL_POD_ADDED;
    }
    if (p->rev_hash && strcmp(p->rev_hash, kp.rev_hash) != 0)
        p->revision = -1; /* a template is never relabelled; be safe */
    const void *ep = p->ep;
    bool stored = set_shared_str(r, &p->ns, kp.ns) && set_shared_str(r, &p->name, kp.name) &&
                  set_shared_str(r, &p->node, kp.node) &&
                  set_shared_str(r, &p->rs_uid, kp.controller.uid) &&
                  set_shared_str(r, &p->rs_kind, kp.controller.kind) &&
                  set_shared_str(r, &p->rs_name, kp.controller.name) &&
                  set_shared_str(r, &p->rev_hash, kp.rev_hash) &&
                  set_shared_str(r, &p->images, kp.images) &&
                  set_shared(r, &ep, &kp.ep, sizeof kp.ep);
    p->ep = ep;
    if (!stored) {
        /* Out of memory: a pod half updated is worse than one not known
         * (the next event brings it back). */
        if (res == CTL_POD_ADDED) {
            ctl_pods_remove(r, uid, NULL);
            return CTL_POD_IGNORED;
        }
        ctl_pods_remove(r, uid, removed_copy);
        return CTL_POD_REMOVED;
    }
    lw_strlcpy(p->ip, kp.ip, sizeof(p->ip));
    p->ep_state = kp.ep_state;
    p->ready = kp.ready;
    p->terminating = kp.terminating;
    p->start_s = kp.start_s;
    int restarts = kp.restarts;
    if (res == CTL_POD_UPDATED && restarts != p->restarts) {
        /* A new process: the old one's growth says nothing about it. */
        start_over(p);
        res = CTL_POD_RESTARTED;
    }
    p->restarts = restarts;
    *out = p;
    return res;
}

/* Deletes the members of obj whose keys keep() refuses. */
static void keep_if(json_t *obj, bool (*keep)(const char *key, const void *ctx),
                    const void *ctx)
{
    if (!json_is_object(obj))
        return;
    const char *key;
    json_t *val;
    void *tmp;
    json_object_foreach_safe(obj, tmp, key, val)
    {
        (void)val;
        if (!keep(key, ctx))
            json_object_del(obj, key);
    }
}

static bool listed(const char *key, const void *keys)
{
    for (const char *const *k = keys; *k; k++)
        if (!strcmp(key, *k))
            return true;
    return false;
}

static void keep_only(json_t *obj, const char *const *keys)
{
    keep_if(obj, listed, keys);
}

/* The annotations kube_pod_endpoint_resolve reads (kube_pods.c). */
static bool ours_annotation(const char *key, const void *ctx)
{
    (void)ctx;
    return !strncmp(key, "leakwatch.dev/", 14) || !strncmp(key, "profiles.grafana.com/", 21);
}

/* Drops the array's elements that keep() refuses. */
static void keep_elements(json_t *arr, bool (*keep)(const json_t *elem))
{
    for (size_t i = json_array_size(arr); i-- > 0;)
        if (!keep(json_array_get(arr, i)))
            json_array_remove(arr, i);
}

static bool controller_ref(const json_t *ref)
{
    return json_is_true(json_object_get(ref, "controller"));
}

static bool ready_condition(const json_t *cond)
{
    const char *t = json_string_value(json_object_get(cond, "type"));
    return t && !strcmp(t, "Ready");
}

/*
 * A pod as the API returns it is mostly managedFields, volumes, status
 * detail and other tools' labels and annotations (a service mesh's
 * sidecar status alone is half a kilobyte); kept whole, a thousand of them
 * cost tens of megabytes.  What is kept is what kube_pod_parse, the owner
 * and revision lookups and containment read.  And most pods of a cluster
 * are not Go services that opted in: of those the registry needs only to
 * know they are not, which their identity says again at every update.
 */
void ctl_pod_slim(json_t *pod)
{
    static const char *const top[] = {"metadata", "spec", "status", "kind", "apiVersion", NULL};
    static const char *const identity[] = {"name", "namespace", "uid", "resourceVersion", NULL};
    static const char *const meta_keys[] = {"name", "namespace", "uid", "resourceVersion",
                                            "creationTimestamp", "deletionTimestamp",
                                            "labels", "annotations", "ownerReferences", NULL};
    static const char *const ref_keys[] = {"apiVersion", "kind", "name", "uid", "controller", NULL};
    static const char *const spec_keys[] = {"nodeName", "containers", "overhead", NULL};
    static const char *const container_keys[] = {"name", "image", "ports", "resources", NULL};
    static const char *const status_keys[] = {"phase", "podIP", "startTime", "conditions",
                                              "containerStatuses", NULL};
    static const char *const cstatus_keys[] = {"name", "ready", "restartCount", "started", NULL};
    static const char *const cond_keys[] = {"type", "status", NULL};
    /* The labels that name the pod's template (kube_pod_revision_hash). */
    static const char *const template_labels[] = {"pod-template-hash",
                                                  "controller-revision-hash", NULL};
    keep_only(pod, top);
    json_t *meta = json_object_get(pod, "metadata");
    kube_pod_endpoint ep;
    if (kube_pod_endpoint_resolve(pod, &ep) == 0) {
        keep_only(meta, identity);
        json_object_del(pod, "spec");
        json_object_del(pod, "status");
        return;
    }
    keep_only(meta, meta_keys);
    keep_if(json_object_get(meta, "annotations"), ours_annotation, NULL);
    keep_only(json_object_get(meta, "labels"), template_labels);
    json_t *refs = json_object_get(meta, "ownerReferences");
    keep_elements(refs, controller_ref);
    size_t i;
    json_t *item;
    json_array_foreach(refs, i, item)
    {
        keep_only(item, ref_keys);
    }
    json_t *spec = json_object_get(pod, "spec");
    keep_only(spec, spec_keys);
    json_array_foreach(json_object_get(spec, "containers"), i, item)
    {
        keep_only(item, container_keys);
    }
    json_t *status = json_object_get(pod, "status");
    keep_only(status, status_keys);
    json_array_foreach(json_object_get(status, "containerStatuses"), i, item)
    {
        keep_only(item, cstatus_keys);
    }
    json_t *conds = json_object_get(status, "conditions");
    keep_elements(conds, ready_condition);
    json_array_foreach(conds, i, item)
    {
        keep_only(item, cond_keys);
    }
}

void ctl_pod_note_requests(ctl_pod *p, double requests, int64_t now_ms)
{
    if (requests < 0)
        return;
    if (p->req_first < 0 || requests < p->req_last) {
        p->req_first = requests;
        p->req_first_ms = now_ms;
    }
    p->req_last = requests;
    p->req_last_ms = now_ms;
}

double ctl_pod_request_rate(const ctl_pod *p)
{
    int64_t ms = p->req_last_ms - p->req_first_ms;
    if (p->req_first < 0 || ms < 10000)
        return -1;
    return (p->req_last - p->req_first) / ((double)ms / 1000.0);
}

void ctl_pods_foreach(ctl_pods *r, int (*fn)(ctl_pod *p, void *ud), void *ud)
{
    for (size_t i = 0; i < r->n; i++)
        if (fn(r->pods[i], ud))
            return;
}

/* A pod's own group key, or NULL for a pod without peers (a bare pod, or
 * one whose owner is not resolved yet). */
static const char *group_of(const ctl_pod *p)
{
    if (!p->owner_resolved || !p->owner->kind[0] || !p->owner->uid[0])
        return NULL;
    return p->owner->uid;
}

static bool same_group(const ctl_pod *a, const ctl_pod *b)
{
    const char *ga = group_of(a), *gb = group_of(b);
    return a != b && ga && gb && !strcmp(ga, gb);
}

/* q runs an older template than p: both revisions known and q's lower. */
static bool older_revision(const ctl_pod *q, const ctl_pod *p)
{
    return q->revision > 0 && p->revision > 0 && q->revision < p->revision;
}

ctl_pod *ctl_pods_fresh_peer(ctl_pods *r, const ctl_pod *p)
{
    ctl_pod *best = NULL;
    for (size_t i = 0; i < r->n; i++) {
        ctl_pod *q = r->pods[i];
        /* Finished pods never enter the registry (ctl_pods_upsert). */
        if (!same_group(p, q) || q->ep_state != 1 ||
            !kube_serving(q->ready, q->terminating, false))
            continue;
        bool q_old = older_revision(q, p);
        bool b_old = best && older_revision(best, p);
        if (!best || (q_old && !b_old) ||
            (q_old == b_old &&
             kube_fresher(q->start_s, q->name, best->start_s, best->name)))
            best = q;
    }
    return best;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* By group, then by the rate the pod was counted with. */
static int cmp_counted(const void *a, const void *b)
{
    const ctl_pod *x = *(const ctl_pod *const *)a, *y = *(const ctl_pod *const *)b;
    int c = strcmp(x->owner->uid, y->owner->uid);
    return c ? c : cmp_double(&x->peer_rate, &y->peer_rate);
}

static int cmp_group_key(const void *key, const void *g)
{
    return strcmp(key, ((const peer_group *)g)->owner_uid);
}

/* Gathers every group's rates: goroutines per minute of age of each pod
 * with a count, sorted by group and rate.  Each pod remembers the rate it
 * was counted with, so that its own can be left out of its group's. */
static int gather_peer_rates(ctl_pods *r, int64_t now_s)
{
    const ctl_pod **all = r->n ? malloc(r->n * sizeof(*all)) : NULL;
    if (r->n && !all)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        ctl_pod *q = r->pods[i];
        q->peer_rate_counted = false;
        if (!group_of(q) || q->last_count < 0 || q->start_s <= 0)
            continue;
        double age_min = (double)(now_s - q->start_s) / 60.0;
        if (age_min < 1)
            age_min = 1;
        q->peer_rate = (double)q->last_count / age_min;
        q->peer_rate_counted = true;
        all[k++] = q;
    }
    qsort(all, k, sizeof(*all), cmp_counted);
    r->npeer_groups = 0;
    int rc = 0;
    if (k > r->peer_rates_cap) {
        double *nr = realloc(r->peer_rates, k * sizeof(*nr));
        if (!nr)
            rc = -1;
        else {
            r->peer_rates = nr;
            r->peer_rates_cap = k;
        }
    }
    for (size_t i = 0; i < k && rc == 0; i++) {
        r->peer_rates[i] = all[i]->peer_rate;
        peer_group *g = r->npeer_groups ? &r->peer_groups[r->npeer_groups - 1] : NULL;
        if (g && !strcmp(g->owner_uid, all[i]->owner->uid)) {
            g->n++;
            continue;
        }
        if (lw_grow(&r->peer_groups, &r->peer_groups_cap, r->npeer_groups,
                    sizeof(*r->peer_groups), 16) != 0) {
            rc = -1;
            break;
        }
        g = &r->peer_groups[r->npeer_groups++];
        lw_strlcpy(g->owner_uid, all[i]->owner->uid, sizeof(g->owner_uid));
        g->first = i;
        g->n = 1;
    }
    free(all);
    if (rc != 0) {
        /* Out of memory: no peers until the next gathering, which is what
         * a pod without peers gets anyway (no divergence is claimed). */
        r->npeer_groups = 0;
        for (size_t i = 0; i < r->n; i++)
            r->pods[i]->peer_rate_counted = false;
    }
    r->peer_at_s = now_s;
    return rc;
}

double ctl_pods_peer_rate_median(ctl_pods *r, const ctl_pod *p, int64_t now_s)
{
    const char *key = group_of(p);
    if (!key)
        return -1;
    if (r->peer_at_s == 0 || now_s < r->peer_at_s ||
        now_s - r->peer_at_s >= CTL_PEER_REFRESH_S)
        gather_peer_rates(r, now_s);
    const peer_group *g = bsearch(key, r->peer_groups, r->npeer_groups,
                                  sizeof(*r->peer_groups), cmp_group_key);
    if (!g)
        return -1;
    const double *rates = r->peer_rates + g->first;
    /* Leave p's own rate out: any one entry equal to it will do. */
    size_t skip = g->n;
    if (p->peer_rate_counted) {
        const double *own = bsearch(&p->peer_rate, rates, g->n, sizeof(*rates),
                                    cmp_double);
        if (own)
            skip = (size_t)(own - rates);
    }
    size_t m = g->n - (skip < g->n ? 1 : 0);
    if (m < 2)
        return -1;
#define PEER_AT(i) rates[(i) < skip ? (i) : (i) + 1]
    double median = m % 2 ? PEER_AT(m / 2) : (PEER_AT(m / 2 - 1) + PEER_AT(m / 2)) / 2;
#undef PEER_AT
    return median;
}
