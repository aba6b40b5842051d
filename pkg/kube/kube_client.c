/*
 * kube_client.c — HTTP to the API server: one libcurl multi handle driven by
 * one I/O thread (see the concurrency model in kube.h), TLS verified by
 * default, credentials applied per attempt (static token, token file
 * re-read about every minute, exec plugin, client certificates, basic auth,
 * impersonation), a client-side token bucket, retries with exponential
 * backoff and jitter, and API errors decoded into sentences.
 *
 * Life of a request: kube_request_async() puts it on the `incoming` queue
 * and wakes the I/O thread (curl_multi_wakeup).  The thread moves it to its
 * FIFO wait list; a request leaves that list when its backoff has passed
 * and the rate limiter grants a token, becoming one easy handle on the
 * multi.  When curl reports it done the thread either schedules another
 * attempt (back onto the wait list with a not-before time) or calls `done`
 * exactly once and frees it.  kube_request() is that, plus a condition
 * variable the calling thread sleeps on.
 *
 * Retry policy (non-stream requests, max_retries attempts after the first):
 *   - 429 and 503 with Retry-After: any verb (the server did not act);
 *   - 429 and 5xx (not 501) otherwise: idempotent verbs only;
 *   - transport errors: idempotent verbs; connect/resolve failures (nothing
 *     was sent): any verb; TLS verification failures: never (they do not
 *     heal);
 *   - 401 once per request when credentials can be refreshed (exec plugin,
 *     token file), outside max_retries.
 * A sleep is min(max_backoff, Retry-After) when the server sent one, else
 * 250 ms * 2^n capped at max_backoff, with "equal jitter" (half fixed, half
 * random) so clients that failed together do not retry together.
 *
 * Not for: watches, caches, events, leases (kube_watch.c and friends build
 * on kube_request_async) or configuration (kube_config.c).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "kube/kube.h"
#include "kube/kube_internal.h"
#include "lw/lw_clock.h"
#include "lw/lw_grow.h"
#include "lw/lw_str.h"

#ifndef LW_VERSION
#define LW_VERSION "dev"
#endif

#define BACKOFF_BASE_MS 250
#define TOKEN_FILE_REFRESH_MS 60000
#define STREAM_ERROR_BODY_MAX 65536
#define IDLE_POLL_MS 60000

typedef enum req_state { ST_WAITING, ST_RUNNING } req_state;

struct kube_async {
    kube_client *c;
    char *method, *path, *url, *body, *content_type;
    size_t body_len;
    bool stream, idempotent;
    long low_speed_time_s;
    kube_data_fn on_data;
    kube_done_fn done;
    void *ud;

    /* I/O thread only */
    req_state state;
    int64_t not_before_ms;
    int attempts;          /* attempts started */
    int retries;           /* attempts beyond the first, 401 refresh aside */
    bool auth_retried;
    unsigned auth_gen;     /* credential generation this attempt used */
    CURL *easy;
    struct curl_slist *hdrs;
    char *buf;
    size_t len, cap;
    bool too_big, oom, aborted;
    long retry_after_s;
    char errbuf[CURL_ERROR_SIZE];
    struct kube_async *qnext; /* incoming queue or wait list */

    /* under c->mu */
    bool cancelled, cancel_seen;
    struct kube_async *lprev, *lnext; /* live list */
    struct kube_async *cnext;         /* cancel batch */
};

struct kube_client {
    kube_config *cfg;
    kube_client_opts opts;
    char *user_agent;
    char *base_url;  /* scheme://host:port[/prefix] as URLs are built */
    char *hostport;  /* the real server, for messages */
    struct curl_slist *connect_to;
    CURLM *multi;
    CURLSH *share;
    pthread_t thread;
    bool thread_started;

    pthread_mutex_t mu;
    kube_async *in_head, *in_tail;
    kube_async *live;
    bool stopping, cancel_pending;
    kube_request_observer obs;
    void *obs_ud;

    /* I/O thread only */
    kube_async *wait_head, *wait_tail;
    double tokens;
    int64_t tokens_at_ms;
    int64_t rl_wait_ms; /* >= 0 when a ready request waits for a token */
    uint64_t rng;

    pthread_mutex_t auth_mu;
    char *bearer;          /* from the token file */
    int64_t bearer_read_ms;
    bool auth_stale;
    unsigned auth_gen;
};

/* ---- responses ---------------------------------------------------------- */

void kube_response_free(kube_response *r)
{
    if (!r)
        return;
    free(r->body);
    json_decref(r->json);
    r->body = NULL;
    r->json = NULL;
    r->body_len = 0;
}

static void response_init(kube_response *r)
{
    memset(r, 0, sizeof *r);
    r->retry_after_s = -1;
}

/* ---- small helpers -------------------------------------------------------- */

static uint64_t rng_next(kube_client *c)
{
    uint64_t x = c->rng; /* xorshift64*: jitter only, not security */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static bool verb_idempotent(const char *m)
{
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") ||
           !strcmp(m, "DELETE") || !strcmp(m, "OPTIONS");
}

/* Appends to a message buffer; truncation is fine for messages. */
__attribute__((format(printf, 3, 4))) static void
appendf(char *buf, size_t len, const char *fmt, ...)
{
    size_t n = strlen(buf);
    if (n + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, len - n, fmt, ap);
    va_end(ap);
}

void kube_client_opts_default(kube_client_opts *o)
{
    memset(o, 0, sizeof *o);
    o->qps = 20;
    o->burst = 40;
    o->connect_timeout_ms = 5000;
    o->timeout_ms = 30000;
    o->max_retries = 5;
    o->max_backoff_ms = 30000;
    o->max_body_bytes = (size_t)64 << 20;
    o->user_agent = NULL;
}

static void opts_resolve(const kube_client_opts *in, kube_client_opts *o)
{
    kube_client_opts_default(o);
    if (!in)
        return;
    if (in->qps != 0)
        o->qps = in->qps;
    if (in->burst > 0)
        o->burst = in->burst;
    if (in->connect_timeout_ms > 0)
        o->connect_timeout_ms = in->connect_timeout_ms;
    if (in->timeout_ms > 0)
        o->timeout_ms = in->timeout_ms;
    if (in->max_retries != 0)
        o->max_retries = in->max_retries < 0 ? 0 : in->max_retries;
    if (in->max_backoff_ms > 0)
        o->max_backoff_ms = in->max_backoff_ms;
    if (in->max_body_bytes > 0)
        o->max_body_bytes = in->max_body_bytes;
    o->user_agent = in->user_agent;
}

/* ---- credentials ------------------------------------------------------- */

static char *read_token(const char *path, int *en)
{
    char *buf;
    size_t len;
    if (kube_read_file(path, 1u << 20, &buf, &len) != 0) {
        *en = errno;
        return NULL;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
                       buf[len - 1] == ' ' || buf[len - 1] == '\t'))
        buf[--len] = '\0';
    if (!len) {
        free(buf);
        *en = ENODATA;
        return NULL;
    }
    return buf;
}

static bool auth_refreshable(const kube_client *c)
{
    return c->cfg->exec || c->cfg->token_file;
}

/* Appends the Authorization (and impersonation) headers for the current
 * credentials to *h and sets client-certificate blobs from an exec plugin.
 * May run the exec plugin or read the token file. */
static int auth_apply(kube_client *c, CURL *e, struct curl_slist **h,
                      unsigned *gen, char *err, size_t errlen)
{
    const kube_config *cfg = c->cfg;
    char *hdr = NULL;
    int rc = 0;
    pthread_mutex_lock(&c->auth_mu);
    bool force = c->auth_stale;
    const char *token = cfg->token;
    if (cfg->exec) {
        const kube_exec_cred *cr;
        if (kube_exec_credential(cfg->exec, force, lw_wall_ms() / 1000, &cr,
                                 err, errlen) != 0) {
            rc = -1;
            goto out;
        }
        if (force)
            c->auth_gen++;
        if (cr->token)
            token = cr->token;
        if (cr->cert_pem && e) {
            struct curl_blob cb = {cr->cert_pem, cr->cert_len, CURL_BLOB_COPY};
            struct curl_blob kb = {cr->key_pem, cr->key_len, CURL_BLOB_COPY};
            curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cb);
            curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &kb);
        }
    } else if (cfg->token_file) {
        int64_t now = lw_mono_ms();
        if (force || !c->bearer ||
            now - c->bearer_read_ms >= TOKEN_FILE_REFRESH_MS) {
            int en = 0;
            char *t = read_token(cfg->token_file, &en);
            if (t) {
                free(c->bearer);
                c->bearer = t;
                c->bearer_read_ms = now;
                if (force)
                    c->auth_gen++;
            } else if (!c->bearer || force) {
                /* A rotated token that cannot be read is an error; a
                 * transient read failure keeps the last good token. */
                snprintf(err, errlen, "%s: tokenFile %s: %s",
                         cfg->source ? cfg->source : "kubeconfig",
                         cfg->token_file,
                         en == ENODATA ? "file is empty" : strerror(en));
                rc = -1;
                goto out;
            }
        }
        token = c->bearer;
    }
    c->auth_stale = false;
    if (gen)
        *gen = c->auth_gen;
    if (token && *token) {
        size_t n = strlen(token) + 32;
        if (!(hdr = malloc(n)))
            goto oom;
        snprintf(hdr, n, "Authorization: Bearer %s", token);
        struct curl_slist *nh = curl_slist_append(*h, hdr);
        if (!nh)
            goto oom;
        *h = nh;
    } else if (cfg->username && e) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, cfg->username);
        curl_easy_setopt(e, CURLOPT_PASSWORD,
                         cfg->password ? cfg->password : "");
    }
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
    rc = -1;
out:
    pthread_mutex_unlock(&c->auth_mu);
    free(hdr);
    return rc;
}

/* A 401 came back for credentials of generation gen: refresh before the
 * next use, unless someone already has. */
static void auth_invalidate(kube_client *c, unsigned gen)
{
    pthread_mutex_lock(&c->auth_mu);
    if (gen == c->auth_gen)
        c->auth_stale = true;
    pthread_mutex_unlock(&c->auth_mu);
}

void kube_client_auth_rejected(kube_client *c)
{
    pthread_mutex_lock(&c->auth_mu);
    c->auth_stale = true;
    pthread_mutex_unlock(&c->auth_mu);
}

/* ---- easy handle setup ---------------------------------------------------- */

static int add_header(struct curl_slist **h, const char *name, const char *v)
{
    char line[1024];
    /* "Name:" with nothing after it tells curl to drop that header. */
    snprintf(line, sizeof line, "%s:%s%s", name, *v ? " " : "", v);
    struct curl_slist *nh = curl_slist_append(*h, line);
    if (!nh)
        return -1;
    *h = nh;
    return 0;
}

/* What every handle that talks to this server needs: TLS, routing,
 * timeouts, identity. */
static int setup_common(kube_client *c, CURL *e, struct curl_slist **h,
                        unsigned *gen, char *err, size_t errlen)
{
    const kube_config *cfg = c->cfg;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 15L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    if (c->connect_to)
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, c->connect_to);
    if (cfg->proxy_url)
        curl_easy_setopt(e, CURLOPT_PROXY, cfg->proxy_url);
    if (cfg->insecure_skip_tls_verify) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    }
    if (cfg->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
    if (cfg->ca_data) {
        struct curl_blob b = {cfg->ca_data, cfg->ca_data_len, CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
    }
    if (cfg->cert_file) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, cfg->cert_file);
        curl_easy_setopt(e, CURLOPT_SSLKEY, cfg->key_file);
    }
    if (cfg->cert_data) {
        struct curl_blob cb = {cfg->cert_data, cfg->cert_data_len,
                               CURL_BLOB_COPY};
        struct curl_blob kb = {cfg->key_data, cfg->key_data_len,
                               CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cb);
        curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &kb);
    }
    if (auth_apply(c, e, h, gen, err, errlen) != 0)
        return -1;
    if (cfg->impersonate_user &&
        add_header(h, "Impersonate-User", cfg->impersonate_user))
        goto oom;
    for (char **g = cfg->impersonate_groups; g && *g; g++)
        if (add_header(h, "Impersonate-Group", *g))
            goto oom;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int kube_client_setup_easy(kube_client *c, CURL *easy,
                           struct curl_slist **headers, char *err,
                           size_t errlen)
{
    return setup_common(c, easy, headers, NULL, err, errlen);
}

int kube_client_url(const kube_client *c, const char *path, char *out,
                    size_t outlen)
{
    int n = snprintf(out, outlen, "%s%s", c->base_url, path);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* ---- transfer callbacks ---------------------------------------------------- */

static int buf_add(kube_async *a, const char *p, size_t n)
{
    /* + NUL */
    if (lw_grow(&a->buf, &a->cap, a->len + n, 1, 16384))
        return -1;
    memcpy(a->buf + a->len, p, n);
    a->len += n;
    a->buf[a->len] = '\0';
    return 0;
}

static size_t on_write(char *p, size_t sz, size_t nmemb, void *ud)
{
    kube_async *a = ud;
    size_t n = sz * nmemb;
    if (a->stream) {
        long code = 0;
        curl_easy_getinfo(a->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200 && code < 300) {
            if (a->on_data && a->on_data(p, n, a->ud) != 0) {
                a->aborted = true;
                return 0;
            }
            return n;
        }
        /* An error status on a stream: keep the Status body to decode. */
        size_t room = a->len < STREAM_ERROR_BODY_MAX
                          ? STREAM_ERROR_BODY_MAX - a->len
                          : 0;
        if (buf_add(a, p, n < room ? n : room) != 0) {
            a->oom = true;
            return 0;
        }
        return n;
    }
    if (a->len + n > a->c->opts.max_body_bytes) {
        a->too_big = true;
        return 0;
    }
    if (buf_add(a, p, n) != 0) {
        a->oom = true;
        return 0;
    }
    return n;
}

static size_t on_header(char *p, size_t sz, size_t nmemb, void *ud)
{
    kube_async *a = ud;
    size_t n = sz * nmemb;
    if (n >= 5 && !strncmp(p, "HTTP/", 5)) {
        a->retry_after_s = -1; /* a new response (after 100 Continue) */
    } else {
        long secs = kube_retry_after_line(p, n);
        if (secs >= 0)
            a->retry_after_s = secs;
    }
    return n;
}

/* ---- the request object --------------------------------------------------- */

static void req_free(kube_async *a)
{
    if (!a)
        return;
    if (a->easy)
        curl_easy_cleanup(a->easy);
    curl_slist_free_all(a->hdrs);
    free(a->method);
    free(a->path);
    free(a->url);
    free(a->body);
    free(a->content_type);
    free(a->buf);
    free(a);
}

static void live_unlink(kube_client *c, kube_async *a)
{
    if (a->lprev)
        a->lprev->lnext = a->lnext;
    else if (c->live == a)
        c->live = a->lnext;
    if (a->lnext)
        a->lnext->lprev = a->lprev;
    a->lprev = a->lnext = NULL;
}

static void observe(kube_client *c, const char *verb, long code, double secs)
{
    pthread_mutex_lock(&c->mu);
    kube_request_observer fn = c->obs;
    void *ud = c->obs_ud;
    pthread_mutex_unlock(&c->mu);
    if (fn)
        fn(verb, code, secs, ud);
}

/* Calls done exactly once and frees a.  r's contents are freed after. */
static void finish(kube_client *c, kube_async *a, kube_response *r)
{
    pthread_mutex_lock(&c->mu);
    live_unlink(c, a);
    pthread_mutex_unlock(&c->mu);
    a->done(r, a->ud);
    kube_response_free(r);
    req_free(a);
}

static void finish_error(kube_client *c, kube_async *a, long status,
                         const char *msg)
{
    kube_response r;
    response_init(&r);
    r.status = status;
    snprintf(r.error, sizeof r.error, "%s", msg);
    finish(c, a, &r);
}

static void wait_push(kube_client *c, kube_async *a)
{
    a->state = ST_WAITING;
    a->qnext = NULL;
    if (c->wait_tail)
        c->wait_tail->qnext = a;
    else
        c->wait_head = a;
    c->wait_tail = a;
}

static void wait_remove(kube_client *c, kube_async *a)
{
    kube_async *prev = NULL;
    for (kube_async *p = c->wait_head; p; prev = p, p = p->qnext) {
        if (p != a)
            continue;
        if (prev)
            prev->qnext = p->qnext;
        else
            c->wait_head = p->qnext;
        if (c->wait_tail == p)
            c->wait_tail = prev;
        p->qnext = NULL;
        return;
    }
}

/* ---- attempts --------------------------------------------------------------- */

static int start_attempt(kube_client *c, kube_async *a, char *err,
                         size_t errlen)
{
    CURL *e = curl_easy_init();
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    a->easy = e;
    a->len = 0;
    a->too_big = a->oom = a->aborted = false;
    a->retry_after_s = -1;
    a->errbuf[0] = '\0';
    curl_slist_free_all(a->hdrs);
    a->hdrs = NULL;

    char aerr[512];
    if (setup_common(c, e, &a->hdrs, &a->auth_gen, aerr, sizeof aerr) != 0) {
        snprintf(err, errlen, "%s", aerr);
        return -1;
    }
    curl_easy_setopt(e, CURLOPT_SHARE, c->share);
    curl_easy_setopt(e, CURLOPT_URL, a->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, a);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, a->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, a);
    if (a->stream) {
        if (a->low_speed_time_s > 0) {
            curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
            curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, a->low_speed_time_s);
        }
    } else {
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->opts.timeout_ms);
        /* Big LISTs compress well; max_body_bytes counts decoded bytes, so
         * compression cannot smuggle past it. */
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    }
    bool has_body = false;
    if (!strcmp(a->method, "GET")) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (!strcmp(a->method, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, a->method);
        /* POST/PUT/PATCH always carry a body (maybe empty) with our
         * Content-Type: curl would otherwise label it as a form. */
        if (a->body || strcmp(a->method, "DELETE") != 0) {
            has_body = true;
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                             (curl_off_t)(a->body ? a->body_len : 0));
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, a->body ? a->body : "");
        }
    }
    if (add_header(&a->hdrs, "Accept", "application/json") ||
        add_header(&a->hdrs, "Expect", "") ||
        (has_body &&
         add_header(&a->hdrs, "Content-Type",
                    a->content_type ? a->content_type : "application/json"))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->hdrs);
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        snprintf(err, errlen, "cannot start the transfer");
        return -1;
    }
    a->attempts++;
    a->state = ST_RUNNING;
    return 0;
}

static bool rl_take(kube_client *c, int64_t now, int64_t *wait_ms)
{
    if (c->opts.qps < 0)
        return true;
    double elapsed = (double)(now - c->tokens_at_ms) / 1000.0;
    c->tokens_at_ms = now;
    c->tokens += elapsed * c->opts.qps;
    if (c->tokens > c->opts.burst)
        c->tokens = c->opts.burst;
    if (c->tokens >= 1.0) {
        c->tokens -= 1.0;
        return true;
    }
    double need_ms = (1.0 - c->tokens) * 1000.0 / c->opts.qps;
    *wait_ms = (int64_t)need_ms + 1;
    return false;
}

static void start_ready(kube_client *c)
{
    int64_t now = lw_mono_ms();
    c->rl_wait_ms = -1;
    kube_async *a = c->wait_head;
    while (a) {
        kube_async *next = a->qnext;
        if (a->not_before_ms > now) {
            a = next;
            continue;
        }
        int64_t w;
        if (!rl_take(c, now, &w)) {
            /* FIFO: later requests do not overtake one waiting for a token. */
            c->rl_wait_ms = w;
            return;
        }
        wait_remove(c, a);
        char err[600];
        if (start_attempt(c, a, err, sizeof err) != 0) {
            if (a->easy) {
                curl_easy_cleanup(a->easy);
                a->easy = NULL;
            }
            observe(c, a->method, 0, 0);
            finish_error(c, a, 0, err);
        }
        a = next;
    }
}

static int64_t backoff_ms(kube_client *c, int retry, long retry_after_s)
{
    int64_t cap = c->opts.max_backoff_ms;
    if (retry_after_s >= 0) {
        int64_t d = (int64_t)retry_after_s * 1000;
        if (d > cap)
            d = cap;
        return d + (int64_t)(rng_next(c) % 100);
    }
    int64_t d = BACKOFF_BASE_MS;
    for (int i = 1; i < retry && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    int64_t half = d / 2;
    return half + (half > 0 ? (int64_t)(rng_next(c) % (uint64_t)(half + 1)) : 0);
}

static bool curl_connect_failure(CURLcode r)
{
    return r == CURLE_COULDNT_CONNECT || r == CURLE_COULDNT_RESOLVE_HOST ||
           r == CURLE_COULDNT_RESOLVE_PROXY;
}

static bool curl_transient(CURLcode r)
{
    switch (r) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
        return true;
    default:
        return false;
    }
}

static void transport_error(kube_client *c, kube_async *a, CURLcode res,
                            char *out, size_t outlen)
{
    long oserr = 0;
    curl_easy_getinfo(a->easy, CURLINFO_OS_ERRNO, &oserr);
    const char *detail = a->errbuf[0] ? a->errbuf : curl_easy_strerror(res);
    switch (res) {
    case CURLE_COULDNT_CONNECT:
        snprintf(out, outlen, "connect to %s: %s", c->hostport,
                 oserr ? strerror((int)oserr) : detail);
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        snprintf(out, outlen, "resolve %s: %s", c->hostport, detail);
        break;
    case CURLE_OPERATION_TIMEDOUT: {
        curl_off_t conn = 0;
        curl_easy_getinfo(a->easy, CURLINFO_CONNECT_TIME_T, &conn);
        if (conn == 0)
            snprintf(out, outlen, "connect to %s: timed out after %ld ms",
                     c->hostport, c->opts.connect_timeout_ms);
        else if (a->stream)
            snprintf(out, outlen, "%s %s: no data for %ld s", a->method,
                     a->path, a->low_speed_time_s);
        else
            snprintf(out, outlen, "%s %s: no complete response within %ld ms",
                     a->method, a->path, c->opts.timeout_ms);
        break;
    }
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
        snprintf(out, outlen, "TLS with %s: %s", c->hostport, detail);
        break;
    default:
        snprintf(out, outlen, "%s %s: %s", a->method, a->path, detail);
        break;
    }
}

static void with_attempts(char *msg, size_t msglen, int attempts)
{
    if (attempts > 1)
        appendf(msg, msglen, " (after %d attempts)", attempts);
}

static void retry_later(kube_client *c, kube_async *a, int64_t delay_ms)
{
    curl_easy_cleanup(a->easy);
    a->easy = NULL;
    a->not_before_ms = lw_mono_ms() + delay_ms;
    wait_push(c, a);
}

/* Builds the final response of a completed (non-retried) attempt. */
static void build_response(kube_client *c, kube_async *a, long code,
                           kube_response *r)
{
    r->status = code;
    r->retry_after_s = a->retry_after_s;
    if (a->buf) {
        r->body = a->buf;
        r->body_len = a->len;
        a->buf = NULL;
        a->len = a->cap = 0;
    } else if (!a->stream) {
        r->body = calloc(1, 1);
    }
    const char *ct = NULL;
    curl_easy_getinfo(a->easy, CURLINFO_CONTENT_TYPE, &ct);
    bool looks_json = r->body_len && (r->body[0] == '{' || r->body[0] == '[');
    bool is_json = ct ? strstr(ct, "json") != NULL : looks_json;
    json_error_t je;
    if (r->body_len && (is_json || looks_json))
        r->json = json_loadb(r->body, r->body_len, 0, &je);
    if (code >= 200 && code < 300) {
        if (is_json && r->body_len && !r->json && !a->stream)
            snprintf(r->error, sizeof r->error,
                     "%s %s: invalid JSON in the response (%s at line %d "
                     "column %d)",
                     a->method, a->path, je.text, je.line, je.column);
        return;
    }
    kube_status_decode(code, r->json, r->body, r->body_len, r->error,
                       sizeof r->error, r->reason, sizeof r->reason);
    if (code == 401) {
        const kube_config *cfg = c->cfg;
        appendf(r->error, sizeof r->error,
                ": the API server at %s rejected the credentials of user "
                "\"%s\" (%s)",
                c->hostport,
                cfg->user_name && *cfg->user_name ? cfg->user_name
                                                  : "(anonymous)",
                cfg->source ? cfg->source : "kubeconfig");
    }
    with_attempts(r->error, sizeof r->error, a->attempts);
}

static void complete(kube_client *c, kube_async *a, CURLcode res)
{
    curl_multi_remove_handle(c->multi, a->easy);
    a->state = ST_WAITING; /* not running; may be re-queued below */
    long code = 0;
    curl_easy_getinfo(a->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_off_t us = 0;
    curl_easy_getinfo(a->easy, CURLINFO_TOTAL_TIME_T, &us);
    observe(c, a->method, res == CURLE_OK ? code : 0, (double)us / 1e6);

    pthread_mutex_lock(&c->mu);
    bool cancelled = a->cancelled;
    a->cancel_seen = a->cancel_seen || cancelled;
    pthread_mutex_unlock(&c->mu);
    if (cancelled) {
        finish_error(c, a, 0, "cancelled");
        return;
    }

    kube_response r;
    response_init(&r);
    if (res == CURLE_WRITE_ERROR && a->too_big) {
        snprintf(r.error, sizeof r.error,
                 "%s %s: response body larger than the %zu-byte limit "
                 "(max_body_bytes)",
                 a->method, a->path, c->opts.max_body_bytes);
        finish(c, a, &r);
        return;
    }
    if (res == CURLE_WRITE_ERROR && (a->oom || a->aborted)) {
        r.status = a->aborted ? code : 0;
        snprintf(r.error, sizeof r.error, "%s %s: %s", a->method, a->path,
                 a->aborted ? "stream stopped by its reader" : "out of memory");
        finish(c, a, &r);
        return;
    }
    if (res != CURLE_OK) {
        char msg[512];
        transport_error(c, a, res, msg, sizeof msg);
        bool may = !a->stream && curl_transient(res) &&
                   (a->idempotent || curl_connect_failure(res));
        if (may && a->retries < c->opts.max_retries) {
            a->retries++;
            retry_later(c, a, backoff_ms(c, a->retries, -1));
            return;
        }
        snprintf(r.error, sizeof r.error, "%s", msg);
        with_attempts(r.error, sizeof r.error, a->attempts);
        finish(c, a, &r);
        return;
    }
    if (code == 401) {
        auth_invalidate(c, a->auth_gen);
        if (!a->stream && !a->auth_retried && auth_refreshable(c)) {
            a->auth_retried = true;
            retry_later(c, a, 0);
            return;
        }
    }
    bool server_busy = code == 429 || (code >= 500 && code != 501);
    if (!a->stream && server_busy && a->retries < c->opts.max_retries) {
        bool not_processed = (code == 429 || code == 503) &&
                             a->retry_after_s >= 0;
        if (not_processed || a->idempotent) {
            a->retries++;
            retry_later(c, a, backoff_ms(c, a->retries, a->retry_after_s));
            return;
        }
    }
    build_response(c, a, code, &r);
    finish(c, a, &r);
}

static void drain(kube_client *c)
{
    CURLMsg *m;
    int q;
    while ((m = curl_multi_info_read(c->multi, &q))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        kube_async *a = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&a);
        CURLcode res = m->data.result;
        if (a)
            complete(c, a, res);
    }
}

static void process_cancels(kube_client *c)
{
    kube_async *batch = NULL;
    pthread_mutex_lock(&c->mu);
    for (kube_async *a = c->live; a; a = a->lnext)
        if (a->cancelled && !a->cancel_seen) {
            a->cancel_seen = true;
            a->cnext = batch;
            batch = a;
        }
    pthread_mutex_unlock(&c->mu);
    while (batch) {
        kube_async *a = batch;
        batch = a->cnext;
        if (a->state == ST_RUNNING) {
            curl_multi_remove_handle(c->multi, a->easy);
        } else {
            wait_remove(c, a);
        }
        finish_error(c, a, 0, "cancelled");
    }
}

static void shutdown_all(kube_client *c)
{
    for (;;) {
        pthread_mutex_lock(&c->mu);
        kube_async *a = c->live;
        pthread_mutex_unlock(&c->mu);
        if (!a)
            break;
        if (a->state == ST_RUNNING && a->easy)
            curl_multi_remove_handle(c->multi, a->easy);
        finish_error(c, a, 0, "client shutting down");
    }
    c->wait_head = c->wait_tail = NULL;
    c->in_head = c->in_tail = NULL;
}

static long next_timeout(kube_client *c)
{
    int64_t now = lw_mono_ms();
    int64_t t = IDLE_POLL_MS;
    if (c->rl_wait_ms >= 0 && c->rl_wait_ms < t)
        t = c->rl_wait_ms;
    for (kube_async *a = c->wait_head; a; a = a->qnext) {
        int64_t d = a->not_before_ms - now;
        if (d <= 0) {
            if (c->rl_wait_ms < 0)
                return 0;
            continue; /* waits for the limiter, counted above */
        }
        if (d < t)
            t = d;
    }
    return (long)(t < 0 ? 0 : t);
}

static void *io_main(void *arg)
{
    kube_client *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (c->in_head) {
            kube_async *a = c->in_head;
            c->in_head = a->qnext;
            wait_push(c, a);
        }
        c->in_tail = NULL;
        bool stop = c->stopping, cancels = c->cancel_pending;
        c->cancel_pending = false;
        pthread_mutex_unlock(&c->mu);
        if (stop)
            break;
        if (cancels)
            process_cancels(c);
        start_ready(c);
        int running = 0;
        curl_multi_perform(c->multi, &running);
        drain(c);
        pthread_mutex_lock(&c->mu);
        bool more = c->in_head || c->cancel_pending || c->stopping;
        pthread_mutex_unlock(&c->mu);
        long t = more ? 0 : next_timeout(c);
        curl_multi_poll(c->multi, NULL, 0, (int)t, NULL);
    }
    shutdown_all(c);
    return NULL;
}

/* ---- public API -------------------------------------------------------- */

kube_async *kube_request_async(kube_client *c, const kube_async_spec *spec)
{
    if (!c || !spec || !spec->method || !spec->path || !spec->done ||
        spec->path[0] != '/')
        return NULL;
    kube_async *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->c = c;
    a->method = strdup(spec->method);
    a->path = strdup(spec->path);
    a->content_type = lw_strdup(spec->content_type);
    size_t ul = strlen(c->base_url) + strlen(spec->path) + 1;
    a->url = malloc(ul);
    if (a->url)
        snprintf(a->url, ul, "%s%s", c->base_url, spec->path);
    if (spec->body) {
        a->body = json_dumps(spec->body, JSON_COMPACT | JSON_ENCODE_ANY);
        a->body_len = a->body ? strlen(a->body) : 0;
    }
    if (!a->method || !a->path || !a->url || (spec->body && !a->body) ||
        (spec->content_type && !a->content_type)) {
        req_free(a);
        return NULL;
    }
    a->stream = spec->stream;
    a->low_speed_time_s = spec->low_speed_time_s;
    a->on_data = spec->on_data;
    a->done = spec->done;
    a->ud = spec->ud;
    a->idempotent = verb_idempotent(a->method);
    a->retry_after_s = -1;
    pthread_mutex_lock(&c->mu);
    if (c->stopping) {
        pthread_mutex_unlock(&c->mu);
        req_free(a);
        return NULL;
    }
    a->lnext = c->live;
    if (c->live)
        c->live->lprev = a;
    c->live = a;
    if (c->in_tail)
        c->in_tail->qnext = a;
    else
        c->in_head = a;
    c->in_tail = a;
    pthread_mutex_unlock(&c->mu);
    curl_multi_wakeup(c->multi);
    return a;
}

void kube_async_cancel(kube_client *c, kube_async *a)
{
    if (!c || !a)
        return;
    pthread_mutex_lock(&c->mu);
    /* Only handles still live: cancelling one that just completed is a
     * harmless no-op rather than a use after free inside the client. */
    for (kube_async *p = c->live; p; p = p->lnext)
        if (p == a) {
            a->cancelled = true;
            c->cancel_pending = true;
            break;
        }
    pthread_mutex_unlock(&c->mu);
    curl_multi_wakeup(c->multi);
}

typedef struct sync_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    kube_response *r;
} sync_wait;

static void sync_done(kube_response *r, void *ud)
{
    sync_wait *w = ud;
    pthread_mutex_lock(&w->mu);
    *w->r = *r;
    r->body = NULL; /* ownership moves to the waiting caller */
    r->json = NULL;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int kube_request(kube_client *c, const char *method, const char *path,
                 const json_t *body, const char *content_type,
                 kube_response *r)
{
    response_init(r);
    if (!method || !path || path[0] != '/') {
        snprintf(r->error, sizeof r->error, "%s %s: path must start with /",
                 method ? method : "?", path ? path : "(null)");
        return -1;
    }
    if (c->thread_started && pthread_equal(pthread_self(), c->thread)) {
        snprintf(r->error, sizeof r->error,
                 "%s %s: kube_request called on the client's I/O thread "
                 "(it would deadlock; use kube_request_async)",
                 method, path);
        return -1;
    }
    /* Run a due exec plugin / token refresh here, on the caller's thread,
     * instead of stalling every stream on the I/O thread; its failure is
     * this request's error. */
    char aerr[512];
    struct curl_slist *h = NULL;
    int arc = auth_apply(c, NULL, &h, NULL, aerr, sizeof aerr);
    curl_slist_free_all(h);
    if (arc != 0) {
        snprintf(r->error, sizeof r->error, "%s", aerr);
        return -1;
    }
    sync_wait w = {.done = false, .r = r};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    kube_async_spec spec = {.method = method,
                            .path = path,
                            .body = body,
                            .content_type = content_type,
                            .done = sync_done,
                            .ud = &w};
    if (!kube_request_async(c, &spec)) {
        snprintf(r->error, sizeof r->error,
                 "%s %s: client shutting down or out of memory", method, path);
    } else {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return r->status >= 200 && r->status < 300 && !r->error[0] ? 0 : -1;
}

int kube_get(kube_client *c, const char *path, kube_response *r)
{
    return kube_request(c, "GET", path, NULL, NULL, r);
}

void kube_client_set_observer(kube_client *c, kube_request_observer fn,
                              void *ud)
{
    pthread_mutex_lock(&c->mu);
    c->obs = fn;
    c->obs_ud = ud;
    pthread_mutex_unlock(&c->mu);
}

const kube_config *kube_client_config(const kube_client *c)
{
    return c->cfg;
}

/* Splits the server URL; with tls-server-name the URL carries that name and
 * CURLOPT_CONNECT_TO sends the connection to the real host. */
static int client_urls(kube_client *c, char *err, size_t errlen)
{
    const kube_config *cfg = c->cfg;
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *upath = NULL;
    int rc = -1;
    if (!u || curl_url_set(u, CURLUPART_URL, cfg->server, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
            CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &upath, 0) != CURLUE_OK) {
        snprintf(err, errlen, "%s: server \"%s\" is not a valid URL",
                 cfg->source ? cfg->source : "kubeconfig", cfg->server);
        goto out;
    }
    size_t n = strlen(host) + strlen(port) + 2;
    if (!(c->hostport = malloc(n)))
        goto oom;
    snprintf(c->hostport, n, "%s:%s", host, port);
    size_t pl = strlen(upath);
    while (pl > 0 && upath[pl - 1] == '/')
        upath[--pl] = '\0';
    if (cfg->tls_server_name) {
        size_t bl = strlen(scheme) + strlen(cfg->tls_server_name) +
                    strlen(port) + pl + 8;
        if (!(c->base_url = malloc(bl)))
            goto oom;
        snprintf(c->base_url, bl, "%s://%s:%s%s", scheme, cfg->tls_server_name,
                 port, upath);
        char line[1024];
        snprintf(line, sizeof line, "%s:%s:%s:%s", cfg->tls_server_name, port,
                 host, port);
        if (!(c->connect_to = curl_slist_append(NULL, line)))
            goto oom;
    } else {
        size_t bl = strlen(scheme) + strlen(host) + strlen(port) + pl + 8;
        if (!(c->base_url = malloc(bl)))
            goto oom;
        snprintf(c->base_url, bl, "%s://%s:%s%s", scheme, host, port, upath);
    }
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(upath);
    curl_url_cleanup(u);
    return rc;
}

kube_client *kube_client_new(const kube_config *cfg,
                             const kube_client_opts *opts, char *err,
                             size_t errlen)
{
    if (!cfg || !cfg->server) {
        snprintf(err, errlen, "kube client: no server configured");
        return NULL;
    }
    /* Reference-counted and thread-safe in the libcurl we build against
     * (curl >= 7.84 with the threadsafe feature). */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "kube client: libcurl initialisation failed");
        return NULL;
    }
    kube_client *c = calloc(1, sizeof *c);
    if (!c) {
        curl_global_cleanup();
        snprintf(err, errlen, "kube client: out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->auth_mu, NULL);
    opts_resolve(opts, &c->opts);
    c->rl_wait_ms = -1;
    c->tokens = c->opts.burst;
    c->tokens_at_ms = lw_mono_ms();
    c->rng = (uint64_t)lw_wall_ms() ^ ((uint64_t)(uintptr_t)c << 16) ^
             0x9E3779B97F4A7C15ULL;
    if (!c->rng)
        c->rng = 1;
    char ua[256];
    snprintf(ua, sizeof ua, "leakwatch/%s", LW_VERSION);
    c->user_agent = strdup(c->opts.user_agent ? c->opts.user_agent : ua);
    c->opts.user_agent = NULL;
    c->cfg = kube_config_dup(cfg);
    if (!c->user_agent || !c->cfg) {
        snprintf(err, errlen, "kube client: out of memory");
        goto fail;
    }
    if (client_urls(c, err, errlen) != 0)
        goto fail;
    c->multi = curl_multi_init();
    c->share = curl_share_init();
    if (!c->multi || !c->share) {
        snprintf(err, errlen, "kube client: libcurl handles: out of memory");
        goto fail;
    }
    /* One I/O thread uses the share: no lock callbacks needed. */
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    /* HTTP/2 multiplexes everything over one or two connections; the cap
     * matters for HTTP/1.1 (plain http), where each watch holds one. */
    curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 32L);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 32L);
    /* The I/O thread blocks asynchronous signals, so they reach the
     * program's own threads, and SIGPIPE, so a TLS write to a connection
     * the server closed (OpenSSL writes without MSG_NOSIGNAL) fails with
     * EPIPE instead of killing the process.  Synchronous faults stay. */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGABRT);
    sigdelset(&all, SIGTRAP);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int perr = pthread_create(&c->thread, NULL, io_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (perr != 0) {
        snprintf(err, errlen, "kube client: cannot start the I/O thread: %s",
                 strerror(perr));
        goto fail;
    }
    c->thread_started = true;
    return c;
fail:
    kube_client_free(c);
    return NULL;
}

void kube_client_free(kube_client *c)
{
    if (!c)
        return;
    if (c->thread_started) {
        pthread_mutex_lock(&c->mu);
        c->stopping = true;
        pthread_mutex_unlock(&c->mu);
        curl_multi_wakeup(c->multi);
        pthread_join(c->thread, NULL);
    }
    if (c->multi)
        curl_multi_cleanup(c->multi);
    if (c->share)
        curl_share_cleanup(c->share);
    curl_slist_free_all(c->connect_to);
    free(c->base_url);
    free(c->hostport);
    free(c->user_agent);
    free(c->bearer);
    kube_config_free(c->cfg);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->auth_mu);
    free(c);
    curl_global_cleanup();
}
