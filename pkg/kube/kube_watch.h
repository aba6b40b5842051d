/*
 * kube_watch.h — list + watch of one API collection, kept alive for as long
 * as the caller wants it: the newline-delimited watch stream framed across
 * chunk boundaries, resourceVersion bookkeeping with bookmarks, a relist when
 * the server says the version is too old (410 Gone / Expired), reconnects
 * with exponential backoff and jitter on resets, timeouts and 5xx, and a
 * reconnect from the last good version when a line is not valid JSON.
 *
 * Threads: each watch runs its own thread.  The client's I/O thread only
 * frames bytes into lines and queues them; the watch thread lists (with
 * kube_list), parses lines and calls the handler, so handler callbacks may
 * block and may call kube_request().  The queue is bounded: a consumer that
 * falls too far behind makes the watch drop the connection and resume from
 * the last version it handled, so memory stays bounded and nothing is lost.
 *
 * Not for: keeping objects (kube_cache.h keeps them and turns relists into
 * adds, updates and deletes), or one-shot GETs (kube.h).
 */
#ifndef KUBE_WATCH_H
#define KUBE_WATCH_H

#include "kube/kube.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- line framing ------------------------------------------------------ */

/* Splits a byte stream into lines ("\n", optional "\r" before it).  Empty
 * lines are skipped.  A line longer than max_line is an error rather than
 * unbounded memory.  Exposed for tests and for other streaming readers. */
typedef struct kube_line_framer kube_line_framer;
/* line is NUL-terminated and borrowed for the duration of the call.  Return
 * 0 to go on, non-zero to stop feeding. */
typedef int (*kube_line_fn)(const char *line, size_t len, void *ud);

kube_line_framer *kube_line_framer_new(size_t max_line);
void kube_line_framer_free(kube_line_framer *f);
/* 0 when all of data was consumed; 1 when fn asked to stop; -1 when a line
 * exceeded max_line (err says so; the framer must be reset before reuse). */
int kube_line_framer_feed(kube_line_framer *f, const char *data, size_t len,
                          kube_line_fn fn, void *ud, char *err, size_t errlen);
/* Bytes of an unfinished line held so far. */
size_t kube_line_framer_pending(const kube_line_framer *f);
void kube_line_framer_reset(kube_line_framer *f);

/* ---- one watch line decoded -------------------------------------------- */

typedef enum kube_watch_event_type {
    KUBE_WATCH_ADDED,
    KUBE_WATCH_MODIFIED,
    KUBE_WATCH_DELETED,
    KUBE_WATCH_BOOKMARK,
} kube_watch_event_type;

typedef enum kube_watch_line_kind {
    KUBE_WLINE_EVENT,    /* ADDED, MODIFIED, DELETED or BOOKMARK          */
    KUBE_WLINE_EXPIRED,  /* ERROR with 410 / Expired / Gone: relist        */
    KUBE_WLINE_ERROR,    /* any other ERROR Status: reconnect with backoff */
    KUBE_WLINE_INVALID,  /* not JSON, or not shaped like a watch event     */
} kube_watch_line_kind;

typedef struct kube_watch_event {
    kube_watch_event_type type;
    json_t *object;               /* owned: kube_watch_event_clear drops it */
    char resource_version[128];   /* object's metadata.resourceVersion      */
} kube_watch_event;

/* Decodes one line.  For KUBE_WLINE_EVENT fills ev; for the other kinds err
 * holds a one-line reason (the Status message, or the JSON error with its
 * column).  Never keeps a reference to line. */
kube_watch_line_kind kube_watch_parse_line(const char *line, size_t len,
                                           kube_watch_event *ev, char *err,
                                           size_t errlen);
void kube_watch_event_clear(kube_watch_event *ev);
const char *kube_watch_event_type_name(kube_watch_event_type t);

/* ---- a running list + watch -------------------------------------------- */

/* All callbacks run on the watch's own thread, one at a time. */
typedef struct kube_watch_handler {
    /* A full list starts (first sync, or relist after the version expired):
     * the items that follow are the complete current state.  If the list
     * fails part way, list_begin comes again later without a list_end. */
    void (*list_begin)(void *ud);
    void (*list_item)(json_t *item, void *ud);      /* item borrowed */
    /* The list completed; rv is its resourceVersion. */
    void (*list_end)(const char *rv, void *ud);
    /* ADDED, MODIFIED or DELETED (bookmarks are handled inside).  obj is
     * borrowed: json_incref it to keep it. */
    void (*event)(kube_watch_event_type type, json_t *obj, void *ud);
    void *ud;
} kube_watch_handler;

typedef void (*kube_watch_log_fn)(const char *msg, void *ud);

typedef struct kube_watch_opts {
    /* Collection path: "/api/v1/pods", "/api/v1/namespaces/x/pods",
     * "/apis/apps/v1/namespaces/x/deployments"... (no query). */
    const char *path;
    const char *label_selector;   /* NULL or "" = everything */
    const char *field_selector;
    /* Resume watching from this version without listing first (a checkpoint
     * or a test); NULL lists first.  If it has expired the watch relists. */
    const char *resource_version;
    int page_limit;               /* list paging; default 500 */
    /* Server-side timeoutSeconds of one watch request; default a random
     * 300..600 per request (like client-go) so that many watchers do not
     * reconnect in lockstep. */
    int timeout_seconds;
    size_t max_line_bytes;        /* one event; default 64 MiB              */
    size_t max_queue_bytes;       /* lines not yet handled; default 128 MiB */
    long backoff_initial_ms;      /* default 500                            */
    long backoff_max_ms;          /* default 30000                          */
    kube_watch_log_fn log;        /* NULL: "kube watch PATH: ..." on stderr */
    void *log_ud;
} kube_watch_opts;

typedef struct kube_watch_stats {
    uint64_t lists;          /* completed lists (first one included)       */
    uint64_t relists_expired;/* lists caused by 410 / too old version      */
    uint64_t connects;       /* watch requests started                     */
    uint64_t reconnects;     /* watch requests after a failure or an end   */
    uint64_t events;         /* ADDED/MODIFIED/DELETED handed to handler   */
    uint64_t bookmarks;
    uint64_t invalid_lines;  /* lines that were not valid watch events     */
    char resource_version[128]; /* last version handled                    */
} kube_watch_stats;

typedef struct kube_watch kube_watch;

/* Starts the watch thread.  NULL (and err) on bad options.  c must outlive
 * the watch. */
kube_watch *kube_watch_start(kube_client *c, const kube_watch_opts *opts,
                             const kube_watch_handler *h, char *err,
                             size_t errlen);
/* Stops the thread (cancelling the stream in flight), waits for it, frees.
 * No callback runs after it returns.  Never call from a handler callback.
 * A list page in flight is not cancellable (kube_list is synchronous): stop
 * then waits for it, at most the client's request timeout. */
void kube_watch_stop(kube_watch *w);
void kube_watch_get_stats(kube_watch *w, kube_watch_stats *out);

/* Backoff before reconnect attempt n (0-based): min(max, initial * 2^n)
 * scaled by a jitter factor in [0.5, 1.0) taken from *seed.  Exposed for
 * tests. */
long kube_watch_backoff_ms(long initial_ms, long max_ms, unsigned attempt,
                           uint64_t *seed);

#endif
