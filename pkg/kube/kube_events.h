/*
 * kube_events.h — core/v1 Events about objects, recorded the way client-go's
 * record package does so that `kubectl describe` shows them and they never
 * become spam:
 *   - a spam filter per involved object (token bucket, burst 25, one token
 *     back every 5 minutes) drops floods before they queue;
 *   - an aggregator folds events that differ only in message (more than 10
 *     distinct messages for one object+reason in 10 minutes) into one
 *     "(combined from similar events): ..." event;
 *   - a repeat of the same event (same object, type, reason, message,
 *     source) within the dedup window PATCHes count, lastTimestamp and
 *     message of the existing Event instead of creating another.
 * A PATCH that finds the Event gone (404: garbage-collected after the
 * apiserver's event TTL) creates it again; a create that collides with an
 * existing name (409) retries under a fresh name.
 *
 * Threads: kube_event_record() only filters and queues, so it never waits
 * on the network and may be called from any thread (not from the client's
 * I/O thread callbacks, which must stay quick anyway).  One worker thread
 * per recorder talks to the API server.
 *
 * Not for: events.k8s.io/v1 series (core/v1 count is what kubectl describe
 * shows everywhere), or reading Events.
 */
#ifndef KUBE_EVENTS_H
#define KUBE_EVENTS_H

#include "kube/kube.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The object an Event is about.  uid matters: kubectl describe selects
 * Events by involvedObject uid. */
typedef struct kube_object_ref {
    const char *api_version;      /* "v1", "apps/v1"                        */
    const char *kind;             /* "Pod", "Deployment"                    */
    const char *namespace;        /* NULL or "" for cluster-scoped objects  */
    const char *name;
    const char *uid;
    const char *field_path;       /* optional: "spec.containers{app}"       */
} kube_object_ref;

/* Points ref's fields into obj (borrowed: obj must outlive ref).  List items
 * carry no kind/apiVersion, so the defaults fill those when absent. */
void kube_object_ref_from(const json_t *obj, const char *default_api_version,
                          const char *default_kind, kube_object_ref *ref);

typedef void (*kube_events_log_fn)(const char *msg, void *ud);

typedef struct kube_recorder_opts {
    const char *component;    /* source.component, reportingComponent;
                                 default "leakwatch"                       */
    const char *instance;     /* source.host, reportingInstance; default
                                 the host name                             */
    int spam_burst;           /* default 25; < 0 disables the spam filter  */
    double spam_refill_per_s; /* default 1/300 (one token per 5 minutes)   */
    int aggregate_max;        /* distinct messages before combining;
                                 default 10; < 0 disables aggregation      */
    long aggregate_window_s;  /* default 600                               */
    long dedup_window_s;      /* a repeat within this PATCHes the existing
                                 Event; default 3600 (the apiserver's
                                 default event TTL)                        */
    size_t cache_size;        /* entries per LRU (dedup, spam, aggregate);
                                 default 4096                              */
    size_t queue_max;         /* events waiting for the worker; default 1000 */
    size_t max_message_bytes; /* longer messages are cut (at a UTF-8
                                 boundary) and end in "..."; default 4096  */
    long request_timeout_ms;  /* one API call; default 15000               */
    kube_events_log_fn log;   /* NULL: "kube events: ..." on stderr         */
    void *log_ud;
} kube_recorder_opts;

typedef enum kube_event_status {
    KUBE_EVENT_QUEUED = 0,
    KUBE_EVENT_SPAM = 1,        /* dropped by the per-object spam filter    */
    KUBE_EVENT_QUEUE_FULL = 2,  /* dropped: the worker is that far behind   */
    KUBE_EVENT_INVALID = -1,    /* bad arguments (logged)                   */
} kube_event_status;

typedef struct kube_recorder_stats {
    uint64_t created, patched, recreated; /* recreated: PATCH got 404     */
    uint64_t aggregated;                  /* sent as a combined event     */
    uint64_t dropped_spam, dropped_queue, failed;
} kube_recorder_stats;

typedef struct kube_recorder kube_recorder;

/* c must outlive the recorder.  NULL (and err) on bad options. */
kube_recorder *kube_recorder_new(kube_client *c, const kube_recorder_opts *o,
                                 char *err, size_t errlen);
/* Waits up to the request timeout for queued events, then stops the worker
 * (cancelling a request still in flight) and frees. */
void kube_recorder_free(kube_recorder *r);

/* type is "Normal" or "Warning"; reason a short CamelCase word.  All
 * strings are copied. */
kube_event_status kube_event_record(kube_recorder *r,
                                    const kube_object_ref *ref,
                                    const char *type, const char *reason,
                                    const char *message);
kube_event_status kube_event_recordf(kube_recorder *r,
                                     const kube_object_ref *ref,
                                     const char *type, const char *reason,
                                     const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Waits until every queued event was sent (or failed); 0, or -1 on
 * timeout. */
int kube_recorder_flush(kube_recorder *r, long timeout_ms);
void kube_recorder_get_stats(kube_recorder *r, kube_recorder_stats *out);

/* ---- reading back what a component recorded --------------------------- */

/* When an Event last happened: lastTimestamp, else eventTime, the series'
 * lastObservedTime, firstTimestamp, creationTimestamp; unix s or -1. */
int64_t kube_event_time(const json_t *ev);
/* The Event was written by `component` (source.component or
 * reportingComponent). */
bool kube_event_from(const json_t *ev, const char *component);

/* Lists Events (in ns, or everywhere when ns is NULL or "") matching the
 * field selector, pages included, and calls fn for each one `component`
 * wrote (all when component is NULL).  fn returns non-zero to stop; that
 * value is returned.  0 when the list completed, -1 on an API error
 * (err_out says why). */
typedef int (*kube_event_fn)(json_t *ev, void *ud);
int kube_events_list(kube_client *c, const char *ns, const char *field_selector,
                     const char *component, kube_event_fn fn, void *ud,
                     kube_response *err_out);

/* ---- the decision logic, without the network (exposed for tests) ------ */

/* Per-object token bucket (client-go's EventSourceObjectSpamFilter). */
typedef struct kube_event_spam_filter kube_event_spam_filter;
kube_event_spam_filter *kube_event_spam_filter_new(int burst,
                                                   double refill_per_s,
                                                   size_t max_objects);
void kube_event_spam_filter_free(kube_event_spam_filter *f);
/* true when one more event about ref may go out at now_us. */
bool kube_event_spam_allow(kube_event_spam_filter *f, const char *component,
                           const char *instance, const kube_object_ref *ref,
                           int64_t now_us);

/* Aggregation and dedup state (client-go's EventAggregator + eventLogger). */
typedef struct kube_event_correlator kube_event_correlator;
kube_event_correlator *kube_event_correlator_new(const kube_recorder_opts *o);
void kube_event_correlator_free(kube_event_correlator *k);

typedef struct kube_event_plan {
    bool patch;            /* PATCH the Event `name`, else create it       */
    bool aggregated;       /* message was replaced by the combined form    */
    char key[40];          /* dedup key (hex)                              */
    char name[256];        /* Event name                                   */
    char *message;         /* owned; what to send                          */
    long count;
    int64_t first_us, last_us;
} kube_event_plan;

/* Decides what to send for one occurrence at now_us.  0, or -1 when out of
 * memory.  kube_event_plan_clear frees message. */
int kube_event_correlate(kube_event_correlator *k, const kube_object_ref *ref,
                         const char *type, const char *reason,
                         const char *message, int64_t now_us,
                         kube_event_plan *out);
/* The server accepted plan (created or patched): repeats now patch it. */
void kube_event_correlator_observed(kube_event_correlator *k,
                                    const kube_event_plan *plan);
/* The Event behind key is gone (404): the next occurrence creates anew. */
void kube_event_correlator_forget(kube_event_correlator *k, const char *key);
void kube_event_plan_clear(kube_event_plan *p);

/* The dedup key of one occurrence (hex, NUL-terminated, < 40 bytes):
 * involvedObject kind/namespace/name/uid/apiVersion/fieldPath, type,
 * reason, message and source component/host. */
void kube_event_key(const char *component, const char *instance,
                    const kube_object_ref *ref, const char *type,
                    const char *reason, const char *message, char out[40]);

/* The core/v1 Event body for plan (new reference).  instance/component as
 * in the options. */
json_t *kube_event_build(const char *component, const char *instance,
                         const kube_object_ref *ref, const char *type,
                         const char *reason, const kube_event_plan *plan);

#endif
