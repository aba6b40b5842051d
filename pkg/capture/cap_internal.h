/*
 * cap_internal.h — what the files of pkg/capture share and nobody else
 * sees: the capturer's struct, the sink every transport writes the body
 * into, and the transport entry points.
 *
 * Not for: callers outside pkg/capture (use capture.h).
 */
#ifndef CAP_INTERNAL_H
#define CAP_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>

#include "capture/capture.h"

/* ---- the capturer ------------------------------------------------------ */

/* Easy handles kept between captures: more than the workers that capture
 * at once, so a handle is seldom created in steady state. */
#define CAP_EASY_POOL 32

typedef struct cap_pod_state {
    struct cap_pod_state *next;
    char *key;
    cap_backoff backoff;
    /* Why the last capture failed; NULL while captures succeed.  Kept off
     * the struct: one record per tracked pod, and most pods never fail. */
    char *last_error;
    bool leak_unsupported;   /* goroutineleak answered 404                 */
    bool metrics_missing;    /* /metrics absent or without go_goroutines   */
    int64_t count;           /* last goroutine count seen, -1: none        */
    int64_t count_ms;        /* when (monotonic ms)                        */
} cap_pod_state;

struct cap_capturer {
    kube_client *kube;       /* borrowed; NULL: direct only                 */
    cap_options o;           /* strings below are owned copies             */
    char *metrics_path, *user_agent, *pod_ca_file;
    pthread_mutex_t mu;      /* guards the pod table and the jitter state  */
    cap_pod_state **table;
    size_t nbuckets, npods;
    uint64_t rng;            /* jitter PRNG (xorshift), seeded from OpenSSL */
    /* TLS sessions (and DNS) shared by every capture's connection: each
     * port-forward is a new connection to the API server, and resuming the
     * session skips most of the handshake's cost on both ends. */
    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
    /* Captures through the API server (port-forward, proxy) wait until
     * this monotonic time after it answered 429 with Retry-After: APF
     * throttles the client, so asking again for another pod only adds to
     * the load it is shedding.  Guarded by mu. */
    int64_t api_not_before_ms;
    char api_busy_why[300];
    /* Easy handles between transfers (cap_easy_take/give), guarded by mu. */
    CURL *easy_pool[CAP_EASY_POOL];
    size_t neasy;
};

/* Puts the capturer's shared TLS session cache on an easy handle. */
void cap_share_setup(cap_capturer *c, CURL *e);

/* An easy handle for one HTTP transfer: one from the pool when there is
 * one, with every option back at its default, else a new one; NULL when
 * out of memory.  Give it back with cap_easy_give once the transfer is
 * over (which resets it, so nothing on the caller's stack stays set). */
CURL *cap_easy_take(cap_capturer *c);
void cap_easy_give(cap_capturer *c, CURL *e);

/* Monotonic milliseconds. */

/* ---- the sink: where a 2xx body goes ----------------------------------- */

typedef struct cap_sink {
    FILE *out;
    bool to_memory;
    unsigned char *data;
    size_t len, cap;
    pprof_parser *parser;    /* owned by the caller                        */
    cap_prom_scan *prom;     /* scan for a gauge (METRICS, count probe)    */
    bool stop_when_found;    /* probe: stop once prom found the gauge      */
    /* Probe of a debug=1 body: read only "goroutine profile: total N". */
    bool header_probe;
    char header[160];
    size_t header_len;
    int64_t header_total;    /* -1 until read                               */
    uint64_t bytes, max_bytes;
    bool stopped_ok;         /* stopped on purpose: the probe has its answer */
    cap_status status;       /* on failure                                  */
    char error[512];
} cap_sink;

void cap_sink_init(cap_sink *s, uint64_t max_bytes);
/* Frees memory the sink allocated (data unless taken). */
void cap_sink_release(cap_sink *s);
/* 0 to continue; -1 to stop: failure (status/error set) or, with
 * stopped_ok, because a probe has what it needs. */
int cap_sink_write(cap_sink *s, const void *data, size_t len);
/* Body complete: flush the file, finish scans.  0 ok, -1 failure. */
int cap_sink_finish(cap_sink *s);

/* ---- one fetch through one transport ----------------------------------- */

typedef struct cap_fetch_ctx {
    cap_capturer *c;
    const cap_target *t;
    const char *path;          /* request path and query                  */
    cap_sink *sink;
    int64_t start_ms, deadline_ms;
    const atomic_bool *cancel;
    /* out */
    long http_status;          /* the pod's status, 0 when none            */
    cap_status status;
    char error[900];           /* the "why" part only                      */
    /* A non-2xx body, kept (bounded) for the message. */
    char errbody[512];
    size_t errbody_len;
    char errbody_type[96];     /* its Content-Type                          */
    /* Retry-After of a refusal, in seconds; -1 when none came.  api_busy:
     * the API server shed the request (429), so every capture through it
     * should wait, not just this pod's; never set on a direct fetch. */
    long retry_after_s;
    bool api_busy;
} cap_fetch_ctx;

int cap_fetch_direct(cap_fetch_ctx *f);
int cap_fetch_proxy(cap_fetch_ctx *f);
int cap_fetch_portforward(cap_fetch_ctx *f);

/* Shared by the transports. */
int cap_fetch_fail(cap_fetch_ctx *f, cap_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends to the kept non-2xx body (bounded). */
void cap_fetch_keep_errbody(cap_fetch_ctx *f, const void *data, size_t len);
/* Sets status/error for a non-2xx answer from the pod (or from the API
 * server, when the body is a Kubernetes Status). */
void cap_fetch_http_error(cap_fetch_ctx *f, bool via_apiserver);
/* Why to stop now, or 0: cancelled, deadline, stall (after checking that
 * the pod still exists).  last_rx_ms is when the last byte arrived. */
int cap_fetch_check(cap_fetch_ctx *f, int64_t last_rx_ms,
                    int64_t *next_pod_check_ms);
/* Turns a CURLcode from a transfer we aborted or that failed into
 * status/error (keeps an earlier, more specific error). */
int cap_fetch_curl_error(cap_fetch_ctx *f, CURLcode rc, const char *errbuf,
                         const char *what);

/* CAP_ERR_TOO_LARGE for a parser error that is one of its size limits
 * (pkg/pprof marks those "(limit; raise with ...)"), else CAP_ERR_PARSE. */
cap_status cap_parse_error_status(const char *parser_error);

/* Kubernetes Status JSON → its message; 0 when body was one. */
int cap_status_message(const char *body, size_t len, char *out, size_t outlen,
                       char *reason, size_t reasonlen);

/* Copies src into dst (n bytes, always terminated), truncating. */

/* URL-escapes a path segment (pod names are DNS labels, but be safe). */

#endif
