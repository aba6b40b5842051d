/*
 * kube_events.c — the Event recorder (see kube_events.h).
 *
 * The three small LRU maps (spam buckets, aggregation records, dedup
 * entries) are jansson objects used as ordered hash maps: jansson keeps
 * insertion order, so "touch" is delete + re-insert and eviction removes
 * the first key.  Keys are 128-bit hashes (lw_hash) of the fields client-go
 * uses, so a long message costs 32 bytes of key.
 *
 * Not for: deciding what is worth an Event (pkg/controller does).
 */
#include "kube/kube_events.h"
#include "kube/kube_internal.h"

#include "lw/lw_clock.h"
#include "lw/lw_hash.h"
#include "lw/lw_str.h"
#include "lw/lw_utf8.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define COMBINED_PREFIX "(combined from similar events): "

static const char *nz(const char *s)
{
    return s ? s : "";
}

void kube_object_ref_from(const json_t *obj, const char *default_api_version,
                          const char *default_kind, kube_object_ref *ref)
{
    memset(ref, 0, sizeof *ref);
    const json_t *md = json_object_get(obj, "metadata");
    ref->api_version = json_string_value(json_object_get(obj, "apiVersion"));
    ref->kind = json_string_value(json_object_get(obj, "kind"));
    if (!ref->api_version || !*ref->api_version)
        ref->api_version = default_api_version;
    if (!ref->kind || !*ref->kind)
        ref->kind = default_kind;
    ref->namespace = json_string_value(json_object_get(md, "namespace"));
    ref->name = json_string_value(json_object_get(md, "name"));
    ref->uid = json_string_value(json_object_get(md, "uid"));
}

/* ---- keys -------------------------------------------------------------- */

static void hash_fields(const char *const *f, size_t n, char out[40])
{
    uint64_t a = 0x6c656b7761746368ULL, b = 0x6576656e74736b79ULL;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(nz(f[i]));
        a = lw_hash_combine(a, lw_hash_bytes(nz(f[i]), len, 0x51ed27a3ULL));
        b = lw_hash_combine(b, lw_hash_bytes(nz(f[i]), len, 0x2c1b3c6dULL));
    }
    snprintf(out, 40, "%016llx%016llx", (unsigned long long)a,
             (unsigned long long)b);
}

static void spam_key(const char *component, const char *instance,
                     const kube_object_ref *r, char out[40])
{
    const char *f[] = {component, instance, r->kind, r->namespace,
                       r->name, r->uid, r->api_version};
    hash_fields(f, sizeof f / sizeof *f, out);
}

static void aggregate_key(const char *component, const char *instance,
                          const kube_object_ref *r, const char *type,
                          const char *reason, char out[40])
{
    const char *f[] = {component, instance, r->kind, r->namespace, r->name,
                       r->uid, r->api_version, type, reason};
    hash_fields(f, sizeof f / sizeof *f, out);
}

void kube_event_key(const char *component, const char *instance,
                    const kube_object_ref *r, const char *type,
                    const char *reason, const char *message, char out[40])
{
    const char *f[] = {component, instance, r->kind, r->namespace,
                       r->name, r->field_path, r->uid, r->api_version,
                       type, reason, message};
    hash_fields(f, sizeof f / sizeof *f, out);
}

/* ---- ordered-map LRU over jansson -------------------------------------- */

/* Borrowed value, moved to the most-recent end. */
static json_t *lru_get(json_t *map, const char *key)
{
    json_t *v = json_object_get(map, key);
    if (!v)
        return NULL;
    json_incref(v);
    json_object_del(map, key);
    if (json_object_set_new(map, key, v) != 0)
        return NULL;
    return v;
}

/* Steals v. */
static void lru_put(json_t *map, const char *key, json_t *v, size_t max)
{
    if (!v)
        return;
    json_object_del(map, key);
    if (json_object_set_new(map, key, v) != 0)
        return;
    while (json_object_size(map) > max) {
        char oldest[64];
        snprintf(oldest, sizeof oldest, "%s",
                 json_object_iter_key(json_object_iter(map)));
        json_object_del(map, oldest);
    }
}

/* ---- spam filter ------------------------------------------------------- */

struct kube_event_spam_filter {
    int burst;
    double refill;
    size_t max;
    json_t *buckets; /* key -> [tokens, last_us] */
};

kube_event_spam_filter *kube_event_spam_filter_new(int burst,
                                                   double refill_per_s,
                                                   size_t max_objects)
{
    kube_event_spam_filter *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->burst = burst > 0 ? burst : 25;
    f->refill = refill_per_s > 0 ? refill_per_s : 1.0 / 300.0;
    f->max = max_objects ? max_objects : 4096;
    f->buckets = json_object();
    if (!f->buckets) {
        free(f);
        return NULL;
    }
    return f;
}

void kube_event_spam_filter_free(kube_event_spam_filter *f)
{
    if (!f)
        return;
    json_decref(f->buckets);
    free(f);
}

bool kube_event_spam_allow(kube_event_spam_filter *f, const char *component,
                           const char *instance, const kube_object_ref *ref,
                           int64_t now_us)
{
    char key[40];
    spam_key(component, instance, ref, key);
    json_t *b = lru_get(f->buckets, key);
    double tokens = f->burst;
    if (b) {
        double have = json_real_value(json_array_get(b, 0));
        int64_t last = json_integer_value(json_array_get(b, 1));
        double dt = now_us > last ? (double)(now_us - last) / 1e6 : 0;
        tokens = have + dt * f->refill;
        if (tokens > f->burst)
            tokens = f->burst;
    }
    bool ok = tokens >= 1.0;
    if (ok)
        tokens -= 1.0;
    lru_put(f->buckets, key,
            json_pack("[fI]", tokens, (json_int_t)now_us), f->max);
    return ok;
}

/* ---- aggregation + dedup ----------------------------------------------- */

struct kube_event_correlator {
    char component[128], instance[129];
    int agg_max;
    int64_t agg_window_us, dedup_window_us;
    size_t max;
    json_t *aggregates; /* agg key -> {"last": us, "msgs": {hash: true}} */
    json_t *seen;       /* dedup key -> {"name","count","first","last"} */
    unsigned seq;       /* makes names unique within one microsecond */
};

kube_event_correlator *kube_event_correlator_new(const kube_recorder_opts *o)
{
    kube_event_correlator *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    snprintf(k->component, sizeof k->component, "%s",
             o && o->component && *o->component ? o->component : "leakwatch");
    if (o && o->instance)
        snprintf(k->instance, sizeof k->instance, "%s", o->instance);
    k->agg_max = o && o->aggregate_max ? o->aggregate_max : 10;
    k->agg_window_us = (int64_t)(o && o->aggregate_window_s > 0
                                     ? o->aggregate_window_s
                                     : 600) *
                       1000000;
    k->dedup_window_us =
        (int64_t)(o && o->dedup_window_s > 0 ? o->dedup_window_s : 3600) *
        1000000;
    k->max = o && o->cache_size ? o->cache_size : 4096;
    k->aggregates = json_object();
    k->seen = json_object();
    if (!k->aggregates || !k->seen) {
        kube_event_correlator_free(k);
        return NULL;
    }
    return k;
}

void kube_event_correlator_free(kube_event_correlator *k)
{
    if (!k)
        return;
    json_decref(k->aggregates);
    json_decref(k->seen);
    free(k);
}

void kube_event_plan_clear(kube_event_plan *p)
{
    if (!p)
        return;
    free(p->message);
    p->message = NULL;
}

/* client-go names Events "<object>.<unix nanos in hex>"; the object part is
 * cut so the whole stays a valid name. */
static void fresh_name(kube_event_correlator *k, const kube_object_ref *ref,
                       int64_t now_us, char *out, size_t cap)
{
    unsigned long long ns =
        (unsigned long long)now_us * 1000ULL + (k->seq++ % 1000u);
    snprintf(out, cap, "%.200s.%llx", nz(ref->name), ns);
}

static void make_fresh(kube_event_correlator *k, const kube_object_ref *ref,
                       int64_t now_us, kube_event_plan *p)
{
    p->patch = false;
    p->count = 1;
    p->first_us = p->last_us = now_us;
    fresh_name(k, ref, now_us, p->name, sizeof p->name);
}

int kube_event_correlate(kube_event_correlator *k, const kube_object_ref *ref,
                         const char *type, const char *reason,
                         const char *message, int64_t now_us,
                         kube_event_plan *out)
{
    memset(out, 0, sizeof *out);
    message = nz(message);
    if (k->agg_max > 0) {
        char akey[40], local[40];
        aggregate_key(k->component, k->instance, ref, type, reason, akey);
        const char *lf[] = {message};
        hash_fields(lf, 1, local);
        json_t *rec = lru_get(k->aggregates, akey);
        json_t *msgs = NULL;
        if (rec && now_us - json_integer_value(json_object_get(rec, "last")) <=
                       k->agg_window_us) {
            msgs = json_incref(json_object_get(rec, "msgs"));
        }
        if (!msgs)
            msgs = json_object();
        if (!msgs)
            return -1;
        json_object_set_new(msgs, local, json_true());
        bool combine = json_object_size(msgs) >= (size_t)k->agg_max;
        if (combine) {
            /* Keep the set at max-1 distinct messages so every further
             * distinct one keeps combining (client-go's PopAny). */
            char any[64];
            snprintf(any, sizeof any, "%s",
                     json_object_iter_key(json_object_iter(msgs)));
            json_object_del(msgs, any);
        }
        lru_put(k->aggregates, akey,
                json_pack("{s:I,s:o}", "last", (json_int_t)now_us, "msgs",
                          msgs),
                k->max);
        if (combine) {
            size_t n = strlen(COMBINED_PREFIX) + strlen(message) + 1;
            out->message = malloc(n);
            if (!out->message)
                return -1;
            snprintf(out->message, n, "%s%s", COMBINED_PREFIX, message);
            out->aggregated = true;
            snprintf(out->key, sizeof out->key, "%s", akey);
        }
    }
    if (!out->aggregated) {
        out->message = strdup(message);
        if (!out->message)
            return -1;
        kube_event_key(k->component, k->instance, ref, type, reason, message,
                       out->key);
    }
    json_t *e = json_object_get(k->seen, out->key);
    if (e && now_us - json_integer_value(json_object_get(e, "last")) <=
                 k->dedup_window_us) {
        e = lru_get(k->seen, out->key);
        out->patch = true;
        snprintf(out->name, sizeof out->name, "%s",
                 nz(json_string_value(json_object_get(e, "name"))));
        out->count = (long)json_integer_value(json_object_get(e, "count")) + 1;
        out->first_us = json_integer_value(json_object_get(e, "first"));
        out->last_us = now_us;
    } else {
        make_fresh(k, ref, now_us, out);
    }
    return 0;
}

void kube_event_correlator_observed(kube_event_correlator *k,
                                    const kube_event_plan *p)
{
    lru_put(k->seen, p->key,
            json_pack("{s:s,s:I,s:I,s:I}", "name", p->name, "count",
                      (json_int_t)p->count, "first", (json_int_t)p->first_us,
                      "last", (json_int_t)p->last_us),
            k->max);
}

void kube_event_correlator_forget(kube_event_correlator *k, const char *key)
{
    json_object_del(k->seen, key);
}

/* ---- Event bodies ------------------------------------------------------ */

static const char *event_namespace(const kube_object_ref *ref)
{
    /* Events about cluster-scoped objects live in "default", as client-go
     * puts them. */
    return ref->namespace && *ref->namespace ? ref->namespace : "default";
}

json_t *kube_event_build(const char *component, const char *instance,
                         const kube_object_ref *ref, const char *type,
                         const char *reason, const kube_event_plan *p)
{
    char first[40], last[40];
    kube_format_time(p->first_us / 1000000, first, sizeof first);
    kube_format_time(p->last_us / 1000000, last, sizeof last);
    json_t *inv = json_pack("{s:s,s:s,s:s}", "apiVersion",
                            nz(ref->api_version), "kind", nz(ref->kind),
                            "name", nz(ref->name));
    if (!inv)
        return NULL;
    if (ref->namespace && *ref->namespace)
        json_object_set_new(inv, "namespace", json_string(ref->namespace));
    if (ref->uid && *ref->uid)
        json_object_set_new(inv, "uid", json_string(ref->uid));
    if (ref->field_path && *ref->field_path)
        json_object_set_new(inv, "fieldPath", json_string(ref->field_path));
    json_t *ev = json_pack(
        "{s:s,s:s,s:{s:s,s:s},s:o,s:s,s:s,s:s,s:{s:s},s:s,s:s,s:I,s:s,s:s}",
        "apiVersion", "v1", "kind", "Event", "metadata", "name", p->name,
        "namespace", event_namespace(ref), "involvedObject", inv, "reason",
        reason, "message", nz(p->message), "type", type, "source",
        "component", component, "firstTimestamp", first, "lastTimestamp",
        last, "count", (json_int_t)p->count, "reportingComponent", component,
        "reportingInstance", instance);
    return ev;
}

/* ---- the recorder ------------------------------------------------------ */

typedef struct qitem {
    struct qitem *next;
    kube_object_ref ref;
    const char *type, *reason, *message;
    int64_t now_us;
    char buf[];
} qitem;

typedef struct call {
    bool done;
    long status;
    char error[768];
    char reason[64];
} call;

struct kube_recorder {
    kube_client *c;
    char component[128], instance[129];
    size_t queue_max, max_msg;
    long timeout_ms;
    kube_events_log_fn log;
    void *log_ud;
    kube_event_spam_filter *spam;   /* guarded by mu */
    kube_event_correlator *corr;    /* worker thread only */

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, busy;
    qitem *head, *tail;
    size_t queued;
    kube_async *inflight;           /* guarded by mu */
    call *inflight_call;
    kube_recorder_stats st;         /* guarded by mu */
};

static void rlogf(kube_recorder *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void rlogf(kube_recorder *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kube_logv(r->log, r->log_ud, false, fmt, ap, "kube events");
    va_end(ap);
}

static void call_done(kube_response *resp, void *ud)
{
    kube_recorder *r = ud;
    pthread_mutex_lock(&r->mu);
    call *cl = r->inflight_call;
    if (cl) {
        cl->status = resp ? resp->status : 0;
        snprintf(cl->error, sizeof cl->error, "%s", resp ? resp->error : "");
        snprintf(cl->reason, sizeof cl->reason, "%s",
                 resp ? resp->reason : "");
        cl->done = true;
    }
    r->inflight = NULL;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* One API call from the worker, bounded by the request timeout and
 * cancelled by kube_recorder_free (kube_request could not be). */
static int rec_call(kube_recorder *r, const char *method, const char *path,
                    const json_t *body, const char *ctype, call *cl)
{
    memset(cl, 0, sizeof *cl);
    kube_async_spec spec = {.method = method,
                            .path = path,
                            .body = body,
                            .content_type = ctype,
                            .done = call_done,
                            .ud = r};
    struct timespec dl;
    lw_deadline_ms(&dl, r->timeout_ms);
    pthread_mutex_lock(&r->mu);
    if (r->stop) {
        pthread_mutex_unlock(&r->mu);
        snprintf(cl->error, sizeof cl->error, "recorder shutting down");
        return -1;
    }
    r->inflight_call = cl;
    r->inflight = kube_request_async(r->c, &spec);
    if (!r->inflight && !cl->done) {
        r->inflight_call = NULL;
        pthread_mutex_unlock(&r->mu);
        snprintf(cl->error, sizeof cl->error, "could not start the request");
        return -1;
    }
    bool cancelled = false;
    while (!cl->done) {
        if (!cancelled && (r->stop || pthread_cond_timedwait(
                                          &r->cv, &r->mu, &dl) == ETIMEDOUT)) {
            if (r->inflight && !cl->done)
                kube_async_cancel(r->c, r->inflight);
            cancelled = true;
            continue;
        }
        if (cancelled)
            pthread_cond_wait(&r->cv, &r->mu);
    }
    r->inflight_call = NULL;
    pthread_mutex_unlock(&r->mu);
    return cl->status >= 200 && cl->status < 300 ? 0 : -1;
}

static void bump(kube_recorder *r, uint64_t *counter)
{
    pthread_mutex_lock(&r->mu);
    (*counter)++;
    pthread_mutex_unlock(&r->mu);
}

static int send_create(kube_recorder *r, const qitem *it, kube_event_plan *p,
                       call *cl)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/events",
             event_namespace(&it->ref));
    for (int attempt = 0; attempt < 2; attempt++) {
        json_t *ev = kube_event_build(r->component, r->instance, &it->ref,
                                      it->type, it->reason, p);
        if (!ev) {
            snprintf(cl->error, sizeof cl->error, "out of memory");
            return -1;
        }
        int rc = rec_call(r, "POST", path, ev, NULL, cl);
        json_decref(ev);
        if (rc == 0 || cl->status != 409)
            return rc;
        /* AlreadyExists: the name is taken (by an Event we cannot account
         * for); a fresh name keeps this occurrence. */
        fresh_name(r->corr, &it->ref, lw_wall_us(), p->name, sizeof p->name);
    }
    return -1;
}

static void process(kube_recorder *r, const qitem *it)
{
    kube_event_plan p;
    if (kube_event_correlate(r->corr, &it->ref, it->type, it->reason,
                             it->message, it->now_us, &p) != 0) {
        rlogf(r, "out of memory preparing an Event for %s %s/%s",
              it->ref.kind, nz(it->ref.namespace), it->ref.name);
        bump(r, &r->st.failed);
        kube_event_plan_clear(&p);
        return;
    }
    call cl;
    int rc;
    const char *what = "create";
    if (p.patch) {
        what = "patch";
        char path[600], last[40];
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/events/%s",
                 event_namespace(&it->ref), p.name);
        kube_format_time(p.last_us / 1000000, last, sizeof last);
        json_t *patch = json_pack("{s:I,s:s,s:s}", "count",
                                  (json_int_t)p.count, "lastTimestamp", last,
                                  "message", p.message);
        rc = patch ? rec_call(r, "PATCH", path, patch,
                              "application/strategic-merge-patch+json", &cl)
                   : -1;
        json_decref(patch);
        if (rc == 0) {
            bump(r, &r->st.patched);
        } else if (cl.status == 404) {
            /* Garbage-collected (event TTL) or deleted: start a new one;
             * the occurrences it counted went with it. */
            kube_event_correlator_forget(r->corr, p.key);
            make_fresh(r->corr, &it->ref, it->now_us, &p);
            what = "re-create";
            rc = send_create(r, it, &p, &cl);
            if (rc == 0)
                bump(r, &r->st.recreated);
        }
    } else {
        rc = send_create(r, it, &p, &cl);
        if (rc == 0)
            bump(r, &r->st.created);
    }
    if (rc == 0) {
        kube_event_correlator_observed(r->corr, &p);
        if (p.aggregated)
            bump(r, &r->st.aggregated);
    } else {
        bump(r, &r->st.failed);
        rlogf(r, "%s Event %s/%s (%s %s on %s %s) failed: %s", what,
              event_namespace(&it->ref), p.name, it->type, it->reason,
              it->ref.kind, it->ref.name,
              cl.error[0] ? cl.error : "no response");
    }
    kube_event_plan_clear(&p);
}

static void *worker_main(void *arg)
{
    kube_recorder *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->head && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stop)
            break;
        qitem *it = r->head;
        r->head = it->next;
        if (!r->head)
            r->tail = NULL;
        r->queued--;
        r->busy = true;
        pthread_mutex_unlock(&r->mu);
        process(r, it);
        free(it);
        pthread_mutex_lock(&r->mu);
        r->busy = false;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

kube_recorder *kube_recorder_new(kube_client *c, const kube_recorder_opts *o,
                                 char *err, size_t errlen)
{
    kube_recorder_opts d;
    memset(&d, 0, sizeof d);
    if (o)
        d = *o;
    if (!c) {
        snprintf(err, errlen, "kube events: no client");
        return NULL;
    }
    if (d.spam_refill_per_s < 0 || d.aggregate_window_s < 0 ||
        d.dedup_window_s < 0 || d.request_timeout_ms < 0) {
        snprintf(err, errlen, "kube events: negative rate, window or "
                              "timeout in the recorder options");
        return NULL;
    }
    char host[129] = "";
    if (!d.instance || !*d.instance) {
        if (gethostname(host, sizeof host - 1) != 0 || !host[0])
            snprintf(host, sizeof host, "unknown");
        d.instance = host;
    }
    if (strlen(d.instance) > 128) {
        snprintf(err, errlen, "kube events: instance \"%.40s...\" longer "
                              "than 128 characters",
                 d.instance);
        return NULL;
    }
    kube_recorder *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "kube events: out of memory");
        return NULL;
    }
    r->c = c;
    snprintf(r->component, sizeof r->component, "%s",
             d.component && *d.component ? d.component : "leakwatch");
    snprintf(r->instance, sizeof r->instance, "%s", d.instance);
    d.component = r->component;
    d.instance = r->instance;
    r->queue_max = d.queue_max ? d.queue_max : 1000;
    r->max_msg = d.max_message_bytes ? d.max_message_bytes : 4096;
    if (r->max_msg < 16)
        r->max_msg = 16;
    r->timeout_ms = d.request_timeout_ms ? d.request_timeout_ms : 15000;
    r->log = d.log;
    r->log_ud = d.log_ud;
    if (d.spam_burst >= 0) {
        r->spam = kube_event_spam_filter_new(d.spam_burst,
                                             d.spam_refill_per_s,
                                             d.cache_size);
        if (!r->spam)
            goto oom;
    }
    r->corr = kube_event_correlator_new(&d);
    if (!r->corr)
        goto oom;
    lw_cond_init_monotonic(&r->cv);
    pthread_mutex_init(&r->mu, NULL);
    int rc = pthread_create(&r->thread, NULL, worker_main, r);
    if (rc != 0) {
        snprintf(err, errlen, "kube events: cannot start worker: %s",
                 strerror(rc));
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        kube_event_correlator_free(r->corr);
        kube_event_spam_filter_free(r->spam);
        free(r);
        return NULL;
    }
    return r;
oom:
    snprintf(err, errlen, "kube events: out of memory");
    kube_event_correlator_free(r->corr);
    kube_event_spam_filter_free(r->spam);
    free(r);
    return NULL;
}

int kube_recorder_flush(kube_recorder *r, long timeout_ms)
{
    struct timespec dl;
    lw_deadline_ms(&dl, timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&r->mu);
    while ((r->head || r->busy) && !r->stop) {
        if (pthread_cond_timedwait(&r->cv, &r->mu, &dl) == ETIMEDOUT)
            break;
    }
    int rc = r->head || r->busy ? -1 : 0;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void kube_recorder_free(kube_recorder *r)
{
    if (!r)
        return;
    kube_recorder_flush(r, r->timeout_ms);
    pthread_mutex_lock(&r->mu);
    /* The worker sees stop and cancels its request in flight itself. */
    r->stop = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    if (r->queued)
        rlogf(r, "dropped %zu queued events at shutdown", r->queued);
    for (qitem *it = r->head; it;) {
        qitem *n = it->next;
        free(it);
        it = n;
    }
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    kube_event_correlator_free(r->corr);
    kube_event_spam_filter_free(r->spam);
    free(r);
}

void kube_recorder_get_stats(kube_recorder *r, kube_recorder_stats *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->st;
    pthread_mutex_unlock(&r->mu);
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static char *pack(char **p, const char *s, size_t n)
{
    char *d = *p;
    memcpy(d, s, n);
    d[n] = '\0';
    *p += n + 1;
    return d;
}

kube_event_status kube_event_record(kube_recorder *r,
                                    const kube_object_ref *ref,
                                    const char *type, const char *reason,
                                    const char *message)
{
    if (!r || !ref || !ref->name || !*ref->name || !ref->kind ||
        !*ref->kind || !type || (strcmp(type, "Normal") &&
                                 strcmp(type, "Warning")) ||
        !reason || !*reason || strlen(reason) > 128 || !message) {
        if (r)
            rlogf(r, "refusing an Event with a missing object name or kind, "
                     "a type other than Normal/Warning, or an empty or "
                     "over-long reason (%s %s on %s %s)",
                  nz(type), nz(reason), ref ? nz(ref->kind) : "",
                  ref ? nz(ref->name) : "");
        return KUBE_EVENT_INVALID;
    }
    /* The API server takes UTF-8 only, and jansson would refuse to build
     * the body: a message quoting a capture's bytes (a frame name with a
     * Latin-1 byte) gets U+FFFD for each stray byte, so its Event is still
     * written.  Repaired before the cut, which then keeps it valid. */
    char *repaired = NULL;
    size_t mlen = strlen(message);
    if (!lw_utf8_valid(message, mlen)) {
        repaired = lw_utf8_repair(message, mlen);
        if (!repaired) {
            rlogf(r, "out of memory queueing an Event");
            return KUBE_EVENT_QUEUE_FULL;
        }
        message = repaired;
        mlen = strlen(message);
    }
    int64_t now = lw_wall_us();
    bool cut = mlen > r->max_msg;
    if (cut)
        mlen = utf8_cut(message, mlen, r->max_msg - 3);
    const char *f[] = {ref->api_version, ref->kind, ref->namespace,
                       ref->name, ref->uid, ref->field_path, type, reason};
    size_t need = sizeof(qitem) + mlen + 4;
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        need += strlen(nz(f[i])) + 1;

    pthread_mutex_lock(&r->mu);
    if (r->spam && !kube_event_spam_allow(r->spam, r->component, r->instance,
                                          ref, now)) {
        r->st.dropped_spam++;
        pthread_mutex_unlock(&r->mu);
        free(repaired);
        return KUBE_EVENT_SPAM;
    }
    if (r->queued >= r->queue_max) {
        bool first = r->st.dropped_queue == 0;
        r->st.dropped_queue++;
        pthread_mutex_unlock(&r->mu);
        if (first)
            rlogf(r, "event queue full (%zu); dropping events", r->queue_max);
        free(repaired);
        return KUBE_EVENT_QUEUE_FULL;
    }
    pthread_mutex_unlock(&r->mu);

    qitem *it = malloc(need);
    if (!it) {
        free(repaired);
        rlogf(r, "out of memory queueing an Event");
        return KUBE_EVENT_QUEUE_FULL;
    }
    it->next = NULL;
    it->now_us = now;
    char *p = it->buf;
    it->ref.api_version = pack(&p, nz(ref->api_version),
                               strlen(nz(ref->api_version)));
    it->ref.kind = pack(&p, ref->kind, strlen(ref->kind));
    it->ref.namespace = pack(&p, nz(ref->namespace),
                             strlen(nz(ref->namespace)));
    it->ref.name = pack(&p, ref->name, strlen(ref->name));
    it->ref.uid = pack(&p, nz(ref->uid), strlen(nz(ref->uid)));
    it->ref.field_path = pack(&p, nz(ref->field_path),
                              strlen(nz(ref->field_path)));
    it->type = pack(&p, type, strlen(type));
    it->reason = pack(&p, reason, strlen(reason));
    char *m = pack(&p, message, mlen);
    if (cut)
        memcpy(m + mlen, "...", 4);
    it->message = m;
    free(repaired);

    pthread_mutex_lock(&r->mu);
    if (r->stop) {
        pthread_mutex_unlock(&r->mu);
        free(it);
        return KUBE_EVENT_QUEUE_FULL;
    }
    if (r->tail)
        r->tail->next = it;
    else
        r->head = it;
    r->tail = it;
    r->queued++;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return KUBE_EVENT_QUEUED;
}

kube_event_status kube_event_recordf(kube_recorder *r,
                                     const kube_object_ref *ref,
                                     const char *type, const char *reason,
                                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0) {
        if (r)
            rlogf(r, "out of memory formatting an Event message");
        return KUBE_EVENT_INVALID;
    }
    kube_event_status st = kube_event_record(r, ref, type, reason, msg);
    free(msg);
    return st;
}

/* ---- reading back ------------------------------------------------------ */

int64_t kube_event_time(const json_t *ev)
{
    static const char *const fields[] = {"lastTimestamp", "eventTime",
                                         "series.lastObservedTime", "firstTimestamp",
                                         "metadata.creationTimestamp"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        int64_t t = kube_parse_time(kube_json_str(ev, fields[i]));
        if (t > 0)
            return t;
    }
    return -1;
}

bool kube_event_from(const json_t *ev, const char *component)
{
    const char *comp = kube_json_str(ev, "source.component");
    const char *rcomp = kube_json_str(ev, "reportingComponent");
    return (comp && !strcmp(comp, component)) || (rcomp && !strcmp(rcomp, component));
}

typedef struct events_list_ctx {
    const char *component;
    kube_event_fn fn;
    void *ud;
} events_list_ctx;

static int events_list_item(json_t *ev, void *ud)
{
    events_list_ctx *x = ud;
    if (x->component && !kube_event_from(ev, x->component))
        return 0;
    return x->fn(ev, x->ud);
}

int kube_events_list(kube_client *c, const char *ns, const char *field_selector,
                     const char *component, kube_event_fn fn, void *ud,
                     kube_response *err_out)
{
    char esc[1024], path[1400];
    lw_pct_encode(field_selector ? field_selector : "", esc, sizeof esc);
    if (ns && *ns) {
        char ens[192];
        lw_pct_encode(ns, ens, sizeof ens);
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/events?fieldSelector=%s",
                 ens, esc);
    } else {
        snprintf(path, sizeof path, "/api/v1/events?fieldSelector=%s", esc);
    }
    events_list_ctx x = {.component = component, .fn = fn, .ud = ud};
    int rc = kube_list(c, path, 500, events_list_item, &x, NULL, 0, err_out);
    return rc < 0 ? -1 : rc;
}
