/*
 * capture.h — fetching goroutine profiles (and the go_goroutines gauge) from
 * pods, under time, size and concurrency limits.
 *
 * Three transports carry the same HTTP GET to the pod's pprof endpoint:
 *   direct       HTTP(S) to podIP:port (what an in-cluster controller does);
 *   portforward  pods/NAME/portforward over WebSocket (v4.channel.k8s.io)
 *                through the API server, with the client's credentials —
 *                what `kubectl port-forward` + curl does, without either;
 *   proxy        pods/[https:]NAME:PORT/proxy/PATH through the API server.
 * AUTO picks direct in-cluster and portforward outside.
 *
 * A capture stores the RAW bytes the pod served (byte-for-byte what curl
 * would save) to a FILE and/or memory, and can stream the same bytes into a
 * pprof parser so the model is built in the same pass.  Every call is
 * synchronous and thread-safe: callers run captures on their own threads and
 * bound them with a cap_scheduler (global and per-node caps).  A capturer
 * remembers per pod what it learned (backoff after failures, a 404 on the
 * goroutineleak endpoint, the last goroutine count) so repeated captures stay
 * cheap and polite.
 *
 * Not for: choosing which pods to capture or when (pkg/controller),
 * resolving annotations into an endpoint (pkg/kube/kube_pods.h), or what a
 * profile means (pkg/analysis).
 */
#ifndef CAPTURE_H
#define CAPTURE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kube/kube.h"
#include "pprof/pprof.h"

typedef enum cap_transport {
    CAP_TRANSPORT_AUTO = 0,
    CAP_TRANSPORT_DIRECT,
    CAP_TRANSPORT_PORTFORWARD,
    CAP_TRANSPORT_PROXY,
} cap_transport;

typedef enum cap_kind {
    CAP_KIND_GOROUTINE = 0,    /* debug=2, or protobuf when the process is
                                  too big for a cheap debug=2 (see options) */
    CAP_KIND_GOROUTINE_DEBUG1,
    CAP_KIND_GOROUTINE_DEBUG2,
    CAP_KIND_GOROUTINE_PROTO,
    CAP_KIND_GOROUTINELEAK,    /* Go 1.26 /debug/pprof/goroutineleak        */
    CAP_KIND_METRICS,          /* go_goroutines from /metrics               */
} cap_kind;

/* Which format CAP_KIND_GOROUTINE fetches. */
typedef enum cap_goroutine_format {
    CAP_FORMAT_AUTO = 0, /* debug=2 unless the count exceeds the threshold */
    CAP_FORMAT_DEBUG1,
    CAP_FORMAT_DEBUG2,
    CAP_FORMAT_PROTO,
} cap_goroutine_format;

typedef enum cap_status {
    CAP_OK = 0,
    CAP_ERR_CONFIG,      /* bad target or options                          */
    CAP_ERR_CONNECT,     /* could not reach the pod / API server           */
    CAP_ERR_TIMEOUT,     /* connect, stall or total deadline               */
    CAP_ERR_HTTP,        /* the pod answered with a non-2xx status         */
    CAP_ERR_FORBIDDEN,   /* the API server refused (401/403)               */
    CAP_ERR_NOT_FOUND,   /* pod gone (before or during the capture)        */
    CAP_ERR_TOO_LARGE,   /* body or decompressed size over the limit       */
    CAP_ERR_PARSE,       /* bytes arrived but are not a valid profile      */
    CAP_ERR_PROTOCOL,    /* WebSocket/HTTP framing broken                  */
    CAP_ERR_UNSUPPORTED, /* endpoint absent (goroutineleak 404), gauge
                            missing from /metrics                          */
    CAP_ERR_BACKOFF,     /* skipped: the pod is backing off after failures */
    CAP_ERR_CANCELLED,
    CAP_ERR_OUTPUT,      /* writing the raw bytes failed                   */
} cap_status;

typedef struct cap_options {
    cap_transport transport;        /* default AUTO                         */
    cap_goroutine_format goroutine_format; /* default AUTO                  */
    /* AUTO: above this many goroutines fetch protobuf instead of debug=2,
     * which stops the world for the whole dump on huge processes. */
    uint64_t debug2_max_goroutines; /* default 50,000                       */
    /* A count seen this recently (by a METRICS capture or an earlier
     * profile) decides AUTO without a probe request; 0 always probes. */
    long count_max_age_ms;          /* default 120,000                      */
    long connect_timeout_ms;        /* default 5,000                        */
    long timeout_ms;                /* whole capture, default 60,000        */
    long stall_timeout_ms;          /* no byte for this long: fail (15,000) */
    /* While stalled, check this often that the pod still exists, so a pod
     * deleted mid-capture fails at once with that reason (0: never). */
    long pod_check_ms;              /* default 5,000                        */
    uint64_t max_body_bytes;        /* raw bytes, default 256 MiB           */
    pprof_limits parse_limits;      /* max_decompressed_bytes etc.          */
    /* Per-pod backoff after a failed capture: base * 2^(n-1), +-jitter,
     * capped. */
    long backoff_base_ms;           /* default 10,000                       */
    long backoff_max_ms;            /* default 600,000                      */
    double backoff_jitter;          /* fraction, default 0.2                */
    /* Caps the controller passes to cap_scheduler_new. */
    int max_in_flight;              /* default 16                           */
    int max_in_flight_per_node;     /* default 4                            */
    size_t max_tracked_pods;        /* per-pod state entries (100,000)      */
    /* Pods serving https rarely have a certificate valid for their IP; by
     * default the certificate is not verified.  Nothing secret is sent to
     * pods (credentials go only to the API server), so this only risks
     * reading a spoofed profile. */
    bool pod_tls_verify;
    const char *pod_ca_file;        /* with pod_tls_verify                  */
    const char *metrics_path;       /* default "/metrics"                   */
    const char *user_agent;         /* default "leakwatch/<version>"        */
} cap_options;

void cap_options_default(cap_options *o);

/* Where a pod's endpoint is.  Strings are borrowed for the call. */
typedef struct cap_target {
    const char *namespace;
    const char *pod;
    const char *uid;       /* keys per-pod state; NULL: "namespace/pod"     */
    const char *node;      /* for per-node caps; NULL or "" if unknown       */
    const char *pod_ip;    /* needed by the direct transport                 */
    uint16_t port;
    const char *path;      /* pprof base path; NULL: "/debug/pprof"          */
    bool https;
} cap_target;

typedef struct cap_scheduler cap_scheduler;

typedef struct cap_request {
    cap_kind kind;
    cap_transport transport;   /* AUTO: the capturer's option             */
    FILE *out;                 /* raw bytes written here when set         */
    bool to_memory;            /* keep raw bytes in result.data           */
    bool parse;                /* build result.profile in the same pass   */
    bool ignore_backoff;       /* one-off captures (CLI): try anyway       */
    long timeout_ms;           /* 0: the capturer's option                */
    uint64_t max_body_bytes;   /* 0: the capturer's option                */
    cap_scheduler *sched;      /* when set, holds a slot for target.node
                                  for the duration (waits up to timeout)  */
    const atomic_bool *cancel; /* set it from another thread to abort     */
} cap_request;

typedef struct cap_result {
    cap_status status;
    cap_kind kind;             /* resolved (never CAP_KIND_GOROUTINE) once
                                  the capture got as far as choosing      */
    cap_transport transport;   /* resolved: never AUTO                      */
    long http_status;          /* the pod's status; 0 when none arrived     */
    uint64_t bytes;            /* raw body bytes                            */
    double seconds;            /* wall time of the whole capture            */
    char path[512];            /* the request path fetched from the pod     */
    const char *ext;           /* file extension for the raw bytes: "txt",
                                  "pb.gz" or "prom" (static string)        */
    /* Goroutine count when known: go_goroutines (METRICS), the probe or the
     * profile's total; -1 when unknown.  count_source says which. */
    int64_t goroutines;
    char count_source[32];
    /* METRICS: the pod's request counter (cap_prom_scan), -1 when it
     * exports none. */
    double requests;
    char why_format[128];      /* AUTO's reason, e.g. "debug=2: 812
                                  goroutines <= 50000 (metrics)"           */
    pprof_profile *profile;    /* when request.parse (caller owns)          */
    unsigned char *data;       /* when request.to_memory (caller owns)      */
    size_t len;
    /* One line naming pod, transport and why, e.g. `pod default/web-1 via
     * portforward: error forwarding port 6060 to pod ..., uid ...: failed
     * to dial 127.0.0.1:6060: connection refused`. */
    char error[1024];
    /* A refusal's Retry-After in seconds, -1 when none: the pod's back-off
     * lasts at least that long (capped at backoff_max_ms).  api_busy: the
     * API server shed the request (429), and every capture through it
     * waits as long. */
    long retry_after_s;
    bool api_busy;
} cap_result;

/* Frees profile and data; keeps the rest readable. */
void cap_result_free(cap_result *r);

typedef struct cap_capturer cap_capturer;

/* kube may be NULL (then only the direct transport works).  The capturer
 * borrows kube and copies opts (strings too). */
cap_capturer *cap_capturer_new(kube_client *kube, const cap_options *opts,
                               char *err, size_t errlen);
void cap_capturer_free(cap_capturer *c);

/* Runs one capture; 0 on success, -1 otherwise (res->status, res->error).
 * res is always initialised; free it with cap_result_free.  On failure
 * req->out may already hold part of the body (the caller discards it). */
int cap_capture(cap_capturer *c, const cap_target *t, const cap_request *req,
                cap_result *res);
/* GET one path (with query) from the pod, any 2xx body into the request's
 * outputs; for things that are not a known kind (e.g. /healthz).  Honours
 * backoff but does not feed it: one odd path says little about the pod. */
int cap_fetch(cap_capturer *c, const cap_target *t, const cap_request *req,
              const char *path, cap_result *res);

/* Per-pod state.  key is the target's uid (or "namespace/pod"). */
/* Milliseconds until the pod may be captured again (0: now). */
long cap_capturer_backoff_ms(cap_capturer *c, const char *key);
/* Drop what is known about a pod (deleted, restarted). */
void cap_capturer_forget(cap_capturer *c, const char *key);

/* ---- concurrency caps -------------------------------------------------- */

/* At most max_global captures at once, at most max_per_node on one node
 * (<= 0: no per-node cap).  Thread-safe. */
cap_scheduler *cap_scheduler_new(int max_global, int max_per_node);
void cap_scheduler_free(cap_scheduler *s);
bool cap_scheduler_try_acquire(cap_scheduler *s, const char *node);
/* Waits up to timeout_ms (<0: forever).  0 when a slot was taken. */
int cap_scheduler_acquire(cap_scheduler *s, const char *node,
                          long timeout_ms);
void cap_scheduler_release(cap_scheduler *s, const char *node);
/* In-flight count on node, or in total when node is NULL. */
int cap_scheduler_in_flight(cap_scheduler *s, const char *node);

/* ---- backoff (exposed for the controller's own retries and tests) ------ */

typedef struct cap_backoff {
    uint32_t failures;
    int64_t next_ms;   /* monotonic ms before which we wait               */
} cap_backoff;

/* Records a failure at now_ms; rand01 in [0,1) drives the jitter.  Returns
 * the delay chosen. */
long cap_backoff_fail(cap_backoff *b, long base_ms, long max_ms,
                      double jitter, int64_t now_ms, double rand01);
void cap_backoff_ok(cap_backoff *b);
long cap_backoff_remaining(const cap_backoff *b, int64_t now_ms);

/* ---- names and small parsers ------------------------------------------- */

const char *cap_transport_name(cap_transport t); /* "portforward", ...     */
const char *cap_kind_name(cap_kind k);  /* "goroutine-debug2", "metrics"... */
const char *cap_status_name(cap_status s);
/* -1 when the name is unknown. */
int cap_transport_parse(const char *s, cap_transport *out);
int cap_kind_parse(const char *s, cap_kind *out);
/* File extension for a kind's raw bytes: "txt", "pb.gz", "prom". */
const char *cap_kind_ext(cap_kind k);

/*
 * Streaming scan of Prometheus text exposition for one gauge (e.g.
 * go_goroutines): the first sample of that metric, labels or not, optional
 * timestamp.  Lines are bounded (4 KiB for a matching line; longer lines
 * of other metrics are skipped).  On the way it sums the first request
 * counter family it meets (cap_prom_is_request_counter).
 */
typedef struct cap_prom_scan {
    char metric[64];
    char line[4096];
    size_t line_len;
    bool skipping;     /* rest of a line too long to hold                  */
    bool found;
    double value;
    bool requests_found;
    double requests;            /* summed over the family's samples        */
    char requests_family[96];   /* "http_requests_total"                   */
    bool failed;
    char error[160];
} cap_prom_scan;

/* Whether a metric name counts requests served: *_requests_total (not
 * promhttp_metric_handler_requests_total, which counts scrapes),
 * grpc_server_handled_total, http_server_request_duration_seconds_count. */
bool cap_prom_is_request_counter(const char *name, size_t len);

void cap_prom_scan_init(cap_prom_scan *s, const char *metric);
/* 0 ok (keep feeding, check s->found), -1 on a malformed matching line. */
int cap_prom_scan_feed(cap_prom_scan *s, const void *data, size_t len);
/* Call at EOF: a last line without '\n' is considered.  0 when found. */
int cap_prom_scan_finish(cap_prom_scan *s);

#endif
