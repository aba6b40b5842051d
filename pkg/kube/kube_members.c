/*
 * kube_members.c — the live members of a group of Lease holders (see
 * kube_members.h).  A kube_cache of the group's Leases feeds a small array
 * of what each Lease showed and when it last changed; groups are a handful
 * of replicas, so lookups are linear.
 */
#include "kube/kube_members.h"

#include "kube/kube_cache.h"
#include "kube/kube_lease.h"
#include "lw/lw_clock.h"
#include "lw/lw_grow.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char lease[254];
    kube_lease_state st;
} entry;

struct kube_members {
    kube_cache *cache;
    pthread_mutex_t mu;
    entry *v;        /* guarded by mu */
    size_t n, cap;
};

static entry *find(kube_members *m, const char *lease)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].lease, lease))
            return &m->v[i];
    return NULL;
}

static const char *lease_name(const json_t *obj)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
}

static void seen(const json_t *obj, void *ud)
{
    kube_members *m = ud;
    const char *name = lease_name(obj);
    kube_lease_record rec;
    char rv[64];
    if (!name || kube_lease_parse(obj, &rec, rv, sizeof rv) != 0)
        return;
    int64_t now = lw_mono_ms();
    pthread_mutex_lock(&m->mu);
    entry *e = find(m, name);
    if (!e && lw_grow(&m->v, &m->cap, m->n, sizeof(*m->v), 8) == 0) {
        e = &m->v[m->n++];
        memset(e, 0, sizeof(*e));
        snprintf(e->lease, sizeof(e->lease), "%s", name);
    }
    /* Out of memory: the member is not seen, and its pods stay with the
     * others, which is safe (nobody idles, ownership is only narrower). */
    if (e)
        kube_lease_observe(&e->st, &rec, rv, now);
    pthread_mutex_unlock(&m->mu);
}

static void on_add(const json_t *obj, void *ud)
{
    seen(obj, ud);
}

static void on_update(const json_t *old_obj, const json_t *new_obj, void *ud)
{
    (void)old_obj;
    seen(new_obj, ud);
}

static void on_delete(const json_t *obj, bool final_state_unknown, void *ud)
{
    (void)final_state_unknown;
    kube_members *m = ud;
    const char *name = lease_name(obj);
    if (!name)
        return;
    pthread_mutex_lock(&m->mu);
    entry *e = find(m, name);
    if (e)
        *e = m->v[--m->n];
    pthread_mutex_unlock(&m->mu);
}

kube_members *kube_members_new(kube_client *c, const kube_members_opts *o,
                               char *err, size_t errlen)
{
    if (!o || !o->namespace || !*o->namespace || !o->label_selector ||
        !*o->label_selector) {
        snprintf(err, errlen, "kube members: a namespace and a label selector are needed");
        return NULL;
    }
    kube_members *m = calloc(1, sizeof(*m));
    if (!m) {
        snprintf(err, errlen, "kube members: out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    kube_cache_opts co = {.api_prefix = "/apis/coordination.k8s.io/v1",
                          .resource = "leases",
                          .namespace = o->namespace,
                          .label_selector = o->label_selector,
                          .log = o->log,
                          .log_ud = o->log_ud};
    kube_cache_handlers h = {.on_add = on_add, .on_update = on_update,
                             .on_delete = on_delete, .ud = m};
    m->cache = kube_cache_new(c, &co, &h, err, errlen);
    if (!m->cache) {
        pthread_mutex_destroy(&m->mu);
        free(m);
        return NULL;
    }
    return m;
}

int kube_members_start(kube_members *m, char *err, size_t errlen)
{
    return kube_cache_start(m->cache, err, errlen);
}

void kube_members_free(kube_members *m)
{
    if (!m)
        return;
    kube_cache_free(m->cache);
    pthread_mutex_destroy(&m->mu);
    free(m->v);
    free(m);
}

bool kube_members_synced(kube_members *m)
{
    return kube_cache_synced(m->cache);
}

static bool alive(const entry *e, int64_t now)
{
    return e->st.have_observed && e->st.observed.holder[0] &&
           kube_lease_observed_valid(&e->st, now);
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

size_t kube_members_live(kube_members *m, int64_t now_mono_ms,
                         char (*ids)[256], size_t cap)
{
    pthread_mutex_lock(&m->mu);
    char(*all)[256] = m->n ? malloc(m->n * sizeof(*all)) : NULL;
    size_t n = 0;
    for (size_t i = 0; all && i < m->n; i++)
        if (alive(&m->v[i], now_mono_ms))
            snprintf(all[n++], 256, "%s", m->v[i].st.observed.holder);
    pthread_mutex_unlock(&m->mu);
    /* Out of memory counts nobody live: this replica stops acting, which
     * is safe (its pods wait), where guessing the set is not. */
    if (n)
        qsort(all, n, sizeof(*all), cmp_id);
    /* Two Leases with one holder (a member renamed its Lease) are one
     * member: hashing over it twice would give it a double share. */
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u && !strcmp(all[i], all[u - 1]))
            continue;
        if (u != i)
            memcpy(all[u], all[i], 256);
        u++;
    }
    for (size_t i = 0; i < u && i < cap; i++)
        memcpy(ids[i], all[i], 256);
    free(all);
    return u;
}

size_t kube_members_stale(kube_members *m, int64_t now_mono_ms,
                          int64_t stale_ms, kube_member *out, size_t cap)
{
    pthread_mutex_lock(&m->mu);
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) {
        const entry *e = &m->v[i];
        if (!e->st.have_observed || alive(e, now_mono_ms))
            continue;
        /* Gone since the later of its last change and its expiry. */
        int64_t gone = e->st.observed_mono_ms;
        if (e->st.observed.holder[0])
            gone += (int64_t)e->st.observed.duration_s * 1000;
        if (now_mono_ms - gone < stale_ms)
            continue;
        if (n < cap) {
            kube_member *k = &out[n];
            memset(k, 0, sizeof(*k));
            snprintf(k->identity, sizeof(k->identity), "%s", e->st.observed.holder);
            snprintf(k->lease, sizeof(k->lease), "%s", e->lease);
            snprintf(k->rv, sizeof(k->rv), "%s", e->st.observed_rv);
        }
        n++;
    }
    pthread_mutex_unlock(&m->mu);
    return n;
}

const kube_watch_handler *kube_members_watch_handler(kube_members *m)
{
    return kube_cache_watch_handler(m->cache);
}
