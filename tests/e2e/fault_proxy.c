/*
 * fault_proxy.c — an HTTP proxy on loopback in front of the real
 * kube-apiserver that injects the faults an apiserver under load shows, so
 * an e2e suite can run the controller through it:
 *
 *   --every-nth-429 N      every Nth request is answered 429 Too Many
 *                          Requests with Retry-After: 1 (never forwarded)
 *   --close-watch-after S  every watch (?watch=true) is cut S seconds after
 *                          it was forwarded, both ends closed
 *
 *   fault_proxy --upstream https://127.0.0.1:6443 --ca CA --cert CERT \
 *       --key KEY [--every-nth-429 N] [--close-watch-after S]
 *
 * Clients speak plain HTTP to it (a kubeconfig whose server is
 * http://127.0.0.1:PORT); it speaks TLS to the apiserver with the given
 * client certificate, passing every client header on (Impersonate-User
 * too), so RBAC is the impersonated user's.  One request per client
 * connection: the request goes upstream with "Connection: close", so each
 * request is seen and counted; upgrades (port-forward, exec) are pumped
 * as they are.  GET /__fault/stats answers what it injected (not counted):
 *   requests=N injected_429=N watches=N watches_closed=N upstream_failures=N
 * Prints "listening on 127.0.0.1:PORT" once bound; serves until killed.
 * Not for: anything but tests (it holds admin credentials on a port).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../support/sock.h"

#define HEAD_MAX 65536

typedef struct {
    SSL_CTX *tls;
    char host[64];
    int port;
    long every_nth;     /* 0: no 429s                     */
    long close_after_s; /* 0: watches are left alone      */
    pthread_mutex_t mu;
    long requests, injected_429, watches, watches_closed, upstream_failures;
} proxy;

typedef struct {
    proxy *p;
    int fd;
} conn;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes all of d to the (non-blocking) TLS connection; 0 on success. */
static int tls_write_all(SSL *s, int fd, const char *d, size_t n)
{
    while (n) {
        int k = SSL_write(s, d, n > 1 << 20 ? 1 << 20 : (int)n);
        if (k > 0) {
            d += k;
            n -= (size_t)k;
            continue;
        }
        int e = SSL_get_error(s, k);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return -1;
        struct pollfd pf = {.fd = fd,
                            .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
        if (poll(&pf, 1, 10000) <= 0)
            return -1;
    }
    return 0;
}

/* A client's request head rewritten for upstream: its Connection and
 * Keep-Alive headers dropped and "Connection: close" added, unless it
 * upgrades (then it goes as it is). */
static char *rewrite_head(const char *head, size_t len, size_t *outlen)
{
    bool upgrade = false;
    for (const char *l = head; l < head + len;) {
        const char *e = memchr(l, '\n', (size_t)(head + len - l));
        if (!e)
            break;
        if (!strncasecmp(l, "Upgrade:", 8))
            upgrade = true;
        l = e + 1;
    }
    char *out = malloc(len + 32);
    if (!out)
        return NULL;
    size_t o = 0;
    const char *l = head;
    bool first = true;
    while (l < head + len) {
        const char *e = memchr(l, '\n', (size_t)(head + len - l));
        size_t n = e ? (size_t)(e - l + 1) : (size_t)(head + len - l);
        bool blank = n <= 2 && (l[0] == '\r' || l[0] == '\n');
        if (blank) {
            if (!upgrade) {
                memcpy(out + o, "Connection: close\r\n", 19);
                o += 19;
            }
            memcpy(out + o, "\r\n", 2);
            o += 2;
            break;
        }
        bool drop = !first && !upgrade &&
                    (!strncasecmp(l, "Connection:", 11) ||
                     !strncasecmp(l, "Keep-Alive:", 11));
        if (!drop) {
            memcpy(out + o, l, n);
            o += n;
        }
        first = false;
        l += n;
    }
    *outlen = o;
    return out;
}

static int upstream_connect(proxy *p, SSL **out)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->port)};
    inet_pton(AF_INET, p->host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    SSL *s = SSL_new(p->tls);
    if (!s) {
        close(fd);
        return -1;
    }
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), p->host);
    SSL_set_fd(s, fd);
    if (SSL_connect(s) != 1) {
        SSL_free(s);
        close(fd);
        return -1;
    }
    /* Non-blocking from here on: a read that finds only a TLS record
     * without data (a session ticket) must not hold up the other way. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        SSL_free(s);
        close(fd);
        return -1;
    }
    *out = s;
    return fd;
}

static void count(proxy *p, long *field)
{
    pthread_mutex_lock(&p->mu);
    (*field)++;
    pthread_mutex_unlock(&p->mu);
}

/* After an answer of our own: no more to say, read what the client still
 * sends (a request body) so that closing does not reset the connection
 * under the answer before the client read it. */
static void finish_local(int fd)
{
    shutdown(fd, SHUT_WR);
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    while (recv(fd, buf, sizeof buf, 0) > 0) {
    }
}

static void answer_stats(proxy *p, int fd)
{
    char body[256], out[512];
    pthread_mutex_lock(&p->mu);
    snprintf(body, sizeof body,
             "requests=%ld injected_429=%ld watches=%ld watches_closed=%ld "
             "upstream_failures=%ld\n",
             p->requests, p->injected_429, p->watches, p->watches_closed,
             p->upstream_failures);
    pthread_mutex_unlock(&p->mu);
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     strlen(body), body);
    tsock_send_all(fd, out, (size_t)n);
}

static void answer_429(int fd)
{
    static const char body[] =
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
        "\"status\":\"Failure\",\"message\":\"too many requests (injected)\","
        "\"reason\":\"TooManyRequests\",\"details\":{\"retryAfterSeconds\":1},"
        "\"code\":429}";
    char out[512];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 429 Too Many Requests\r\n"
                     "Content-Type: application/json\r\nRetry-After: 1\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     strlen(body), body);
    tsock_send_all(fd, out, (size_t)n);
}

static bool is_watch(const char *head)
{
    const char *eol = strstr(head, "\r\n");
    const char *q = strchr(head, '?');
    if (!q || (eol && q > eol))
        return false;
    for (const char *w = q; (w = strstr(w, "watch=")) && (!eol || w < eol); w++) {
        if (w[-1] != '?' && w[-1] != '&')
            continue;
        return !strncmp(w + 6, "true", 4) || w[6] == '1';
    }
    return false;
}

/* Both ways until either end closes (or, for a watch, its time is up). */
static void pump(proxy *p, int cfd, SSL *s, int ufd, double deadline)
{
    char buf[16384];
    for (;;) {
        /* TLS may hold decrypted bytes the socket no longer shows. */
        for (;;) {
            int k = SSL_read(s, buf, sizeof buf);
            if (k > 0) {
                tsock_send_all(cfd, buf, (size_t)k);
                continue;
            }
            int e = SSL_get_error(s, k);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                break;
            return; /* upstream closed or failed */
        }
        int wait_ms = 1000;
        if (deadline > 0) {
            double left = deadline - now_s();
            if (left <= 0) {
                count(p, &p->watches_closed);
                return;
            }
            if (left * 1000 < wait_ms)
                wait_ms = (int)(left * 1000) + 1;
        }
        struct pollfd pf[2] = {{.fd = cfd, .events = POLLIN},
                               {.fd = ufd, .events = POLLIN}};
        if (poll(pf, 2, wait_ms) < 0 && errno != EINTR)
            return;
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t k = recv(cfd, buf, sizeof buf, 0);
            if (k <= 0)
                return;
            if (tls_write_all(s, ufd, buf, (size_t)k) != 0)
                return;
        }
    }
}

static void *serve(void *arg)
{
    conn *c = arg;
    proxy *p = c->p;
    int fd = c->fd;
    free(c);
    char *head = malloc(HEAD_MAX + 1);
    size_t len = 0;
    char *end = NULL;
    while (head && len < HEAD_MAX) {
        ssize_t k = recv(fd, head + len, HEAD_MAX - len, 0);
        if (k <= 0)
            break;
        len += (size_t)k;
        head[len] = 0;
        if ((end = strstr(head, "\r\n\r\n")))
            break;
    }
    if (!end)
        goto out;
    size_t hlen = (size_t)(end + 4 - head);
    if (!strncmp(head, "GET /__fault/stats ", 19)) {
        answer_stats(p, fd);
        finish_local(fd);
        goto out;
    }
    pthread_mutex_lock(&p->mu);
    long n = ++p->requests;
    bool inject = p->every_nth > 0 && n % p->every_nth == 0;
    if (inject)
        p->injected_429++;
    pthread_mutex_unlock(&p->mu);
    if (inject) {
        answer_429(fd);
        finish_local(fd);
        goto out;
    }
    double deadline = 0;
    if (is_watch(head)) {
        count(p, &p->watches);
        if (p->close_after_s > 0)
            deadline = now_s() + (double)p->close_after_s;
    }
    SSL *s = NULL;
    int ufd = upstream_connect(p, &s);
    if (ufd < 0) {
        count(p, &p->upstream_failures);
        goto out;
    }
    size_t rlen;
    char *rh = rewrite_head(head, hlen, &rlen);
    if (rh && tls_write_all(s, ufd, rh, rlen) == 0 &&
        tls_write_all(s, ufd, head + hlen, len - hlen) == 0)
        pump(p, fd, s, ufd, deadline);
    free(rh);
    SSL_free(s);
    close(ufd);
out:
    free(head);
    close(fd);
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: fault_proxy --upstream https://HOST:PORT --ca FILE "
                    "--cert FILE --key FILE [--every-nth-429 N] "
                    "[--close-watch-after SECONDS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *upstream = NULL, *ca = NULL, *cert = NULL, *key = NULL;
    proxy p = {0};
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(argv[i], "--upstream"))
            upstream = v;
        else if (!strcmp(argv[i], "--ca"))
            ca = v;
        else if (!strcmp(argv[i], "--cert"))
            cert = v;
        else if (!strcmp(argv[i], "--key"))
            key = v;
        else if (!strcmp(argv[i], "--every-nth-429"))
            p.every_nth = strtol(v, NULL, 10);
        else if (!strcmp(argv[i], "--close-watch-after"))
            p.close_after_s = strtol(v, NULL, 10);
        else
            usage();
        i++;
    }
    if (!upstream || !ca || !cert || !key ||
        sscanf(upstream, "https://%63[0-9.]:%d", p.host, &p.port) != 2)
        usage();
    struct in_addr ua;
    if (inet_pton(AF_INET, p.host, &ua) != 1 ||
        (ntohl(ua.s_addr) >> 24) != 127) {
        fprintf(stderr, "fault_proxy: upstream must be a loopback address\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&p.mu, NULL);
    p.tls = SSL_CTX_new(TLS_client_method());
    if (!p.tls || SSL_CTX_load_verify_locations(p.tls, ca, NULL) != 1 ||
        SSL_CTX_use_certificate_file(p.tls, cert, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(p.tls, key, SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "fault_proxy: TLS setup: %s\n",
                ERR_error_string(ERR_get_error(), NULL));
        return 2;
    }
    SSL_CTX_set_verify(p.tls, SSL_VERIFY_PEER, NULL);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ls = tsock_listen(&a, 128);
    if (ls < 0) {
        perror("fault_proxy: listen");
        return 2;
    }
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("fault_proxy: accept");
            return 1;
        }
        conn *c = malloc(sizeof *c);
        pthread_t t;
        if (!c) {
            close(fd);
            continue;
        }
        c->p = &p;
        c->fd = fd;
        if (pthread_create(&t, NULL, serve, c) != 0) {
            free(c);
            close(fd);
            continue;
        }
        pthread_detach(t);
    }
}
