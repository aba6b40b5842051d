/*
 * cap_capturer.c — one capture from start to finish: pick the transport and
 * the format (probing the goroutine count when debug=2 might be too
 * expensive), respect backoff and concurrency caps, run the fetch, and
 * remember per pod what was learned.
 * Not for: moving bytes (the transports) or the per-pod schedule (the
 * controller decides when to call).
 */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_internal.h"
#include "lw/lw_clock.h"
#include "lw/lw_str.h"

/* ---- lifecycle --------------------------------------------------------- */

static void share_lock(CURL *e, curl_lock_data data, curl_lock_access acc,
                       void *ud)
{
    (void)e;
    (void)acc;
    cap_capturer *c = ud;
    if ((unsigned)data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&c->share_mu[data]);
}

static void share_unlock(CURL *e, curl_lock_data data, void *ud)
{
    (void)e;
    cap_capturer *c = ud;
    if ((unsigned)data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&c->share_mu[data]);
}

void cap_share_setup(cap_capturer *c, CURL *e)
{
    if (c->share)
        curl_easy_setopt(e, CURLOPT_SHARE, c->share);
}

/*
 * A fresh easy handle per capture costs a malloc'd handle and its 16 KiB
 * receive buffer every time, a thousand times a minute at a thousand pods,
 * and the holes that churn leaves between longer-lived blocks are what
 * keeps the heap's pages resident.  Reused handles keep those blocks in
 * place.  Each transfer still opens its own connection (FORBID_REUSE in
 * the transports): an idle socket to one pod of thousands would only hold
 * memory on both ends.
 */
CURL *cap_easy_take(cap_capturer *c)
{
    CURL *e = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->neasy)
        e = c->easy_pool[--c->neasy];
    pthread_mutex_unlock(&c->mu);
    return e ? e : curl_easy_init();
}

void cap_easy_give(cap_capturer *c, CURL *e)
{
    if (!e)
        return;
    curl_easy_reset(e);
    pthread_mutex_lock(&c->mu);
    if (c->neasy < CAP_EASY_POOL) {
        c->easy_pool[c->neasy++] = e;
        e = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (e)
        curl_easy_cleanup(e);
}

static void share_free(cap_capturer *c)
{
    if (c->share) {
        curl_share_cleanup(c->share);
        c->share = NULL;
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->share_mu[i]);
}

/* Without a share every connection does a full handshake: slower, still
 * correct, so a failure here is not fatal. */
static void share_new(cap_capturer *c)
{
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_mu[i], NULL);
    c->share = curl_share_init();
    if (!c->share)
        return;
    if (curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock) ||
        curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock) ||
        curl_share_setopt(c->share, CURLSHOPT_USERDATA, c) ||
        curl_share_setopt(c->share, CURLSHOPT_SHARE,
                          CURL_LOCK_DATA_SSL_SESSION) ||
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS)) {
        curl_share_cleanup(c->share);
        c->share = NULL;
    }
}

cap_capturer *cap_capturer_new(kube_client *kube, const cap_options *opts,
                               char *err, size_t errlen)
{
    cap_options def;
    if (!opts) {
        cap_options_default(&def);
        opts = &def;
    }
    if (opts->timeout_ms <= 0 || opts->connect_timeout_ms <= 0) {
        snprintf(err, errlen, "capture options: timeouts must be positive");
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "capture: libcurl initialisation failed");
        return NULL;
    }
    cap_capturer *c = calloc(1, sizeof *c);
    if (!c) {
        curl_global_cleanup();
        snprintf(err, errlen, "capture: out of memory");
        return NULL;
    }
    c->kube = kube;
    c->o = *opts;
    c->metrics_path = strdup(opts->metrics_path ? opts->metrics_path
                                                : "/metrics");
    c->user_agent = strdup(opts->user_agent ? opts->user_agent
                                            : "leakwatch");
    c->pod_ca_file = lw_strdup(opts->pod_ca_file);
    c->nbuckets = 256;
    c->table = calloc(c->nbuckets, sizeof *c->table);
    if (!c->metrics_path || !c->user_agent || !c->table ||
        (opts->pod_ca_file && !c->pod_ca_file) ||
        pthread_mutex_init(&c->mu, NULL)) {
        free(c->metrics_path);
        free(c->user_agent);
        free(c->pod_ca_file);
        free(c->table);
        free(c);
        curl_global_cleanup();
        snprintf(err, errlen, "capture: out of memory");
        return NULL;
    }
    c->o.metrics_path = c->metrics_path;
    c->o.user_agent = c->user_agent;
    c->o.pod_ca_file = c->pod_ca_file;
    if (RAND_bytes((unsigned char *)&c->rng, sizeof c->rng) != 1 || !c->rng)
        c->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)lw_mono_ms();
    share_new(c);
    return c;
}

static void pod_state_free(cap_pod_state *s)
{
    free(s->key);
    free(s->last_error);
    free(s);
}

void cap_capturer_free(cap_capturer *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        cap_pod_state *s = c->table[i];
        while (s) {
            cap_pod_state *n = s->next;
            pod_state_free(s);
            s = n;
        }
    }
    free(c->table);
    /* Before the share: a handle still attached to it keeps it busy. */
    for (size_t i = 0; i < c->neasy; i++)
        curl_easy_cleanup(c->easy_pool[i]);
    c->neasy = 0;
    free(c->metrics_path);
    free(c->user_agent);
    free(c->pod_ca_file);
    share_free(c);
    pthread_mutex_destroy(&c->mu);
    free(c);
    curl_global_cleanup();
}

void cap_result_free(cap_result *r)
{
    if (!r)
        return;
    pprof_profile_free(r->profile);
    r->profile = NULL;
    free(r->data);
    r->data = NULL;
    r->len = 0;
}

/* ---- per-pod state ------------------------------------------------------ */

static size_t bucket_of(const cap_capturer *c, const char *key)
{
    size_t h = 5381;
    for (const unsigned char *s = (const unsigned char *)key; *s; s++)
        h = h * 33 + *s;
    return h & (c->nbuckets - 1);
}

static void grow_locked(cap_capturer *c)
{
    size_t nb = c->nbuckets * 2;
    cap_pod_state **nt = calloc(nb, sizeof *nt);
    if (!nt)
        return; /* stay at the current size: slower, still correct */
    cap_pod_state **old = c->table;
    size_t ob = c->nbuckets;
    c->table = nt;
    c->nbuckets = nb;
    for (size_t i = 0; i < ob; i++) {
        cap_pod_state *s = old[i];
        while (s) {
            cap_pod_state *n = s->next;
            size_t b = bucket_of(c, s->key);
            s->next = c->table[b];
            c->table[b] = s;
            s = n;
        }
    }
    free(old);
}

/* Under c->mu.  NULL when absent and !create, or when the table is full. */
static cap_pod_state *state_locked(cap_capturer *c, const char *key,
                                   bool create)
{
    size_t b = bucket_of(c, key);
    for (cap_pod_state *s = c->table[b]; s; s = s->next)
        if (!strcmp(s->key, key))
            return s;
    if (!create || c->npods >= c->o.max_tracked_pods)
        return NULL;
    cap_pod_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->key = strdup(key);
    if (!s->key) {
        free(s);
        return NULL;
    }
    s->count = -1;
    s->next = c->table[b];
    c->table[b] = s;
    c->npods++;
    if (c->npods > c->nbuckets * 2)
        grow_locked(c);
    return s;
}

long cap_capturer_backoff_ms(cap_capturer *c, const char *key)
{
    pthread_mutex_lock(&c->mu);
    cap_pod_state *s = state_locked(c, key, false);
    long ms = s ? cap_backoff_remaining(&s->backoff, lw_mono_ms()) : 0;
    pthread_mutex_unlock(&c->mu);
    return ms;
}

void cap_capturer_forget(cap_capturer *c, const char *key)
{
    pthread_mutex_lock(&c->mu);
    size_t b = bucket_of(c, key);
    for (cap_pod_state **pp = &c->table[b]; *pp; pp = &(*pp)->next) {
        if (!strcmp((*pp)->key, key)) {
            cap_pod_state *s = *pp;
            *pp = s->next;
            pod_state_free(s);
            c->npods--;
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
}

static double rand01_locked(cap_capturer *c)
{
    /* xorshift64*: jitter only needs to decorrelate pods. */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return (double)((c->rng * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/* ---- one fetch ---------------------------------------------------------- */

typedef struct capture_run {
    cap_capturer *c;
    const cap_target *t;
    const cap_request *req;
    cap_transport transport;
    int64_t start_ms, deadline_ms;
    uint64_t max_body;
    char key[512];
} capture_run;

static void result_init(cap_result *res)
{
    memset(res, 0, sizeof *res);
    res->goroutines = -1;
    res->requests = -1;
    res->retry_after_s = -1;
    res->ext = "txt";
}

static void set_error(const capture_run *r, cap_result *res, cap_status st,
                      const char *why)
{
    res->status = st;
    snprintf(res->error, sizeof res->error, "pod %s/%s via %s: %s",
             r->t->namespace ? r->t->namespace : "?",
             r->t->pod ? r->t->pod : "?", cap_transport_name(r->transport),
             why);
}

/* GET path through the run's transport into sink. */
static int run_fetch(capture_run *r, const char *path, cap_sink *sink,
                     cap_result *res)
{
    cap_fetch_ctx f;
    memset(&f, 0, sizeof f);
    f.c = r->c;
    f.t = r->t;
    f.path = path;
    f.sink = sink;
    f.start_ms = r->start_ms;
    f.deadline_ms = r->deadline_ms;
    f.cancel = r->req->cancel;
    f.retry_after_s = -1;
    int rc;
    switch (r->transport) {
    case CAP_TRANSPORT_DIRECT:
        rc = cap_fetch_direct(&f);
        break;
    case CAP_TRANSPORT_PROXY:
        rc = cap_fetch_proxy(&f);
        break;
    default:
        rc = cap_fetch_portforward(&f);
        break;
    }
    res->http_status = f.http_status;
    res->retry_after_s = f.retry_after_s;
    res->api_busy = f.api_busy;
    if (rc) {
        if (f.status == CAP_OK) /* defensive: a failure always has a why */
            cap_fetch_fail(&f, CAP_ERR_CONNECT, "fetch failed");
        set_error(r, res, f.status, f.error);
        return -1;
    }
    return 0;
}

static int build_path(const capture_run *r, const char *suffix, char *out,
                      size_t outlen)
{
    const char *base = r->t->path && r->t->path[0] ? r->t->path
                                                   : "/debug/pprof";
    size_t bl = strlen(base);
    while (bl > 1 && base[bl - 1] == '/')
        bl--;
    int n = snprintf(out, outlen, "%.*s%s", (int)bl, base, suffix);
    return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

static void remember_count(capture_run *r, int64_t count)
{
    pthread_mutex_lock(&r->c->mu);
    cap_pod_state *s = state_locked(r->c, r->key, true);
    if (s) {
        s->count = count;
        s->count_ms = lw_mono_ms();
    }
    pthread_mutex_unlock(&r->c->mu);
}

/* Cheap goroutine count for AUTO: go_goroutines from /metrics (stopping
 * the transfer as soon as the sample is seen), else the header of debug=1
 * (stopping after the first line).  0 when a count was found; -1 with res
 * set when the pod could not be asked at all. */
static int probe_count(capture_run *r, cap_result *res, int64_t *count,
                       const char **source)
{
    cap_capturer *c = r->c;
    bool metrics_missing;
    pthread_mutex_lock(&c->mu);
    cap_pod_state *s = state_locked(c, r->key, false);
    metrics_missing = s && s->metrics_missing;
    if (s && s->count >= 0 && c->o.count_max_age_ms > 0 &&
        lw_mono_ms() - s->count_ms <= c->o.count_max_age_ms) {
        *count = s->count;
        *source = "recent";
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    pthread_mutex_unlock(&c->mu);

    if (!metrics_missing) {
        cap_sink sink;
        cap_prom_scan scan;
        cap_sink_init(&sink, r->max_body);
        cap_prom_scan_init(&scan, "go_goroutines");
        sink.prom = &scan;
        sink.stop_when_found = true;
        cap_result pr;
        result_init(&pr);
        int rc = run_fetch(r, c->o.metrics_path, &sink, &pr);
        if (rc == 0 && !scan.found)
            cap_prom_scan_finish(&scan);
        cap_sink_release(&sink);
        if (scan.found) {
            *count = (int64_t)scan.value;
            *source = "metrics";
            return 0;
        }
        /* Only "no such gauge here" sends us to the debug=1 header; a pod
         * that cannot be reached fails the capture now. */
        if (rc && pr.status != CAP_ERR_HTTP && pr.status != CAP_ERR_PARSE) {
            *res = pr;
            return -1;
        }
        pthread_mutex_lock(&c->mu);
        s = state_locked(c, r->key, true);
        if (s)
            s->metrics_missing = true;
        pthread_mutex_unlock(&c->mu);
    }

    char path[600];
    if (build_path(r, "/goroutine?debug=1", path, sizeof path)) {
        set_error(r, res, CAP_ERR_CONFIG, "pprof path too long");
        return -1;
    }
    cap_sink sink;
    cap_sink_init(&sink, r->max_body);
    sink.header_probe = true;
    cap_result pr;
    result_init(&pr);
    int rc = run_fetch(r, path, &sink, &pr);
    int64_t total = sink.header_total;
    cap_sink_release(&sink);
    if (rc || total < 0) {
        if (!rc)
            set_error(r, &pr, CAP_ERR_PARSE,
                      "no goroutine count in the debug=1 header");
        *res = pr;
        return -1;
    }
    *count = total;
    *source = "debug=1 header";
    return 0;
}

/* Failures that say something about the pod feed its backoff; the others
 * (our config, our output, cancellation, a missing optional endpoint) do
 * not. */
static bool counts_as_failure(cap_status st)
{
    switch (st) {
    case CAP_OK: case CAP_ERR_CONFIG: case CAP_ERR_OUTPUT:
    case CAP_ERR_CANCELLED: case CAP_ERR_BACKOFF: case CAP_ERR_UNSUPPORTED:
        return false;
    default:
        return true;
    }
}

/* When a refusal's Retry-After ends (capped at the longest back-off, so a
 * hostile value cannot park anything), or without_ms from now when none came. */
static int64_t retry_after_until(const cap_capturer *c, const cap_result *res,
                                 int64_t now_ms, int64_t without_ms)
{
    int64_t ms = res->retry_after_s < 0 ? without_ms
                 : res->retry_after_s > c->o.backoff_max_ms / 1000
                     ? c->o.backoff_max_ms
                     : (int64_t)res->retry_after_s * 1000;
    return now_ms + ms;
}

static void record_outcome(capture_run *r, const cap_result *res)
{
    cap_capturer *c = r->c;
    pthread_mutex_lock(&c->mu);
    /* A 429 from the API server is its load, not the pod's failure: the
     * pause below holds back every capture through it for as long as it
     * asked, and the pod's own back-off does not grow.  Counted against
     * the pod, a few refusals in a row would park it for minutes after
     * the server had recovered. */
    bool pod_failed = counts_as_failure(res->status) && !res->api_busy;
    cap_pod_state *s = state_locked(c, r->key, pod_failed);
    if (s) {
        if (res->status == CAP_OK) {
            cap_backoff_ok(&s->backoff);
            free(s->last_error);
            s->last_error = NULL;
        } else if (pod_failed) {
            int64_t now = lw_mono_ms();
            cap_backoff_fail(&s->backoff, c->o.backoff_base_ms,
                             c->o.backoff_max_ms, c->o.backoff_jitter,
                             now, rand01_locked(c));
            /* The server said when to come back: not sooner. */
            int64_t told = retry_after_until(c, res, now, 0);
            if (told > s->backoff.next_ms)
                s->backoff.next_ms = told;
            /* Replaced only when the copy succeeds: a stale reason beats
             * none in the "backing off" message. */
            char *why = strndup(res->error, 255);
            if (why) {
                free(s->last_error);
                s->last_error = why;
            }
        }
    }
    if (res->api_busy) {
        int64_t now = lw_mono_ms();
        /* Without Retry-After, one back-off base: the refusal itself says
         * the server is shedding load. */
        int64_t until = retry_after_until(c, res, now, c->o.backoff_base_ms);
        if (until > c->api_not_before_ms) {
            c->api_not_before_ms = until;
            lw_strlcpy(c->api_busy_why, res->error, sizeof c->api_busy_why);
        }
    }
    pthread_mutex_unlock(&c->mu);
}

static bool resolve_transport(capture_run *r, cap_result *res)
{
    cap_transport t = r->req->transport != CAP_TRANSPORT_AUTO
                          ? r->req->transport
                          : r->c->o.transport;
    if (t == CAP_TRANSPORT_AUTO) {
        const kube_config *cfg = r->c->kube ? kube_client_config(r->c->kube)
                                            : NULL;
        t = (!cfg || cfg->in_cluster) ? CAP_TRANSPORT_DIRECT
                                      : CAP_TRANSPORT_PORTFORWARD;
    }
    r->transport = t;
    res->transport = t;
    return true;
}

static int begin(capture_run *r, cap_capturer *c, const cap_target *t,
                 const cap_request *req, cap_result *res)
{
    result_init(res);
    memset(r, 0, sizeof *r);
    r->c = c;
    r->t = t;
    r->req = req;
    r->start_ms = lw_mono_ms();
    long timeout = req->timeout_ms > 0 ? req->timeout_ms : c->o.timeout_ms;
    r->deadline_ms = r->start_ms + timeout;
    r->max_body = req->max_body_bytes ? req->max_body_bytes
                                      : c->o.max_body_bytes;
    resolve_transport(r, res);
    if (!t->namespace || !t->namespace[0] || !t->pod || !t->pod[0]) {
        set_error(r, res, CAP_ERR_CONFIG, "target needs a namespace and a "
                                          "pod name");
        return -1;
    }
    if (t->port == 0) {
        set_error(r, res, CAP_ERR_CONFIG, "no port for the pprof endpoint");
        return -1;
    }
    if (t->uid && t->uid[0])
        snprintf(r->key, sizeof r->key, "%s", t->uid);
    else
        snprintf(r->key, sizeof r->key, "%s/%s", t->namespace, t->pod);
    if (!req->ignore_backoff) {
        pthread_mutex_lock(&c->mu);
        cap_pod_state *s = state_locked(c, r->key, false);
        int64_t now = lw_mono_ms();
        long wait = s ? cap_backoff_remaining(&s->backoff, now) : 0;
        char why[400] = "";
        if (wait > 0) {
            snprintf(why, sizeof why, "backing off for %.1f s after %u "
                     "failed captures (last: %.250s)", (double)wait / 1000.0,
                     s->backoff.failures, s->last_error ? s->last_error : "unknown");
        } else if (r->transport != CAP_TRANSPORT_DIRECT &&
                   c->api_not_before_ms > now) {
            wait = (long)(c->api_not_before_ms - now);
            snprintf(why, sizeof why, "the API server is shedding load: "
                     "waiting %.1f s more as it asked (%.250s)",
                     (double)wait / 1000.0, c->api_busy_why);
        }
        pthread_mutex_unlock(&c->mu);
        if (wait > 0) {
            set_error(r, res, CAP_ERR_BACKOFF, why);
            return -1;
        }
    }
    if (req->sched) {
        if (cap_scheduler_acquire(req->sched, t->node, timeout)) {
            set_error(r, res, CAP_ERR_TIMEOUT, "no capture slot free within "
                                               "the timeout");
            return -1;
        }
    }
    return 0;
}

static void end(capture_run *r, cap_result *res)
{
    if (r->req->sched)
        cap_scheduler_release(r->req->sched, r->t->node);
    res->seconds = (double)(lw_mono_ms() - r->start_ms) / 1000.0;
}

/* The fetch that produces the capture: raw bytes to the request's outputs,
 * the parser or the gauge scan fed in the same pass. */
static int main_fetch(capture_run *r, const char *path, bool profile,
                      cap_result *res)
{
    const cap_request *req = r->req;
    cap_sink sink;
    cap_prom_scan scan;
    pprof_parser *parser = NULL;
    cap_sink_init(&sink, r->max_body);
    sink.out = req->out;
    sink.to_memory = req->to_memory;
    lw_strlcpy(res->path, path, sizeof res->path);
    if (profile && req->parse) {
        char name[1400];
        snprintf(name, sizeof name, "pod %.250s/%.250s %.600s",
                 r->t->namespace, r->t->pod, path);
        parser = pprof_parser_new(name, &r->c->o.parse_limits);
        if (!parser) {
            set_error(r, res, CAP_ERR_PARSE, "out of memory for the parser");
            return -1;
        }
        sink.parser = parser;
    }
    if (!profile) {
        cap_prom_scan_init(&scan, "go_goroutines");
        sink.prom = &scan;
    }
    int rc = run_fetch(r, path, &sink, res);
    res->bytes = sink.bytes;
    if (rc == 0 && parser) {
        res->profile = pprof_parser_finish(parser);
        if (!res->profile) {
            const char *pe = pprof_parser_error(parser);
            set_error(r, res, cap_parse_error_status(pe),
                      pe ? pe : "the profile could not be parsed");
            rc = -1;
        } else {
            res->goroutines = (int64_t)res->profile->total;
            snprintf(res->count_source, sizeof res->count_source, "profile");
        }
    }
    if (rc == 0 && !profile) {
        if (!scan.found) {
            set_error(r, res, CAP_ERR_UNSUPPORTED,
                      "no go_goroutines sample in the /metrics response");
            rc = -1;
        } else {
            res->goroutines = (int64_t)scan.value;
            res->requests = scan.requests_found ? scan.requests : -1;
            snprintf(res->count_source, sizeof res->count_source, "metrics");
        }
    }
    if (rc == 0 && req->to_memory) {
        res->data = sink.data;
        res->len = sink.len;
        sink.data = NULL;
    }
    cap_sink_release(&sink);
    pprof_parser_free(parser);
    return rc;
}

int cap_fetch(cap_capturer *c, const cap_target *t, const cap_request *req,
              const char *path, cap_result *res)
{
    capture_run r;
    if (begin(&r, c, t, req, res))
        return -1;
    res->kind = req->kind;
    cap_sink sink;
    cap_sink_init(&sink, r.max_body);
    sink.out = req->out;
    sink.to_memory = req->to_memory;
    lw_strlcpy(res->path, path, sizeof res->path);
    int rc = run_fetch(&r, path, &sink, res);
    res->bytes = sink.bytes;
    if (rc == 0 && req->to_memory) {
        res->data = sink.data;
        res->len = sink.len;
        sink.data = NULL;
    }
    cap_sink_release(&sink);
    end(&r, res);
    return rc;
}

int cap_capture(cap_capturer *c, const cap_target *t, const cap_request *req,
                cap_result *res)
{
    capture_run r;
    if (begin(&r, c, t, req, res))
        return -1;
    cap_kind kind = req->kind;
    char path[600];
    const char *suffix = NULL;
    bool profile = true;
    int rc = 0;

    if (kind == CAP_KIND_GOROUTINE) {
        switch (c->o.goroutine_format) {
        case CAP_FORMAT_DEBUG1: kind = CAP_KIND_GOROUTINE_DEBUG1; break;
        case CAP_FORMAT_DEBUG2: kind = CAP_KIND_GOROUTINE_DEBUG2; break;
        case CAP_FORMAT_PROTO: kind = CAP_KIND_GOROUTINE_PROTO; break;
        default: {
            int64_t count = -1;
            const char *source = "";
            if (probe_count(&r, res, &count, &source)) {
                rc = -1;
                break;
            }
            remember_count(&r, count);
            bool big = (uint64_t)count > c->o.debug2_max_goroutines;
            kind = big ? CAP_KIND_GOROUTINE_PROTO : CAP_KIND_GOROUTINE_DEBUG2;
            snprintf(res->why_format, sizeof res->why_format,
                     "%s: %lld goroutines %s %llu (%s)",
                     big ? "protobuf" : "debug=2", (long long)count,
                     big ? ">" : "<=",
                     (unsigned long long)c->o.debug2_max_goroutines, source);
            res->goroutines = count;
            snprintf(res->count_source, sizeof res->count_source, "%s",
                     source);
        }
        }
    }
    if (rc == 0 && kind == CAP_KIND_GOROUTINELEAK) {
        pthread_mutex_lock(&c->mu);
        cap_pod_state *s = state_locked(c, r.key, false);
        bool unsupported = s && s->leak_unsupported;
        pthread_mutex_unlock(&c->mu);
        if (unsupported) {
            set_error(&r, res, CAP_ERR_UNSUPPORTED,
                      "the goroutineleak profile is not served (404 "
                      "earlier; needs Go 1.26 with "
                      "GOEXPERIMENT=goroutineleakprofile)");
            rc = -1;
        }
    }
    res->kind = kind;
    if (rc == 0) {
        switch (kind) {
        case CAP_KIND_GOROUTINE_DEBUG1: suffix = "/goroutine?debug=1"; break;
        case CAP_KIND_GOROUTINE_DEBUG2: suffix = "/goroutine?debug=2"; break;
        case CAP_KIND_GOROUTINE_PROTO:
            suffix = "/goroutine";
            res->ext = "pb.gz";
            break;
        case CAP_KIND_GOROUTINELEAK:
            /* debug=1 lists only the leaked goroutines (debug=2 would dump
             * every goroutine); protobuf when that is the configured
             * format. */
            if (c->o.goroutine_format == CAP_FORMAT_PROTO) {
                suffix = "/goroutineleak";
                res->ext = "pb.gz";
            } else {
                suffix = "/goroutineleak?debug=1";
            }
            break;
        case CAP_KIND_METRICS:
            profile = false;
            res->ext = "prom";
            break;
        default:
            suffix = "/goroutine?debug=2";
            break;
        }
        if (profile ? build_path(&r, suffix, path, sizeof path)
                    : snprintf(path, sizeof path, "%s", c->o.metrics_path) >=
                          (int)sizeof path) {
            set_error(&r, res, CAP_ERR_CONFIG, "request path too long");
            rc = -1;
        }
    }
    if (rc == 0) {
        /* The probe's count is replaced by the profile's own total, if it
         * is parsed. */
        rc = main_fetch(&r, path, profile, res);
        if (rc && kind == CAP_KIND_GOROUTINELEAK && res->http_status == 404) {
            pthread_mutex_lock(&c->mu);
            cap_pod_state *s = state_locked(c, r.key, true);
            if (s)
                s->leak_unsupported = true;
            pthread_mutex_unlock(&c->mu);
            char why[700];
            snprintf(why, sizeof why, "the goroutineleak profile is not "
                     "served (HTTP 404; needs Go 1.26 with "
                     "GOEXPERIMENT=goroutineleakprofile)");
            set_error(&r, res, CAP_ERR_UNSUPPORTED, why);
        }
        if (rc && kind == CAP_KIND_METRICS && res->http_status == 404)
            set_error(&r, res, CAP_ERR_UNSUPPORTED,
                      "the pod serves no /metrics (HTTP 404)");
        if (rc && kind == CAP_KIND_METRICS &&
            res->status == CAP_ERR_UNSUPPORTED) {
            pthread_mutex_lock(&c->mu);
            cap_pod_state *s = state_locked(c, r.key, true);
            if (s)
                s->metrics_missing = true;
            pthread_mutex_unlock(&c->mu);
        }
        if (rc == 0 && res->goroutines >= 0 &&
            kind != CAP_KIND_GOROUTINELEAK) {
            remember_count(&r, res->goroutines);
            if (kind == CAP_KIND_METRICS) {
                pthread_mutex_lock(&c->mu);
                cap_pod_state *s = state_locked(c, r.key, false);
                if (s)
                    s->metrics_missing = false;
                pthread_mutex_unlock(&c->mu);
            }
        }
    }
    record_outcome(&r, res);
    end(&r, res);
    return rc;
}
