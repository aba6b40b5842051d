/*
 * kube_cache.h — an informer-like cache of one collection (pods, usually):
 * list + watch through kube_watch, objects kept by namespace/name, and
 * add / update / delete callbacks.
 *
 * Deletions are never lost: when the watch has to relist (its version
 * expired after a long disconnect or an apiserver restart), the list is
 * compared with what the cache held and every object that is gone is
 * delivered as a delete with final_state_unknown set (client-go's
 * DeletedFinalStateUnknown), carrying the last state the cache saw.  An
 * object that was deleted and recreated under the same name while we were
 * away (a different uid) arrives as a delete followed by an add.
 *
 * Threads: callbacks run on the watch thread, one at a time, after the cache
 * was updated and outside its lock, so a callback may read the cache and may
 * call kube_request().  Readers (kube_cache_get/foreach) may run on any
 * thread.  Objects handed to callbacks are shared and read-only:
 * json_deep_copy one before changing it.  The cache keeps each object as
 * its compact JSON text, a seventh of a parsed tree, so kube_cache_get and
 * foreach parse what they hand out: read it when needed, do not poll it.
 *
 * Not for: writing objects, or collections too large to hold in memory.
 */
#ifndef KUBE_CACHE_H
#define KUBE_CACHE_H

#include "kube/kube.h"
#include "kube/kube_watch.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kube_cache_handlers {
    void (*on_add)(const json_t *obj, void *ud);
    void (*on_update)(const json_t *old_obj, const json_t *new_obj, void *ud);
    /* final_state_unknown: the delete was inferred from a relist (it
     * happened while the watch was down); obj is the last state seen. */
    void (*on_delete)(const json_t *obj, bool final_state_unknown, void *ud);
    /* After every completed list (the first sync and each relist), once its
     * adds, updates and deletes were delivered. */
    void (*on_synced)(void *ud);
    void *ud;
} kube_cache_handlers;

typedef struct kube_cache_opts {
    const char *api_prefix;       /* default "/api/v1"; "/apis/apps/v1"...  */
    const char *resource;         /* default "pods"                         */
    const char *namespace;        /* NULL or "" = all namespaces            */
    const char *label_selector;   /* NULL = everything                      */
    const char *field_selector;
    /* Resume from this version without an initial list (see
     * kube_watch_opts.resource_version); the cache is not synced until a
     * list completes. */
    const char *resume_resource_version;
    int page_limit;               /* 0 = kube_watch default */
    int timeout_seconds;          /* 0 = kube_watch default */
    size_t max_line_bytes;        /* 0 = kube_watch default */
    long backoff_initial_ms, backoff_max_ms;
    kube_watch_log_fn log;
    void *log_ud;
    /* Applied in place to every object before it is stored or handed to a
     * callback (client-go's TransformFunc): a controller that keeps
     * thousands of objects drops what it never reads (managedFields,
     * volumes...), which is most of their memory.  Runs on the watch
     * thread. */
    void (*transform)(json_t *obj, void *ud);
    void *transform_ud;
} kube_cache_opts;

typedef struct kube_cache_stats {
    size_t objects;
    uint64_t adds, updates, deletes;
    uint64_t deletes_inferred;    /* deletes found by a relist diff */
    uint64_t syncs;               /* completed lists                */
    kube_watch_stats watch;
} kube_cache_stats;

typedef struct kube_cache kube_cache;

/* c may be NULL for a cache fed only through kube_cache_watch_handler (tests,
 * a watch shared with something else); such a cache cannot be started. */
kube_cache *kube_cache_new(kube_client *c, const kube_cache_opts *opts,
                           const kube_cache_handlers *h, char *err,
                           size_t errlen);
/* Starts the list + watch.  0, or -1 and err. */
int kube_cache_start(kube_cache *cache, char *err, size_t errlen);
/* Stops the watch (no callback runs after this returns) and frees.  Never
 * call it from a callback. */
void kube_cache_free(kube_cache *cache);

/* True once a list has completed. */
bool kube_cache_synced(kube_cache *cache);
/* Waits up to timeout_ms for the first sync; true when synced. */
bool kube_cache_wait_synced(kube_cache *cache, long timeout_ms);

/* The object, as a tree of its own (the caller json_decref's it), or NULL
 * when absent or out of memory.  ns NULL or "" for cluster-scoped objects. */
json_t *kube_cache_get(kube_cache *cache, const char *ns, const char *name);
/* Calls fn for a snapshot of the objects (taken under the lock, called
 * outside it, so fn may call back into the cache).  fn returns non-zero to
 * stop.  Returns how many objects fn saw. */
typedef int (*kube_cache_fn)(const json_t *obj, void *ud);
size_t kube_cache_foreach(kube_cache *cache, kube_cache_fn fn, void *ud);
size_t kube_cache_size(kube_cache *cache);
void kube_cache_get_stats(kube_cache *cache, kube_cache_stats *out);

/* The handler the cache's own watch uses; feeding it list and watch events
 * from elsewhere drives the cache exactly as a watch would.  Valid for the
 * cache's lifetime. */
const kube_watch_handler *kube_cache_watch_handler(kube_cache *cache);

#endif
