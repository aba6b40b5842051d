/*
 * cap_portforward.c — the port-forward transport: GET
 * /api/v1/namespaces/NS/pods/NAME/portforward?ports=P upgraded to a
 * WebSocket with subprotocol v4.channel.k8s.io, then one HTTP/1.1 request
 * over the forwarded port.  This is `kubectl port-forward` + curl in one
 * connection, with no local listener and no child process.
 *
 * The connection is a libcurl CONNECT_ONLY handle configured by
 * kube_client_setup_easy (so TLS, client certificates, bearer tokens and
 * exec plugins are exactly the client's), driven with curl_easy_send /
 * curl_easy_recv.  libcurl 7.88 has no WebSocket support, so the upgrade
 * and framing are ours (cap_ws.c), as is the HTTP parsing of what comes
 * back through the tunnel (cap_http.c).  HTTP/1.1 is forced: an HTTP/2
 * connection cannot be upgraded.
 *
 * Channel protocol (kubelet's portforward/websocket.go): every binary
 * message starts with a channel byte, 0 = data and 1 = error for the first
 * (only) port; the first bytes on each channel are the port number, 2 bytes
 * little-endian, which we check against the port we asked for.  Whatever
 * arrives on the error channel ("error forwarding port 6060 to pod ...:
 * connection refused") becomes the error when the response is incomplete.
 *
 * Pods serving https get TLS inside the tunnel (OpenSSL over memory BIOs),
 * verified like the direct transport (cap_options.pod_tls_verify).
 *
 * Not for: more than one port per connection, or keeping tunnels open
 * between captures (each capture is one connection: simple to bound and to
 * clean up).
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capture/cap_http.h"
#include "capture/cap_internal.h"
#include "capture/cap_ws.h"
#include "lw/lw_clock.h"
#include "lw/lw_str.h"

#define PF_SUBPROTOCOL "v4.channel.k8s.io"
#define PF_MAX_HEAD (16 * 1024)
#define PF_RECV_BUF (32 * 1024)
/* How long we wait for the server's CLOSE after sending ours. */
#define PF_CLOSE_WAIT_MS 1000

typedef struct pf {
    cap_fetch_ctx *f;
    CURL *e;
    curl_socket_t sock;
    uint16_t port;
    cap_ws_decoder dec;
    cap_http_parser http;
    bool http_started;
    int channel;              /* of the message being received            */
    unsigned prefix_have[2];  /* port-number bytes seen per channel       */
    uint8_t prefix[2][2];
    char errtext[1024];
    size_t errlen;
    bool got_close, sent_close, eof, http_done, stream_failed;
    unsigned close_status;
    char close_reason[124];
    int64_t last_rx_ms, next_pod_check_ms;
    /* TLS inside the tunnel (https pods). */
    SSL_CTX *tls_ctx;
    SSL *tls;
    BIO *tls_in, *tls_out;    /* tunnel -> OpenSSL, OpenSSL -> tunnel      */
    bool tls_handshaken, tls_closed;
    char request[2048];
    size_t request_len;
    bool request_sent;
} pf;

/* ---- socket I/O through libcurl ---------------------------------------- */

static int pf_wait(pf *p, short events)
{
    int64_t now = lw_mono_ms();
    long slice = 200;
    if (p->f->deadline_ms - now < slice)
        slice = (long)(p->f->deadline_ms - now);
    if (slice < 0)
        slice = 0;
    struct pollfd pfd = {.fd = p->sock, .events = events};
    int r = poll(&pfd, 1, (int)slice);
    if (r < 0 && errno != EINTR)
        return cap_fetch_fail(p->f, CAP_ERR_CONNECT, "poll: %s",
                              strerror(errno));
    return 0;
}

static int pf_send_raw(pf *p, const void *data, size_t len)
{
    const char *d = data;
    while (len) {
        size_t n = 0;
        CURLcode rc = curl_easy_send(p->e, d, len, &n);
        if (rc == CURLE_AGAIN) {
            if (cap_fetch_check(p->f, lw_mono_ms(), NULL) ||
                pf_wait(p, POLLOUT))
                return -1;
            continue;
        }
        if (rc != CURLE_OK)
            return cap_fetch_fail(p->f, CAP_ERR_CONNECT,
                                  "send to API server: %s",
                                  curl_easy_strerror(rc));
        d += n;
        len -= n;
    }
    return 0;
}

/* One receive: *n > 0 bytes, or *n == 0 at end of stream.  Waits (poll)
 * while nothing is available, checking cancel / deadline / stall. */
static int pf_recv(pf *p, void *buf, size_t cap, size_t *n)
{
    for (;;) {
        *n = 0;
        CURLcode rc = curl_easy_recv(p->e, buf, cap, n);
        if (rc == CURLE_OK) {
            if (*n)
                p->last_rx_ms = lw_mono_ms();
            return 0;
        }
        if (rc != CURLE_AGAIN)
            return cap_fetch_fail(p->f, CAP_ERR_CONNECT,
                                  "receive from API server: %s",
                                  curl_easy_strerror(rc));
        if (cap_fetch_check(p->f, p->last_rx_ms, &p->next_pod_check_ms) ||
            pf_wait(p, POLLIN))
            return -1;
    }
}

static int pf_send_frame(pf *p, unsigned opcode, const void *payload,
                         size_t len)
{
    uint8_t mask[4];
    if (cap_ws_random_mask(mask))
        return cap_fetch_fail(p->f, CAP_ERR_CONNECT,
                              "no random bytes for the WebSocket mask");
    size_t cap = len + CAP_WS_MAX_HEADER;
    uint8_t stackbuf[512];
    uint8_t *buf = cap <= sizeof stackbuf ? stackbuf : malloc(cap);
    if (!buf)
        return cap_fetch_fail(p->f, CAP_ERR_CONNECT, "out of memory");
    size_t n = cap_ws_encode(buf, cap, opcode, true, payload, len, mask);
    int rc = n ? pf_send_raw(p, buf, n)
               : cap_fetch_fail(p->f, CAP_ERR_PROTOCOL,
                                "cannot encode a WebSocket frame");
    if (buf != stackbuf)
        free(buf);
    return rc;
}

/* Bytes for the pod, on the data channel. */
static int pf_send_data(pf *p, const void *data, size_t len)
{
    uint8_t *msg = malloc(len + 1);
    if (!msg)
        return cap_fetch_fail(p->f, CAP_ERR_CONNECT, "out of memory");
    msg[0] = 0; /* data channel of the first port */
    memcpy(msg + 1, data, len);
    int rc = pf_send_frame(p, CAP_WS_OP_BINARY, msg, len + 1);
    free(msg);
    return rc;
}

static int pf_send_close(pf *p, unsigned status)
{
    if (p->sent_close)
        return 0;
    p->sent_close = true;
    uint8_t payload[2] = {(uint8_t)(status >> 8), (uint8_t)status};
    return pf_send_frame(p, CAP_WS_OP_CLOSE, payload, sizeof payload);
}

/* ---- HTTP over the tunnel ---------------------------------------------- */

static int on_http_body(void *ud, const uint8_t *data, size_t len)
{
    pf *p = ud;
    if (p->http.status < 200 || p->http.status >= 300) {
        cap_fetch_keep_errbody(p->f, data, len);
        return 0;
    }
    return cap_sink_write(p->f->sink, data, len) ? 1 : 0;
}

/* Plaintext response bytes from the pod. */
static int pf_http_in(pf *p, const uint8_t *data, size_t len)
{
    if (p->http_done)
        return 0;
    if (cap_http_parser_feed(&p->http, data, len)) {
        p->stream_failed = true;
        if (p->f->sink->stopped_ok) {
            p->http_done = true;
            return 0;
        }
        if (p->f->sink->status != CAP_OK)
            return cap_fetch_fail(p->f, p->f->sink->status, "%s",
                                  p->f->sink->error);
        if (strstr(p->http.error, "size limit"))
            return cap_fetch_fail(p->f, CAP_ERR_TOO_LARGE, "%s",
                                  p->http.error);
        return cap_fetch_fail(p->f, CAP_ERR_PROTOCOL,
                              "response from the pod: %s", p->http.error);
    }
    if (cap_http_parser_have_head(&p->http))
        p->f->http_status = p->http.status;
    if (cap_http_parser_done(&p->http))
        p->http_done = true;
    return 0;
}

static int tls_fail(pf *p, const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    else
        snprintf(buf, sizeof buf, "unknown error");
    ERR_clear_error();
    return cap_fetch_fail(p->f, CAP_ERR_CONNECT,
                          "TLS to the pod through the tunnel: %s: %s", what,
                          buf);
}

/* Moves whatever OpenSSL wants to send into data frames. */
static int tls_flush(pf *p)
{
    uint8_t buf[16 * 1024];
    int n;
    while ((n = BIO_read(p->tls_out, buf, sizeof buf)) > 0)
        if (pf_send_data(p, buf, (size_t)n))
            return -1;
    return 0;
}

/* Drives the TLS state machine after new input (or at the start). */
static int tls_pump(pf *p)
{
    if (!p->tls_handshaken) {
        int r = SSL_do_handshake(p->tls);
        if (r == 1) {
            p->tls_handshaken = true;
        } else {
            int err = SSL_get_error(p->tls, r);
            if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
                return tls_fail(p, "handshake");
        }
    }
    if (p->tls_handshaken && !p->request_sent) {
        int r = SSL_write(p->tls, p->request, (int)p->request_len);
        if (r <= 0)
            return tls_fail(p, "write");
        p->request_sent = true;
    }
    if (p->tls_handshaken) {
        uint8_t buf[16 * 1024];
        for (;;) {
            int r = SSL_read(p->tls, buf, sizeof buf);
            if (r > 0) {
                if (pf_http_in(p, buf, (size_t)r))
                    return -1;
                if (p->http_done)
                    break;
                continue;
            }
            int err = SSL_get_error(p->tls, r);
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
                break;
            if (err == SSL_ERROR_ZERO_RETURN) {
                p->tls_closed = true;
                break;
            }
            return tls_fail(p, "read");
        }
    }
    return tls_flush(p);
}

static int tls_setup(pf *p)
{
    const cap_options *o = &p->f->c->o;
    p->tls_ctx = SSL_CTX_new(TLS_client_method());
    if (!p->tls_ctx)
        return tls_fail(p, "context");
    SSL_CTX_set_min_proto_version(p->tls_ctx, TLS1_2_VERSION);
    if (o->pod_tls_verify) {
        SSL_CTX_set_verify(p->tls_ctx, SSL_VERIFY_PEER, NULL);
        if (o->pod_ca_file
                ? SSL_CTX_load_verify_locations(p->tls_ctx, o->pod_ca_file,
                                                NULL) != 1
                : SSL_CTX_set_default_verify_paths(p->tls_ctx) != 1)
            return tls_fail(p, "loading CA certificates");
    } else {
        SSL_CTX_set_verify(p->tls_ctx, SSL_VERIFY_NONE, NULL);
    }
    p->tls = SSL_new(p->tls_ctx);
    p->tls_in = BIO_new(BIO_s_mem());
    p->tls_out = BIO_new(BIO_s_mem());
    if (!p->tls || !p->tls_in || !p->tls_out) {
        BIO_free(p->tls_in);
        BIO_free(p->tls_out);
        p->tls_in = p->tls_out = NULL;
        return tls_fail(p, "allocation");
    }
    /* SSL_set_bio takes ownership of both BIOs. */
    SSL_set_bio(p->tls, p->tls_in, p->tls_out);
    SSL_set_connect_state(p->tls);
    if (o->pod_tls_verify && p->f->t->pod_ip && p->f->t->pod_ip[0]) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(p->tls);
        X509_VERIFY_PARAM_set1_ip_asc(vp, p->f->t->pod_ip);
    }
    return tls_pump(p);
}

/* Bytes for the data channel of our port (after the port prefix). */
static int pf_data_in(pf *p, const uint8_t *data, size_t len)
{
    if (!p->tls)
        return pf_http_in(p, data, len);
    if (BIO_write(p->tls_in, data, (int)len) != (int)len)
        return tls_fail(p, "buffer");
    return tls_pump(p);
}

/* ---- WebSocket callbacks ----------------------------------------------- */

static int on_ws_data(void *ud, const uint8_t *data, size_t len, bool first,
                      bool last)
{
    pf *p = ud;
    (void)last;
    if (first) {
        p->channel = -1;
        if (len == 0)
            return 0; /* an empty message carries nothing, not even a channel */
        p->channel = data[0];
        data++;
        len--;
        if (p->channel > 1) {
            cap_fetch_fail(p->f, CAP_ERR_PROTOCOL,
                           "port-forward message on unknown channel %d (one "
                           "port has channels 0 and 1)", p->channel);
            return 1;
        }
    }
    if (p->channel < 0 || len == 0)
        return 0;
    int ch = p->channel;
    while (p->prefix_have[ch] < 2 && len) {
        p->prefix[ch][p->prefix_have[ch]++] = *data++;
        len--;
        if (p->prefix_have[ch] == 2) {
            unsigned got = (unsigned)p->prefix[ch][0] |
                           (unsigned)p->prefix[ch][1] << 8;
            if (got != p->port) {
                cap_fetch_fail(p->f, CAP_ERR_PROTOCOL,
                               "port-forward %s channel announced port %u, "
                               "expected %u", ch ? "error" : "data", got,
                               (unsigned)p->port);
                return 1;
            }
        }
    }
    if (!len)
        return 0;
    if (ch == 1) {
        lw_append(p->errtext, sizeof p->errtext, &p->errlen, data, len);
        return 0;
    }
    return pf_data_in(p, data, len) ? 1 : 0;
}

static int on_ws_control(void *ud, unsigned opcode, const uint8_t *payload,
                         size_t len)
{
    pf *p = ud;
    switch (opcode) {
    case CAP_WS_OP_PING:
        return pf_send_frame(p, CAP_WS_OP_PONG, payload, len) ? 1 : 0;
    case CAP_WS_OP_CLOSE:
        p->got_close = true;
        cap_ws_close_reason(payload, len, &p->close_status, p->close_reason,
                            sizeof p->close_reason);
        /* Echo the status (RFC 6455 5.5.1); 1005 "no status" is never sent
         * on the wire, answer it with a normal close. */
        if (pf_send_close(p, p->close_status && p->close_status != 1005
                                 ? p->close_status
                                 : CAP_WS_CLOSE_NORMAL))
            return 1;
        return 0;
    default:
        return 0; /* PONG: we never ping, nothing to match */
    }
}

/* ---- the upgrade ------------------------------------------------------- */

/* Value of header `name` in a response head, trimmed, or NULL. */
static const char *head_value(const char *head, const char *name, char *out,
                              size_t outlen)
{
    size_t nl = strlen(name);
    const char *l = strstr(head, "\r\n");
    while (l) {
        l += 2;
        const char *e = strstr(l, "\r\n");
        if (!e || e == l)
            return NULL;
        if ((size_t)(e - l) > nl && l[nl] == ':' && !strncasecmp(l, name, nl)) {
            const char *v = l + nl + 1;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = e;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            size_t n = (size_t)(ve - v);
            if (n >= outlen)
                n = outlen - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return out;
        }
        l = e;
    }
    return NULL;
}

static bool header_allowed(const char *h)
{
    static const char *const ours[] = {"Host:", "Connection:", "Upgrade:",
                                       "Sec-WebSocket-", "Content-Length:",
                                       "Transfer-Encoding:", "User-Agent:"};
    const char *colon = strchr(h, ':');
    if (!colon)
        return false; /* "Name;" (send empty) and junk: not needed here */
    const char *v = colon + 1;
    while (*v == ' ')
        v++;
    if (!*v)
        return false; /* "Name:" means "do not send" in libcurl lists */
    if (strpbrk(h, "\r\n"))
        return false;
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
        if (!strncasecmp(h, ours[i], strlen(ours[i])))
            return false;
    return true;
}

/* base64("user:password"), malloc'd, or NULL. */
static char *basic_credentials(const char *user, const char *pass)
{
    size_t ul = strlen(user), pl = pass ? strlen(pass) : 0;
    unsigned char *raw = malloc(ul + pl + 2);
    char *out = malloc(4 * ((ul + pl + 1 + 2) / 3) + 1);
    if (!raw || !out) {
        free(raw);
        free(out);
        return NULL;
    }
    memcpy(raw, user, ul);
    raw[ul] = ':';
    if (pl)
        memcpy(raw + ul + 1, pass, pl);
    EVP_EncodeBlock((unsigned char *)out, raw, (int)(ul + pl + 1));
    OPENSSL_cleanse(raw, ul + pl + 1);
    free(raw);
    return out;
}

/* Builds the upgrade request into a malloc'd string. */
static char *upgrade_request(pf *p, const char *url, const char *key,
                             const struct curl_slist *hdrs, const char *basic)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *path = NULL, *query = NULL;
    char *out = NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) ||
        curl_url_get(u, CURLUPART_PATH, &path, 0) ||
        curl_url_get(u, CURLUPART_QUERY, &query, 0)) {
        cap_fetch_fail(p->f, CAP_ERR_CONFIG, "cannot parse URL %s", url);
        goto done;
    }
    curl_url_get(u, CURLUPART_PORT, &port, 0); /* absent: default port */
    size_t cap = 1024 + strlen(path) + strlen(query) + strlen(host) +
                 (basic ? strlen(basic) : 0);
    for (const struct curl_slist *h = hdrs; h; h = h->next)
        cap += strlen(h->data) + 2;
    out = malloc(cap);
    if (!out) {
        cap_fetch_fail(p->f, CAP_ERR_CONNECT, "out of memory");
        goto done;
    }
    size_t n = (size_t)snprintf(
        out, cap,
        "GET %s?%s HTTP/1.1\r\n"
        "Host: %s%s%s\r\n"
        "User-Agent: %s\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Key: %s\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: " PF_SUBPROTOCOL "\r\n",
        path, query, host, port ? ":" : "", port ? port : "",
        p->f->c->o.user_agent, key);
    bool have_auth = false;
    for (const struct curl_slist *h = hdrs; h; h = h->next) {
        if (!header_allowed(h->data))
            continue;
        if (!strncasecmp(h->data, "Authorization:", 14))
            have_auth = true;
        n += (size_t)snprintf(out + n, cap - n, "%s\r\n", h->data);
    }
    if (!have_auth && basic && n + strlen(basic) + 40 < cap)
        n += (size_t)snprintf(out + n, cap - n,
                              "Authorization: Basic %s\r\n", basic);
    snprintf(out + n, cap - n, "\r\n");
done:
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(u);
    return out;
}

static int collect_err_body(void *ud, const uint8_t *data, size_t len)
{
    cap_fetch_keep_errbody(ud, data, len);
    return 0;
}

/* The upgrade was refused: read the (bounded) answer and say why. */
static int upgrade_refused(pf *p, const char *head, size_t headlen,
                           const uint8_t *rest, size_t restlen)
{
    cap_fetch_ctx *f = p->f;
    cap_http_parser hp;
    cap_http_parser_init(&hp, 1 << 20, collect_err_body, f);
    f->errbody_len = 0;
    cap_http_parser_feed(&hp, (const uint8_t *)head, headlen);
    cap_http_parser_feed(&hp, rest, restlen);
    uint8_t buf[4096];
    while (!cap_http_parser_done(&hp) && hp.state != CAP_HTTP_FAILED) {
        size_t n;
        if (pf_recv(p, buf, sizeof buf, &n))
            break;
        if (n == 0) {
            cap_http_parser_eof(&hp);
            break;
        }
        cap_http_parser_feed(&hp, buf, n);
    }
    /* A timeout while reading the explanation must not hide the status. */
    f->status = CAP_OK;
    f->error[0] = '\0';
    f->http_status = hp.status;
    f->retry_after_s = kube_retry_after(hp.retry_after, strlen(hp.retry_after),
                                        lw_wall_ms() / 1000);
    /* Nothing but the API server answers before the upgrade: a 429 is its
     * flow control (sent as plain text, not a Status).  Other refusals,
     * 503 included, are about this pod. */
    f->api_busy = hp.status == 429;
    char msg[600], reason[64];
    if (!cap_status_message(f->errbody, f->errbody_len, msg, sizeof msg,
                            reason, sizeof reason)) {
        cap_status st = CAP_ERR_CONNECT;
        if (hp.status == 401 || hp.status == 403)
            st = CAP_ERR_FORBIDDEN;
        else if (hp.status == 404)
            st = CAP_ERR_NOT_FOUND;
        return cap_fetch_fail(f, st, "API server refused the port-forward "
                                     "(HTTP %d): %s", hp.status, msg);
    }
    char line[200];
    size_t o = 0;
    for (size_t i = 0; i < f->errbody_len && f->errbody[i] != '\n' &&
                       o + 1 < sizeof line; i++)
        line[o++] = (f->errbody[i] >= 0x20 && f->errbody[i] < 0x7F)
                        ? f->errbody[i] : '?';
    line[o] = '\0';
    cap_status st = hp.status == 401 || hp.status == 403 ? CAP_ERR_FORBIDDEN
                                                          : CAP_ERR_PROTOCOL;
    return cap_fetch_fail(f, st, "API server refused the WebSocket upgrade: "
                                 "HTTP %d %s%s%s", hp.status, hp.reason,
                          o ? ": " : "", line);
}

/* The upgrade's response head, read whole (16 KiB at most), with the
 * bytes after it: *have bytes in all, the head *headlen of them.  NULL
 * after saying why. */
static char *read_upgrade_head(pf *p, size_t *have, size_t *headlen)
{
    cap_fetch_ctx *f = p->f;
    char *head = malloc(PF_MAX_HEAD + 1);
    if (!head) {
        cap_fetch_fail(f, CAP_ERR_CONNECT, "out of memory");
        return NULL;
    }
    *have = 0;
    char *end = NULL;
    while (!end) {
        size_t n;
        if (*have == PF_MAX_HEAD) {
            free(head);
            cap_fetch_fail(f, CAP_ERR_PROTOCOL,
                           "upgrade response head exceeds 16 KiB");
            return NULL;
        }
        if (pf_recv(p, head + *have, PF_MAX_HEAD - *have, &n)) {
            free(head);
            return NULL;
        }
        if (n == 0) {
            free(head);
            cap_fetch_fail(f, CAP_ERR_CONNECT,
                           "API server closed the connection during the "
                           "WebSocket upgrade");
            return NULL;
        }
        *have += n;
        head[*have] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    *headlen = (size_t)(end - head) + 4;
    return head;
}

/* A 101 head must confirm the upgrade: "Upgrade: websocket", the accept
 * value for our key, and our subprotocol or none.  0, or -1 after saying
 * why.  head is the head alone, NUL-terminated after its last CRLF. */
static int check_upgraded(pf *p, const char *head, const char *want)
{
    cap_fetch_ctx *f = p->f;
    char v[256];
    const char *up = head_value(head, "Upgrade", v, sizeof v);
    if (!up || strcasecmp(up, "websocket"))
        return cap_fetch_fail(f, CAP_ERR_PROTOCOL,
                              "101 response without \"Upgrade: websocket\"");
    const char *acc = head_value(head, "Sec-WebSocket-Accept", v, sizeof v);
    if (!acc || !want[0] || strcmp(acc, want))
        return cap_fetch_fail(f, CAP_ERR_PROTOCOL,
                              "Sec-WebSocket-Accept %s%s%s does not match "
                              "the key", acc ? "\"" : "(missing)",
                              acc ? acc : "", acc ? "\"" : "");
    /* kubelet serves the same binary channel protocol under the empty
     * subprotocol, so only a different choice is an error. */
    const char *proto = head_value(head, "Sec-WebSocket-Protocol", v,
                                   sizeof v);
    if (proto && strcmp(proto, PF_SUBPROTOCOL)) {
        char pv[64];
        snprintf(pv, sizeof pv, "%s", proto);
        return cap_fetch_fail(f, CAP_ERR_PROTOCOL,
                              "server chose subprotocol \"%s\", we asked for "
                              PF_SUBPROTOCOL, pv);
    }
    return 0;
}

/* Connects, upgrades, and leaves any bytes after the 101 head in *extra.
 * Returns 0, -1 on failure, or 1 when the API server said 401 (the caller
 * may retry once with refreshed credentials). */
static int pf_connect(pf *p, uint8_t *extra, size_t *extralen)
{
    cap_fetch_ctx *f = p->f;
    kube_client *kc = f->c->kube;
    const kube_config *cfg = kube_client_config(kc);
    char ns[256], name[512], path[1024], url[2048], kerr[512] = "";
    char errbuf[CURL_ERROR_SIZE] = "";
    lw_pct_encode(f->t->namespace, ns, sizeof ns);
    lw_pct_encode(f->t->pod, name, sizeof name);
    snprintf(path, sizeof path,
             "/api/v1/namespaces/%s/pods/%s/portforward?ports=%u", ns, name,
             (unsigned)p->port);
    if (kube_client_url(kc, path, url, sizeof url))
        return cap_fetch_fail(f, CAP_ERR_CONFIG, "port-forward URL too long");
    struct curl_slist *hdrs = NULL;
    if (kube_client_setup_easy(kc, p->e, &hdrs, kerr, sizeof kerr)) {
        curl_slist_free_all(hdrs);
        return cap_fetch_fail(f, CAP_ERR_CONFIG, "%s", kerr);
    }
    int64_t left = f->deadline_ms - lw_mono_ms();
    long ct = f->c->o.connect_timeout_ms;
    if (left < ct)
        ct = left > 1 ? (long)left : 1;
    cap_share_setup(f->c, p->e);
    curl_easy_setopt(p->e, CURLOPT_URL, url);
    curl_easy_setopt(p->e, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(p->e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(p->e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(p->e, CURLOPT_CONNECTTIMEOUT_MS, ct);
    curl_easy_setopt(p->e, CURLOPT_TIMEOUT_MS, ct);
    curl_easy_setopt(p->e, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(p->e);
    if (rc != CURLE_OK) {
        curl_slist_free_all(hdrs);
        char what[256];
        snprintf(what, sizeof what, "connect to API server %s", cfg->server);
        return cap_fetch_curl_error(f, rc, errbuf, what);
    }
    curl_easy_setopt(p->e, CURLOPT_ERRORBUFFER, NULL);
    /* Connected: from here on silence counts as a stall. */
    p->last_rx_ms = lw_mono_ms();
    curl_socket_t s = CURL_SOCKET_BAD;
    curl_easy_getinfo(p->e, CURLINFO_ACTIVESOCKET, &s);
    if (s == CURL_SOCKET_BAD) {
        curl_slist_free_all(hdrs);
        return cap_fetch_fail(f, CAP_ERR_CONNECT, "no socket after connect");
    }
    p->sock = s;

    char key[25], want[29];
    if (cap_ws_make_key(key)) {
        curl_slist_free_all(hdrs);
        return cap_fetch_fail(f, CAP_ERR_CONNECT,
                              "no random bytes for the WebSocket key");
    }
    cap_ws_accept_for_key(key, want);
    /* Legacy basic auth is set as curl options (not a header) by the
     * client, and CONNECT_ONLY sends no request of its own: encode it. */
    char *basic = NULL;
    if (cfg->username)
        basic = basic_credentials(cfg->username, cfg->password);
    char *req = upgrade_request(p, url, key, hdrs, basic);
    free(basic);
    curl_slist_free_all(hdrs);
    if (!req)
        return -1;
    int r = pf_send_raw(p, req, strlen(req));
    free(req);
    if (r)
        return -1;

    size_t have, headlen;
    char *head = read_upgrade_head(p, &have, &headlen);
    if (!head)
        return -1;
    int status = 0;
    if (strncmp(head, "HTTP/1.", 7) || sscanf(head + 8, " %3d", &status) != 1) {
        free(head);
        return cap_fetch_fail(f, CAP_ERR_PROTOCOL,
                              "API server answered the upgrade with a "
                              "non-HTTP response");
    }
    if (status != 101) {
        int rr;
        if (status == 401) {
            kube_client_auth_rejected(kc);
            rr = upgrade_refused(p, head, headlen,
                                 (const uint8_t *)head + headlen,
                                 have - headlen);
            free(head);
            return f->status == CAP_ERR_FORBIDDEN ? 1 : rr;
        }
        rr = upgrade_refused(p, head, headlen, (const uint8_t *)head + headlen,
                             have - headlen);
        free(head);
        return rr;
    }
    head[headlen - 2] = '\0'; /* keep the last header's CRLF for head_value */
    if (check_upgraded(p, head, want) < 0) {
        free(head);
        return -1;
    }
    *extralen = have - headlen;
    memcpy(extra, head + headlen, *extralen);
    free(head);
    return 0;
}

/* ---- the capture ------------------------------------------------------- */

static int pf_feed(pf *p, const uint8_t *data, size_t len)
{
    cap_ws_callbacks cb = {on_ws_data, on_ws_control, p};
    if (cap_ws_decoder_feed(&p->dec, data, len, &cb)) {
        if (p->dec.error[0])
            return cap_fetch_fail(p->f, CAP_ERR_PROTOCOL, "%s", p->dec.error);
        /* A callback stopped: it recorded why, unless HTTP is complete. */
        if (p->f->status == CAP_OK && !p->http_done)
            return cap_fetch_fail(p->f, CAP_ERR_PROTOCOL,
                                  "port-forward stream stopped");
        return p->f->status == CAP_OK ? 0 : -1;
    }
    return 0;
}

static void pf_cleanup(pf *p)
{
    if (p->tls)
        SSL_free(p->tls); /* frees both BIOs */
    SSL_CTX_free(p->tls_ctx);
    if (p->e)
        curl_easy_cleanup(p->e);
    p->tls = NULL;
    p->tls_ctx = NULL;
    p->e = NULL;
}

/* Bytes read once the end is near (a CLOSE sent or a send failed): waits
 * in 100 ms polls until until.  0 with *n > 0 bytes in buf; -1 once the
 * server's CLOSE has come, the stream ended or failed, or time is up. */
static int pf_recv_until_close(pf *p, uint8_t *buf, size_t cap,
                               int64_t until, size_t *n)
{
    while (!p->got_close && lw_mono_ms() < until) {
        *n = 0;
        CURLcode rc = curl_easy_recv(p->e, buf, cap, n);
        if (rc == CURLE_AGAIN) {
            struct pollfd pfd = {.fd = p->sock, .events = POLLIN};
            poll(&pfd, 1, 100);
            continue;
        }
        return rc == CURLE_OK && *n > 0 ? 0 : -1;
    }
    return -1;
}

/* After the response (or the failure): say goodbye properly, briefly. */
static void pf_close(pf *p, unsigned status)
{
    if (p->eof || !p->e || p->sock == CURL_SOCKET_BAD)
        return;
    /* Our own failure state must not stop the goodbye. */
    cap_status saved = p->f->status;
    p->f->status = CAP_ERR_CANCELLED;
    if (!p->sent_close) {
        p->sent_close = true;
        uint8_t payload[2] = {(uint8_t)(status >> 8), (uint8_t)status};
        uint8_t mask[4] = {0, 0, 0, 0};
        uint8_t frame[CAP_WS_MAX_HEADER + 2];
        cap_ws_random_mask(mask);
        size_t n = cap_ws_encode(frame, sizeof frame, CAP_WS_OP_CLOSE, true,
                                 payload, 2, mask);
        size_t sent = 0;
        while (sent < n) {
            size_t k = 0;
            CURLcode rc = curl_easy_send(p->e, frame + sent, n - sent, &k);
            if (rc == CURLE_AGAIN) {
                struct pollfd pfd = {.fd = p->sock, .events = POLLOUT};
                if (poll(&pfd, 1, 100) <= 0)
                    break;
                continue;
            }
            if (rc != CURLE_OK)
                break;
            sent += k;
        }
    }
    int64_t until = lw_mono_ms() + PF_CLOSE_WAIT_MS;
    uint8_t buf[4096];
    size_t n;
    while (pf_recv_until_close(p, buf, sizeof buf, until, &n) == 0) {
        /* Only looking for the CLOSE now; data after it is discarded. */
        cap_ws_callbacks cb = {NULL, on_ws_control, p};
        if (cap_ws_decoder_feed(&p->dec, buf, n, &cb))
            break;
    }
    p->f->status = saved;
}

/* Why the stream ended without a complete response. */
static int pf_incomplete(pf *p)
{
    cap_fetch_ctx *f = p->f;
    if (p->errlen) {
        while (p->errlen && (p->errtext[p->errlen - 1] == '\n' ||
                             p->errtext[p->errlen - 1] == ' '))
            p->errtext[--p->errlen] = '\0';
        for (size_t i = 0; i < p->errlen; i++)
            if ((unsigned char)p->errtext[i] < 0x20)
                p->errtext[i] = ' ';
        return cap_fetch_fail(f, CAP_ERR_CONNECT, "%s", p->errtext);
    }
    if (!p->tls && !p->stream_failed && cap_http_parser_eof(&p->http) == 0) {
        if (cap_sink_finish(f->sink))
            return cap_fetch_fail(f, f->sink->status, "%s", f->sink->error);
        return 0;
    }
    if (p->tls && p->tls_closed && cap_http_parser_eof(&p->http) == 0) {
        if (cap_sink_finish(f->sink))
            return cap_fetch_fail(f, f->sink->status, "%s", f->sink->error);
        return 0;
    }
    if (p->got_close)
        return cap_fetch_fail(f, CAP_ERR_CONNECT,
                              "port-forward closed by the server (status %u%s"
                              "%s) before the response was complete: %s",
                              p->close_status, p->close_reason[0] ? ", " : "",
                              p->close_reason,
                              p->http.error[0] ? p->http.error
                                               : "no response");
    return cap_fetch_fail(f, CAP_ERR_CONNECT,
                          "port-forward connection ended before the "
                          "response was complete: %s",
                          p->http.error[0] ? p->http.error : "no response");
}

/* The request could not be sent: the server has probably closed already,
 * having said why on the error channel.  Read what is left (briefly) so
 * that reason, not "broken pipe", is the error. */
static void pf_drain(pf *p, uint8_t *buf)
{
    cap_fetch_ctx *f = p->f;
    cap_status st = f->status;
    char why[sizeof f->error];
    memcpy(why, f->error, sizeof why);
    f->status = CAP_OK;
    f->error[0] = '\0';
    int64_t until = lw_mono_ms() + PF_CLOSE_WAIT_MS;
    size_t n;
    while (pf_recv_until_close(p, buf, PF_RECV_BUF, until, &n) == 0) {
        if (pf_feed(p, buf, n))
            break;
    }
    p->eof = true;
    if (p->errlen && f->status == CAP_OK) {
        pf_incomplete(p);
        return;
    }
    if (f->status == CAP_OK) {
        f->status = st;
        memcpy(f->error, why, sizeof why);
    }
}

/* One blocking read fed to the decoder: 0 to go on (end of stream sets
 * p->eof), -1 when the read or the frames failed. */
static int pf_read_feed(pf *p, uint8_t *buf)
{
    size_t n;
    if (pf_recv(p, buf, PF_RECV_BUF, &n))
        return -1;
    if (n == 0) {
        p->eof = true;
        return 0;
    }
    return pf_feed(p, buf, n);
}

static int pf_run(pf *p)
{
    cap_fetch_ctx *f = p->f;
    uint8_t *buf = malloc(PF_RECV_BUF > PF_MAX_HEAD ? PF_RECV_BUF
                                                    : PF_MAX_HEAD);
    if (!buf)
        return cap_fetch_fail(f, CAP_ERR_CONNECT, "out of memory");
    size_t extra = 0;
    int rc = pf_connect(p, buf, &extra);
    if (rc) {
        free(buf);
        return rc;
    }
    /* Host names the forwarded port the way curl to a local forward
     * would. */
    char host[32];
    snprintf(host, sizeof host, "localhost:%u", (unsigned)p->port);
    p->request_len = cap_http_format_get(p->request, sizeof p->request, host,
                                         f->path, f->c->o.user_agent);
    if (!p->request_len) {
        free(buf);
        return cap_fetch_fail(f, CAP_ERR_CONFIG,
                              "request path %s is not a valid HTTP target",
                              f->path);
    }
    /* Read before writing: kubelet announces the port on both channels at
     * once, and if it cannot reach the pod it says why on the error channel
     * and closes.  Sending into a connection the server already closed
     * would turn that reason into "broken pipe" (and a TLS error state that
     * loses the unread bytes), so the request waits for the data channel's
     * port announcement, and for whatever else is already there. */
    rc = extra ? pf_feed(p, buf, extra) : 0;
    while (rc == 0 && p->prefix_have[0] < 2 && !p->got_close && !p->eof)
        rc = pf_read_feed(p, buf);
    while (rc == 0 && !p->got_close && !p->eof) {
        size_t n = 0;
        CURLcode cr = curl_easy_recv(p->e, buf, PF_RECV_BUF, &n);
        if (cr != CURLE_OK)
            break; /* CURLE_AGAIN: nothing more yet; errors show later */
        if (n == 0) {
            p->eof = true;
            break;
        }
        rc = pf_feed(p, buf, n);
    }
    if (rc) {
        free(buf);
        return -1;
    }
    if (!p->got_close && !p->eof) {
        /* With TLS the request goes out once the handshake is done
         * (tls_pump); without, right now. */
        int sent = f->t->https ? tls_setup(p)
                               : pf_send_data(p, p->request, p->request_len);
        if (sent == 0) {
            if (!f->t->https)
                p->request_sent = true;
        } else if (f->status == CAP_ERR_CONNECT) {
            pf_drain(p, buf);
            free(buf);
            return -1;
        } else {
            free(buf);
            return -1;
        }
    }
    while (rc == 0 && !p->http_done && !p->got_close && !p->tls_closed &&
           !p->eof)
        rc = pf_read_feed(p, buf);
    free(buf);
    if (rc)
        return -1;
    if (p->http_done) {
        if (f->sink->stopped_ok)
            return 0;
        if (f->http_status < 200 || f->http_status >= 300) {
            cap_fetch_http_error(f, false);
            return -1;
        }
        if (cap_sink_finish(f->sink))
            return cap_fetch_fail(f, f->sink->status, "%s", f->sink->error);
        return 0;
    }
    if (pf_incomplete(p))
        return -1;
    if (f->http_status < 200 || f->http_status >= 300) {
        cap_fetch_http_error(f, false);
        return -1;
    }
    return 0;
}

int cap_fetch_portforward(cap_fetch_ctx *f)
{
    if (!f->c->kube)
        return cap_fetch_fail(f, CAP_ERR_CONFIG,
                              "the portforward transport needs a Kubernetes "
                              "client");
    if (f->t->port == 0)
        return cap_fetch_fail(f, CAP_ERR_CONFIG, "no port to forward");
    for (int attempt = 0; attempt < 2; attempt++) {
        pf p;
        memset(&p, 0, sizeof p);
        p.f = f;
        p.sock = CURL_SOCKET_BAD;
        p.port = f->t->port;
        p.channel = -1;
        p.last_rx_ms = lw_mono_ms();
        cap_ws_decoder_init(&p.dec, 0);
        cap_http_parser_init(&p.http, f->sink->max_bytes, on_http_body, &p);
        p.e = curl_easy_init();
        if (!p.e)
            return cap_fetch_fail(f, CAP_ERR_CONNECT, "curl_easy_init failed");
        int rc = pf_run(&p);
        if (rc == 1 && attempt == 0 && f->sink->bytes == 0) {
            /* 401: credentials were refreshed; one more try. */
            pf_cleanup(&p);
            f->status = CAP_OK;
            f->error[0] = '\0';
            f->errbody_len = 0;
            continue;
        }
        /* A protocol error is the one case where the peer broke the rules;
         * everything else ends as a normal close from our side. */
        pf_close(&p, f->status == CAP_ERR_PROTOCOL ? CAP_WS_CLOSE_PROTOCOL
                                                   : CAP_WS_CLOSE_NORMAL);
        pf_cleanup(&p);
        return rc == 0 ? 0 : -1;
    }
    return -1;
}
