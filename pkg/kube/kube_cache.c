/*
 * kube_cache.c — the informer-like object cache (see kube_cache.h).
 *
 * Objects live in a jansson object keyed "namespace/name" (jansson's
 * hashtable is the map; no hand-written table).  A list marks every key it
 * returns in a second jansson object; when the list ends, keys it did not
 * mark are the deletions that happened while we were not watching.
 *
 * Each object is stored as its compact JSON text (a jansson string), not as
 * a parsed tree, and parsed again when it is handed out.  A parsed pod costs
 * about seven times its text (a hashtable per object, a node per value):
 * 10.8 KB against 1.6 KB for a pod cut down by the controller's transform,
 * which at ten thousand pods is the difference between 108 MB and 16 MB.
 * Reads are rare (owner resolution, containment, an update's earlier
 * state, a relist's deletions) and a parse of 1.6 KB is microseconds.
 * Whether an object changed is decided by uid and resourceVersion, never
 * by the text: a LIST's items come without kind and apiVersion, a watch
 * event's object with them.
 *
 * Not for: watch protocol details (kube_watch.c).
 */
#include "kube/kube_cache.h"
#include "kube/kube_internal.h"
#include "lw/lw_clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct kube_cache {
    kube_client *c;
    kube_cache_handlers h;
    kube_watch_handler wh;
    kube_watch *watch;
    char *path, *label_selector, *field_selector, *resume_rv;
    kube_watch_opts wopts;
    kube_watch_log_fn log;
    void *log_ud;
    void (*transform)(json_t *obj, void *ud);
    void *transform_ud;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    json_t *items;      /* key -> compact JSON text (string); guarded by mu */
    bool synced;        /* guarded by mu */
    kube_cache_stats st;/* guarded by mu (watch part filled on demand) */

    json_t *seen;       /* watch thread only: keys of the list in progress */
};

static void cache_logf(kube_cache *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void cache_logf(kube_cache *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kube_logv(k->log, k->log_ud, false, fmt, ap, "kube cache %s", k->path);
    va_end(ap);
}

static const char *meta_str(const json_t *obj, const char *field)
{
    const char *s = json_string_value(
        json_object_get(json_object_get(obj, "metadata"), field));
    return s ? s : "";
}

/* "ns/name", or "name" for cluster-scoped objects.  false when the object
 * has no name or the key would not fit. */
static bool obj_key(const json_t *obj, char *key, size_t cap)
{
    const char *name = meta_str(obj, "name");
    const char *ns = meta_str(obj, "namespace");
    if (!*name)
        return false;
    int n = *ns ? snprintf(key, cap, "%s/%s", ns, name)
                : snprintf(key, cap, "%s", name);
    return n > 0 && (size_t)n < cap;
}

/* The stored form of an object back as a tree the caller owns; NULL when
 * out of memory (the text was written by json_dumps, so it parses). */
static json_t *load_stored(const json_t *text)
{
    return text ? json_loadb(json_string_value(text), json_string_length(text),
                             0, NULL)
                : NULL;
}

static bool same_version(const json_t *a, const json_t *b)
{
    return !strcmp(meta_str(a, "uid"), meta_str(b, "uid")) &&
           !strcmp(meta_str(a, "resourceVersion"),
                   meta_str(b, "resourceVersion"));
}

static bool uid_changed(const json_t *old, const json_t *neu)
{
    const char *a = meta_str(old, "uid"), *b = meta_str(neu, "uid");
    return *a && *b && strcmp(a, b) != 0;
}

static void upsert(kube_cache *k, json_t *obj)
{
    char key[512];
    if (k->transform)
        k->transform(obj, k->transform_ud);
    if (!obj_key(obj, key, sizeof key)) {
        cache_logf(k, "ignoring an object without a usable metadata.name");
        return;
    }
    if (k->seen)
        json_object_set_new(k->seen, key, json_true());
    /* Only this (the watch) thread writes items, so what is read here is
     * still there when the new text replaces it below. */
    pthread_mutex_lock(&k->mu);
    json_t *old_text = json_incref(json_object_get(k->items, key));
    pthread_mutex_unlock(&k->mu);
    json_t *old = load_stored(old_text);
    if (old_text && !old) {
        /* The earlier state cannot be shown: handlers see the object as
         * new, which a level-triggered handler takes the same way. */
        cache_logf(k, "out of memory reading back %s; delivering it as added", key);
    }
    json_decref(old_text);
    if (old && same_version(old, obj)) {
        json_decref(old);
        return;
    }
    char *dump = json_dumps(obj, JSON_COMPACT);
    json_t *text = dump ? json_string_nocheck(dump) : NULL;
    free(dump);
    pthread_mutex_lock(&k->mu);
    if (!text || json_object_set_new(k->items, key, text) != 0) {
        pthread_mutex_unlock(&k->mu);
        json_decref(old);
        cache_logf(k, "out of memory storing %s", key);
        return;
    }
    bool replaced = old && uid_changed(old, obj);
    if (!old) {
        k->st.adds++;
    } else if (replaced) {
        k->st.deletes++;
        k->st.deletes_inferred++;
        k->st.adds++;
    } else {
        k->st.updates++;
    }
    k->st.objects = json_object_size(k->items);
    pthread_mutex_unlock(&k->mu);

    if (!old) {
        if (k->h.on_add)
            k->h.on_add(obj, k->h.ud);
    } else if (replaced) {
        /* Deleted and recreated under the same name while we were away: the
         * old incarnation's delete was never seen. */
        if (k->h.on_delete)
            k->h.on_delete(old, true, k->h.ud);
        if (k->h.on_add)
            k->h.on_add(obj, k->h.ud);
    } else if (k->h.on_update) {
        k->h.on_update(old, obj, k->h.ud);
    }
    json_decref(old);
}

static void remove_obj(kube_cache *k, json_t *obj)
{
    char key[512];
    if (!obj_key(obj, key, sizeof key))
        return;
    pthread_mutex_lock(&k->mu);
    json_t *old = json_incref(json_object_get(k->items, key));
    if (old) {
        json_object_del(k->items, key);
        k->st.deletes++;
        k->st.objects = json_object_size(k->items);
    }
    pthread_mutex_unlock(&k->mu);
    if (old && k->h.on_delete)
        k->h.on_delete(obj, false, k->h.ud);
    json_decref(old);
}

/* ---- watch handler ----------------------------------------------------- */

static void h_list_begin(void *ud)
{
    kube_cache *k = ud;
    json_decref(k->seen);
    k->seen = json_object();
    if (!k->seen)
        cache_logf(k, "out of memory starting a list; deletions will be found "
                 "on the next relist");
}

static void h_list_item(json_t *item, void *ud)
{
    upsert(ud, item);
}

static void h_list_end(const char *rv, void *ud)
{
    (void)rv;
    kube_cache *k = ud;
    json_t *gone = json_array();
    pthread_mutex_lock(&k->mu);
    if (k->seen && gone) {
        const char *key;
        json_t *text;
        void *tmp;
        json_object_foreach_safe(k->items, tmp, key, text) {
            if (json_object_get(k->seen, key))
                continue;
            if (json_array_append(gone, text) != 0)
                break; /* out of memory: the next relist finds the rest */
            json_object_del(k->items, key);
        }
        k->st.deletes += json_array_size(gone);
        k->st.deletes_inferred += json_array_size(gone);
        k->st.objects = json_object_size(k->items);
    }
    k->synced = true;
    k->st.syncs++;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);

    size_t i;
    json_t *text;
    json_array_foreach(gone, i, text) {
        if (!k->h.on_delete)
            break;
        json_t *obj = load_stored(text);
        if (obj)
            k->h.on_delete(obj, true, k->h.ud);
        else
            cache_logf(k, "out of memory reading back a deleted object; its "
                       "delete is not delivered");
        json_decref(obj);
    }
    json_decref(gone);
    json_decref(k->seen);
    k->seen = NULL;
    if (k->h.on_synced)
        k->h.on_synced(k->h.ud);
}

static void h_event(kube_watch_event_type type, json_t *obj, void *ud)
{
    kube_cache *k = ud;
    switch (type) {
    case KUBE_WATCH_ADDED:
    case KUBE_WATCH_MODIFIED:
        upsert(k, obj);
        break;
    case KUBE_WATCH_DELETED:
        remove_obj(k, obj);
        break;
    case KUBE_WATCH_BOOKMARK:
        break;
    }
}

/* ---- public ------------------------------------------------------------ */

static bool dns_like(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '.'))
            return false;
    return true;
}

static bool path_like(const char *s)
{
    if (*s != '/')
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' ||
              *s == '/'))
            return false;
    return true;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

kube_cache *kube_cache_new(kube_client *c, const kube_cache_opts *o,
                           const kube_cache_handlers *h, char *err,
                           size_t errlen)
{
    kube_cache_opts none;
    if (!o) {
        memset(&none, 0, sizeof none);
        o = &none;
    }
    const char *prefix = o->api_prefix && *o->api_prefix ? o->api_prefix
                                                         : "/api/v1";
    const char *res = o->resource && *o->resource ? o->resource : "pods";
    const char *ns = o->namespace ? o->namespace : "";
    if (!path_like(prefix) || !dns_like(res) || !*res || !dns_like(ns)) {
        snprintf(err, errlen,
                 "kube cache: bad collection: prefix \"%s\", resource "
                 "\"%s\", namespace \"%s\"",
                 prefix, res, ns);
        return NULL;
    }
    kube_cache *k = calloc(1, sizeof *k);
    if (!k) {
        snprintf(err, errlen, "kube cache: out of memory");
        return NULL;
    }
    size_t cap = strlen(prefix) + strlen(ns) + strlen(res) + 32;
    k->path = malloc(cap);
    if (k->path) {
        if (*ns)
            snprintf(k->path, cap, "%s/namespaces/%s/%s", prefix, ns, res);
        else
            snprintf(k->path, cap, "%s/%s", prefix, res);
    }
    k->label_selector = dup_or_null(o->label_selector);
    k->field_selector = dup_or_null(o->field_selector);
    k->resume_rv = dup_or_null(o->resume_resource_version);
    k->items = json_object();
    if (!k->path || !k->items ||
        (o->label_selector && *o->label_selector && !k->label_selector) ||
        (o->field_selector && *o->field_selector && !k->field_selector) ||
        (o->resume_resource_version && *o->resume_resource_version &&
         !k->resume_rv)) {
        snprintf(err, errlen, "kube cache: out of memory");
        json_decref(k->items);
        free(k->path);
        free(k->label_selector);
        free(k->field_selector);
        free(k->resume_rv);
        free(k);
        return NULL;
    }
    k->c = c;
    if (h)
        k->h = *h;
    k->log = o->log;
    k->log_ud = o->log_ud;
    k->transform = o->transform;
    k->transform_ud = o->transform_ud;
    k->wopts = (kube_watch_opts){
        .path = k->path,
        .label_selector = k->label_selector,
        .field_selector = k->field_selector,
        .resource_version = k->resume_rv,
        .page_limit = o->page_limit,
        .timeout_seconds = o->timeout_seconds,
        .max_line_bytes = o->max_line_bytes,
        .backoff_initial_ms = o->backoff_initial_ms,
        .backoff_max_ms = o->backoff_max_ms,
        .log = o->log,
        .log_ud = o->log_ud,
    };
    k->wh = (kube_watch_handler){
        .list_begin = h_list_begin,
        .list_item = h_list_item,
        .list_end = h_list_end,
        .event = h_event,
        .ud = k,
    };
    lw_cond_init_monotonic(&k->cv);
    pthread_mutex_init(&k->mu, NULL);
    return k;
}

int kube_cache_start(kube_cache *k, char *err, size_t errlen)
{
    if (!k->c) {
        snprintf(err, errlen, "kube cache %s: no client to watch with",
                 k->path);
        return -1;
    }
    if (k->watch) {
        snprintf(err, errlen, "kube cache %s: already started", k->path);
        return -1;
    }
    k->watch = kube_watch_start(k->c, &k->wopts, &k->wh, err, errlen);
    return k->watch ? 0 : -1;
}

void kube_cache_free(kube_cache *k)
{
    if (!k)
        return;
    kube_watch_stop(k->watch);
    json_decref(k->seen);
    json_decref(k->items);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k->path);
    free(k->label_selector);
    free(k->field_selector);
    free(k->resume_rv);
    free(k);
}

bool kube_cache_synced(kube_cache *k)
{
    pthread_mutex_lock(&k->mu);
    bool s = k->synced;
    pthread_mutex_unlock(&k->mu);
    return s;
}

bool kube_cache_wait_synced(kube_cache *k, long timeout_ms)
{
    return lw_cond_wait_flag(&k->cv, &k->mu, &k->synced, timeout_ms);
}

json_t *kube_cache_get(kube_cache *k, const char *ns, const char *name)
{
    if (!name || !*name)
        return NULL;
    char key[512];
    int n = ns && *ns ? snprintf(key, sizeof key, "%s/%s", ns, name)
                      : snprintf(key, sizeof key, "%s", name);
    if (n < 0 || (size_t)n >= sizeof key)
        return NULL;
    pthread_mutex_lock(&k->mu);
    json_t *text = json_incref(json_object_get(k->items, key));
    pthread_mutex_unlock(&k->mu);
    json_t *o = load_stored(text);
    json_decref(text);
    return o;
}

size_t kube_cache_foreach(kube_cache *k, kube_cache_fn fn, void *ud)
{
    pthread_mutex_lock(&k->mu);
    size_t n = json_object_size(k->items);
    json_t **snap = n ? malloc(n * sizeof *snap) : NULL;
    size_t got = 0;
    if (snap) {
        const char *key;
        json_t *obj;
        json_object_foreach(k->items, key, obj) {
            if (got == n)
                break;
            snap[got++] = json_incref(obj);
        }
    }
    pthread_mutex_unlock(&k->mu);
    if (n && !snap) {
        cache_logf(k, "out of memory taking a snapshot of %zu objects", n);
        return 0;
    }
    size_t seen = 0;
    bool stop = false;
    for (size_t i = 0; i < got; i++) {
        json_t *obj = stop ? NULL : load_stored(snap[i]);
        if (obj) {
            seen++;
            stop = fn(obj, ud) != 0;
        } else if (!stop) {
            cache_logf(k, "out of memory reading back an object; foreach "
                       "skips it");
        }
        json_decref(obj);
        json_decref(snap[i]);
    }
    free(snap);
    return seen;
}

size_t kube_cache_size(kube_cache *k)
{
    pthread_mutex_lock(&k->mu);
    size_t n = json_object_size(k->items);
    pthread_mutex_unlock(&k->mu);
    return n;
}

void kube_cache_get_stats(kube_cache *k, kube_cache_stats *out)
{
    pthread_mutex_lock(&k->mu);
    *out = k->st;
    pthread_mutex_unlock(&k->mu);
    if (k->watch)
        kube_watch_get_stats(k->watch, &out->watch);
    else
        memset(&out->watch, 0, sizeof out->watch);
}

const kube_watch_handler *kube_cache_watch_handler(kube_cache *k)
{
    return &k->wh;
}
