/*
 * test_kube_client.c — the API client's HTTP behaviour against a scripted
 * HTTP server on 127.0.0.1 (libmicrohttpd, in this process): credentials
 * and headers, retries on 429/5xx with backoff and Retry-After, what is and
 * is not retried, 401 credential refresh (token file, exec plugin), the
 * rate limiter, the body cap, connection resets, timeouts, refused
 * connections, async requests, streams, cancellation, shutdown, paging and
 * owner resolution.
 *
 * The real API server is exercised by tests/e2e/kube_*.sh; this file pins
 * down behaviours an API server cannot be made to show on demand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kube/kube.h"
#include "kube/kube_internal.h"
#include "lw/lw_clock.h"

/* ---- the scripted server -------------------------------------------- */

typedef struct counter {
    char key[320];
    int n;
} counter;

typedef struct srv {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    counter counters[128];
    int ncounters;
    int hits;
    int connections;
} srv;

typedef struct upload {
    char *data;
    size_t len;
} upload;

static int bump(srv *s, const char *key)
{
    pthread_mutex_lock(&s->mu);
    int i;
    for (i = 0; i < s->ncounters; i++)
        if (!strcmp(s->counters[i].key, key))
            break;
    if (i == s->ncounters && s->ncounters < 128) {
        snprintf(s->counters[i].key, sizeof s->counters[i].key, "%s", key);
        s->counters[i].n = 0;
        s->ncounters++;
    }
    int n = i < 128 ? ++s->counters[i].n : 0;
    s->hits++;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static int hits_of(srv *s, const char *key)
{
    pthread_mutex_lock(&s->mu);
    int n = 0;
    for (int i = 0; i < s->ncounters; i++)
        if (!strcmp(s->counters[i].key, key))
            n = s->counters[i].n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned code,
                                 const char *body, const char *ctype,
                                 const char *retry_after)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", ctype);
    if (retry_after)
        MHD_add_response_header(r, "Retry-After", retry_after);
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_status(struct MHD_Connection *c, unsigned code,
                                   const char *reason, const char *message,
                                   const char *retry_after)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "kind", "Status",
                          "apiVersion", "v1", "status", "Failure", "message",
                          message, "reason", reason, "code", (int)code);
    char *b = json_dumps(j, JSON_COMPACT);
    enum MHD_Result r = send_text(c, code, b, "application/json", retry_after);
    free(b);
    json_decref(j);
    return r;
}

static enum MHD_Result collect_group(void *cls, enum MHD_ValueKind kind,
                                     const char *key, const char *value)
{
    (void)kind;
    json_t *arr = cls;
    if (!strcasecmp(key, "Impersonate-Group"))
        json_array_append_new(arr, json_string(value));
    return MHD_YES;
}

/* 200 with what the server saw, so tests can assert on it. */
static enum MHD_Result send_echo(struct MHD_Connection *c, const char *method,
                                 const char *url, const upload *up, int n)
{
    const char *h[] = {"Authorization", "User-Agent", "Impersonate-User",
                       "Content-Type", "Accept", "Host"};
    json_t *j = json_pack("{s:s,s:s,s:s,s:i}", "kind", "Echo", "method", method,
                          "path", url, "hit", n);
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++) {
        const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, h[i]);
        if (v)
            json_object_set_new(j, h[i], json_string(v));
    }
    json_t *groups = json_array();
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_group, groups);
    json_object_set_new(j, "groups", groups);
    if (up && up->data)
        json_object_set_new(j, "body", json_stringn(up->data, up->len));
    char *b = json_dumps(j, JSON_COMPACT);
    enum MHD_Result r = send_text(c, 200, b, "application/json", NULL);
    free(b);
    json_decref(j);
    return r;
}

/* A body of `total` (>= 8) bytes: {"d":"aaa...a"} */
typedef struct gen {
    uint64_t total;
    uint64_t fail_at; /* 0: never; else close the connection there */
    int lines;        /* stream: lines left, -1 forever */
    int i;
} gen;

static ssize_t gen_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    gen *g = cls;
    if (g->fail_at && pos >= g->fail_at)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (pos >= g->total)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = 0;
    while (n < max && pos + n < g->total) {
        static const char head[] = "{\"d\":\"";
        uint64_t p = pos + n;
        buf[n++] = p < 6                  ? head[p]
                   : p == g->total - 2    ? '"'
                   : p == g->total - 1    ? '}'
                                          : 'a';
        if (g->fail_at && pos + n >= g->fail_at)
            break;
    }
    return (ssize_t)n;
}

static ssize_t gen_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    gen *g = cls;
    if (g->lines == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    struct timespec ts = {0, 30 * 1000 * 1000};
    if (g->i > 0)
        nanosleep(&ts, NULL);
    if (g->lines > 0)
        g->lines--;
    int n = snprintf(buf, max, "{\"i\":%d}\n", g->i++);
    return n;
}

static enum MHD_Result send_gen(struct MHD_Connection *c, gen *tmpl,
                                bool stream)
{
    gen *g = malloc(sizeof *g);
    *g = *tmpl;
    struct MHD_Response *r = MHD_create_response_from_callback(
        stream ? MHD_SIZE_UNKNOWN : g->total, 4096,
        stream ? gen_stream : gen_body, g, free);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static const char *qarg(struct MHD_Connection *c, const char *k)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);
}

static enum MHD_Result list_pods(struct MHD_Connection *c)
{
    const char *lim = qarg(c, "limit");
    const char *cont = qarg(c, "continue");
    if (cont && !strcmp(cont, "expired"))
        return send_status(c, 410, "Expired",
                           "The provided continue parameter is too old", NULL);
    int start = cont ? atoi(cont) : 0;
    int limit = lim ? atoi(lim) : 100;
    const int total = 5;
    json_t *items = json_array();
    int i;
    for (i = start; i < total && i < start + limit; i++)
        json_array_append_new(items, json_pack("{s:{s:s#}}", "metadata", "name",
                                               "pod-0", 5));
    for (size_t k = 0; k < json_array_size(items); k++) {
        char name[16];
        snprintf(name, sizeof name, "pod-%d", start + (int)k);
        json_object_set_new(json_object_get(json_array_get(items, k),
                                            "metadata"),
                            "name", json_string(name));
    }
    json_t *meta = json_pack("{s:s}", "resourceVersion", "42");
    if (i < total) {
        char next[16];
        /* The last page's token is "expired" when asked, to test 410. */
        snprintf(next, sizeof next, "%d", i);
        json_object_set_new(meta, "continue",
                            json_string(qarg(c, "expire") ? "expired" : next));
    }
    json_t *list = json_pack("{s:s,s:o,s:o}", "kind", "PodList", "metadata",
                             meta, "items", items);
    char *b = json_dumps(list, JSON_COMPACT);
    enum MHD_Result r = send_text(c, 200, b, "application/json", NULL);
    free(b);
    json_decref(list);
    return r;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *updata,
                               size_t *upsize, void **con_cls)
{
    (void)version;
    srv *s = cls;
    upload *up = *con_cls;
    if (!up) {
        *con_cls = calloc(1, sizeof(upload));
        return MHD_YES;
    }
    if (*upsize) {
        char *nd = realloc(up->data, up->len + *upsize + 1);
        memcpy(nd + up->len, updata, *upsize);
        up->data = nd;
        up->len += *upsize;
        up->data[up->len] = '\0';
        *upsize = 0;
        return MHD_YES;
    }
    char key[300];
    snprintf(key, sizeof key, "%s %s", method, url);
    int n = bump(s, key);
    const char *times_s = qarg(c, "times");
    int times = times_s ? atoi(times_s) : 1000000;

    if (!strcmp(url, "/ok"))
        return send_echo(c, method, url, up, n);
    if (!strncmp(url, "/status/", 8)) {
        int code = atoi(url + 8);
        if (n > times)
            return send_echo(c, method, url, up, n);
        const char *reason = code == 429   ? "TooManyRequests"
                             : code == 403 ? "Forbidden"
                             : code == 503 ? "ServiceUnavailable"
                                           : "InternalError";
        char msg[128];
        snprintf(msg, sizeof msg, "scripted %d number %d", code, n);
        return send_status(c, (unsigned)code, reason, msg,
                           qarg(c, "retry_after"));
    }
    if (!strncmp(url, "/text/", 6)) {
        if (n > times)
            return send_echo(c, method, url, up, n);
        return send_text(c, (unsigned)atoi(url + 6),
                         "upstream down\n<html>more</html>", "text/html", NULL);
    }
    if (!strncmp(url, "/auth/", 6)) {
        const char *a =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        char want[256];
        snprintf(want, sizeof want, "Bearer %s", url + 6);
        if (a && !strcmp(a, want))
            return send_echo(c, method, url, up, n);
        return send_status(c, 401, "Unauthorized", "Unauthorized", NULL);
    }
    if (!strncmp(url, "/big/", 5)) {
        gen g = {.total = strtoull(url + 5, NULL, 10)};
        return send_gen(c, &g, false);
    }
    if (!strncmp(url, "/reset/", 7)) {
        if (n > times)
            return send_echo(c, method, url, up, n);
        gen g = {.total = 100000, .fail_at = 100};
        return send_gen(c, &g, false);
    }
    if (!strncmp(url, "/slow/", 6)) {
        struct timespec ts = {0, atol(url + 6) * 1000000L};
        while (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        nanosleep(&ts, NULL);
        return send_echo(c, method, url, up, n);
    }
    if (!strncmp(url, "/stream/", 8)) {
        gen g = {.lines = !strcmp(url + 8, "forever") ? -1 : atoi(url + 8)};
        return send_gen(c, &g, true);
    }
    if (!strcmp(url, "/badjson"))
        return send_text(c, 200, "{\"kind\": ", "application/json", NULL);
    if (!strcmp(url, "/api/v1/pods"))
        return list_pods(c);
    if (!strcmp(url, "/apis/apps/v1/namespaces/ns/controllerrevisions/"
                     "db-6b8c9"))
        return send_text(c, 200, "{\"kind\":\"ControllerRevision\","
                         "\"metadata\":{\"creationTimestamp\":"
                         "\"2023-11-14T23:13:20Z\"},\"revision\":3}", "application/json", NULL);
    if (!strncmp(url, "/apis/apps/v1/namespaces/ns/replicasets/", 40)) {
        const char *rs = url + 40;
        if (!strcmp(rs, "rs-gone"))
            return send_status(c, 404, "NotFound",
                               "replicasets.apps \"rs-gone\" not found", NULL);
        if (!strcmp(rs, "rs-forbidden"))
            return send_status(c, 403, "Forbidden",
                               "replicasets.apps \"rs-forbidden\" is "
                               "forbidden: User \"u\" cannot get resource "
                               "\"replicasets\"",
                               NULL);
        char body[512];
        snprintf(body, sizeof body,
                 "{\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"%s\","
                 "\"creationTimestamp\":\"2023-11-14T22:13:20Z\","
                 "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":"
                 "\"Deployment\",\"name\":\"web\",\"uid\":\"dep-uid\","
                 "\"controller\":true}],\"annotations\":{"
                 "\"deployment.kubernetes.io/revision\":\"%s\"}}}",
                 rs, strcmp(rs, "rs-norev") ? "7" : "x");
        return send_text(c, 200, body, "application/json", NULL);
    }
    return send_status(c, 404, "NotFound", "no such path", NULL);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    upload *up = *con_cls;
    if (up) {
        free(up->data);
        free(up);
    }
    *con_cls = NULL;
}

static void notify_conn(void *cls, struct MHD_Connection *c, void **socket_ctx,
                        enum MHD_ConnectionNotificationCode code)
{
    (void)c;
    (void)socket_ctx;
    srv *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        pthread_mutex_lock(&s->mu);
        s->connections++;
        pthread_mutex_unlock(&s->mu);
    }
}

static srv *srv_start(void)
{
    srv *s = calloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
        NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_NOTIFY_COMPLETED, completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, notify_conn, s,
        MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    assert_non_null(s->d);
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di->port;
    return s;
}

static void srv_stop(srv *s)
{
    MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- helpers ------------------------------------------------------------ */

typedef struct fx {
    srv *s;
    char dir[64];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/kube_client_XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    f->s = srv_start();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    srv_stop(f->s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static kube_config *cfg_for(int port)
{
    kube_config *cfg = calloc(1, sizeof *cfg);
    char server[64];
    snprintf(server, sizeof server, "http://127.0.0.1:%d", port);
    cfg->server = strdup(server);
    cfg->user_name = strdup("tester");
    cfg->source = strdup("/test/kubeconfig");
    cfg->namespace = strdup("default");
    return cfg;
}

static void fast_opts(kube_client_opts *o)
{
    kube_client_opts_default(o);
    o->qps = -1;
    o->max_backoff_ms = 60;
    o->timeout_ms = 5000;
}

static kube_client *client_cfg(kube_config *cfg, const kube_client_opts *o)
{
    char err[512] = "";
    kube_client *c = kube_client_new(cfg, o, err, sizeof err);
    if (!c)
        fail_msg("kube_client_new: %s", err);
    kube_config_free(cfg);
    return c;
}

static kube_client *client(fx *f, const kube_client_opts *o)
{
    kube_client_opts d;
    if (!o) {
        fast_opts(&d);
        o = &d;
    }
    return client_cfg(cfg_for(f->s->port), o);
}

typedef struct obs_log {
    pthread_mutex_t mu;
    int n;
    long codes[64];
    char verbs[64][8];
} obs_log;

static void observer(const char *verb, long code, double secs, void *ud)
{
    (void)secs;
    obs_log *l = ud;
    pthread_mutex_lock(&l->mu);
    if (l->n < 64) {
        l->codes[l->n] = code;
        snprintf(l->verbs[l->n], sizeof l->verbs[0], "%s", verb);
    }
    l->n++;
    pthread_mutex_unlock(&l->mu);
}

/* ---- tests -------------------------------------------------------------- */

static void test_get_and_headers(void **state)
{
    fx *f = *state;
    kube_config *cfg = cfg_for(f->s->port);
    cfg->token = strdup("static-token");
    cfg->impersonate_user = strdup("alice");
    cfg->impersonate_groups = calloc(3, sizeof(char *));
    cfg->impersonate_groups[0] = strdup("devs");
    cfg->impersonate_groups[1] = strdup("ops");
    kube_client_opts o;
    fast_opts(&o);
    o.user_agent = "leakwatch-test/1";
    kube_client *c = client_cfg(cfg, &o);
    kube_response r;
    assert_int_equal(kube_get(c, "/ok", &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.error, "");
    assert_non_null(r.json);
    assert_string_equal(kube_json_str(r.json, "method"), "GET");
    assert_string_equal(kube_json_str(r.json, "Authorization"),
                        "Bearer static-token");
    assert_string_equal(kube_json_str(r.json, "User-Agent"), "leakwatch-test/1");
    assert_string_equal(kube_json_str(r.json, "Accept"), "application/json");
    assert_string_equal(kube_json_str(r.json, "Impersonate-User"), "alice");
    json_t *g = json_object_get(r.json, "groups");
    assert_int_equal(json_array_size(g), 2);
    assert_string_equal(json_string_value(json_array_get(g, 0)), "devs");
    assert_string_equal(json_string_value(json_array_get(g, 1)), "ops");
    assert_int_equal(r.retry_after_s, -1);
    assert_true(r.body_len > 0 && r.body[r.body_len] == '\0');
    kube_response_free(&r);
    /* kube_client_config is the client's own copy. */
    assert_string_equal(kube_client_config(c)->token, "static-token");
    char url[128], want[128];
    assert_int_equal(kube_client_url(c, "/api/v1/pods", url, sizeof url), 0);
    snprintf(want, sizeof want, "http://127.0.0.1:%d/api/v1/pods", f->s->port);
    assert_string_equal(url, want);
    char tiny[8];
    assert_int_equal(kube_client_url(c, "/api", tiny, sizeof tiny), -1);
    /* Sequential requests reuse one connection. */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(kube_get(c, "/ok", &r), 0);
        kube_response_free(&r);
    }
    assert_int_equal(f->s->connections, 1);
    kube_client_free(c);
}

static void test_basic_auth_and_default_ua(void **state)
{
    fx *f = *state;
    kube_config *cfg = cfg_for(f->s->port);
    cfg->username = strdup("bob");
    cfg->password = strdup("pw");
    kube_client *c = client_cfg(cfg, NULL);
    kube_response r;
    assert_int_equal(kube_get(c, "/ok", &r), 0);
    assert_string_equal(kube_json_str(r.json, "Authorization"), "Basic Ym9iOnB3");
    assert_true(!strncmp(kube_json_str(r.json, "User-Agent"), "leakwatch/", 10));
    kube_response_free(&r);
    kube_client_free(c);
}

static void test_bodies(void **state)
{
    fx *f = *state;
    kube_client *c = client(f, NULL);
    kube_response r;
    json_t *body = json_pack("{s:s,s:i}", "kind", "Event", "count", 3);
    assert_int_equal(kube_request(c, "POST", "/ok", body, NULL, &r), 0);
    assert_string_equal(kube_json_str(r.json, "method"), "POST");
    assert_string_equal(kube_json_str(r.json, "Content-Type"),
                        "application/json");
    json_t *echoed = json_loads(kube_json_str(r.json, "body"), 0, NULL);
    assert_true(json_equal(echoed, body));
    json_decref(echoed);
    kube_response_free(&r);
    assert_int_equal(kube_request(c, "PATCH", "/ok", body,
                                  "application/merge-patch+json", &r),
                     0);
    assert_string_equal(kube_json_str(r.json, "Content-Type"),
                        "application/merge-patch+json");
    kube_response_free(&r);
    /* DELETE without a body sends no form content type. */
    assert_int_equal(kube_request(c, "DELETE", "/ok", NULL, NULL, &r), 0);
    assert_string_equal(kube_json_str(r.json, "method"), "DELETE");
    assert_null(kube_json_str(r.json, "Content-Type"));
    kube_response_free(&r);
    json_decref(body);
    /* A path must be absolute. */
    assert_int_equal(kube_get(c, "ok", &r), -1);
    assert_string_equal(r.error, "GET ok: path must start with /");
    kube_response_free(&r);
    kube_client_free(c);
}

static void test_retry_5xx_then_ok(void **state)
{
    fx *f = *state;
    obs_log l = {.mu = PTHREAD_MUTEX_INITIALIZER};
    kube_client *c = client(f, NULL);
    kube_client_set_observer(c, observer, &l);
    kube_response r;
    assert_int_equal(kube_get(c, "/status/503?times=2", &r), 0);
    assert_int_equal(json_integer_value(kube_json_get(r.json, "hit")), 3);
    kube_response_free(&r);
    assert_int_equal(hits_of(f->s, "GET /status/503"), 3);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.codes[0], 503);
    assert_int_equal(l.codes[1], 503);
    assert_int_equal(l.codes[2], 200);
    assert_string_equal(l.verbs[2], "GET");
    kube_client_free(c);
}

static void test_retry_after_honoured(void **state)
{
    fx *f = *state;
    kube_client_opts o;
    fast_opts(&o);
    o.max_backoff_ms = 5000; /* Retry-After is capped by it */
    kube_client *c = client(f, &o);
    kube_response r;
    int64_t t0 = lw_mono_ms();
    assert_int_equal(kube_get(c, "/status/429?times=1&retry_after=1", &r), 0);
    int64_t took = lw_mono_ms() - t0;
    kube_response_free(&r);
    assert_true(took >= 1000);
    assert_true(took < 3000);
    assert_int_equal(hits_of(f->s, "GET /status/429"), 2);
    kube_client_free(c);

    /* A Retry-After beyond max_backoff is cut to it. */
    fast_opts(&o);
    o.max_backoff_ms = 200;
    c = client(f, &o);
    t0 = lw_mono_ms();
    assert_int_equal(kube_get(c, "/status/503?times=1&retry_after=60", &r), 0);
    took = lw_mono_ms() - t0;
    kube_response_free(&r);
    assert_true(took >= 200 && took < 2000);
    kube_client_free(c);
}

static void test_retries_exhausted(void **state)
{
    fx *f = *state;
    kube_client_opts o;
    fast_opts(&o);
    o.max_retries = 2;
    kube_client *c = client(f, &o);
    kube_response r;
    assert_int_equal(kube_get(c, "/status/500", &r), -1);
    assert_int_equal(r.status, 500);
    assert_string_equal(r.error, "scripted 500 number 3 (after 3 attempts)");
    assert_string_equal(r.reason, "InternalError");
    assert_non_null(r.json);
    kube_response_free(&r);
    assert_int_equal(hits_of(f->s, "GET /status/500"), 3);
    /* A non-JSON error body: code, phrase, first line. */
    assert_int_equal(kube_get(c, "/text/502", &r), -1);
    assert_string_equal(r.error, "HTTP 502 Bad Gateway: upstream down (after 3 "
                                 "attempts)");
    assert_null(r.json);
    kube_response_free(&r);
    kube_client_free(c);

    /* max_retries < 0: one attempt. */
    fast_opts(&o);
    o.max_retries = -1;
    c = client(f, &o);
    assert_int_equal(kube_get(c, "/text/504", &r), -1);
    assert_string_equal(r.error, "HTTP 504 Gateway Timeout: upstream down");
    kube_response_free(&r);
    assert_int_equal(hits_of(f->s, "GET /text/504"), 1);
    kube_client_free(c);
}

static void test_what_is_not_retried(void **state)
{
    fx *f = *state;
    kube_client *c = client(f, NULL);
    kube_response r;
    /* POST on 500: the server may have acted; not retried. */
    assert_int_equal(kube_request(c, "POST", "/status/500", NULL, NULL, &r),
                     -1);
    kube_response_free(&r);
    assert_int_equal(hits_of(f->s, "POST /status/500"), 1);
    /* POST on 429 without Retry-After (the eviction API's PDB answer): not
     * retried either; with Retry-After it is. */
    assert_int_equal(kube_request(c, "POST", "/status/429", NULL, NULL, &r),
                     -1);
    assert_int_equal(r.status, 429);
    assert_string_equal(r.reason, "TooManyRequests");
    kube_response_free(&r);
    assert_int_equal(hits_of(f->s, "POST /status/429"), 1);
    assert_int_equal(kube_request(c, "POST", "/status/503?times=1&retry_after=0",
                                  NULL, NULL, &r),
                     0);
    kube_response_free(&r);
    assert_int_equal(hits_of(f->s, "POST /status/503"), 2);
    /* 403 is an answer, not a hiccup: one attempt, the Status message. */
    assert_int_equal(kube_get(c, "/status/403", &r), -1);
    assert_int_equal(r.status, 403);
    assert_string_equal(r.error, "scripted 403 number 1");
    assert_string_equal(r.reason, "Forbidden");
    kube_response_free(&r);
    assert_int_equal(hits_of(f->s, "GET /status/403"), 1);
    /* Retry-After reaches the caller, in seconds or as an HTTP date. */
    assert_int_equal(kube_request(c, "POST", "/status/500?retry_after=7", NULL,
                                  NULL, &r),
                     -1);
    assert_int_equal(r.retry_after_s, 7);
    kube_response_free(&r);
    assert_int_equal(
        kube_request(c, "POST",
                     "/status/500?retry_after=Wed,%2021%20Oct%202015%2007:28:00"
                     "%20GMT",
                     NULL, NULL, &r),
        -1);
    assert_int_equal(r.retry_after_s, 0); /* in the past */
    kube_response_free(&r);
    /* 501: not retried. */
    assert_int_equal(kube_get(c, "/text/501", &r), -1);
    kube_response_free(&r);
    assert_int_equal(hits_of(f->s, "GET /text/501"), 1);
    /* 404 with a Status body. */
    assert_int_equal(kube_get(c, "/nowhere", &r), -1);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.reason, "NotFound");
    assert_string_equal(r.error, "no such path");
    kube_response_free(&r);
    kube_client_free(c);
}

static void test_401_token_file_refresh(void **state)
{
    fx *f = *state;
    char tok[128];
    snprintf(tok, sizeof tok, "%s/token", f->dir);
    FILE *fp = fopen(tok, "w");
    fputs("old\n", fp);
    fclose(fp);
    kube_config *cfg = cfg_for(f->s->port);
    cfg->token_file = strdup(tok);
    kube_client *c = client_cfg(cfg, NULL);
    kube_response r;
    assert_int_equal(kube_get(c, "/auth/old", &r), 0);
    kube_response_free(&r);
    /* Rotated on disk: the cached "old" gets a 401, the file is re-read,
     * the request is retried once with "new". */
    fp = fopen(tok, "w");
    fputs("new", fp);
    fclose(fp);
    assert_int_equal(kube_get(c, "/auth/new", &r), 0);
    assert_string_equal(kube_json_str(r.json, "Authorization"), "Bearer new");
    kube_response_free(&r);
    assert_int_equal(hits_of(f->s, "GET /auth/new"), 2);
    /* Still rejected after the refresh: a clear 401 error. */
    assert_int_equal(kube_get(c, "/auth/other", &r), -1);
    assert_int_equal(r.status, 401);
    char want[256];
    snprintf(want, sizeof want,
             "Unauthorized: the API server at 127.0.0.1:%d rejected the "
             "credentials of user \"tester\" (/test/kubeconfig) (after 2 "
             "attempts)",
             f->s->port);
    assert_string_equal(r.error, want);
    kube_response_free(&r);
    assert_int_equal(hits_of(f->s, "GET /auth/other"), 2);
    kube_client_free(c);

    /* A static token cannot be refreshed: one attempt. */
    cfg = cfg_for(f->s->port);
    cfg->token = strdup("static");
    c = client_cfg(cfg, NULL);
    assert_int_equal(kube_get(c, "/auth/x1", &r), -1);
    kube_response_free(&r);
    assert_int_equal(hits_of(f->s, "GET /auth/x1"), 1);
    kube_client_free(c);

    /* A token file that disappears: the error names it. */
    cfg = cfg_for(f->s->port);
    cfg->token_file = strdup(tok);
    c = client_cfg(cfg, NULL);
    unlink(tok);
    assert_int_equal(kube_get(c, "/auth/new", &r), -1);
    snprintf(want, sizeof want,
             "/test/kubeconfig: tokenFile %s: No such file or directory", tok);
    assert_string_equal(r.error, want);
    assert_int_equal(r.status, 0);
    kube_response_free(&r);
    kube_client_free(c);
}

static void test_401_exec_refresh(void **state)
{
    fx *f = *state;
    char path[128], body[1024];
    snprintf(path, sizeof path, "%s/plugin", f->dir);
    /* Token "t<N>" where N counts runs. */
    snprintf(body, sizeof body,
             "#!/bin/sh\necho x >> %s/runs\nn=$(wc -l < %s/runs)\n"
             "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\","
             "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t%%s\"}}' "
             "$n\n",
             f->dir, f->dir);
    FILE *fp = fopen(path, "w");
    fputs(body, fp);
    fclose(fp);
    chmod(path, 0755);
    kube_config *cfg = cfg_for(f->s->port);
    cfg->exec = kube_exec_new(path, "kubeconfig /k: user \"tester\"");
    kube_client *c = client_cfg(cfg, NULL);
    kube_response r;
    /* Run 1 gives t1 (rejected), the 401 forces run 2: t2. */
    assert_int_equal(kube_get(c, "/auth/t2", &r), 0);
    kube_response_free(&r);
    assert_int_equal(hits_of(f->s, "GET /auth/t2"), 2);
    /* Cached: no new run while it is accepted. */
    assert_int_equal(kube_get(c, "/auth/t2", &r), 0);
    kube_response_free(&r);
    assert_int_equal(kube_exec_runs(kube_client_config(c)->exec), 2);
    /* Someone else saw a 401 with our credentials: refresh before next. */
    kube_client_auth_rejected(c);
    assert_int_equal(kube_get(c, "/auth/t3", &r), 0);
    kube_response_free(&r);
    assert_int_equal(kube_exec_runs(kube_client_config(c)->exec), 3);
    kube_client_free(c);

    /* A failing plugin fails the request with its message. */
    cfg = cfg_for(f->s->port);
    cfg->exec = kube_exec_new("leakwatch-missing-plugin", "kubeconfig /k");
    c = client_cfg(cfg, NULL);
    assert_int_equal(kube_get(c, "/ok", &r), -1);
    assert_string_equal(r.error, "kubeconfig /k: exec plugin: command "
                                 "\"leakwatch-missing-plugin\" not found in "
                                 "PATH");
    kube_response_free(&r);
    assert_int_equal(hits_of(f->s, "GET /ok"), 0);
    kube_client_free(c);
}

typedef struct counter_ud {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, ok, n;
    int64_t last_ms;
    char first_error[768];
} counter_ud;

static void count_done(kube_response *r, void *ud)
{
    counter_ud *u = ud;
    pthread_mutex_lock(&u->mu);
    u->done++;
    if (r->status == 200 && !r->error[0])
        u->ok++;
    else if (!u->first_error[0])
        snprintf(u->first_error, sizeof u->first_error, "%s", r->error);
    u->last_ms = lw_mono_ms();
    pthread_cond_broadcast(&u->cv);
    pthread_mutex_unlock(&u->mu);
}

static void wait_done(counter_ud *u, int n)
{
    pthread_mutex_lock(&u->mu);
    while (u->done < n)
        pthread_cond_wait(&u->cv, &u->mu);
    pthread_mutex_unlock(&u->mu);
}

static void test_rate_limit(void **state)
{
    fx *f = *state;
    kube_client_opts o;
    fast_opts(&o);
    o.qps = 10;
    o.burst = 2;
    kube_client *c = client(f, &o);
    counter_ud u = {.mu = PTHREAD_MUTEX_INITIALIZER,
                    .cv = PTHREAD_COND_INITIALIZER};
    kube_async_spec spec = {.method = "GET", .path = "/ok", .done = count_done,
                            .ud = &u};
    int64_t t0 = lw_mono_ms();
    for (int i = 0; i < 8; i++)
        assert_non_null(kube_request_async(c, &spec));
    wait_done(&u, 8);
    int64_t took = u.last_ms - t0;
    assert_int_equal(u.ok, 8);
    /* 2 at once, then 6 at 10/s: at least ~600 ms, and not much more. */
    assert_true(took >= 580);
    assert_true(took < 2500);
    kube_client_free(c);

    /* Unlimited: the same 8 are immediate. */
    fast_opts(&o);
    c = client(f, &o);
    counter_ud u2 = {.mu = PTHREAD_MUTEX_INITIALIZER,
                     .cv = PTHREAD_COND_INITIALIZER};
    spec.ud = &u2;
    t0 = lw_mono_ms();
    for (int i = 0; i < 8; i++)
        assert_non_null(kube_request_async(c, &spec));
    wait_done(&u2, 8);
    assert_true(u2.last_ms - t0 < 500);
    kube_client_free(c);
}

static void test_body_cap(void **state)
{
    fx *f = *state;
    kube_client_opts o;
    fast_opts(&o);
    o.max_body_bytes = 1 << 20;
    kube_client *c = client(f, &o);
    kube_response r;
    assert_int_equal(kube_get(c, "/big/1048576", &r), 0);
    assert_int_equal(r.body_len, 1048576);
    assert_int_equal(strlen(kube_json_str(r.json, "d")), 1048576 - 8);
    kube_response_free(&r);
    assert_int_equal(kube_get(c, "/big/10485760", &r), -1);
    assert_string_equal(r.error, "GET /big/10485760: response body larger than "
                                 "the 1048576-byte limit (max_body_bytes)");
    assert_int_equal(r.status, 0);
    assert_null(r.body);
    kube_response_free(&r);
    /* Not retried: it would only be refused again. */
    assert_int_equal(hits_of(f->s, "GET /big/10485760"), 1);
    /* The client still works afterwards. */
    assert_int_equal(kube_get(c, "/ok", &r), 0);
    kube_response_free(&r);
    kube_client_free(c);
}

static void test_reset(void **state)
{
    fx *f = *state;
    kube_client *c = client(f, NULL);
    kube_response r;
    /* The connection dies mid-body once: a GET is retried. */
    assert_int_equal(kube_get(c, "/reset/a?times=1", &r), 0);
    kube_response_free(&r);
    assert_int_equal(hits_of(f->s, "GET /reset/a"), 2);
    /* A POST is not (it may have been processed). */
    assert_int_equal(kube_request(c, "POST", "/reset/b?times=1", NULL, NULL, &r),
                     -1);
    assert_int_equal(r.status, 0);
    assert_true(strstr(r.error, "POST /reset/b?times=1: ") == r.error);
    kube_response_free(&r);
    assert_int_equal(hits_of(f->s, "POST /reset/b"), 1);
    kube_client_free(c);
}

static void test_timeout(void **state)
{
    fx *f = *state;
    kube_client_opts o;
    fast_opts(&o);
    o.timeout_ms = 300;
    o.max_retries = -1;
    kube_client *c = client(f, &o);
    kube_response r;
    int64_t t0 = lw_mono_ms();
    assert_int_equal(kube_get(c, "/slow/1500", &r), -1);
    int64_t took = lw_mono_ms() - t0;
    assert_string_equal(r.error,
                        "GET /slow/1500: no complete response within 300 ms");
    kube_response_free(&r);
    assert_true(took >= 290 && took < 1200);
    kube_client_free(c);
}

static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd); /* nothing listens there now */
    return ntohs(sa.sin_port);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void test_connection_refused(void **state)
{
    (void)state;
    int port = closed_port();
    kube_client_opts o;
    kube_client_opts_default(&o);
    o.max_retries = 3;
    o.max_backoff_ms = 400;
    kube_client *c = client_cfg(cfg_for(port), &o);
    kube_response r;
    double cpu0 = cpu_seconds();
    int64_t t0 = lw_mono_ms();
    /* POST too: nothing was sent, so retrying is safe. */
    assert_int_equal(kube_request(c, "POST", "/ok", NULL, NULL, &r), -1);
    int64_t took = lw_mono_ms() - t0;
    double cpu = cpu_seconds() - cpu0;
    char want[128];
    snprintf(want, sizeof want,
             "connect to 127.0.0.1:%d: Connection refused (after 4 attempts)",
             port);
    assert_string_equal(r.error, want);
    assert_int_equal(r.status, 0);
    kube_response_free(&r);
    /* Backoff 250 ms then capped at 400, with jitter (half fixed): at least
     * 125 + 200 + 200 ms, bounded; and sleeping, not spinning. */
    assert_true(took >= 500);
    assert_true(took < 2500);
    assert_true(cpu < 0.25 * ((double)took / 1000.0) + 0.05);
    kube_client_free(c);
}

static void test_async_many_and_threads(void **state)
{
    fx *f = *state;
    kube_client *c = client(f, NULL);
    counter_ud u = {.mu = PTHREAD_MUTEX_INITIALIZER,
                    .cv = PTHREAD_COND_INITIALIZER};
    kube_async_spec spec = {.method = "GET", .path = "/slow/300",
                            .done = count_done, .ud = &u};
    int64_t t0 = lw_mono_ms();
    for (int i = 0; i < 20; i++)
        assert_non_null(kube_request_async(c, &spec));
    wait_done(&u, 20);
    /* In flight together: far less than the 6 s they take one by one. */
    assert_true(lw_mono_ms() - t0 < 3000);
    assert_int_equal(u.ok, 20);
    assert_int_equal(u.done, 20);
    kube_client_free(c);
}

typedef struct thr_arg {
    kube_client *c;
    int ok;
} thr_arg;

static void *sync_worker(void *p)
{
    thr_arg *a = p;
    for (int i = 0; i < 15; i++) {
        kube_response r;
        if (kube_get(a->c, "/ok", &r) == 0 && r.json)
            a->ok++;
        kube_response_free(&r);
    }
    return NULL;
}

static void test_sync_from_threads(void **state)
{
    fx *f = *state;
    kube_client *c = client(f, NULL);
    pthread_t t[4];
    thr_arg a[4] = {{c, 0}, {c, 0}, {c, 0}, {c, 0}};
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, sync_worker, &a[i]);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].ok, 15);
    }
    kube_client_free(c);
}

typedef struct stream_ud {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int chunks_lines;
    bool done;
    long status;
    char error[768];
    char data[4096];
    size_t len;
    kube_client *c;
    int inner_rc;
    char inner_error[768];
} stream_ud;

static int on_data(const char *data, size_t len, void *ud)
{
    stream_ud *s = ud;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < len; i++)
        if (data[i] == '\n')
            s->chunks_lines++;
    if (s->len + len < sizeof s->data) {
        memcpy(s->data + s->len, data, len);
        s->len += len;
        s->data[s->len] = '\0';
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void stream_done(kube_response *r, void *ud)
{
    stream_ud *s = ud;
    if (s->c) {
        /* On the I/O thread: kube_request must refuse, not deadlock. */
        kube_response ir;
        s->inner_rc = kube_get(s->c, "/ok", &ir);
        snprintf(s->inner_error, sizeof s->inner_error, "%s", ir.error);
        kube_response_free(&ir);
    }
    pthread_mutex_lock(&s->mu);
    s->done = true;
    s->status = r->status;
    snprintf(s->error, sizeof s->error, "%s", r->error);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void stream_wait(stream_ud *s)
{
    pthread_mutex_lock(&s->mu);
    while (!s->done)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

static void test_stream(void **state)
{
    fx *f = *state;
    kube_client *c = client(f, NULL);
    stream_ud s = {.mu = PTHREAD_MUTEX_INITIALIZER,
                   .cv = PTHREAD_COND_INITIALIZER};
    s.c = c;
    kube_async_spec spec = {.method = "GET", .path = "/stream/5",
                            .stream = true, .low_speed_time_s = 5,
                            .on_data = on_data, .done = stream_done, .ud = &s};
    assert_non_null(kube_request_async(c, &spec));
    stream_wait(&s);
    assert_int_equal(s.status, 200);
    assert_string_equal(s.error, "");
    assert_int_equal(s.chunks_lines, 5);
    assert_string_equal(s.data, "{\"i\":0}\n{\"i\":1}\n{\"i\":2}\n{\"i\":3}\n"
                                "{\"i\":4}\n");
    assert_int_equal(s.inner_rc, -1);
    assert_string_equal(s.inner_error,
                        "GET /ok: kube_request called on the client's I/O "
                        "thread (it would deadlock; use kube_request_async)");
    /* A stream that gets an error status: decoded, on_data not called. */
    stream_ud e = {.mu = PTHREAD_MUTEX_INITIALIZER,
                   .cv = PTHREAD_COND_INITIALIZER};
    spec.path = "/status/403";
    spec.ud = &e;
    assert_non_null(kube_request_async(c, &spec));
    stream_wait(&e);
    assert_int_equal(e.status, 403);
    assert_string_equal(e.error, "scripted 403 number 1");
    assert_int_equal(e.len, 0);
    kube_client_free(c);
}

static void test_cancel_and_shutdown(void **state)
{
    fx *f = *state;
    kube_client *c = client(f, NULL);
    stream_ud s = {.mu = PTHREAD_MUTEX_INITIALIZER,
                   .cv = PTHREAD_COND_INITIALIZER};
    kube_async_spec spec = {.method = "GET", .path = "/stream/forever",
                            .stream = true, .on_data = on_data,
                            .done = stream_done, .ud = &s};
    kube_async *a = kube_request_async(c, &spec);
    assert_non_null(a);
    pthread_mutex_lock(&s.mu);
    while (s.chunks_lines < 2)
        pthread_cond_wait(&s.cv, &s.mu);
    pthread_mutex_unlock(&s.mu);
    kube_async_cancel(c, a);
    stream_wait(&s);
    assert_int_equal(s.status, 0);
    assert_string_equal(s.error, "cancelled");

    /* Cancelling races completion (the handle may already be done): done
     * still runs exactly once and the client is not confused. */
    counter_ud u = {.mu = PTHREAD_MUTEX_INITIALIZER,
                    .cv = PTHREAD_COND_INITIALIZER};
    kube_async_spec q = {.method = "GET", .path = "/ok", .done = count_done,
                         .ud = &u};
    kube_async *qa = kube_request_async(c, &q);
    kube_async_cancel(c, qa);
    wait_done(&u, 1);
    assert_int_equal(u.done, 1);

    /* Freeing the client ends what is in flight, each done exactly once. */
    stream_ud s2 = {.mu = PTHREAD_MUTEX_INITIALIZER,
                    .cv = PTHREAD_COND_INITIALIZER};
    spec.ud = &s2;
    assert_non_null(kube_request_async(c, &spec));
    pthread_mutex_lock(&s2.mu);
    while (s2.chunks_lines < 1)
        pthread_cond_wait(&s2.cv, &s2.mu);
    pthread_mutex_unlock(&s2.mu);
    counter_ud w = {.mu = PTHREAD_MUTEX_INITIALIZER,
                    .cv = PTHREAD_COND_INITIALIZER};
    q.ud = &w;
    q.path = "/slow/2000";
    assert_non_null(kube_request_async(c, &q));
    kube_client_free(c);
    assert_true(s2.done);
    assert_string_equal(s2.error, "client shutting down");
    assert_int_equal(w.done, 1);
    assert_string_equal(w.first_error, "client shutting down");
}

static int collect_names(json_t *item, void *ud)
{
    json_t *arr = ud;
    json_array_append_new(arr, json_string(kube_json_str(item,
                                                         "metadata.name")));
    return json_array_size(arr) == 99 ? 7 : 0;
}

static void test_list_paging(void **state)
{
    fx *f = *state;
    kube_client *c = client(f, NULL);
    json_t *names = json_array();
    char rv[32];
    kube_response r;
    assert_int_equal(kube_list(c, "/api/v1/pods", 2, collect_names, names, rv,
                               sizeof rv, &r),
                     0);
    assert_int_equal(json_array_size(names), 5);
    assert_string_equal(json_string_value(json_array_get(names, 4)), "pod-4");
    assert_string_equal(rv, "42");
    assert_int_equal(hits_of(f->s, "GET /api/v1/pods"), 3);
    json_array_clear(names);
    /* One request without a limit. */
    assert_int_equal(kube_list(c, "/api/v1/pods?labelSelector=a%3Db", 0,
                               collect_names, names, NULL, 0, NULL),
                     0);
    assert_int_equal(json_array_size(names), 5);
    assert_int_equal(hits_of(f->s, "GET /api/v1/pods"), 4);
    /* fn's non-zero return stops and is returned. */
    json_array_clear(names);
    for (int i = 0; i < 97; i++)
        json_array_append_new(names, json_null());
    assert_int_equal(kube_list(c, "/api/v1/pods", 2, collect_names, names, NULL,
                               0, &r),
                     7);
    json_array_clear(names);
    /* An expired continue token is an error with reason Expired. */
    assert_int_equal(kube_list(c, "/api/v1/pods?expire=1", 2, collect_names,
                               names, NULL, 0, &r),
                     -1);
    assert_int_equal(r.status, 410);
    assert_string_equal(r.reason, "Expired");
    assert_string_equal(r.error, "The provided continue parameter is too old");
    kube_response_free(&r);
    /* Not a list at all. */
    assert_int_equal(kube_list(c, "/ok", 2, collect_names, names, NULL, 0, &r),
                     -1);
    assert_string_equal(r.error, "LIST /ok: response is not a list (no items)");
    kube_response_free(&r);
    /* An API error: err_out holds the response. */
    assert_int_equal(kube_list(c, "/status/403", 2, collect_names, names, NULL,
                               0, &r),
                     -1);
    assert_int_equal(r.status, 403);
    kube_response_free(&r);
    json_decref(names);
    kube_client_free(c);
}

static json_t *owned_pod(const char *kind, const char *name)
{
    json_t *p = json_pack("{s:{s:s,s:s,s:s}}", "metadata", "name", "pod-x",
                          "namespace", "ns", "uid", "pod-uid");
    if (kind)
        json_object_set_new(
            json_object_get(p, "metadata"), "ownerReferences",
            json_pack("[{s:s,s:s,s:s,s:s,s:b},{s:s,s:s,s:s,s:s}]", "apiVersion",
                      strcmp(kind, "Job") ? "apps/v1" : "batch/v1", "kind",
                      kind, "name", name, "uid", "owner-uid", "controller", 1,
                      "apiVersion", "v1", "kind", "ConfigMap", "name",
                      "not-a-controller", "uid", "x"));
    return p;
}

static void test_resolve_owner(void **state)
{
    fx *f = *state;
    kube_client *c = client(f, NULL);
    kube_owner o;
    kube_response r;
    json_t *p = owned_pod("ReplicaSet", "web-5d8f7");
    assert_int_equal(kube_resolve_owner(c, p, &o, &r), 0);
    assert_string_equal(o.kind, "Deployment");
    assert_string_equal(o.name, "web");
    assert_string_equal(o.uid, "dep-uid");
    assert_string_equal(o.api_version, "apps/v1");
    json_decref(p);
    p = owned_pod("ReplicaSet", "rs-gone");
    assert_int_equal(kube_resolve_owner(c, p, &o, &r), 0);
    assert_string_equal(o.kind, "ReplicaSet");
    assert_string_equal(o.name, "rs-gone");
    json_decref(p);
    p = owned_pod("ReplicaSet", "rs-forbidden");
    assert_int_equal(kube_resolve_owner(c, p, &o, &r), -1);
    assert_int_equal(r.status, 403);
    assert_true(strstr(r.error, "is forbidden") != NULL);
    kube_response_free(&r);
    json_decref(p);
    static const char *const direct[] = {"StatefulSet", "DaemonSet", "Job"};
    for (int i = 0; i < 3; i++) {
        p = owned_pod(direct[i], "w");
        assert_int_equal(kube_resolve_owner(c, p, &o, NULL), 0);
        assert_string_equal(o.kind, direct[i]);
        assert_string_equal(o.name, "w");
        assert_string_equal(o.uid, "owner-uid");
        json_decref(p);
    }
    p = owned_pod(NULL, NULL);
    assert_int_equal(kube_resolve_owner(c, p, &o, NULL), 0);
    assert_string_equal(o.kind, "");
    assert_string_equal(o.name, "pod-x");
    assert_string_equal(o.uid, "pod-uid");
    json_decref(p);
    /* Only the RS lookups went to the server. */
    assert_int_equal(f->s->hits, 3);
    kube_client_free(c);
}

static void test_invalid_json_and_setup_easy(void **state)
{
    fx *f = *state;
    kube_config *cfg = cfg_for(f->s->port);
    cfg->token = strdup("easy-token");
    kube_client *c = client_cfg(cfg, NULL);
    kube_response r;
    assert_int_equal(kube_get(c, "/badjson", &r), -1);
    assert_int_equal(r.status, 200);
    assert_true(strstr(r.error, "GET /badjson: invalid JSON in the response") ==
                r.error);
    assert_null(r.json);
    kube_response_free(&r);

    /* A handle the caller drives itself carries our credentials. */
    CURL *e = curl_easy_init();
    struct curl_slist *h = NULL;
    char err[256], url[128];
    assert_int_equal(kube_client_setup_easy(c, e, &h, err, sizeof err), 0);
    assert_int_equal(kube_client_url(c, "/auth/easy-token", url, sizeof url),
                     0);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    FILE *devnull = fopen("/dev/null", "w");
    curl_easy_setopt(e, CURLOPT_WRITEDATA, devnull);
    assert_int_equal(curl_easy_perform(e), CURLE_OK);
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    assert_int_equal(code, 200);
    fclose(devnull);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    kube_client_free(c);
}

static void test_tls_server_name_routing(void **state)
{
    fx *f = *state;
    kube_config *cfg = cfg_for(f->s->port);
    cfg->tls_server_name = strdup("apiserver.example.test");
    kube_client *c = client_cfg(cfg, NULL);
    char url[128], want[128];
    assert_int_equal(kube_client_url(c, "/ok", url, sizeof url), 0);
    snprintf(want, sizeof want, "http://apiserver.example.test:%d/ok",
             f->s->port);
    assert_string_equal(url, want);
    /* The name is what the request carries; the connection still goes to
     * the configured server (no DNS for the name). */
    kube_response r;
    assert_int_equal(kube_get(c, "/ok", &r), 0);
    snprintf(want, sizeof want, "apiserver.example.test:%d", f->s->port);
    assert_string_equal(kube_json_str(r.json, "Host"), want);
    kube_response_free(&r);
    kube_client_free(c);
}

static void test_bad_server_url(void **state)
{
    (void)state;
    kube_config *cfg = calloc(1, sizeof *cfg);
    cfg->server = strdup("https://");
    cfg->source = strdup("/k");
    char err[256];
    assert_null(kube_client_new(cfg, NULL, err, sizeof err));
    assert_string_equal(err, "/k: server \"https://\" is not a valid URL");
    kube_config_free(cfg);
    assert_null(kube_client_new(NULL, NULL, err, sizeof err));
    assert_string_equal(err, "kube client: no server configured");
}

/* Owner and revision together: a Deployment pod's ReplicaSet is read once
 * for both; a StatefulSet pod's ControllerRevision is read for the
 * revision; an API error on the owner fails the whole. */
static void test_resolve_workload(void **state)
{
    fx *f = *state;
    kube_client *c = client(f, NULL);
    kube_owner o;
    kube_response r;
    kube_revision rev = {0, 0};
    json_t *p = owned_pod("ReplicaSet", "web-5d8f7");
    int hits = f->s->hits;
    assert_int_equal(kube_resolve_workload(c, p, &o, &rev, &r), 0);
    assert_string_equal(o.kind, "Deployment");
    assert_int_equal(rev.number, 7);
    /* When the revision was rolled out: the ReplicaSet's creation. */
    assert_int_equal(rev.created_s, 1700000000);
    assert_int_equal(f->s->hits, hits + 1);
    json_decref(p);
    p = owned_pod("StatefulSet", "db");
    json_object_set_new(json_object_get(p, "metadata"), "labels",
                        json_pack("{s:s}", "controller-revision-hash", "db-6b8c9"));
    assert_int_equal(kube_resolve_workload(c, p, &o, &rev, NULL), 0);
    assert_string_equal(o.kind, "StatefulSet");
    assert_int_equal(rev.number, 3);
    assert_int_equal(rev.created_s, 1700003600);
    json_decref(p);
    p = owned_pod("ReplicaSet", "rs-forbidden");
    assert_int_equal(kube_resolve_workload(c, p, &o, &rev, &r), -1);
    assert_int_equal(r.status, 403);
    assert_int_equal(rev.number, -1);
    kube_response_free(&r);
    json_decref(p);
    kube_client_free(c);
}

static void test_pod_revision(void **state)
{
    fx *f = *state;
    kube_client *c = client(f, NULL);
    kube_response r;
    kube_revision rev = {0, 0};
    /* A Deployment's pod: its ReplicaSet's revision annotation. */
    json_t *p = owned_pod("ReplicaSet", "web-5d8f7");
    assert_int_equal(kube_pod_revision(c, p, &rev, &r), 0);
    assert_int_equal(rev.number, 7);
    json_decref(p);
    /* An annotation that is not a number, a ReplicaSet that is gone: unknown. */
    p = owned_pod("ReplicaSet", "rs-norev");
    assert_int_equal(kube_pod_revision(c, p, &rev, &r), 0);
    assert_int_equal(rev.number, -1);
    json_decref(p);
    p = owned_pod("ReplicaSet", "rs-gone");
    rev.number = 0;
    assert_int_equal(kube_pod_revision(c, p, &rev, &r), 0);
    assert_int_equal(rev.number, -1);
    assert_int_equal(rev.created_s, -1);
    json_decref(p);
    p = owned_pod("ReplicaSet", "rs-forbidden");
    assert_int_equal(kube_pod_revision(c, p, &rev, &r), -1);
    assert_int_equal(r.status, 403);
    kube_response_free(&r);
    json_decref(p);
    /* A StatefulSet's pod names its ControllerRevision whole in its label,
     * a DaemonSet's pod by the hash alone: both read db-6b8c9. */
    static const char *const sets[][2] = {{"StatefulSet", "db-6b8c9"},
                                          {"DaemonSet", "6b8c9"}};
    for (int i = 0; i < 2; i++) {
        p = owned_pod(sets[i][0], "db");
        json_object_set_new(json_object_get(p, "metadata"), "labels",
                            json_pack("{s:s}", "controller-revision-hash",
                                      sets[i][1]));
        rev.number = 0;
        assert_int_equal(kube_pod_revision(c, p, &rev, NULL), 0);
        assert_int_equal(rev.number, 3);
        json_decref(p);
    }
    /* A Job's pod and a bare pod have no revision, and ask nothing. */
    int hits = f->s->hits;
    p = owned_pod("Job", "j");
    assert_int_equal(kube_pod_revision(c, p, &rev, NULL), 0);
    assert_int_equal(rev.number, -1);
    json_decref(p);
    p = owned_pod(NULL, NULL);
    assert_int_equal(kube_pod_revision(c, p, &rev, NULL), 0);
    assert_int_equal(rev.number, -1);
    json_decref(p);
    assert_int_equal(f->s->hits, hits);
    kube_client_free(c);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_get_and_headers),
        T(test_basic_auth_and_default_ua),
        T(test_bodies),
        T(test_retry_5xx_then_ok),
        T(test_retry_after_honoured),
        T(test_retries_exhausted),
        T(test_what_is_not_retried),
        T(test_401_token_file_refresh),
        T(test_401_exec_refresh),
        T(test_rate_limit),
        T(test_body_cap),
        T(test_reset),
        T(test_timeout),
        T(test_connection_refused),
        T(test_async_many_and_threads),
        T(test_sync_from_threads),
        T(test_stream),
        T(test_cancel_and_shutdown),
        T(test_list_paging),
        T(test_resolve_owner),
        T(test_pod_revision),
        T(test_resolve_workload),
        T(test_invalid_json_and_setup_easy),
        T(test_tls_server_name_routing),
        T(test_bad_server_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
