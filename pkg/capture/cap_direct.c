/*
 * cap_direct.c — the two transports where libcurl speaks HTTP for us:
 * direct (HTTP(S) to podIP:port) and proxy (pods/NAME:PORT/proxy/PATH
 * through the API server with the client's TLS and credentials).
 *
 * Both stream the body into the sink from curl's write callback, so memory
 * does not grow with the profile, and check cancel / deadline / stall (and
 * whether the pod still exists) from curl's progress callback.
 * Not for: the port-forward transport (cap_portforward.c), which cannot use
 * libcurl's HTTP because the response arrives inside WebSocket frames.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "capture/cap_internal.h"
#include "lw/lw_clock.h"
#include "lw/lw_str.h"

typedef struct curl_xfer {
    cap_fetch_ctx *f;
    CURL *e;
    bool decided;        /* saw the final status                          */
    bool ok2xx;
    bool tls;            /* https: "connected" means the TLS handshake too */
    bool connected;      /* the stall clock runs only from here on        */
    int64_t last_rx_ms;
    int64_t next_pod_check_ms;
} curl_xfer;

static void decide(curl_xfer *x)
{
    if (x->decided)
        return;
    long code = 0;
    curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &code);
    x->f->http_status = code;
    x->ok2xx = code >= 200 && code < 300;
    x->decided = true;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    curl_xfer *x = ud;
    size_t n = size * nmemb;
    x->last_rx_ms = lw_mono_ms();
    decide(x);
    if (!x->ok2xx) {
        cap_fetch_keep_errbody(x->f, ptr, n);
        return n;
    }
    /* Any return other than n makes curl stop with CURLE_WRITE_ERROR; the
     * sink says why (or that a probe has its answer). */
    if (cap_sink_write(x->f->sink, ptr, n))
        return 0;
    return n;
}

static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    curl_xfer *x = ud;
    size_t n = size * nmemb;
    x->last_rx_ms = lw_mono_ms();
    /* A new status line (after a 1xx) starts a new header block. */
    long retry_after;
    if (n > 5 && !strncmp(ptr, "HTTP/", 5)) {
        x->f->errbody_type[0] = '\0';
        x->f->retry_after_s = -1;
    } else if ((retry_after = kube_retry_after_line(ptr, n)) >= 0) {
        x->f->retry_after_s = retry_after;
    } else if (n > 13 && !strncasecmp(ptr, "Content-Type:", 13)) {
        size_t i = 13, o = 0;
        while (i < n && (ptr[i] == ' ' || ptr[i] == '\t'))
            i++;
        while (i < n && ptr[i] != '\r' && ptr[i] != '\n' &&
               o + 1 < sizeof x->f->errbody_type)
            x->f->errbody_type[o++] = ptr[i++];
        x->f->errbody_type[o] = '\0';
    }
    return n;
}

static int progress_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
    curl_xfer *x = ud;
    if (!x->connected) {
        /* Connecting is bounded by the connect timeout; a slow handshake
         * is not a stalled stream. */
        curl_off_t t = 0;
        curl_easy_getinfo(x->e, x->tls ? CURLINFO_APPCONNECT_TIME_T
                                       : CURLINFO_CONNECT_TIME_T, &t);
        if (t <= 0)
            return cap_fetch_check(x->f, lw_mono_ms(), NULL) ? 1 : 0;
        x->connected = true;
        if (!x->decided)
            x->last_rx_ms = lw_mono_ms();
    }
    return cap_fetch_check(x->f, x->last_rx_ms, &x->next_pod_check_ms) ? 1
                                                                       : 0;
}

/* Options both transports share. */
static void common_setopts(curl_xfer *x, const char *url, char *errbuf)
{
    const cap_options *o = &x->f->c->o;
    CURL *e = x->e;
    int64_t left = x->f->deadline_ms - lw_mono_ms();
    if (left < 1)
        left = 1;
    cap_share_setup(x->f->c, e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    /* Backstop only: the progress callback enforces the deadline with a
     * better message. */
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)left + 1000);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    /* The handle goes back to a pool (cap_easy_take); its connection does
     * not stay open with it. */
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    /* No Accept-Encoding: we store exactly what curl(1) without
     * --compressed would. */
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);
    curl_easy_setopt(e, CURLOPT_USERAGENT, x->f->c->o.user_agent);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
}

static int finish_transfer(curl_xfer *x, CURLcode rc, const char *errbuf,
                           bool via_apiserver, const char *what)
{
    cap_fetch_ctx *f = x->f;
    if (rc == CURLE_WRITE_ERROR && f->sink->stopped_ok)
        return 0;
    if (rc != CURLE_OK)
        return cap_fetch_curl_error(f, rc, errbuf, what);
    decide(x);
    if (!x->ok2xx) {
        cap_fetch_http_error(f, via_apiserver);
        return -1;
    }
    if (cap_sink_finish(f->sink))
        return cap_fetch_fail(f, f->sink->status, "%s", f->sink->error);
    return 0;
}

int cap_fetch_direct(cap_fetch_ctx *f)
{
    const cap_target *t = f->t;
    const cap_options *o = &f->c->o;
    if (!t->pod_ip || !t->pod_ip[0])
        return cap_fetch_fail(f, CAP_ERR_CONFIG, "the pod has no IP yet");
    for (const char *s = t->pod_ip; *s; s++)
        if (!strchr("0123456789abcdefABCDEF.:", *s))
            return cap_fetch_fail(f, CAP_ERR_CONFIG, "bad pod IP \"%s\"",
                                  t->pod_ip);
    char url[2048];
    bool v6 = strchr(t->pod_ip, ':') != NULL;
    snprintf(url, sizeof url, "%s://%s%s%s:%u%s", t->https ? "https" : "http",
             v6 ? "[" : "", t->pod_ip, v6 ? "]" : "", (unsigned)t->port,
             f->path);
    CURL *e = cap_easy_take(f->c);
    if (!e)
        return cap_fetch_fail(f, CAP_ERR_CONNECT, "curl_easy_init failed");
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_xfer x = {.f = f, .e = e, .last_rx_ms = lw_mono_ms(),
                   .tls = t->https};
    common_setopts(&x, url, errbuf);
    /* Pod IPs are never reached through an HTTP proxy from the
     * environment. */
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    if (t->https) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->pod_tls_verify ? 1L
                                                                     : 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->pod_tls_verify ? 2L
                                                                     : 0L);
        if (o->pod_tls_verify && o->pod_ca_file)
            curl_easy_setopt(e, CURLOPT_CAINFO, o->pod_ca_file);
    }
    CURLcode rc = curl_easy_perform(e);
    char what[128];
    snprintf(what, sizeof what, "GET %s://%s%s%s:%u", t->https ? "https"
                                                              : "http",
             v6 ? "[" : "", t->pod_ip, v6 ? "]" : "", (unsigned)t->port);
    int r = finish_transfer(&x, rc, errbuf, false, what);
    cap_easy_give(f->c, e);
    return r;
}

int cap_fetch_proxy(cap_fetch_ctx *f)
{
    const cap_target *t = f->t;
    kube_client *kc = f->c->kube;
    if (!kc)
        return cap_fetch_fail(f, CAP_ERR_CONFIG,
                              "the proxy transport needs a Kubernetes client");
    const kube_config *cfg = kube_client_config(kc);
    char ns[256], name[512], path[2048], url[4096];
    lw_pct_encode(t->namespace, ns, sizeof ns);
    lw_pct_encode(t->pod, name, sizeof name);
    int n = snprintf(path, sizeof path,
                     "/api/v1/namespaces/%s/pods/%s%s:%u/proxy%s", ns,
                     t->https ? "https:" : "", name, (unsigned)t->port,
                     f->path);
    if (n < 0 || (size_t)n >= sizeof path ||
        kube_client_url(kc, path, url, sizeof url))
        return cap_fetch_fail(f, CAP_ERR_CONFIG, "proxy URL too long");
    /* One retry after a 401, once the client refreshed its credentials
     * (exec plugin, rotated token file). */
    for (int attempt = 0;; attempt++) {
        CURL *e = cap_easy_take(f->c);
        if (!e)
            return cap_fetch_fail(f, CAP_ERR_CONNECT,
                                  "curl_easy_init failed");
        char errbuf[CURL_ERROR_SIZE] = "";
        struct curl_slist *hdrs = NULL;
        char kerr[512] = "";
        if (kube_client_setup_easy(kc, e, &hdrs, kerr, sizeof kerr)) {
            cap_easy_give(f->c, e);
            curl_slist_free_all(hdrs);
            return cap_fetch_fail(f, CAP_ERR_CONFIG, "%s", kerr);
        }
        curl_xfer x = {.f = f, .e = e, .last_rx_ms = lw_mono_ms(),
                       .tls = !strncmp(url, "https:", 6)};
        common_setopts(&x, url, errbuf);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
        f->errbody_len = 0;
        f->errbody[0] = '\0';
        CURLcode rc = curl_easy_perform(e);
        if (rc == CURLE_OK) {
            decide(&x);
            if (f->http_status == 401 && attempt == 0 &&
                f->sink->bytes == 0) {
                kube_client_auth_rejected(kc);
                cap_easy_give(f->c, e);
                curl_slist_free_all(hdrs);
                continue;
            }
            if (f->http_status == 401)
                kube_client_auth_rejected(kc);
        }
        char what[128];
        snprintf(what, sizeof what, "proxy via %s", cfg->server);
        int r = finish_transfer(&x, rc, errbuf, true, what);
        /* Reset before the headers go: the handle still points at them. */
        cap_easy_give(f->c, e);
        curl_slist_free_all(hdrs);
        return r;
    }
}
