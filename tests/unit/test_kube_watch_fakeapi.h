/*
 * test_kube_watch_fakeapi.h — a scripted HTTP/1.1 server on 127.0.0.1 for
 * the kube watch, events and lease tests: each request goes to a handler
 * the test supplies, which writes whatever it wants (a JSON answer, a
 * chunked watch stream cut at any byte, a reset) on the socket.  It lets the
 * tests inject what a real API server will not do on demand: invalid JSON
 * in a watch line, connection resets mid-event, 410 at a chosen moment.
 *
 * Header-only (static functions) so that only the tests including it carry
 * it.  Not for: anything outside tests, or TLS.
 */
#ifndef TEST_KUBE_WATCH_FAKEAPI_H
#define TEST_KUBE_WATCH_FAKEAPI_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kube/kube.h"

#include "../support/sock.h"

/* Not every test uses every function here. */
#define FAKE_FN static __attribute__((unused))

typedef struct fake_req {
    char method[16];
    char path[2048];
    char *body;
    size_t body_len;
} fake_req;

typedef struct fake_api fake_api;
/* Returns FAKE_KEEP to keep the connection, FAKE_CLOSE to close it, or
 * FAKE_RESET to reset it (RST). */
enum { FAKE_KEEP = 0, FAKE_CLOSE = -1, FAKE_RESET = -2 };
typedef int (*fake_handler)(fake_api *api, const fake_req *req, int fd,
                            void *ud);

#define FAKE_MAX_CONNS 256

struct fake_api {
    int lfd;
    int port;
    pthread_t accept_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    fake_handler fn;
    void *ud;
    int nconns;
    pthread_t conns[FAKE_MAX_CONNS];
    int fds[FAKE_MAX_CONNS];
    char dir[64];
    char kubeconfig[128];
};

typedef struct fake_conn {
    fake_api *api;
    int fd;
} fake_conn;

FAKE_FN bool fake_stopping(fake_api *a)
{
    pthread_mutex_lock(&a->mu);
    bool s = a->stop;
    pthread_mutex_unlock(&a->mu);
    return s;
}

FAKE_FN int fake_write(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

FAKE_FN int fake_send(int fd, int status, const char *ctype, const char *body)
{
    char head[256];
    size_t n = strlen(body);
    int h = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     status, ctype, n);
    if (fake_write(fd, head, (size_t)h) != 0)
        return -1;
    return fake_write(fd, body, n);
}

FAKE_FN int fake_send_json(int fd, int status, const json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT);
    int rc = fake_send(fd, status, "application/json", s ? s : "{}");
    free(s);
    return rc;
}

FAKE_FN int fake_send_status(int fd, int code, const char *reason,
                            const char *message)
{
    json_t *st = json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind",
                           "Status", "apiVersion", "v1", "metadata", "status",
                           "Failure", "message", message, "reason", reason,
                           "code", code);
    int rc = fake_send_json(fd, code, st);
    json_decref(st);
    return rc;
}

FAKE_FN int fake_stream_begin(int fd)
{
    static const char h[] = "HTTP/1.1 200 OK\r\n"
                            "Content-Type: application/json\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n";
    return fake_write(fd, h, sizeof h - 1);
}

FAKE_FN int fake_chunk(int fd, const char *data, size_t len)
{
    char head[32];
    int h = snprintf(head, sizeof head, "%zx\r\n", len);
    if (fake_write(fd, head, (size_t)h) || fake_write(fd, data, len) ||
        fake_write(fd, "\r\n", 2))
        return -1;
    return 0;
}

FAKE_FN int fake_chunk_str(int fd, const char *s)
{
    return fake_chunk(fd, s, strlen(s));
}

FAKE_FN int fake_stream_end(int fd)
{
    return fake_write(fd, "0\r\n\r\n", 5);
}

/* Blocks until the peer closes the connection or the server stops. */
FAKE_FN void fake_hold(fake_api *a, int fd)
{
    char buf[4096];
    while (!fake_stopping(a)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, 50);
        if (r < 0 && errno != EINTR)
            return;
        if (r > 0) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n <= 0)
                return;
        }
    }
}

FAKE_FN void fake_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Reads one request; 0 ok, -1 closed or broken. */
FAKE_FN int fake_read_req(fake_api *a, int fd, fake_req *r, char **buf,
                         size_t *len, size_t *cap)
{
    memset(r, 0, sizeof *r);
    for (;;) {
        char *end = *len ? memmem(*buf, *len, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t hlen = (size_t)(end - *buf) + 4;
            (*buf)[hlen - 4] = '\0';
            if (sscanf(*buf, "%15s %2047s", r->method, r->path) != 2)
                return -1;
            size_t clen = 0;
            for (char *p = *buf; (p = strcasestr(p, "\r\ncontent-length:"));
                 p++)
                clen = strtoul(p + 17, NULL, 10);
            while (*len < hlen + clen) {
                if (*cap < hlen + clen + 1) {
                    *cap = hlen + clen + 1;
                    *buf = realloc(*buf, *cap);
                }
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 100) <= 0) {
                    if (fake_stopping(a))
                        return -1;
                    continue;
                }
                ssize_t n = recv(fd, *buf + *len, *cap - *len, 0);
                if (n <= 0)
                    return -1;
                *len += (size_t)n;
            }
            r->body = malloc(clen + 1);
            memcpy(r->body, *buf + hlen, clen);
            r->body[clen] = '\0';
            r->body_len = clen;
            memmove(*buf, *buf + hlen + clen, *len - hlen - clen);
            *len -= hlen + clen;
            return 0;
        }
        if (*cap - *len < 4096) {
            *cap = *cap * 2 + 4096;
            *buf = realloc(*buf, *cap);
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, 100);
        if (pr <= 0) {
            if (fake_stopping(a))
                return -1;
            continue;
        }
        ssize_t n = recv(fd, *buf + *len, *cap - *len - 1, 0);
        if (n <= 0)
            return -1;
        *len += (size_t)n;
    }
}

FAKE_FN void *fake_conn_main(void *arg)
{
    fake_conn *c = arg;
    fake_api *a = c->api;
    int fd = c->fd;
    free(c);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    fake_req r;
    int how = FAKE_CLOSE;
    while (fake_read_req(a, fd, &r, &buf, &len, &cap) == 0) {
        how = a->fn(a, &r, fd, a->ud);
        free(r.body);
        if (how != FAKE_KEEP)
            break;
        how = FAKE_CLOSE;
    }
    free(buf);
    if (how == FAKE_RESET) {
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    /* The fd stays open (and listed) until fake_api_stop: closing here
     * would let the number be reused while stop may still shut it down. */
    shutdown(fd, SHUT_RDWR);
    return NULL;
}

FAKE_FN void *fake_accept_main(void *arg)
{
    fake_api *a = arg;
    while (!fake_stopping(a)) {
        int fd = tsock_accept_within(a->lfd, 50);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&a->mu);
        if (a->nconns >= FAKE_MAX_CONNS || a->stop) {
            pthread_mutex_unlock(&a->mu);
            close(fd);
            continue;
        }
        /* Headers and body go out in separate writes: without this,
         * Nagle + delayed ACK add 40 ms to every answer. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fake_conn *c = malloc(sizeof *c);
        c->api = a;
        c->fd = fd;
        a->fds[a->nconns] = fd;
        pthread_create(&a->conns[a->nconns], NULL, fake_conn_main, c);
        a->nconns++;
        pthread_mutex_unlock(&a->mu);
    }
    return NULL;
}

/* Starts the server and writes a kubeconfig pointing at it (namespace ns).
 * 0 on success. */
FAKE_FN int fake_api_start(fake_api *a, fake_handler fn, void *ud,
                          const char *ns)
{
    memset(a, 0, sizeof *a);
    a->fn = fn;
    a->ud = ud;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    a->lfd = tsock_listen(&sa, 64);
    if (a->lfd < 0)
        return -1;
    a->port = ntohs(sa.sin_port);
    snprintf(a->dir, sizeof a->dir, "/tmp/lw-fakeapi-XXXXXX");
    if (!mkdtemp(a->dir))
        return -1;
    snprintf(a->kubeconfig, sizeof a->kubeconfig, "%s/kubeconfig", a->dir);
    FILE *f = fopen(a->kubeconfig, "w");
    if (!f)
        return -1;
    fprintf(f,
            "apiVersion: v1\nkind: Config\n"
            "clusters:\n- name: fake\n  cluster:\n"
            "    server: http://127.0.0.1:%d\n"
            "users:\n- name: u\n  user:\n    token: fake-token\n"
            "contexts:\n- name: c\n  context:\n    cluster: fake\n"
            "    user: u\n    namespace: %s\n"
            "current-context: c\n",
            a->port, ns);
    fclose(f);
    return pthread_create(&a->accept_thread, NULL, fake_accept_main, a);
}

/* Wakes handlers blocked in fake_wait/fake_hold. */
FAKE_FN void fake_api_stop(fake_api *a)
{
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->accept_thread, NULL);
    for (int i = 0; i < a->nconns; i++)
        shutdown(a->fds[i], SHUT_RDWR);
    for (int i = 0; i < a->nconns; i++) {
        pthread_join(a->conns[i], NULL);
        close(a->fds[i]);
    }
    close(a->lfd);
    unlink(a->kubeconfig);
    rmdir(a->dir);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
}

/* A client for the fake server, with quick retries. */
FAKE_FN kube_client *fake_client(fake_api *a, char *err, size_t errlen)
{
    kube_config_opts co = {.kubeconfig = a->kubeconfig,
                           .incluster = KUBE_INCLUSTER_NEVER};
    kube_config *cfg = NULL;
    if (kube_config_load(&co, &cfg, err, errlen) != 0)
        return NULL;
    kube_client_opts o;
    kube_client_opts_default(&o);
    o.qps = -1;
    o.max_backoff_ms = 50;
    o.max_retries = 2;
    o.timeout_ms = 5000;
    kube_client *c = kube_client_new(cfg, &o, err, errlen);
    kube_config_free(cfg);
    return c;
}

/* The server (fake_api_start) and a client for it (fake_client), as every
 * test of a client against it begins.  NULL when either cannot be had
 * (the reason on stderr); a server that started is stopped again then. */
FAKE_FN kube_client *fake_api_connect(fake_api *a, fake_handler fn, void *ud,
                                      const char *ns)
{
    if (fake_api_start(a, fn, ud, ns) != 0) {
        fprintf(stderr, "fake API server: cannot start\n");
        return NULL;
    }
    char err[512];
    kube_client *c = fake_client(a, err, sizeof err);
    if (!c) {
        fprintf(stderr, "fake API client: %s\n", err);
        fake_api_stop(a);
    }
    return c;
}

/* Undoes fake_api_connect: frees the client, then stops the server unless
 * `a` is NULL (a test that stopped it itself, to play an API server that
 * went away). */
FAKE_FN void fake_api_disconnect(fake_api *a, kube_client *c)
{
    kube_client_free(c);
    if (a)
        fake_api_stop(a);
}

/* The fake Events stores (contain and events tests) keep Events by name
 * under a mutex the handler holds; these two answer the way the API server
 * does and release mu before writing, so a slow client never holds the
 * store.
 *
 * The Event a POST carries, with its metadata.name in *name; NULL (and a
 * 400 already written, mu released) when the body is not an Event. */
FAKE_FN json_t *fake_event_body(int fd, pthread_mutex_t *mu,
                                const fake_req *r, const char **name)
{
    json_t *ev = json_loadb(r->body, r->body_len, 0, NULL);
    *name = json_string_value(
        json_object_get(json_object_get(ev, "metadata"), "name"));
    if (!ev || !*name) {
        pthread_mutex_unlock(mu);
        json_decref(ev);
        fake_send_status(fd, 400, "BadRequest", "bad event");
        return NULL;
    }
    return ev;
}

/* A JSON merge PATCH of the stored Event ev (NULL: it does not exist, 404)
 * with the request body, answered with the Event as it now is. */
FAKE_FN int fake_event_patch(int fd, pthread_mutex_t *mu, json_t *ev,
                             const fake_req *r)
{
    if (!ev) {
        pthread_mutex_unlock(mu);
        fake_send_status(fd, 404, "NotFound", "events \"x\" not found");
        return FAKE_KEEP;
    }
    json_t *patch = json_loadb(r->body, r->body_len, 0, NULL);
    json_object_update(ev, patch);
    json_decref(patch);
    json_t *copy = json_deep_copy(ev);
    pthread_mutex_unlock(mu);
    fake_send_json(fd, 200, copy);
    json_decref(copy);
    return FAKE_KEEP;
}

/* The value of query parameter key in path ("" when absent). */
FAKE_FN void fake_query(const char *path, const char *key, char *out,
                       size_t outlen)
{
    out[0] = '\0';
    const char *q = strchr(path, '?');
    size_t kl = strlen(key);
    while (q) {
        q++;
        if (!strncmp(q, key, kl) && q[kl] == '=') {
            const char *v = q + kl + 1;
            size_t n = strcspn(v, "&");
            if (n >= outlen)
                n = outlen - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return;
        }
        q = strchr(q, '&');
    }
}

FAKE_FN int64_t fake_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
