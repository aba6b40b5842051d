/*
 * test_capture_transport.c — the capture transports against a tiny local
 * server on 127.0.0.1 that plays both an API server (WebSocket port-forward
 * upgrade, v4.channel.k8s.io framing, pods GET, proxy) and a pod (plain
 * HTTP): handshake and accept check, port prefixes, fragmented and large
 * frames, ping/pong, the close handshake, error-channel text, refused
 * upgrades, a 401 retry, stalls, endless bodies, and the per-pod state
 * (backoff, goroutineleak 404 memory, count probe).
 *
 * These check our side of the protocol in isolation; the e2e suites
 * (tests/e2e/capture_*.sh) check it against the real API server and kwok.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <zlib.h>

#include "capture/cap_ws.h"
#include "capture/capture.h"
#include "kube/kube.h"

#include "../support/sock.h"
#include "support.h"

/* ---- the fake server ----------------------------------------------------- */

typedef struct fake {
    int lfd;
    uint16_t port;
    pthread_t th;
    atomic_bool stop;
    atomic_int connections;
    atomic_int upgrades;
    atomic_int unauth_left;   /* answer this many upgrades with 401        */
    atomic_int open_conns;
    pthread_mutex_t mu;
    char tunnel_request[8192]; /* what the client sent through the tunnel */
    char upgrade_head[8192];
    bool saw_pong, saw_close, all_masked;
    unsigned close_status;
    SSL_CTX *tls;              /* the pods' self-signed TLS             */
} fake;

/* A connection to the fake pod: plain, or TLS on the socket. */
typedef struct io {
    int fd;
    SSL *ssl;
} io;

typedef struct conn_arg {
    fake *f;
    int fd;
} conn_arg;

static int read_head(int fd, char *buf, size_t cap)
{
    size_t have = 0;
    while (have + 1 < cap) {
        ssize_t n = recv(fd, buf + have, 1, 0);
        if (n <= 0)
            return -1;
        have += (size_t)n;
        buf[have] = '\0';
        if (have >= 4 && !strcmp(buf + have - 4, "\r\n\r\n"))
            return 0;
    }
    return -1;
}

static void io_send(io *c, const void *d, size_t n)
{
    if (!c->ssl) {
        tsock_send_all(c->fd, d, n);
        return;
    }
    const char *p = d;
    while (n) {
        int k = SSL_write(c->ssl, p, (int)n);
        if (k <= 0)
            return;
        p += k;
        n -= (size_t)k;
    }
}

static void io_send_str(io *c, const char *s) { io_send(c, s, strlen(s)); }

static int io_recv(io *c, void *b, size_t n)
{
    return c->ssl ? SSL_read(c->ssl, b, (int)n) : (int)recv(c->fd, b, n, 0);
}

static int io_read_head(io *c, char *buf, size_t cap)
{
    size_t have = 0;
    while (have + 1 < cap) {
        if (io_recv(c, buf + have, 1) <= 0)
            return -1;
        have++;
        buf[have] = '\0';
        if (have >= 4 && !strcmp(buf + have - 4, "\r\n\r\n"))
            return 0;
    }
    return -1;
}

/* A throwaway P-256 key and self-signed certificate for the fake pods. */
static SSL_CTX *make_tls_ctx(void)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(pk);
    assert_non_null(x);
    assert_non_null(ctx);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pk);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
                               (const unsigned char *)"pod", -1, -1, 0);
    X509_set_issuer_name(x, nm);
    assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
    assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, pk), 1);
    X509_free(x);
    EVP_PKEY_free(pk);
    return ctx;
}

/* Unmasked server frame. */
static void ws_send(int fd, unsigned op, bool fin, const void *p, size_t len)
{
    uint8_t h[TS_WS_HEAD_MAX];
    size_t i = ts_ws_server_head(h, op, fin, len);
    tsock_send_all(fd, h, i);
    if (len)
        tsock_send_all(fd, p, len);
}

static void ws_send_chan(int fd, uint8_t ch, const void *p, size_t len)
{
    uint8_t *m = malloc(len + 1);
    m[0] = ch;
    memcpy(m + 1, p, len);
    ws_send(fd, 2, true, m, len + 1);
    free(m);
}

static int recv_n(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        ssize_t k = recv(fd, p, n, 0);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads one client frame (unmasking it); -1 at EOF. */
static int ws_recv(fake *f, int fd, unsigned *op, uint8_t *buf, size_t cap,
                   size_t *len)
{
    uint8_t h[2];
    if (recv_n(fd, h, 2))
        return -1;
    *op = h[0] & 0x0F;
    bool masked = h[1] & 0x80;
    uint64_t l = h[1] & 0x7F;
    if (l == 126) {
        uint8_t e[2];
        if (recv_n(fd, e, 2))
            return -1;
        l = (uint64_t)e[0] << 8 | e[1];
    } else if (l == 127) {
        uint8_t e[8];
        if (recv_n(fd, e, 8))
            return -1;
        l = 0;
        for (int k = 0; k < 8; k++)
            l = l << 8 | e[k];
    }
    uint8_t mask[4] = {0, 0, 0, 0};
    if (masked && recv_n(fd, mask, 4))
        return -1;
    if (!masked) {
        pthread_mutex_lock(&f->mu);
        f->all_masked = false;
        pthread_mutex_unlock(&f->mu);
    }
    if (l > cap)
        return -1;
    if (recv_n(fd, buf, (size_t)l))
        return -1;
    for (size_t i = 0; i < l; i++)
        buf[i] ^= mask[i & 3];
    *len = (size_t)l;
    return 0;
}

static const char *header(const char *head, const char *name, char *out,
                          size_t cap)
{
    const char *p = strcasestr(head, name);
    if (!p)
        return NULL;
    p += strlen(name);
    while (*p == ':' || *p == ' ')
        p++;
    size_t n = strcspn(p, "\r\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

static const char body_text[] = "goroutine profile: total 1\n"
                                "1 @ 0x1 0x2\n#\t0x1\tmain.main+0x1\t/a.go:1"
                                "\n\n";

/* Waits for the client's CLOSE (answering pings), records it, replies. */
static void finish_close(fake *f, int fd)
{
    uint8_t buf[70000];
    unsigned op;
    size_t len;
    while (ws_recv(f, fd, &op, buf, sizeof buf, &len) == 0) {
        if (op == 0xA) {
            pthread_mutex_lock(&f->mu);
            f->saw_pong = true;
            pthread_mutex_unlock(&f->mu);
        } else if (op == 0x8) {
            pthread_mutex_lock(&f->mu);
            f->saw_close = true;
            f->close_status = len >= 2 ? (unsigned)(buf[0] << 8 | buf[1]) : 0;
            pthread_mutex_unlock(&f->mu);
            ws_send(fd, 0x8, true, "\x03\xe8", 2);
            return;
        }
    }
}

/* The pod behind the tunnel: read the client's HTTP request. */
static int tunnel_request(fake *f, int fd)
{
    uint8_t buf[8192];
    unsigned op;
    size_t len;
    if (ws_recv(f, fd, &op, buf, sizeof buf - 1, &len) || op != 2 || len < 1 ||
        buf[0] != 0)
        return -1;
    buf[len] = '\0';
    pthread_mutex_lock(&f->mu);
    snprintf(f->tunnel_request, sizeof f->tunnel_request, "%s",
             (char *)buf + 1);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

/* The pod behind the tunnel speaks TLS: OpenSSL over memory BIOs fed from
 * the data channel, as the client does on its side. */
static void serve_tunnel_tls(fake *f, int fd)
{
    SSL *ssl = SSL_new(f->tls);
    BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, in, out);
    SSL_set_accept_state(ssl);
    char req[8192];
    size_t have = 0;
    bool responded = false;
    uint8_t *buf = malloc(70000), tmp[16384];
    unsigned op;
    size_t len;
    req[0] = '\0';
    while (!responded && ws_recv(f, fd, &op, buf, 70000, &len) == 0) {
        if (op != 2 || len < 1 || buf[0] != 0)
            continue;
        BIO_write(in, buf + 1, (int)len - 1);
        int r;
        while (have + 1 < sizeof req &&
               (r = SSL_read(ssl, req + have, (int)(sizeof req - 1 - have))) > 0) {
            have += (size_t)r;
            req[have] = '\0';
        }
        if (strstr(req, "\r\n\r\n")) {
            char resp[512];
            int n = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-"
                             "Length: %zu\r\n\r\n%s", strlen(body_text),
                             body_text);
            SSL_write(ssl, resp, n);
            SSL_shutdown(ssl);
            responded = true;
        }
        int k;
        while ((k = BIO_read(out, tmp, sizeof tmp)) > 0)
            ws_send_chan(fd, 0, tmp, (size_t)k);
    }
    pthread_mutex_lock(&f->mu);
    snprintf(f->tunnel_request, sizeof f->tunnel_request, "%s", req);
    pthread_mutex_unlock(&f->mu);
    free(buf);
    SSL_free(ssl);
}

/* API Priority and Fairness rejecting a request: plain text, as
 * kube-apiserver sends it, asking the client to wait retry_after seconds. */
static void send_apf_429(int fd, const char *retry_after)
{
    char resp[768];
    snprintf(resp, sizeof resp, "HTTP/1.1 429 Too Many Requests\r\n"
             "Content-Type: text/plain; charset=utf-8\r\nRetry-After: %s"
             "\r\nContent-Length: 42\r\n\r\nToo many requests, please "
             "try again later.\n", retry_after);
    tsock_send_str(fd, resp);
}

static void serve_portforward(fake *f, int fd, const char *head,
                              const char *pod, unsigned port)
{
    char key[64], accept[32], resp[512];
    atomic_fetch_add(&f->upgrades, 1);
    pthread_mutex_lock(&f->mu);
    snprintf(f->upgrade_head, sizeof f->upgrade_head, "%s", head);
    pthread_mutex_unlock(&f->mu);
    if (atomic_load(&f->unauth_left) > 0) {
        atomic_fetch_sub(&f->unauth_left, 1);
        const char *b = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
                        "\"Failure\",\"message\":\"Unauthorized\",\"reason\":"
                        "\"Unauthorized\",\"code\":401}";
        snprintf(resp, sizeof resp, "HTTP/1.1 401 Unauthorized\r\nContent-Type: "
                 "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(b), b);
        tsock_send_str(fd, resp);
        return;
    }
    if (!strcmp(pod, "forbidden")) {
        const char *b = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
                        "\"Failure\",\"message\":\"pods \\\"forbidden\\\" is "
                        "forbidden: User \\\"system:serviceaccount:ns:ro\\\" "
                        "cannot create resource \\\"pods/portforward\\\"\","
                        "\"reason\":\"Forbidden\",\"code\":403}";
        snprintf(resp, sizeof resp, "HTTP/1.1 403 Forbidden\r\nContent-Type: "
                 "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(b), b);
        tsock_send_str(fd, resp);
        return;
    }
    if (!strncmp(pod, "busy", 4)) {
        send_apf_429(fd, pod + 4);
        return;
    }
    if (!strcmp(pod, "plain400")) {
        tsock_send_str(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\n"
                     "bad things\n");
        return;
    }
    if (!header(head, "Sec-WebSocket-Key", key, sizeof key))
        return;
    cap_ws_accept_for_key(key, accept);
    if (!strcmp(pod, "badaccept"))
        accept[3] ^= 1;
    snprintf(resp, sizeof resp,
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
             "Sec-WebSocket-Protocol: %s\r\n\r\n",
             accept, !strcmp(pod, "badproto") ? "v5.channel.k8s.io"
                                              : "v4.channel.k8s.io");
    tsock_send_str(fd, resp);
    uint8_t pb[2] = {(uint8_t)port, (uint8_t)(port >> 8)};
    if (!strcmp(pod, "badport"))
        pb[0] ^= 1;
    ws_send_chan(fd, 0, pb, 2);
    ws_send_chan(fd, 1, pb, 2);
    if (!strcmp(pod, "badaccept") || !strcmp(pod, "badport") ||
        !strcmp(pod, "badproto")) {
        finish_close(f, fd);
        return;
    }
    if (!strcmp(pod, "refused")) {
        const char *e = "error forwarding port 6060 to pod refused, uid 42: "
                        "failed to dial 127.0.0.1:6060: connection refused";
        ws_send_chan(fd, 1, e, strlen(e));
        ws_send(fd, 0x8, true, "\x03\xe8", 2);
        finish_close(f, fd);
        return;
    }
    if (!strcmp(pod, "tlsok")) {
        serve_tunnel_tls(f, fd);
        finish_close(f, fd);
        return;
    }
    if (tunnel_request(f, fd))
        return;
    if (!strcmp(pod, "ok")) {
        char r[512];
        snprintf(r, sizeof r, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                 "Content-Length: %zu\r\n\r\n%s", strlen(body_text), body_text);
        size_t n = strlen(r), half = n / 2;
        /* One message in three fragments with a ping in the middle. */
        uint8_t *m = malloc(n + 1);
        m[0] = 0;
        memcpy(m + 1, r, n);
        ws_send(fd, 2, false, m, half);
        ws_send(fd, 9, true, "p1", 2);
        ws_send(fd, 0, false, m + half, 5);
        ws_send(fd, 0, true, m + half + 5, n + 1 - half - 5);
        free(m);
        finish_close(f, fd);
    } else if (!strcmp(pod, "big")) {
        /* 70000-byte chunked body in a 64-bit-length frame and a
         * 16-bit-length frame. */
        size_t blen = 70000;
        char *b = malloc(blen);
        for (size_t i = 0; i < blen; i++)
            b[i] = (char)('a' + i % 26);
        char *r = malloc(blen + 256);
        int hl = sprintf(r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                            "\r\n%zx\r\n", blen - 1000);
        memcpy(r + hl, b, blen - 1000);
        size_t n = (size_t)hl + blen - 1000;
        ws_send_chan(fd, 0, r, n);
        n = (size_t)sprintf(r, "\r\n3e8\r\n");
        memcpy(r + n, b + blen - 1000, 1000);
        n += 1000;
        n += (size_t)sprintf(r + n, "\r\n0\r\n\r\n");
        ws_send_chan(fd, 0, r, n);
        free(r);
        free(b);
        finish_close(f, fd);
    } else if (!strcmp(pod, "closedelim")) {
        const char *r = "HTTP/1.0 200 OK\r\n\r\nuntil the end";
        ws_send_chan(fd, 0, r, strlen(r));
        ws_send(fd, 0x8, true, "\x03\xe8", 2);
        finish_close(f, fd);
    } else if (!strcmp(pod, "truncated")) {
        const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort";
        ws_send_chan(fd, 0, r, strlen(r));
        ws_send(fd, 0x8, true, "\x03\xe8", 2);
        finish_close(f, fd);
    } else if (!strcmp(pod, "masked")) {
        const uint8_t bogus[] = {0x82, 0x82, 1, 2, 3, 4, 0x55, 0x66};
        tsock_send_all(fd, bogus, sizeof bogus);
        finish_close(f, fd);
    } else if (!strcmp(pod, "notfound404")) {
        const char *r = "HTTP/1.1 404 Not Found\r\nContent-Length: 16\r\n\r\n"
                        "Unknown profile\n";
        ws_send_chan(fd, 0, r, strlen(r));
        finish_close(f, fd);
    } else if (!strcmp(pod, "forever")) {
        const char *r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        ws_send_chan(fd, 0, r, strlen(r));
        char chunk[4200];
        int hl = sprintf(chunk, "1000\r\n");
        memset(chunk + hl, 'x', 4096);
        memcpy(chunk + hl + 4096, "\r\n", 2);
        while (!atomic_load(&f->stop)) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, 0) > 0)
                break; /* the client gave up: its CLOSE is waiting */
            ws_send_chan(fd, 0, chunk, (size_t)hl + 4098);
        }
        finish_close(f, fd);
    } else {
        /* "stall", "gone": say nothing until the client leaves. */
        finish_close(f, fd);
    }
}

/* A gzipped profile.proto whose string table holds one 8 MiB string of
 * zeros: valid-looking protobuf, 8 KiB on the wire. */
static void serve_bomb(io *c)
{
    size_t raw = 8u << 20;
    unsigned char *zeros = calloc(1, raw);
    /* field 6 (string_table), wire type 2, varint length raw - 5 */
    size_t slen = raw - 5;
    zeros[0] = 0x32;
    for (int i = 1; i <= 4; i++) {
        zeros[i] = (unsigned char)((slen & 0x7F) | (i < 4 ? 0x80 : 0));
        slen >>= 7;
    }
    uLongf cap = compressBound((uLong)raw) + 64;
    unsigned char *gz = malloc(cap);
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
    z.next_in = zeros;
    z.avail_in = (uInt)raw;
    z.next_out = gz;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t n = z.total_out;
    deflateEnd(&z);
    char h[256];
    snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nContent-Type: application/"
             "octet-stream\r\nContent-Length: %zu\r\n\r\n", n);
    io_send_str(c, h);
    io_send(c, gz, n);
    free(zeros);
    free(gz);
}

static void serve_plain(fake *f, io *c, const char *path)
{
    (void)f;
    char r[1024];
    if (strstr(path, "/bomb/")) {
        serve_bomb(c);
    } else if (strstr(path, "/goroutineleak")) {
        io_send_str(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 16\r\n\r\n"
                     "Unknown profile\n");
    } else if (strstr(path, "/goroutine?debug=1") ||
               strstr(path, "/goroutine?debug=2") ||
               !strcmp(strrchr(path, '/'), "/goroutine")) {
        snprintf(r, sizeof r, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(body_text), body_text);
        io_send_str(c, r);
    } else if (strstr(path, "/metrics")) {
        const char *m = "# TYPE go_goroutines gauge\ngo_goroutines 77\n";
        snprintf(r, sizeof r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
                 "\r\n\r\n%zx\r\n%s\r\n0\r\n\r\n", strlen(m), m);
        io_send_str(c, r);
    } else if (strstr(path, "/stall")) {
        io_send_str(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
        char b[16];
        while (!atomic_load(&f->stop) && io_recv(c, b, sizeof b) > 0)
            ;
    } else {
        io_send_str(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\n"
                     "not here!\n");
    }
}

static void serve_pod_get(int fd, const char *name)
{
    char r[1024], b[512];
    if (!strcmp(name, "gone")) {
        snprintf(b, sizeof b, "{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                 "\"status\":\"Failure\",\"message\":\"pods \\\"gone\\\" not "
                 "found\",\"reason\":\"NotFound\",\"code\":404}");
        snprintf(r, sizeof r, "HTTP/1.1 404 Not Found\r\nContent-Type: "
                 "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(b), b);
    } else {
        snprintf(b, sizeof b, "{\"kind\":\"Pod\",\"apiVersion\":\"v1\","
                 "\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\"}}", name);
        snprintf(r, sizeof r, "HTTP/1.1 200 OK\r\nContent-Type: "
                 "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(b), b);
    }
    tsock_send_str(fd, r);
}

/* pods/proxy refusals: APF's 429 ("busyN", Retry-After N), or
 * the 503 Status the API server sends when its dial to the pod fails. */
static void serve_proxy_refusal(int fd, const char *pod)
{
    char resp[768];
    if (!strcmp(pod, "unreach")) {
        const char *b = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
                        "\"Failure\",\"message\":\"error trying to reach "
                        "service: dial tcp 10.244.0.9:6060: connect: connection "
                        "refused\",\"reason\":\"ServiceUnavailable\",\"code\":503}";
        snprintf(resp, sizeof resp, "HTTP/1.1 503 Service Unavailable\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                 "\r\n%s", strlen(b), b);
        tsock_send_str(fd, resp);
    } else {
        send_apf_429(fd, pod + 4);
    }
}

static void *conn_thread(void *arg)
{
    conn_arg *ca = arg;
    fake *f = ca->f;
    int fd = ca->fd;
    free(ca);
    char head[8192];
    unsigned char first = 0;
    io c = {.fd = fd};
    if (recv(fd, &first, 1, MSG_PEEK) == 1 && first == 0x16) {
        /* A TLS ClientHello: an https pod (direct transport). */
        c.ssl = SSL_new(f->tls);
        SSL_set_fd(c.ssl, fd);
        if (SSL_accept(c.ssl) == 1 && io_read_head(&c, head, sizeof head) == 0) {
            char path[2048];
            if (sscanf(head, "%*s %2047s", path) == 1)
                serve_plain(f, &c, path);
            SSL_shutdown(c.ssl);
        }
        SSL_free(c.ssl);
    } else if (read_head(fd, head, sizeof head) == 0) {
        char method[16], path[2048];
        if (sscanf(head, "%15s %2047s", method, path) == 2) {
            char pod[128];
            unsigned port = 0;
            if (sscanf(path, "/api/v1/namespaces/ns/pods/%127[^/]/portforward"
                             "?ports=%u", pod, &port) == 2) {
                serve_portforward(f, fd, head, pod, port);
            } else if (sscanf(path, "/api/v1/namespaces/ns/pods/%127[^/:]:"
                                    "%u/proxy", pod, &port) == 2) {
                if (!strncmp(pod, "busy", 4) || !strcmp(pod, "unreach"))
                    serve_proxy_refusal(fd, pod);
                else
                    serve_plain(f, &c, strstr(path, "/proxy") + 6);
            } else if (sscanf(path, "/api/v1/namespaces/ns/pods/%127[^/?]",
                              pod) == 1) {
                serve_pod_get(fd, pod);
            } else {
                serve_plain(f, &c, path);
            }
        }
    }
    close(fd);
    atomic_fetch_sub(&f->open_conns, 1);
    return NULL;
}

static void *accept_thread(void *arg)
{
    fake *f = arg;
    while (!atomic_load(&f->stop)) {
        int fd = tsock_accept_within(f->lfd, 50);
        if (fd < 0)
            continue;
        atomic_fetch_add(&f->connections, 1);
        atomic_fetch_add(&f->open_conns, 1);
        conn_arg *ca = malloc(sizeof *ca);
        ca->f = f;
        ca->fd = fd;
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_create(&th, &at, conn_thread, ca);
        pthread_attr_destroy(&at);
    }
    return NULL;
}

/* ---- fixture -------------------------------------------------------------- */

typedef struct fixture {
    fake f;
    char dir[64], kubeconfig[128];
    kube_config *cfg;
    kube_client *kc;
    cap_capturer *cap;
    cap_options o;
} fixture;

static int setup(void **state)
{
    fixture *x = calloc(1, sizeof *x);
    pthread_mutex_init(&x->f.mu, NULL);
    x->f.all_masked = true;
    x->f.tls = make_tls_ctx();
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    x->f.lfd = tsock_listen(&a, 64);
    assert_true(x->f.lfd >= 0);
    x->f.port = ntohs(a.sin_port);
    pthread_create(&x->f.th, NULL, accept_thread, &x->f);

    strcpy(x->dir, "/tmp/lwcapXXXXXX");
    assert_non_null(mkdtemp(x->dir));
    snprintf(x->kubeconfig, sizeof x->kubeconfig, "%s/config", x->dir);
    FILE *fp = fopen(x->kubeconfig, "w");
    fprintf(fp, "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
                "    server: http://127.0.0.1:%u\nusers:\n- name: u\n  user:\n"
                "    token: sekret-token\ncontexts:\n- name: x\n  context:\n"
                "    cluster: c\n    user: u\n    namespace: ns\n"
                "current-context: x\n", x->f.port);
    fclose(fp);
    kube_config_opts co = {.kubeconfig = x->kubeconfig,
                           .incluster = KUBE_INCLUSTER_NEVER};
    char err[512];
    if (kube_config_load(&co, &x->cfg, err, sizeof err))
        fail_msg("kubeconfig: %s", err);
    kube_client_opts ko;
    kube_client_opts_default(&ko);
    ko.max_retries = 0;
    x->kc = kube_client_new(x->cfg, &ko, err, sizeof err);
    assert_non_null(x->kc);
    cap_options_default(&x->o);
    x->o.timeout_ms = 5000;
    x->o.stall_timeout_ms = 1500;
    x->o.pod_check_ms = 300;
    x->cap = cap_capturer_new(x->kc, &x->o, err, sizeof err);
    assert_non_null(x->cap);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    fixture *x = *state;
    cap_capturer_free(x->cap);
    kube_client_free(x->kc);
    kube_config_free(x->cfg);
    atomic_store(&x->f.stop, true);
    pthread_join(x->f.th, NULL);
    /* Let detached connection threads notice and finish. */
    for (int i = 0; i < 100 && atomic_load(&x->f.open_conns) > 0; i++)
        usleep(20000);
    close(x->f.lfd);
    unlink(x->kubeconfig);
    rmdir(x->dir);
    pthread_mutex_destroy(&x->f.mu);
    SSL_CTX_free(x->f.tls);
    free(x);
    return 0;
}

static cap_target target(const char *pod)
{
    cap_target t = {.namespace = "ns", .pod = pod, .node = "n1",
                    .pod_ip = "127.0.0.1", .port = 6060};
    return t;
}

static int pf_fetch(fixture *x, const char *pod, cap_result *res)
{
    cap_target t = target(pod);
    cap_request rq = {.transport = CAP_TRANSPORT_PORTFORWARD,
                      .to_memory = true, .ignore_backoff = true};
    return cap_fetch(x->cap, &t, &rq, "/debug/pprof/goroutine?debug=1", res);
}

/* ---- port-forward ------------------------------------------------------- */

static void test_pf_ok(void **state)
{
    fixture *x = *state;
    cap_result res;
    if (pf_fetch(x, "ok", &res))
        fail_msg("%s", res.error);
    assert_int_equal(res.status, CAP_OK);
    assert_int_equal(res.transport, CAP_TRANSPORT_PORTFORWARD);
    assert_int_equal(res.http_status, 200);
    assert_int_equal(res.len, strlen(body_text));
    assert_memory_equal(res.data, body_text, res.len);
    cap_result_free(&res);
    /* What went over the wire. */
    for (int i = 0; i < 100 && !x->f.saw_close; i++)
        usleep(10000);
    pthread_mutex_lock(&x->f.mu);
    assert_non_null(strstr(x->f.upgrade_head, "GET /api/v1/namespaces/ns/pods/"
                                              "ok/portforward?ports=6060 "
                                              "HTTP/1.1\r\n"));
    assert_non_null(strstr(x->f.upgrade_head,
                           "Authorization: Bearer sekret-token\r\n"));
    assert_non_null(strstr(x->f.upgrade_head,
                           "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n"));
    assert_non_null(strstr(x->f.upgrade_head, "Sec-WebSocket-Version: 13\r\n"));
    assert_non_null(strstr(x->f.upgrade_head, "Upgrade: websocket\r\n"));
    assert_non_null(strstr(x->f.tunnel_request,
                           "GET /debug/pprof/goroutine?debug=1 HTTP/1.1\r\n"));
    assert_non_null(strstr(x->f.tunnel_request, "Connection: close\r\n"));
    assert_true(x->f.saw_pong);
    assert_true(x->f.saw_close);
    assert_int_equal(x->f.close_status, 1000);
    assert_true(x->f.all_masked);
    pthread_mutex_unlock(&x->f.mu);
}

static void test_pf_big_chunked(void **state)
{
    fixture *x = *state;
    cap_result res;
    if (pf_fetch(x, "big", &res))
        fail_msg("%s", res.error);
    assert_int_equal(res.len, 70000);
    for (size_t i = 0; i < res.len; i++)
        if (res.data[i] != (unsigned char)('a' + i % 26))
            fail_msg("byte %zu differs", i);
    cap_result_free(&res);
}

static void test_pf_close_delimited(void **state)
{
    fixture *x = *state;
    cap_result res;
    if (pf_fetch(x, "closedelim", &res))
        fail_msg("%s", res.error);
    assert_int_equal(res.len, 13);
    assert_memory_equal(res.data, "until the end", 13);
    cap_result_free(&res);
}

static void expect_fail(fixture *x, const char *pod, cap_status st,
                        const char *needle)
{
    cap_result res;
    assert_int_equal(pf_fetch(x, pod, &res), -1);
    if (res.status != st || !strstr(res.error, needle))
        fail_msg("%s: status %s, error \"%s\" (wanted %s, \"%s\")", pod,
                 cap_status_name(res.status), res.error, cap_status_name(st),
                 needle);
    /* One line naming pod and transport. */
    char want[64];
    snprintf(want, sizeof want, "pod ns/%s via portforward: ", pod);
    assert_non_null(strstr(res.error, want));
    assert_null(strchr(res.error, '\n'));
    assert_null(res.data);
    cap_result_free(&res);
}

static void test_pf_errors(void **state)
{
    fixture *x = *state;
    expect_fail(x, "refused", CAP_ERR_CONNECT,
                "error forwarding port 6060 to pod refused, uid 42: failed to "
                "dial 127.0.0.1:6060: connection refused");
    expect_fail(x, "forbidden", CAP_ERR_FORBIDDEN,
                "cannot create resource \"pods/portforward\"");
    expect_fail(x, "plain400", CAP_ERR_PROTOCOL, "HTTP 400");
    expect_fail(x, "badaccept", CAP_ERR_PROTOCOL, "Sec-WebSocket-Accept");
    expect_fail(x, "badproto", CAP_ERR_PROTOCOL, "subprotocol");
    expect_fail(x, "badport", CAP_ERR_PROTOCOL,
                "data channel announced port 6061, expected 6060");
    expect_fail(x, "masked", CAP_ERR_PROTOCOL, "server frame is masked");
    expect_fail(x, "truncated", CAP_ERR_CONNECT, "5 of 100");
    expect_fail(x, "notfound404", CAP_ERR_HTTP,
                "answered HTTP 404: Unknown profile");
}

static void test_pf_unauthorized_retry(void **state)
{
    fixture *x = *state;
    cap_result res;
    atomic_store(&x->f.unauth_left, 1);
    int before = atomic_load(&x->f.upgrades);
    if (pf_fetch(x, "ok", &res))
        fail_msg("%s", res.error);
    cap_result_free(&res);
    assert_int_equal(atomic_load(&x->f.upgrades) - before, 2);
    /* Twice unauthorized: give up with the server's word. */
    atomic_store(&x->f.unauth_left, 2);
    expect_fail(x, "ok", CAP_ERR_FORBIDDEN, "Unauthorized");
}

static void test_pf_stall_and_gone(void **state)
{
    fixture *x = *state;
    int64_t t0 = (int64_t)time(NULL);
    expect_fail(x, "stall", CAP_ERR_TIMEOUT, "no data for");
    assert_true((int64_t)time(NULL) - t0 <= 4);
    /* A silent stream whose pod disappeared says so at the pod check. */
    expect_fail(x, "gone", CAP_ERR_NOT_FOUND, "deleted during the capture");
}

static void test_pf_size_cap(void **state)
{
    fixture *x = *state;
    cap_target t = target("forever");
    cap_request rq = {.transport = CAP_TRANSPORT_PORTFORWARD,
                      .to_memory = true, .ignore_backoff = true,
                      .max_body_bytes = 1 << 20};
    cap_result res;
    assert_int_equal(cap_fetch(x->cap, &t, &rq, "/x", &res), -1);
    assert_int_equal(res.status, CAP_ERR_TOO_LARGE);
    assert_non_null(strstr(res.error, "size limit of 1048576 bytes"));
    assert_true(res.bytes <= 1 << 20);
    cap_result_free(&res);
}

static void test_pf_cancel(void **state)
{
    fixture *x = *state;
    cap_target t = target("stall");
    atomic_bool cancel = true;
    cap_request rq = {.transport = CAP_TRANSPORT_PORTFORWARD,
                      .ignore_backoff = true, .cancel = &cancel};
    cap_result res;
    assert_int_equal(cap_fetch(x->cap, &t, &rq, "/x", &res), -1);
    assert_int_equal(res.status, CAP_ERR_CANCELLED);
    cap_result_free(&res);
}

/* ---- direct and proxy ----------------------------------------------------- */

static void test_direct_kinds(void **state)
{
    fixture *x = *state;
    cap_target t = target("p");
    t.port = x->f.port;
    cap_request rq = {.transport = CAP_TRANSPORT_DIRECT, .to_memory = true,
                      .kind = CAP_KIND_METRICS};
    cap_result res;
    if (cap_capture(x->cap, &t, &rq, &res))
        fail_msg("%s", res.error);
    assert_int_equal(res.goroutines, 77);
    assert_string_equal(res.ext, "prom");
    assert_non_null(strstr((char *)res.data, "go_goroutines 77\n"));
    cap_result_free(&res);

    rq.kind = CAP_KIND_GOROUTINE_DEBUG1;
    if (cap_capture(x->cap, &t, &rq, &res))
        fail_msg("%s", res.error);
    assert_string_equal(res.path, "/debug/pprof/goroutine?debug=1");
    assert_int_equal(res.len, strlen(body_text));
    cap_result_free(&res);

    /* AUTO: the fresh go_goroutines count (77) decides debug=2 without a
     * probe request. */
    rq.kind = CAP_KIND_GOROUTINE;
    int before = atomic_load(&x->f.connections);
    if (cap_capture(x->cap, &t, &rq, &res))
        fail_msg("%s", res.error);
    assert_int_equal(res.kind, CAP_KIND_GOROUTINE_DEBUG2);
    assert_string_equal(res.path, "/debug/pprof/goroutine?debug=2");
    assert_non_null(strstr(res.why_format, "77 goroutines <= 50000"));
    assert_int_equal(atomic_load(&x->f.connections) - before, 1);
    cap_result_free(&res);

    /* goroutineleak: the 404 is remembered; the second try asks nobody. */
    rq.kind = CAP_KIND_GOROUTINELEAK;
    assert_int_equal(cap_capture(x->cap, &t, &rq, &res), -1);
    assert_int_equal(res.status, CAP_ERR_UNSUPPORTED);
    assert_non_null(strstr(res.error, "goroutineleak"));
    cap_result_free(&res);
    before = atomic_load(&x->f.connections);
    assert_int_equal(cap_capture(x->cap, &t, &rq, &res), -1);
    assert_int_equal(res.status, CAP_ERR_UNSUPPORTED);
    assert_int_equal(atomic_load(&x->f.connections), before);
    cap_result_free(&res);
    /* An unsupported endpoint is not a failure: no backoff. */
    assert_int_equal(cap_capturer_backoff_ms(x->cap, "ns/p"), 0);
}

/* Captures from more threads than the capturer keeps easy handles for
 * (CAP_EASY_POOL): every one succeeds on its own connection, and the
 * handles past the pool are closed (valgrind and ASan see the rest go
 * with the capturer). */
typedef struct many_arg {
    cap_capturer *cap;
    int port;
    int failed;
    char error[256];
} many_arg;

static void *capture_many(void *arg)
{
    many_arg *a = arg;
    cap_target t = target("p");
    t.port = a->port;
    cap_request rq = {.transport = CAP_TRANSPORT_DIRECT,
                      .kind = CAP_KIND_METRICS, .to_memory = true,
                      .ignore_backoff = true};
    for (int i = 0; i < 2; i++) {
        cap_result res;
        if (cap_capture(a->cap, &t, &rq, &res) || res.goroutines != 77) {
            a->failed++;
            snprintf(a->error, sizeof a->error, "%.200s", res.error);
        }
        cap_result_free(&res);
    }
    return NULL;
}

static void test_direct_handles_across_threads(void **state)
{
    fixture *x = *state;
    char err[256];
    cap_options o = x->o;
    /* Forty connections at once to a one-thread-per-connection fake under
     * valgrind are slow, not stalled. */
    o.timeout_ms = 60000;
    o.stall_timeout_ms = 30000;
    cap_capturer *c = cap_capturer_new(x->kc, &o, err, sizeof err);
    assert_non_null(c);
    enum { NTHREADS = 40 };
    pthread_t th[NTHREADS];
    many_arg args[NTHREADS];
    int before = atomic_load(&x->f.connections);
    for (int i = 0; i < NTHREADS; i++) {
        args[i] = (many_arg){.cap = c, .port = x->f.port};
        assert_int_equal(pthread_create(&th[i], NULL, capture_many, &args[i]), 0);
    }
    int failed = 0;
    const char *why = "";
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        if (args[i].failed) {
            failed += args[i].failed;
            why = args[i].error;
        }
    }
    cap_capturer_free(c);
    if (failed)
        fail_msg("%d failed captures, the last: %s", failed, why);
    /* A handle from the pool does not bring its last connection along:
     * every capture connects.  (Under valgrind curl may connect again
     * after the slow fake drops one, so more is fine.) */
    assert_true(atomic_load(&x->f.connections) - before >= NTHREADS * 2);
}

static void test_direct_probe_threshold(void **state)
{
    fixture *x = *state;
    char err[256];
    cap_options o = x->o;
    o.debug2_max_goroutines = 50; /* the fake reports 77 */
    o.count_max_age_ms = 0;       /* always probe */
    cap_capturer *c = cap_capturer_new(x->kc, &o, err, sizeof err);
    cap_target t = target("p");
    t.port = x->f.port;
    cap_request rq = {.transport = CAP_TRANSPORT_DIRECT, .to_memory = true};
    cap_result res;
    int before = atomic_load(&x->f.connections);
    if (cap_capture(c, &t, &rq, &res))
        fail_msg("%s", res.error);
    assert_int_equal(res.kind, CAP_KIND_GOROUTINE_PROTO);
    assert_string_equal(res.path, "/debug/pprof/goroutine");
    assert_string_equal(res.ext, "pb.gz");
    assert_non_null(strstr(res.why_format, "protobuf: 77 goroutines > 50"));
    assert_int_equal(atomic_load(&x->f.connections) - before, 2);
    cap_result_free(&res);
    cap_capturer_free(c);
}

static void test_probe_falls_back_to_debug1_header(void **state)
{
    fixture *x = *state;
    char err[256];
    cap_options o = x->o;
    o.metrics_path = "/no-metrics-here"; /* the fake answers 404 */
    o.count_max_age_ms = 0;
    cap_capturer *c = cap_capturer_new(x->kc, &o, err, sizeof err);
    cap_target t = target("p");
    t.port = x->f.port;
    cap_request rq = {.transport = CAP_TRANSPORT_DIRECT, .to_memory = true};
    cap_result res;
    int before = atomic_load(&x->f.connections);
    if (cap_capture(c, &t, &rq, &res))
        fail_msg("%s", res.error);
    assert_int_equal(res.kind, CAP_KIND_GOROUTINE_DEBUG2);
    assert_non_null(strstr(res.why_format, "debug=2: 1 goroutines <= 50000 "
                                           "(debug=1 header)"));
    /* /metrics (404), the debug=1 header, then the capture. */
    assert_int_equal(atomic_load(&x->f.connections) - before, 3);
    cap_result_free(&res);
    /* The 404 is remembered: next time straight to the header. */
    before = atomic_load(&x->f.connections);
    assert_int_equal(cap_capture(c, &t, &rq, &res), 0);
    assert_int_equal(atomic_load(&x->f.connections) - before, 2);
    cap_result_free(&res);
    /* A METRICS capture of a pod without /metrics is "unsupported", not a
     * failure that would back the pod off. */
    rq.kind = CAP_KIND_METRICS;
    assert_int_equal(cap_capture(c, &t, &rq, &res), -1);
    assert_int_equal(res.status, CAP_ERR_UNSUPPORTED);
    assert_non_null(strstr(res.error, "serves no /metrics"));
    cap_result_free(&res);
    assert_int_equal(cap_capturer_backoff_ms(c, "ns/p"), 0);
    cap_capturer_free(c);
}

/* A 429 from the API server holds back the pod for its Retry-After, and
 * every other capture through the API server with it; direct captures do
 * not pass through the API server, so they go on. */
static void test_pf_retry_after(void **state)
{
    fixture *x = *state;
    cap_target t = target("busy7");
    cap_request rq = {.transport = CAP_TRANSPORT_PORTFORWARD,
                      .kind = CAP_KIND_GOROUTINE_DEBUG1, .to_memory = true};
    cap_result res;
    assert_int_equal(cap_capture(x->cap, &t, &rq, &res), -1);
    assert_int_equal(res.http_status, 429);
    assert_int_equal(res.retry_after_s, 7);
    assert_true(res.api_busy);
    assert_non_null(strstr(res.error, "HTTP 429"));
    cap_result_free(&res);
    /* The server's load, not the pod's failure: the pod's own back-off
     * does not grow. */
    assert_int_equal(cap_capturer_backoff_ms(x->cap, "ns/busy7"), 0);

    /* Another pod through the API server waits too, saying why. */
    int before = atomic_load(&x->f.upgrades);
    t = target("ok");
    assert_int_equal(cap_capture(x->cap, &t, &rq, &res), -1);
    assert_int_equal(res.status, CAP_ERR_BACKOFF);
    if (!strstr(res.error, "the API server is shedding load: waiting") ||
        !strstr(res.error, "Too many requests"))
        fail_msg("%s", res.error);
    cap_result_free(&res);
    assert_int_equal(atomic_load(&x->f.upgrades), before);
    assert_int_equal(cap_capturer_backoff_ms(x->cap, "ns/ok"), 0);

    /* A direct capture is not the API server's load. */
    t.port = x->f.port;
    rq.transport = CAP_TRANSPORT_DIRECT;
    if (cap_capture(x->cap, &t, &rq, &res))
        fail_msg("%s", res.error);
    cap_result_free(&res);

    /* A Retry-After of a day cannot park a pod past the longest back-off
     * (test_kube_util covers the HTTP-date form). */
    cap_capturer_free(x->cap);
    char err[256];
    x->o.backoff_max_ms = 20000;
    x->cap = cap_capturer_new(x->kc, &x->o, err, sizeof err);
    assert_non_null(x->cap);
    t = target("busy86400");
    rq.transport = CAP_TRANSPORT_PORTFORWARD;
    assert_int_equal(cap_capture(x->cap, &t, &rq, &res), -1);
    assert_int_equal(res.retry_after_s, 86400);
    cap_result_free(&res);
    t = target("ok");
    assert_int_equal(cap_capture(x->cap, &t, &rq, &res), -1);
    assert_int_equal(res.status, CAP_ERR_BACKOFF);
    const char *w = strstr(res.error, "waiting ");
    assert_non_null(w);
    double waits = strtod(w + 8, NULL);
    if (!(waits > 12.0 && waits <= 20.0))
        fail_msg("a day's Retry-After became a wait of %.1f s: %s", waits, res.error);
    cap_result_free(&res);
}

/* Through pods/proxy: a 503 about one pod holds back only that pod; a 429
 * holds back every capture through the API server. */
static void test_proxy_retry_after(void **state)
{
    fixture *x = *state;
    cap_request rq = {.transport = CAP_TRANSPORT_PROXY, .to_memory = true,
                      .kind = CAP_KIND_GOROUTINE_DEBUG1};
    cap_result res;
    cap_target t = target("unreach");
    assert_int_equal(cap_capture(x->cap, &t, &rq, &res), -1);
    assert_int_equal(res.http_status, 503);
    assert_false(res.api_busy);
    assert_non_null(strstr(res.error, "connection refused"));
    cap_result_free(&res);
    t = target("p");
    if (cap_capture(x->cap, &t, &rq, &res))
        fail_msg("a 503 for another pod held this one back: %s", res.error);
    cap_result_free(&res);

    t = target("busy5");
    assert_int_equal(cap_capture(x->cap, &t, &rq, &res), -1);
    assert_int_equal(res.http_status, 429);
    assert_int_equal(res.retry_after_s, 5);
    assert_true(res.api_busy);
    cap_result_free(&res);
    t = target("p");
    assert_int_equal(cap_capture(x->cap, &t, &rq, &res), -1);
    assert_int_equal(res.status, CAP_ERR_BACKOFF);
    assert_non_null(strstr(res.error, "shedding load"));
    cap_result_free(&res);
}

static void test_direct_errors_and_backoff(void **state)
{
    fixture *x = *state;
    /* Nothing listens on port 1 of 127.0.0.1. */
    cap_target t = target("dead");
    t.port = 1;
    cap_request rq = {.transport = CAP_TRANSPORT_DIRECT,
                      .kind = CAP_KIND_METRICS};
    cap_result res;
    assert_int_equal(cap_capture(x->cap, &t, &rq, &res), -1);
    assert_int_equal(res.status, CAP_ERR_CONNECT);
    assert_non_null(strstr(res.error, "pod ns/dead via direct: "));
    cap_result_free(&res);
    long b = cap_capturer_backoff_ms(x->cap, "ns/dead");
    assert_true(b > 0 && b <= 12000); /* base 10 s, +-20% */
    /* Backing off: refused at once, with the last error. */
    assert_int_equal(cap_capture(x->cap, &t, &rq, &res), -1);
    assert_int_equal(res.status, CAP_ERR_BACKOFF);
    assert_non_null(strstr(res.error, "backing off"));
    assert_non_null(strstr(res.error, "(last: pod ns/dead via direct: "));
    cap_result_free(&res);
    cap_capturer_forget(x->cap, "ns/dead");
    assert_int_equal(cap_capturer_backoff_ms(x->cap, "ns/dead"), 0);

    /* A stalled body. */
    t = target("slow");
    t.port = x->f.port;
    rq.ignore_backoff = true;
    assert_int_equal(cap_fetch(x->cap, &t, &rq, "/stall", &res), -1);
    assert_int_equal(res.status, CAP_ERR_TIMEOUT);
    assert_non_null(strstr(res.error, "stalled after 3 bytes"));
    cap_result_free(&res);

    /* A pod 404 on an arbitrary path. */
    assert_int_equal(cap_fetch(x->cap, &t, &rq, "/nothing", &res), -1);
    assert_int_equal(res.status, CAP_ERR_HTTP);
    assert_non_null(strstr(res.error, "answered HTTP 404: not here!"));
    cap_result_free(&res);

    /* Bad targets. */
    cap_target bad = {.namespace = "ns", .pod = "x", .port = 0};
    assert_int_equal(cap_fetch(x->cap, &bad, &rq, "/", &res), -1);
    assert_int_equal(res.status, CAP_ERR_CONFIG);
    cap_result_free(&res);
    bad.port = 80;
    bad.pod_ip = "1.2.3.4; rm";
    assert_int_equal(cap_fetch(x->cap, &bad, &rq, "/", &res), -1);
    assert_int_equal(res.status, CAP_ERR_CONFIG);
    cap_result_free(&res);
}

static void test_proxy(void **state)
{
    fixture *x = *state;
    cap_target t = target("p");
    cap_request rq = {.transport = CAP_TRANSPORT_PROXY, .to_memory = true,
                      .kind = CAP_KIND_GOROUTINE_DEBUG1};
    cap_result res;
    if (cap_capture(x->cap, &t, &rq, &res))
        fail_msg("%s", res.error);
    assert_int_equal(res.len, strlen(body_text));
    assert_memory_equal(res.data, body_text, res.len);
    cap_result_free(&res);
}

static void test_parse_in_same_pass(void **state)
{
    fixture *x = *state;
    cap_target t = target("p");
    t.port = x->f.port;
    cap_request rq = {.transport = CAP_TRANSPORT_DIRECT, .to_memory = true,
                      .parse = true, .kind = CAP_KIND_GOROUTINE_DEBUG1};
    cap_result res;
    if (cap_capture(x->cap, &t, &rq, &res))
        fail_msg("%s", res.error);
    assert_non_null(res.profile);
    assert_int_equal(res.profile->format, PPROF_FORMAT_DEBUG1);
    assert_int_equal(res.profile->total, 1);
    assert_int_equal(res.profile->nbuckets, 1);
    assert_string_equal(res.profile->buckets[0].frames[0].func, "main.main");
    assert_int_equal(res.goroutines, 1);
    assert_string_equal(res.count_source, "profile");
    /* The raw bytes are still exactly what was served. */
    assert_int_equal(res.len, strlen(body_text));
    assert_memory_equal(res.data, body_text, res.len);
    cap_result_free(&res);
    assert_null(res.profile);
    assert_null(res.data);
}

static void test_size_caps(void **state)
{
    fixture *x = *state;
    cap_target t = target("p");
    t.port = x->f.port;
    /* The body cap. */
    cap_request rq = {.transport = CAP_TRANSPORT_DIRECT, .to_memory = true,
                      .kind = CAP_KIND_GOROUTINE_DEBUG1, .max_body_bytes = 10,
                      .ignore_backoff = true};
    cap_result res;
    assert_int_equal(cap_capture(x->cap, &t, &rq, &res), -1);
    assert_int_equal(res.status, CAP_ERR_TOO_LARGE);
    assert_non_null(strstr(res.error, "size limit of 10 bytes"));
    assert_null(res.data);
    cap_result_free(&res);

    /* A gzip bomb served as a protobuf profile: the decompression cap of
     * the parser stops it in the same pass. */
    char err[256];
    cap_options o = x->o;
    o.parse_limits.max_decompressed_bytes = 1 << 20;
    o.stall_timeout_ms = 30000; /* building the bomb is slow under valgrind */
    o.timeout_ms = 60000;
    cap_capturer *c = cap_capturer_new(x->kc, &o, err, sizeof err);
    t.path = "/bomb/debug/pprof";
    cap_request bq = {.transport = CAP_TRANSPORT_DIRECT, .parse = true,
                      .kind = CAP_KIND_GOROUTINE_PROTO};
    assert_int_equal(cap_capture(c, &t, &bq, &res), -1);
    if (res.status != CAP_ERR_TOO_LARGE || !strstr(res.error, "decompressed"))
        fail_msg("%s: %s", cap_status_name(res.status), res.error);
    assert_null(res.profile);
    assert_true(res.bytes < 64 * 1024); /* only the compressed bytes came */
    cap_result_free(&res);
    cap_capturer_free(c);
}

static void test_https_pods(void **state)
{
    fixture *x = *state;
    /* Handshakes are slow under valgrind: no stall limit worth the name. */
    char err[256];
    cap_options o = x->o;
    o.stall_timeout_ms = 30000;
    o.connect_timeout_ms = 30000; /* includes the TLS handshake */
    o.timeout_ms = 60000;
    cap_capturer *slow = cap_capturer_new(x->kc, &o, err, sizeof err);
    /* TLS inside the port-forward tunnel. */
    cap_target t = target("tlsok");
    t.https = true;
    cap_request rq = {.transport = CAP_TRANSPORT_PORTFORWARD, .to_memory = true,
                      .ignore_backoff = true};
    cap_result res;
    if (cap_fetch(slow, &t, &rq, "/debug/pprof/goroutine?debug=1", &res))
        fail_msg("%s", res.error);
    assert_int_equal(res.len, strlen(body_text));
    assert_memory_equal(res.data, body_text, res.len);
    cap_result_free(&res);
    pthread_mutex_lock(&x->f.mu);
    assert_non_null(strstr(x->f.tunnel_request,
                           "GET /debug/pprof/goroutine?debug=1 HTTP/1.1\r\n"));
    pthread_mutex_unlock(&x->f.mu);

    /* https to the pod IP. */
    t = target("p");
    t.port = x->f.port;
    t.https = true;
    rq.transport = CAP_TRANSPORT_DIRECT;
    rq.kind = CAP_KIND_GOROUTINE_DEBUG1;
    if (cap_capture(slow, &t, &rq, &res))
        fail_msg("%s", res.error);
    assert_memory_equal(res.data, body_text, res.len);
    cap_result_free(&res);
    cap_capturer_free(slow);

    /* With verification on, a self-signed pod certificate is refused, on
     * both paths, naming the certificate. */
    o.pod_tls_verify = true;
    cap_capturer *c = cap_capturer_new(x->kc, &o, err, sizeof err);
    assert_int_equal(cap_capture(c, &t, &rq, &res), -1);
    assert_int_equal(res.status, CAP_ERR_CONNECT);
    assert_non_null(strcasestr(res.error, "certificate"));
    cap_result_free(&res);
    t = target("tlsok");
    t.https = true;
    rq.transport = CAP_TRANSPORT_PORTFORWARD;
    assert_int_equal(cap_fetch(c, &t, &rq, "/x", &res), -1);
    assert_int_equal(res.status, CAP_ERR_CONNECT);
    assert_non_null(strcasestr(res.error, "certificate"));
    assert_non_null(strstr(res.error, "TLS to the pod through the tunnel"));
    cap_result_free(&res);
    cap_capturer_free(c);
}

static void test_auto_transport(void **state)
{
    fixture *x = *state;
    cap_target t = target("p");
    t.port = x->f.port;
    cap_request rq = {.kind = CAP_KIND_METRICS, .ignore_backoff = true};
    cap_result res;
    /* Outside the cluster (a kubeconfig): the port-forward. */
    cap_target pt = target("ok");
    assert_int_equal(cap_fetch(x->cap, &pt, &rq, "/x", &res), 0);
    assert_int_equal(res.transport, CAP_TRANSPORT_PORTFORWARD);
    cap_result_free(&res);
    /* No Kubernetes client at all: direct is all there is. */
    char err[512];
    cap_capturer *c = cap_capturer_new(NULL, &x->o, err, sizeof err);
    assert_int_equal(cap_capture(c, &t, &rq, &res), 0);
    assert_int_equal(res.transport, CAP_TRANSPORT_DIRECT);
    cap_result_free(&res);
    rq.transport = CAP_TRANSPORT_PORTFORWARD;
    assert_int_equal(cap_capture(c, &t, &rq, &res), -1);
    assert_int_equal(res.status, CAP_ERR_CONFIG);
    cap_result_free(&res);
    cap_capturer_free(c);
    /* In a pod (service account files, KUBERNETES_SERVICE_*): direct. */
    char dir[128], path[200];
    snprintf(dir, sizeof dir, "%s/sa", x->dir);
    mkdir(dir, 0700);
    const char *files[] = {"token", "ca.crt", "namespace"};
    const char *data[] = {"sa-token\n", "not used by direct captures\n", "ns"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        FILE *fp = fopen(path, "w");
        fputs(data[i], fp);
        fclose(fp);
    }
    setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "1", 1);
    kube_config_opts co = {.incluster = KUBE_INCLUSTER_ALWAYS, .sa_dir = dir};
    kube_config *cfg;
    if (kube_config_load(&co, &cfg, err, sizeof err))
        fail_msg("in-cluster config: %s", err);
    assert_true(cfg->in_cluster);
    kube_client_opts ko;
    kube_client_opts_default(&ko);
    kube_client *kc = kube_client_new(cfg, &ko, err, sizeof err);
    assert_non_null(kc);
    c = cap_capturer_new(kc, &x->o, err, sizeof err);
    rq.transport = CAP_TRANSPORT_AUTO;
    if (cap_capture(c, &t, &rq, &res))
        fail_msg("%s", res.error);
    assert_int_equal(res.transport, CAP_TRANSPORT_DIRECT);
    assert_int_equal(res.goroutines, 77);
    cap_result_free(&res);
    cap_capturer_free(c);
    kube_client_free(kc);
    kube_config_free(cfg);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void test_scheduler_in_request(void **state)
{
    fixture *x = *state;
    cap_scheduler *s = cap_scheduler_new(1, 1);
    assert_true(cap_scheduler_try_acquire(s, "n1")); /* node n1 is busy */
    cap_target t = target("p");
    t.port = x->f.port;
    cap_request rq = {.transport = CAP_TRANSPORT_DIRECT, .sched = s,
                      .kind = CAP_KIND_METRICS, .timeout_ms = 200};
    cap_result res;
    assert_int_equal(cap_capture(x->cap, &t, &rq, &res), -1);
    assert_int_equal(res.status, CAP_ERR_TIMEOUT);
    assert_non_null(strstr(res.error, "no capture slot"));
    cap_result_free(&res);
    cap_scheduler_release(s, "n1");
    assert_int_equal(cap_capture(x->cap, &t, &rq, &res), 0);
    assert_int_equal(cap_scheduler_in_flight(s, NULL), 0); /* released */
    cap_result_free(&res);
    cap_scheduler_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pf_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pf_big_chunked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pf_close_delimited, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pf_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pf_unauthorized_retry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pf_stall_and_gone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pf_size_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pf_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pf_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_handles_across_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_probe_threshold, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_probe_falls_back_to_debug1_header,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_errors_and_backoff, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_proxy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_retry_after, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_parse_in_same_pass, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_size_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_pods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_transport, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scheduler_in_request, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
