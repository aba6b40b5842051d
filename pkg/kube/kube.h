/*
 * kube.h — talking to a Kubernetes API server: configuration like kubectl,
 * requests over libcurl, API errors decoded into sentences.
 *
 * Concurrency model (the subtle part — read before using callbacks):
 *   A kube_client owns ONE I/O thread running a libcurl multi handle and a
 *   poll loop.  Every request, synchronous or not, is an easy handle on that
 *   multi, so hundreds of in-flight requests and several long watches cost
 *   sockets, not threads, and connections/TLS sessions are reused across
 *   all of them.
 *   - kube_request() may be called from any thread EXCEPT the I/O thread:
 *     it submits and blocks until the response is complete.
 *   - kube_request_async() callbacks (done, on_data) run ON the I/O thread:
 *     they must be quick and must never call kube_request() (deadlock);
 *     they may call kube_request_async().
 *   The client-side rate limiter (QPS/burst, token bucket) and the retry
 *   policy (429/5xx with backoff, Retry-After honoured; transport errors on
 *   idempotent verbs) apply to both.  Streams (watches) are exempt from the
 *   total timeout and from retries: the watch layer reconnects itself.
 *
 * Not for: watch/cache semantics (kube_watch.h, kube_cache.h), Events,
 * eviction, leases (their own headers) — they are built on this.
 */
#ifndef KUBE_H
#define KUBE_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- configuration ---------------------------------------------------- */

typedef enum kube_incluster_mode {
    KUBE_INCLUSTER_AUTO = 0, /* in-cluster when KUBERNETES_SERVICE_HOST is
                                set and no kubeconfig is given/found     */
    KUBE_INCLUSTER_NEVER,
    KUBE_INCLUSTER_ALWAYS,
} kube_incluster_mode;

typedef struct kube_config_opts {
    const char *kubeconfig;  /* --kubeconfig: one file; overrides $KUBECONFIG */
    const char *context;     /* --context: overrides current-context        */
    kube_incluster_mode incluster;
    /* In-cluster paths, overridable for tests (NULL = the standard
     * /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}). */
    const char *sa_dir;
} kube_config_opts;

typedef struct kube_exec_config kube_exec_config; /* private to kube_exec.c */

typedef struct kube_config {
    char *server;          /* "https://127.0.0.1:6443" (no trailing slash)  */
    char *ca_file;         /* PEM file, or NULL                              */
    char *ca_data;         /* PEM bytes (decoded from base64), or NULL      */
    size_t ca_data_len;
    bool insecure_skip_tls_verify;
    char *tls_server_name;
    char *cert_file, *key_file;       /* client cert: files...              */
    char *cert_data, *key_data;       /* ...or PEM bytes                    */
    size_t cert_data_len, key_data_len;
    char *token;                      /* static bearer token                */
    char *token_file;                 /* re-read about every minute, on 401 */
    kube_exec_config *exec;           /* exec credential plugin, or NULL    */
    char *username, *password;        /* basic auth (legacy), or NULL       */
    char *impersonate_user;           /* Impersonate-User, or NULL          */
    char **impersonate_groups;        /* NULL-terminated, or NULL           */
    char *namespace;                  /* context's namespace or "default"   */
    char *context_name, *cluster_name, *user_name;
    char *source;                     /* file(s) it came from, for errors   */
    bool in_cluster;
    char *proxy_url;                  /* cluster's proxy-url, or NULL       */
} kube_config;

/* 0 on success.  On failure -1 and a one-line message naming the file and
 * the field ("kubeconfig /x/config: context \"dev\" not found"). */
int kube_config_load(const kube_config_opts *opts, kube_config **out,
                     char *err, size_t errlen);
void kube_config_free(kube_config *cfg);

/* ---- client ----------------------------------------------------------- */

/* Fields left 0 take the default (so a zeroed struct works); a negative
 * max_retries means no retries, a negative qps no rate limit. */
typedef struct kube_client_opts {
    double qps;              /* default 20; <0 disables limiting            */
    int burst;               /* default 40                                   */
    long connect_timeout_ms; /* default 5000                                 */
    long timeout_ms;         /* whole request, non-stream (default 30000)   */
    int max_retries;         /* 429/5xx/transport retries (default 5)        */
    long max_backoff_ms;     /* cap on one backoff sleep (default 30000)     */
    size_t max_body_bytes;   /* refuse larger responses (default 64 MiB)     */
    const char *user_agent;  /* default "leakwatch/<version>"                */
} kube_client_opts;

typedef struct kube_client kube_client;

void kube_client_opts_default(kube_client_opts *o);
/* The client keeps its own copy of what it needs from cfg. */
kube_client *kube_client_new(const kube_config *cfg,
                             const kube_client_opts *opts, char *err,
                             size_t errlen);
/* Cancels in-flight requests (their done callbacks see status 0 and
 * error "client shutting down"), joins the I/O thread, frees.  Not from a
 * callback (it would join its own thread). */
void kube_client_free(kube_client *c);
const kube_config *kube_client_config(const kube_client *c);

/* Counters for metrics: requests by verb and HTTP code (0 = transport),
 * one call per attempt, on the I/O thread. */
typedef void (*kube_request_observer)(const char *verb, long code,
                                      double seconds, void *ud);
void kube_client_set_observer(kube_client *c, kube_request_observer fn,
                              void *ud);

typedef struct kube_response {
    long status;        /* HTTP status; 0 when no response (transport)     */
    char *body;         /* NUL-terminated (not for streams)                */
    size_t body_len;
    json_t *json;       /* parsed body when it was JSON, else NULL          */
    /* For non-2xx: the API Status decoded into a sentence, e.g.
     * `pods "x" is forbidden: User "system:serviceaccount:a:b" cannot get
     * resource "pods" in API group "" in the namespace "a"` (403), or the
     * transport error ("connect to 127.0.0.1:6443: Connection refused"). */
    char error[768];
    char reason[64];    /* Status.reason: "NotFound", "Expired", "Conflict",
                           "TooManyRequests", "Forbidden"... or ""        */
    long retry_after_s; /* Retry-After seconds, -1 when absent             */
} kube_response;

void kube_response_free(kube_response *r); /* frees contents, not r */

/* Synchronous: 0 for 2xx, -1 otherwise (r->status/error/reason say why).
 * path is absolute ("/api/v1/namespaces/x/pods?limit=500"); body may be
 * NULL; content_type NULL means application/json.  Never call from the
 * I/O thread. */
int kube_request(kube_client *c, const char *method, const char *path,
                 const json_t *body, const char *content_type,
                 kube_response *r);
/* GET + JSON convenience. */
int kube_get(kube_client *c, const char *path, kube_response *r);

/* Asynchronous requests and streams.
 * done's r and its contents belong to the client and are freed when done
 * returns: json_incref(r->json), or take r->body and set it to NULL, to keep
 * them. */
typedef void (*kube_done_fn)(kube_response *r, void *ud);
/* Return 0 to continue, non-zero to abort the transfer. */
typedef int (*kube_data_fn)(const char *data, size_t len, void *ud);

typedef struct kube_async_spec {
    const char *method;
    const char *path;
    const json_t *body;
    const char *content_type;
    bool stream;          /* deliver body chunks to on_data; no total
                             timeout, no retries, body not kept            */
    long low_speed_time_s;/* stream: abort when no byte for this long (0=off) */
    kube_data_fn on_data;
    kube_done_fn done;    /* always called exactly once (also on cancel)  */
    void *ud;
} kube_async_spec;

typedef struct kube_async kube_async; /* handle for cancellation */
/* Returns a handle (valid until done runs) or NULL (done is not called). */
kube_async *kube_request_async(kube_client *c, const kube_async_spec *spec);
/* Thread-safe; done still runs once, with status 0 and error "cancelled". */
void kube_async_cancel(kube_client *c, kube_async *a);

/* Applies the client's TLS, credentials and timeouts to an easy handle the
 * caller drives itself (pkg/capture's port-forward uses CURLOPT_CONNECT_ONLY
 * for the WebSocket upgrade).  headers receives the Authorization header (and
 * impersonation headers) appended; the caller frees the list. */
int kube_client_setup_easy(kube_client *c, CURL *easy,
                           struct curl_slist **headers, char *err,
                           size_t errlen);
/* The URL for path ("/api/v1/...") as the client's own requests use it.
 * Prefer it to cfg->server + path for easy handles set up with
 * kube_client_setup_easy: when tls-server-name is set the URL carries that
 * name (and CURLOPT_CONNECT_TO routes it to the real server), so SNI and
 * certificate verification use it.  0, or -1 when out is too small. */
int kube_client_url(const kube_client *c, const char *path, char *out,
                    size_t outlen);
/* Tell the client a request it did not run came back 401, so cached
 * credentials (exec plugin, token file) are refreshed before the next. */
void kube_client_auth_rejected(kube_client *c);

/* ---- small helpers ---------------------------------------------------- */

/* List with paging (limit/continue): calls fn for each item; the list's
 * resourceVersion is copied into rv (may be NULL).  0 on success; -1 on an
 * API error (err_out, when not NULL, receives the failed response, which the
 * caller frees; on success it is left empty); a non-zero return from fn
 * stops the list and is returned.  An expired continue token is an error
 * (reason "Expired"): the caller relists, items already seen were seen.
 * page_limit <= 0 lists in one request. */
typedef int (*kube_item_fn)(json_t *item, void *ud);
int kube_list(kube_client *c, const char *path_with_query, int page_limit,
              kube_item_fn fn, void *ud, char *rv, size_t rvlen,
              kube_response *err_out);

/* "2026-11-23T04:05:06Z" <-> unix seconds; -1 on bad input. */
int64_t kube_parse_time(const char *rfc3339);
void kube_format_time(int64_t unix_s, char *out, size_t outlen);
/* Microsecond precision, for Events' eventTime / Lease's renewTime. */
void kube_format_micro_time(int64_t unix_us, char *out, size_t outlen);
/* A Retry-After header's value (RFC 9110: delay-seconds or an HTTP-date,
 * surrounding blanks and CR/LF ignored), len bytes of it, as seconds from
 * now_s; -1 when it is neither.  A date in the past is 0. */
long kube_retry_after(const char *value, size_t len, int64_t now_s);
/* The same from a whole header line ("Retry-After: 5\r\n", any case),
 * dates measured from the wall clock; -1 when the line is another header. */
long kube_retry_after_line(const char *line, size_t len);

/* An API Status (or any error body) in one sentence: the Status message
 * when there is one (`pods "x" is forbidden: User ...`), else "HTTP 502 Bad
 * Gateway: <first line of the body>".  status may be NULL, raw may be NULL.
 * reason receives Status.reason, or one derived from the HTTP code.  The
 * watch layer uses it for ERROR events. */
void kube_status_decode(long http_status, const json_t *status,
                        const char *raw, size_t raw_len, char *err,
                        size_t errlen, char *reason, size_t reasonlen);

/* JSON getters by dotted path ("metadata.name"; a key containing dots
 * cannot be reached this way — use json_object_get for annotations).
 * NULL when absent or of another type. */
const json_t *kube_json_get(const json_t *obj, const char *dotted);
const char *kube_json_str(const json_t *obj, const char *dotted);

/* Owner resolution: the workload that owns a pod (Pod → ReplicaSet →
 * Deployment; StatefulSet; DaemonSet; Job; or the pod itself when it has
 * no controller owner).  kind is "" for a bare pod (name and uid are then
 * the pod's).  A ReplicaSet that cannot be read (deleted: 404) resolves to
 * itself; other API errors fail with err_out filled (may be NULL). */
typedef struct kube_owner {
    char kind[32];        /* "Deployment", "StatefulSet", "DaemonSet",
                             "ReplicaSet", "Job", ... or ""               */
    char name[254];
    char uid[64];
    char api_version[64];
} kube_owner;
int kube_resolve_owner(kube_client *c, const json_t *pod, kube_owner *out,
                       kube_response *err_out);

/* A workload revision: its number (-1 unknown) and when its object (the
 * ReplicaSet or ControllerRevision) was created, in unix seconds (-1
 * unknown) — for a Deployment, when that revision was first rolled out. */
typedef struct kube_revision {
    long number;
    int64_t created_s;
} kube_revision;

/* The workload revision the pod's template belongs to: a Deployment pod's
 * ReplicaSet annotation deployment.kubernetes.io/revision, or for a
 * StatefulSet/DaemonSet pod the .revision of the ControllerRevision its
 * controller-revision-hash label names (a StatefulSet's label is the whole
 * name, a DaemonSet's the hash after "<owner>-").  0 with *rev the number, or with
 * rev->number -1 when the pod has no such revision (a bare pod, a Job) or its
 * object is gone (404); -1 on another API error, err_out filled (may be
 * NULL). */
int kube_pod_revision(kube_client *c, const json_t *pod, kube_revision *rev,
                      kube_response *err_out);

/* kube_resolve_owner and kube_pod_revision together, for a caller that
 * wants both: a Deployment pod's ReplicaSet is read once for its owner and
 * its revision.  Returns as kube_resolve_owner (0, or -1 with err_out
 * filled), and 1 when the owner is resolved but the revision could not be
 * read (err_out filled); *rev as kube_pod_revision, -1 unknown. */
int kube_resolve_workload(kube_client *c, const json_t *pod, kube_owner *out,
                          kube_revision *rev, kube_response *err_out);

#endif
