/*
 * cap_fetch.c — what the three transports share: turning failures into one
 * status and one sentence, the stall / deadline / cancel checks, and the
 * "is the pod still there?" question asked while a stream is silent.
 * Not for: moving bytes (cap_direct.c, cap_portforward.c).
 */
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "capture/cap_internal.h"
#include "lw/lw_clock.h"
#include "lw/lw_str.h"

int cap_fetch_fail(cap_fetch_ctx *f, cap_status st, const char *fmt, ...)
{
    /* The first failure is the cause; later ones are consequences. */
    if (f->status != CAP_OK)
        return -1;
    f->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->error, sizeof f->error, fmt, ap);
    va_end(ap);
    return -1;
}

void cap_fetch_keep_errbody(cap_fetch_ctx *f, const void *data, size_t len)
{
    lw_append(f->errbody, sizeof f->errbody, &f->errbody_len, data, len);
}

int cap_status_message(const char *body, size_t len, char *out, size_t outlen,
                       char *reason, size_t reasonlen)
{
    json_error_t je;
    json_t *j = json_loadb(body, len, 0, &je);
    if (!j)
        return -1;
    const char *kind = json_string_value(json_object_get(j, "kind"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    const char *rsn = json_string_value(json_object_get(j, "reason"));
    int rc = -1;
    if (kind && !strcmp(kind, "Status") && msg) {
        snprintf(out, outlen, "%s", msg);
        if (reason)
            snprintf(reason, reasonlen, "%s", rsn ? rsn : "");
        rc = 0;
    }
    json_decref(j);
    return rc;
}

/* The first line of a text body, printable, for a message. */
static void first_line(const char *body, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    size_t i = 0;
    while (i < len && isspace((unsigned char)body[i]))
        i++;
    for (; i < len && body[i] != '\n' && o + 1 < outlen && o < 200; i++) {
        unsigned char c = (unsigned char)body[i];
        if (c == '\r')
            continue;
        out[o++] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
    }
    out[o] = '\0';
}

void cap_fetch_http_error(cap_fetch_ctx *f, bool via_apiserver)
{
    char msg[600], reason[64] = "";
    /* API Priority and Fairness sheds load with a plain-text 429, so the
     * body cannot tell it from the pod's own; pprof handlers never answer
     * 429, and taking a pod's for the API server's only waits as long as
     * it asked.  A 503 is the API server failing to reach this one pod
     * (the proxy's dial), never a reason to hold back the others. */
    f->api_busy = via_apiserver && f->http_status == 429;
    if (via_apiserver &&
        !cap_status_message(f->errbody, f->errbody_len, msg, sizeof msg,
                            reason, sizeof reason)) {
        /* The API server speaking for itself: access, pod existence, or
         * its own failure to reach the pod. */
        cap_status st = CAP_ERR_CONNECT;
        if (f->http_status == 401 || f->http_status == 403)
            st = CAP_ERR_FORBIDDEN;
        else if (f->http_status == 404 && !strcmp(reason, "NotFound"))
            st = CAP_ERR_NOT_FOUND;
        else if (f->http_status == 429 || f->http_status >= 500)
            st = CAP_ERR_CONNECT;
        else
            st = CAP_ERR_HTTP;
        cap_fetch_fail(f, st, "API server answered %ld: %s", f->http_status,
                       msg);
        return;
    }
    first_line(f->errbody, f->errbody_len, msg, sizeof msg);
    cap_fetch_fail(f, CAP_ERR_HTTP, "GET %s answered HTTP %ld%s%s", f->path,
                   f->http_status, msg[0] ? ": " : "", msg);
}

/* 1 when the pod is gone or was replaced (why says so), 0 when it is there
 * or we cannot tell. */
static int pod_gone(cap_fetch_ctx *f, char *why, size_t whylen)
{
    if (!f->c->kube)
        return 0;
    char ns[256], name[512], path[1024];
    lw_pct_encode(f->t->namespace, ns, sizeof ns);
    lw_pct_encode(f->t->pod, name, sizeof name);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", ns, name);
    kube_response r;
    memset(&r, 0, sizeof r);
    int rc = kube_get(f->c->kube, path, &r);
    int gone = 0;
    if (rc != 0 && r.status == 404) {
        snprintf(why, whylen, "the pod was deleted during the capture");
        gone = 1;
    } else if (rc == 0 && r.json) {
        json_t *md = json_object_get(r.json, "metadata");
        const char *uid = json_string_value(json_object_get(md, "uid"));
        const char *del =
            json_string_value(json_object_get(md, "deletionTimestamp"));
        if (f->t->uid && uid && strcmp(uid, f->t->uid)) {
            snprintf(why, whylen, "the pod was replaced during the capture "
                                  "(uid %s, now %s)", f->t->uid, uid);
            gone = 1;
        } else if (del) {
            snprintf(why, whylen, "the pod is being deleted (since %s)", del);
            gone = 1;
        }
    }
    kube_response_free(&r);
    return gone;
}

int cap_fetch_check(cap_fetch_ctx *f, int64_t last_rx_ms,
                    int64_t *next_pod_check_ms)
{
    const cap_options *o = &f->c->o;
    int64_t now = lw_mono_ms();
    if (f->cancel && atomic_load(f->cancel))
        return cap_fetch_fail(f, CAP_ERR_CANCELLED, "cancelled");
    if (now >= f->deadline_ms)
        return cap_fetch_fail(f, CAP_ERR_TIMEOUT,
                              "timed out after %.1f s (%llu bytes received)",
                              (double)(now - f->start_ms) / 1000.0,
                              (unsigned long long)f->sink->bytes);
    if (o->stall_timeout_ms > 0 && now - last_rx_ms >= o->stall_timeout_ms)
        return cap_fetch_fail(f, CAP_ERR_TIMEOUT,
                              "no data for %.1f s (stalled after %llu bytes)",
                              (double)(now - last_rx_ms) / 1000.0,
                              (unsigned long long)f->sink->bytes);
    if (o->pod_check_ms > 0 && next_pod_check_ms &&
        now - last_rx_ms >= o->pod_check_ms && now >= *next_pod_check_ms) {
        char why[256];
        *next_pod_check_ms = now + o->pod_check_ms;
        if (pod_gone(f, why, sizeof why))
            return cap_fetch_fail(f, CAP_ERR_NOT_FOUND, "%s", why);
    }
    return 0;
}

int cap_fetch_curl_error(cap_fetch_ctx *f, CURLcode rc, const char *errbuf,
                         const char *what)
{
    if (f->status != CAP_OK)
        return -1;
    if (f->sink->status != CAP_OK)
        return cap_fetch_fail(f, f->sink->status, "%s", f->sink->error);
    const char *detail = errbuf && errbuf[0] ? errbuf : curl_easy_strerror(rc);
    cap_status st;
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        st = CAP_ERR_TIMEOUT;
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        st = CAP_ERR_CONNECT;
        break;
    case CURLE_FILESIZE_EXCEEDED:
        st = CAP_ERR_TOO_LARGE;
        break;
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
        st = CAP_ERR_PROTOCOL;
        break;
    default:
        st = CAP_ERR_CONNECT;
    }
    return cap_fetch_fail(f, st, "%s: %s", what, detail);
}

cap_status cap_parse_error_status(const char *parser_error)
{
    return parser_error && strstr(parser_error, "(limit") ? CAP_ERR_TOO_LARGE
                                                           : CAP_ERR_PARSE;
}
