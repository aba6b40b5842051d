/*
 * kube_lease.c — Lease-based leader election (see kube_lease.h).
 *
 * kube_lease_decide is client-go's tryAcquireOrRenew without the I/O, so
 * the timing rules are unit-tested with a fake clock; the elector thread
 * around it does the GET / POST / PUT with its own deadlines (built on
 * kube_request_async, because a leader must give up within renewDeadline
 * even when a request hangs, and kube_request has no per-call deadline).
 *
 * Not for: what the leader does (callbacks start it).
 */
#include "kube/kube_internal.h"
#include "kube/kube_lease.h"

#include "kube/kube_watch.h"
#include "lw/lw_clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- decision logic ---------------------------------------------------- */

static bool record_equal(const kube_lease_record *a,
                         const kube_lease_record *b)
{
    return !strcmp(a->holder, b->holder) && a->duration_s == b->duration_s &&
           !strcmp(a->acquire_time, b->acquire_time) &&
           !strcmp(a->renew_time, b->renew_time) &&
           a->transitions == b->transitions;
}

bool kube_lease_observed_valid(const kube_lease_state *st,
                               int64_t now_mono_ms)
{
    return st->have_observed &&
           now_mono_ms <
               st->observed_mono_ms + (int64_t)st->observed.duration_s * 1000;
}

void kube_lease_observe(kube_lease_state *st, const kube_lease_record *seen,
                        const char *rv, int64_t now_mono_ms)
{
    if (!rv)
        rv = "";
    /* The clock starts when the record changes as far as we can see: a
     * holder that keeps renewing keeps changing it; one that died stops. */
    if (!st->have_observed || !record_equal(&st->observed, seen) ||
        strcmp(st->observed_rv, rv) != 0) {
        st->observed = *seen;
        snprintf(st->observed_rv, sizeof st->observed_rv, "%s", rv);
        st->observed_mono_ms = now_mono_ms;
        st->have_observed = true;
    }
}

kube_lease_action kube_lease_decide(kube_lease_state *st, const char *me,
                                    const kube_lease_record *fetched,
                                    const char *fetched_rv, long duration_s,
                                    int64_t now_mono_ms, int64_t now_wall_us,
                                    kube_lease_record *next)
{
    char now[40];
    kube_format_micro_time(now_wall_us, now, sizeof now);
    memset(next, 0, sizeof *next);
    snprintf(next->holder, sizeof next->holder, "%s", me);
    next->duration_s = duration_s;
    snprintf(next->renew_time, sizeof next->renew_time, "%s", now);
    if (!fetched) {
        snprintf(next->acquire_time, sizeof next->acquire_time, "%s", now);
        next->transitions = 0;
        return KUBE_LEASE_CREATE;
    }
    kube_lease_observe(st, fetched, fetched_rv, now_mono_ms);
    bool mine = !strcmp(fetched->holder, me);
    if (fetched->holder[0] && !mine &&
        kube_lease_observed_valid(st, now_mono_ms))
        return KUBE_LEASE_WAIT;
    if (mine) {
        snprintf(next->acquire_time, sizeof next->acquire_time, "%s",
                 fetched->acquire_time[0] ? fetched->acquire_time : now);
        next->transitions = fetched->transitions;
    } else {
        snprintf(next->acquire_time, sizeof next->acquire_time, "%s", now);
        next->transitions = fetched->transitions + 1;
    }
    return KUBE_LEASE_UPDATE;
}

void kube_lease_observe_write(kube_lease_state *st,
                              const kube_lease_record *rec, const char *rv,
                              int64_t now_mono_ms)
{
    st->observed = *rec;
    snprintf(st->observed_rv, sizeof st->observed_rv, "%s", rv ? rv : "");
    st->observed_mono_ms = now_mono_ms;
    st->have_observed = true;
}

void kube_lease_release_record(const kube_lease_state *st,
                               int64_t now_wall_us, kube_lease_record *out)
{
    char now[40];
    kube_format_micro_time(now_wall_us, now, sizeof now);
    memset(out, 0, sizeof *out);
    /* client-go's release: nobody holds it, and it is already expired for
     * anyone who looks (1 s), so the next candidate's retry takes it. */
    out->duration_s = 1;
    snprintf(out->acquire_time, sizeof out->acquire_time, "%s", now);
    snprintf(out->renew_time, sizeof out->renew_time, "%s", now);
    out->transitions = st->observed.transitions;
}

int kube_lease_parse(const json_t *lease, kube_lease_record *out, char *rv,
                     size_t rvlen)
{
    memset(out, 0, sizeof *out);
    if (rv && rvlen)
        rv[0] = '\0';
    if (!json_is_object(lease))
        return -1;
    const json_t *md = json_object_get(lease, "metadata");
    const char *r = json_string_value(json_object_get(md, "resourceVersion"));
    if (!r)
        return -1;
    if (rv)
        snprintf(rv, rvlen, "%s", r);
    const json_t *spec = json_object_get(lease, "spec");
    const char *s;
    if ((s = json_string_value(json_object_get(spec, "holderIdentity"))))
        snprintf(out->holder, sizeof out->holder, "%s", s);
    out->duration_s = (long)json_integer_value(
        json_object_get(spec, "leaseDurationSeconds"));
    if ((s = json_string_value(json_object_get(spec, "acquireTime"))))
        snprintf(out->acquire_time, sizeof out->acquire_time, "%s", s);
    if ((s = json_string_value(json_object_get(spec, "renewTime"))))
        snprintf(out->renew_time, sizeof out->renew_time, "%s", s);
    out->transitions =
        (long)json_integer_value(json_object_get(spec, "leaseTransitions"));
    return 0;
}

int kube_lease_apply(json_t *lease, const kube_lease_record *rec)
{
    json_t *spec = json_object_get(lease, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        if (!spec || json_object_set_new(lease, "spec", spec) != 0)
            return -1;
    }
    int rc = 0;
    rc |= json_object_set_new(spec, "holderIdentity",
                              json_string(rec->holder));
    rc |= json_object_set_new(spec, "leaseDurationSeconds",
                              json_integer(rec->duration_s));
    if (rec->acquire_time[0])
        rc |= json_object_set_new(spec, "acquireTime",
                                  json_string(rec->acquire_time));
    if (rec->renew_time[0])
        rc |= json_object_set_new(spec, "renewTime",
                                  json_string(rec->renew_time));
    rc |= json_object_set_new(spec, "leaseTransitions",
                              json_integer(rec->transitions));
    return rc ? -1 : 0;
}

/* ---- the elector ------------------------------------------------------- */

typedef struct call {
    bool done;
    long status;
    json_t *json;
    char error[768];
} call;

struct kube_lease {
    kube_client *c;
    char ns[64], name[254], identity[256];
    char path[800], collection[256];
    long duration_ms, deadline_ms, retry_ms, duration_s;
    bool keep_on_stop;
    char label_key[254], label_value[64];
    kube_lease_opts o; /* callbacks and log; string fields not used */

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;             /* leave the campaign loop                   */
    bool releasing;        /* stop no longer cancels requests            */
    bool leading;          /* guarded by mu                              */
    int64_t last_renew_ms; /* guarded by mu                              */
    kube_async *inflight;  /* guarded by mu                              */
    call *inflight_call;
    bool poke;             /* guarded by mu: the lease was just released */
    kube_watch *watch;     /* wakes a waiting candidate on release       */

    /* Elector thread only. */
    kube_lease_state st;
    json_t *fetched;       /* last Lease object read, for PUT            */
    char reported_holder[256];
    bool reported_any;
    uint64_t seed;
};

static void llogf(kube_lease *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void llogf(kube_lease *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kube_logv(l->o.log, l->o.log_ud, false, fmt, ap, "kube lease %s/%s", l->ns,
              l->name);
    va_end(ap);
}

static void abs_deadline(struct timespec *dl, int64_t at_mono_ms)
{
    dl->tv_sec = (time_t)(at_mono_ms / 1000);
    dl->tv_nsec = (long)(at_mono_ms % 1000) * 1000000L;
}

static void call_done(kube_response *r, void *ud)
{
    kube_lease *l = ud;
    pthread_mutex_lock(&l->mu);
    call *cl = l->inflight_call;
    if (cl) {
        cl->status = r ? r->status : 0;
        cl->json = r ? json_incref(r->json) : NULL;
        snprintf(cl->error, sizeof cl->error, "%s", r ? r->error : "");
        cl->done = true;
    }
    l->inflight = NULL;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

/* One request that gives up at deadline_mono_ms (or when stopping, unless
 * releasing).  0 for 2xx.  cl->json is the caller's to decref. */
static int lease_call(kube_lease *l, const char *method, const char *path,
                      const json_t *body, int64_t deadline_mono_ms, call *cl)
{
    memset(cl, 0, sizeof *cl);
    kube_async_spec spec = {.method = method,
                            .path = path,
                            .body = body,
                            .done = call_done,
                            .ud = l};
    struct timespec dl;
    abs_deadline(&dl, deadline_mono_ms);
    pthread_mutex_lock(&l->mu);
    if (l->stop && !l->releasing) {
        pthread_mutex_unlock(&l->mu);
        snprintf(cl->error, sizeof cl->error, "stopping");
        return -1;
    }
    l->inflight_call = cl;
    l->inflight = kube_request_async(l->c, &spec);
    if (!l->inflight && !cl->done) {
        l->inflight_call = NULL;
        pthread_mutex_unlock(&l->mu);
        snprintf(cl->error, sizeof cl->error, "could not start the request");
        return -1;
    }
    bool cancelled = false;
    while (!cl->done) {
        if (cancelled) {
            pthread_cond_wait(&l->cv, &l->mu);
            continue;
        }
        bool give_up = (l->stop && !l->releasing) ||
                       pthread_cond_timedwait(&l->cv, &l->mu, &dl) ==
                           ETIMEDOUT;
        if (give_up && !cl->done) {
            if (l->inflight)
                kube_async_cancel(l->c, l->inflight);
            cancelled = true;
        }
    }
    l->inflight_call = NULL;
    pthread_mutex_unlock(&l->mu);
    if (cancelled && cl->status == 0 && !l->stop)
        snprintf(cl->error, sizeof cl->error,
                 "no answer within the deadline");
    return cl->status >= 200 && cl->status < 300 ? 0 : -1;
}

static void report_holder(kube_lease *l, const char *holder)
{
    if (l->reported_any && !strcmp(l->reported_holder, holder))
        return;
    l->reported_any = true;
    snprintf(l->reported_holder, sizeof l->reported_holder, "%s", holder);
    if (l->o.on_new_leader)
        l->o.on_new_leader(holder, l->o.ud);
}

typedef enum try_result {
    TRY_OK,       /* we hold the lease now (acquired or renewed)  */
    TRY_HELD,     /* someone else holds it                        */
    TRY_FAILED,   /* error or lost a race: try again later        */
} try_result;

/* The leader's fast path (client-go's too): PUT the Lease as we last wrote
 * it, without reading it first.  0 when renewed; on any failure the caller
 * takes the slow path (read, decide, write). */
static int renew_optimistically(kube_lease *l, int64_t deadline)
{
    if (!l->fetched || strcmp(l->st.observed.holder, l->identity) != 0 ||
        !kube_lease_observed_valid(&l->st, lw_mono_ms()))
        return -1;
    kube_lease_record next = l->st.observed;
    next.duration_s = l->duration_s;
    kube_format_micro_time(lw_wall_us(), next.renew_time, sizeof next.renew_time);
    json_t *body = json_deep_copy(l->fetched);
    if (!body || kube_lease_apply(body, &next) != 0) {
        json_decref(body);
        return -1;
    }
    call cl;
    int rc = lease_call(l, "PUT", l->path, body, deadline, &cl);
    json_decref(body);
    kube_lease_record written;
    char wrv[64] = "";
    if (rc != 0 || kube_lease_parse(cl.json, &written, wrv, sizeof wrv) != 0) {
        if (cl.status != 409)
            llogf(l, "renewing failed (%s); reading the lease",
                  cl.error[0] ? cl.error : "no response");
        json_decref(cl.json);
        return -1;
    }
    kube_lease_observe_write(&l->st, &written, wrv, lw_mono_ms());
    json_decref(l->fetched);
    l->fetched = cl.json;
    return 0;
}

static try_result try_acquire_or_renew(kube_lease *l, int64_t deadline,
                                       bool leading)
{
    if (leading && renew_optimistically(l, deadline) == 0)
        return TRY_OK;
    call cl;
    kube_lease_record fetched, next;
    char rv[64] = "";
    bool found = false;
    int rc = lease_call(l, "GET", l->path, NULL, deadline, &cl);
    if (rc == 0) {
        if (kube_lease_parse(cl.json, &fetched, rv, sizeof rv) != 0) {
            llogf(l, "GET %s returned something that is not a Lease",
                  l->path);
            json_decref(cl.json);
            return TRY_FAILED;
        }
        found = true;
        json_decref(l->fetched);
        l->fetched = cl.json;
    } else if (cl.status == 404) {
        json_decref(cl.json);
    } else {
        llogf(l, "reading the lease failed: %s",
              cl.error[0] ? cl.error : "no response");
        json_decref(cl.json);
        return TRY_FAILED;
    }
    kube_lease_action a =
        kube_lease_decide(&l->st, l->identity, found ? &fetched : NULL, rv,
                          l->duration_s, lw_mono_ms(), lw_wall_us(), &next);
    if (found)
        report_holder(l, fetched.holder);
    if (a == KUBE_LEASE_WAIT)
        return TRY_HELD;

    json_t *body;
    const char *method, *path;
    if (a == KUBE_LEASE_CREATE) {
        body = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion",
                         "coordination.k8s.io/v1", "kind", "Lease", "metadata",
                         "name", l->name, "namespace", l->ns);
        if (body && l->label_key[0] &&
            json_object_set_new(json_object_get(body, "metadata"), "labels",
                                json_pack("{s:s}", l->label_key, l->label_value)) != 0) {
            json_decref(body);
            body = NULL;
        }
        method = "POST";
        path = l->collection;
    } else {
        /* PUT the object as read (its labels, annotations and, above all,
         * resourceVersion) with the new spec. */
        body = json_deep_copy(l->fetched);
        method = "PUT";
        path = l->path;
    }
    if (!body || kube_lease_apply(body, &next) != 0) {
        json_decref(body);
        llogf(l, "out of memory building the lease");
        return TRY_FAILED;
    }
    rc = lease_call(l, method, path, body, deadline, &cl);
    json_decref(body);
    if (rc != 0) {
        if (cl.status == 409)
            llogf(l, "lost a race for the lease (409); reading it again");
        else
            llogf(l, "%s lease failed: %s", method,
                  cl.error[0] ? cl.error : "no response");
        json_decref(cl.json);
        return TRY_FAILED;
    }
    kube_lease_record written;
    char wrv[64] = "";
    if (kube_lease_parse(cl.json, &written, wrv, sizeof wrv) != 0)
        written = next;
    kube_lease_observe_write(&l->st, &written, wrv, lw_mono_ms());
    json_decref(l->fetched);
    l->fetched = cl.json;
    report_holder(l, written.holder);
    return TRY_OK;
}

/* Sleeps until at_mono_ms or stop (true), or, when wake_on_release, until
 * the watch saw the lease released. */
static bool sleep_until(kube_lease *l, int64_t at_mono_ms,
                        bool wake_on_release)
{
    struct timespec dl;
    abs_deadline(&dl, at_mono_ms);
    pthread_mutex_lock(&l->mu);
    if (!wake_on_release)
        l->poke = false;
    while (!l->stop && !(wake_on_release && l->poke)) {
        if (pthread_cond_timedwait(&l->cv, &l->mu, &dl) == ETIMEDOUT)
            break;
    }
    l->poke = false;
    bool s = l->stop;
    pthread_mutex_unlock(&l->mu);
    return s;
}

/* ---- release watch ------------------------------------------------------
 * Polling every retry period (as client-go does) makes a graceful handover
 * take up to 1.2 x retryPeriod.  Watching the one Lease lets a waiting
 * candidate try the moment the holder releases it (or it is deleted);
 * polling remains the fallback whenever the watch is down. */

static void poke_if_released(kube_lease *l, const json_t *lease, bool deleted)
{
    kube_lease_record r;
    if (!deleted && (kube_lease_parse(lease, &r, NULL, 0) != 0 || r.holder[0]))
        return;
    pthread_mutex_lock(&l->mu);
    l->poke = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

static void w_item(json_t *item, void *ud)
{
    poke_if_released(ud, item, false);
}

static void w_event(kube_watch_event_type t, json_t *obj, void *ud)
{
    poke_if_released(ud, obj, t == KUBE_WATCH_DELETED);
}

static void w_log(const char *msg, void *ud)
{
    kube_lease *l = ud;
    llogf(l, "release watch: %s", msg);
}

static void set_leading(kube_lease *l, bool on, int64_t renew_ms)
{
    pthread_mutex_lock(&l->mu);
    l->leading = on;
    if (on)
        l->last_renew_ms = renew_ms;
    pthread_mutex_unlock(&l->mu);
}

/* DeleteOptions that delete only the version rv. */
static json_t *delete_if_version(const char *rv)
{
    return json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind",
                     "DeleteOptions", "preconditions", "resourceVersion",
                     rv ? rv : "");
}

int kube_lease_delete(kube_client *c, const char *ns, const char *name,
                      const char *rv, kube_response *r)
{
    memset(r, 0, sizeof(*r));
    char path[600];
    snprintf(path, sizeof path,
             "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", ns, name);
    json_t *body = delete_if_version(rv);
    if (!body) {
        snprintf(r->error, sizeof r->error, "out of memory");
        return -1;
    }
    int rc = kube_request(c, "DELETE", path, body, NULL, r);
    json_decref(body);
    return rc == 0 || r->status == 404 ? 0 : -1;
}

/* DELETE with our last write's resourceVersion as precondition, so a lease
 * renewed by a request we stopped waiting for is read again first. */
static int delete_lease(kube_lease *l, call *cl)
{
    json_t *body = delete_if_version(json_string_value(json_object_get(
        json_object_get(l->fetched, "metadata"), "resourceVersion")));
    if (!body) {
        memset(cl, 0, sizeof *cl);
        snprintf(cl->error, sizeof cl->error, "out of memory");
        return -1;
    }
    int rc = lease_call(l, "DELETE", l->path, body,
                        lw_mono_ms() + l->deadline_ms, cl);
    json_decref(body);
    if (rc != 0 && cl->status == 404)
        rc = 0;
    return rc;
}

/* One try at giving the lease up: a DELETE, or a PUT of the released
 * record.  0 when done; cl->json is the caller's to decref. */
static int give_up_once(kube_lease *l, call *cl)
{
    if (l->o.delete_on_stop)
        return delete_lease(l, cl);
    kube_lease_record rel;
    kube_lease_release_record(&l->st, lw_wall_us(), &rel);
    json_t *body = json_deep_copy(l->fetched);
    if (!body || kube_lease_apply(body, &rel) != 0) {
        json_decref(body);
        memset(cl, 0, sizeof *cl);
        snprintf(cl->error, sizeof cl->error, "out of memory");
        return -1;
    }
    int rc = lease_call(l, "PUT", l->path, body, lw_mono_ms() + l->deadline_ms,
                        cl);
    json_decref(body);
    return rc;
}

static void release(kube_lease *l)
{
    pthread_mutex_lock(&l->mu);
    l->releasing = true;
    pthread_mutex_unlock(&l->mu);
    const char *what = l->o.delete_on_stop ? "deleting" : "releasing";
    for (int attempt = 0; attempt < 2 && l->fetched; attempt++) {
        call cl;
        int rc = give_up_once(l, &cl);
        json_decref(cl.json);
        if (rc == 0) {
            llogf(l, "%s", l->o.delete_on_stop ? "deleted the lease"
                                                : "released the lease");
            return;
        }
        if (cl.status != 409) {
            llogf(l, "%s the lease failed: %s", what,
                  cl.error[0] ? cl.error : "no response");
            return;
        }
        /* Our last renew may have landed after we stopped waiting for it:
         * read again, and release only if it is still ours. */
        rc = lease_call(l, "GET", l->path, NULL, lw_mono_ms() + l->deadline_ms,
                        &cl);
        kube_lease_record now;
        if (rc != 0 || kube_lease_parse(cl.json, &now, NULL, 0) != 0 ||
            strcmp(now.holder, l->identity) != 0) {
            json_decref(cl.json);
            return;
        }
        json_decref(l->fetched);
        l->fetched = cl.json;
    }
}

static long jitter(kube_lease *l, long ms, double factor)
{
    uint64_t x = l->seed ? l->seed : 0x9e3779b97f4a7c15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    l->seed = x;
    double f = (double)((x * 0x2545f4914f6cdd1dULL) >> 11) /
               9007199254740992.0;
    return ms + (long)((double)ms * factor * f);
}

static void *elector_main(void *arg)
{
    kube_lease *l = arg;
    for (;;) {
        /* Campaign: client-go's acquire loop, retry period with 1.2 jitter. */
        /* When the successful write was sent: it landed at the server no
         * earlier, so others' lease clocks started no earlier either.
         * Counting our renew deadline from here (not from the answer) keeps
         * a slow request from stretching our leadership toward theirs. */
        int64_t renewed = 0;
        for (;;) {
            int64_t t0 = lw_mono_ms();
            try_result r = try_acquire_or_renew(l, t0 + l->deadline_ms, false);
            if (r == TRY_OK) {
                renewed = t0;
                break;
            }
            int64_t next = t0 + jitter(l, l->retry_ms, 1.2);
            /* Held by someone else: look again the moment it would expire
             * if nothing changes, rather than up to a retry period later
             * (a takeover after a crash then takes leaseDuration plus at
             * most one retry period of observation lag). */
            if (r == TRY_HELD) {
                int64_t expires = l->st.observed_mono_ms +
                                  (int64_t)l->st.observed.duration_s * 1000;
                if (expires + 5 < next)
                    next = expires + 5;
            }
            if (sleep_until(l, next, true))
                goto out;
        }
        set_leading(l, true, renewed);
        if (l->o.sole_candidate)
            llogf(l, "%s holds the lease", l->identity);
        else
            llogf(l, "%s became the leader", l->identity);
        if (l->o.on_started_leading)
            l->o.on_started_leading(l->o.ud);

        /* Renew every retry period; give up at renewed + renew deadline. */
        bool lost = false;
        while (!lost) {
            if (sleep_until(l, lw_mono_ms() + l->retry_ms, false))
                goto out;
            for (;;) {
                int64_t dl = renewed + l->deadline_ms;
                int64_t t0 = lw_mono_ms();
                if (t0 >= dl) {
                    llogf(l, "could not renew within %ld ms; stepping down",
                          l->deadline_ms);
                    lost = true;
                    break;
                }
                try_result r = try_acquire_or_renew(l, dl, true);
                if (r == TRY_OK) {
                    renewed = t0;
                    set_leading(l, true, renewed);
                    break;
                }
                if (r == TRY_HELD) {
                    llogf(l, "the lease is held by \"%s\" now; stepping down",
                          l->st.observed.holder);
                    lost = true;
                    break;
                }
                int64_t next = t0 + l->retry_ms;
                if (next > dl)
                    next = dl;
                if (sleep_until(l, next, false))
                    goto out;
            }
        }
        set_leading(l, false, 0);
        if (l->o.on_stopped_leading)
            l->o.on_stopped_leading(l->o.ud);
    }
out:;
    bool was;
    pthread_mutex_lock(&l->mu);
    was = l->leading;
    pthread_mutex_unlock(&l->mu);
    if (was) {
        if (!l->keep_on_stop)
            release(l);
        set_leading(l, false, 0);
        if (l->o.on_stopped_leading)
            l->o.on_stopped_leading(l->o.ud);
    }
    return NULL;
}

static bool dns_name(const char *s, size_t max)
{
    if (!s || !*s || strlen(s) > max)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '.'))
            return false;
    return true;
}

kube_lease *kube_lease_start(kube_client *c, const kube_lease_opts *o,
                             char *err, size_t errlen)
{
    if (!c || !o || !dns_name(o->namespace, 63) || !dns_name(o->name, 253)) {
        snprintf(err, errlen, "kube lease: need a client and a valid "
                              "namespace and name (got \"%s/%s\")",
                 o && o->namespace ? o->namespace : "",
                 o && o->name ? o->name : "");
        return NULL;
    }
    long dur = o->lease_duration_ms ? o->lease_duration_ms : 15000;
    long dl = o->renew_deadline_ms ? o->renew_deadline_ms : 10000;
    long rp = o->retry_period_ms ? o->retry_period_ms : 2000;
    if (dur < 1000 || dl <= 0 || rp <= 0 || dur <= dl ||
        (double)dl <= 1.2 * (double)rp) {
        snprintf(err, errlen,
                 "kube lease %s/%s: need leaseDuration (%ld ms, >= 1 s) > "
                 "renewDeadline (%ld ms) > 1.2 x retryPeriod (%ld ms)",
                 o->namespace, o->name, dur, dl, rp);
        return NULL;
    }
    if (o->identity && (!*o->identity || strlen(o->identity) > 255)) {
        snprintf(err, errlen, "kube lease %s/%s: identity must be 1..255 "
                              "characters",
                 o->namespace, o->name);
        return NULL;
    }
    if (!o->label_key != !o->label_value ||
        (o->label_key && (!*o->label_key || strlen(o->label_key) > 253 ||
                          strlen(o->label_value) > 63))) {
        snprintf(err, errlen, "kube lease %s/%s: a label needs a key of 1..253 "
                              "and a value of 0..63 characters",
                 o->namespace, o->name);
        return NULL;
    }
    kube_lease *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "kube lease: out of memory");
        return NULL;
    }
    if (o->label_key) {
        snprintf(l->label_key, sizeof l->label_key, "%s", o->label_key);
        snprintf(l->label_value, sizeof l->label_value, "%s", o->label_value);
    }
    l->c = c;
    l->o = *o;
    snprintf(l->ns, sizeof l->ns, "%s", o->namespace);
    snprintf(l->name, sizeof l->name, "%s", o->name);
    snprintf(l->collection, sizeof l->collection,
             "/apis/coordination.k8s.io/v1/namespaces/%s/leases", l->ns);
    snprintf(l->path, sizeof l->path, "%s/%s", l->collection, l->name);
    l->duration_ms = dur;
    l->deadline_ms = dl;
    l->retry_ms = rp;
    l->duration_s = (dur + 999) / 1000;
    l->keep_on_stop = o->keep_on_stop;
    if (getrandom(&l->seed, sizeof l->seed, GRND_NONBLOCK) !=
        (ssize_t)sizeof l->seed)
        l->seed = (uint64_t)lw_mono_ms() ^ ((uint64_t)getpid() << 32);
    if (o->identity) {
        snprintf(l->identity, sizeof l->identity, "%s", o->identity);
    } else {
        char host[200] = "";
        if (gethostname(host, sizeof host - 1) != 0 || !host[0])
            snprintf(host, sizeof host, "unknown");
        snprintf(l->identity, sizeof l->identity, "%s_%ld_%08x", host,
                 (long)getpid(), (unsigned)(l->seed >> 32));
    }
    lw_cond_init_monotonic(&l->cv);
    pthread_mutex_init(&l->mu, NULL);
    int rc = pthread_create(&l->thread, NULL, elector_main, l);
    if (rc != 0) {
        snprintf(err, errlen, "kube lease %s/%s: cannot start thread: %s",
                 l->ns, l->name, strerror(rc));
        pthread_cond_destroy(&l->cv);
        pthread_mutex_destroy(&l->mu);
        free(l);
        return NULL;
    }
    if (o->sole_candidate)
        return l;
    char sel[300], werr[256];
    snprintf(sel, sizeof sel, "metadata.name=%s", l->name);
    kube_watch_opts wo = {.path = l->collection,
                          .field_selector = sel,
                          .backoff_initial_ms = l->retry_ms,
                          .backoff_max_ms = 30000,
                          .log = w_log,
                          .log_ud = l};
    kube_watch_handler wh = {.list_item = w_item, .event = w_event, .ud = l};
    l->watch = kube_watch_start(c, &wo, &wh, werr, sizeof werr);
    if (!l->watch)
        llogf(l, "no release watch (%s); polling only", werr);
    return l;
}

bool kube_lease_is_leader(kube_lease *l)
{
    pthread_mutex_lock(&l->mu);
    bool lead = l->leading && lw_mono_ms() - l->last_renew_ms < l->deadline_ms;
    pthread_mutex_unlock(&l->mu);
    return lead;
}

const char *kube_lease_identity(const kube_lease *l)
{
    return l->identity;
}

void kube_lease_stop(kube_lease *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    /* Its handler takes mu: stop it before mu goes. */
    kube_watch_stop(l->watch);
    json_decref(l->fetched);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l);
}
