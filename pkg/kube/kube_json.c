/*
 * kube_json.c — reading API objects: dotted-path getters, API Status
 * bodies decoded into one sentence, and LIST with limit/continue paging.
 *
 * Not for: the HTTP machinery (kube_client.c), owner references
 * (kube_owner.c) or pod annotations (kube_pods.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/kube_internal.h"
#include "lw/lw_str.h"
#include "lw/lw_text.h"

const json_t *kube_json_get(const json_t *obj, const char *dotted)
{
    const json_t *cur = obj;
    const char *p = dotted;
    char key[256];
    while (cur && p && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 0 || n >= sizeof key || !json_is_object(cur))
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        cur = json_object_get(cur, key);
        p = dot ? dot + 1 : NULL;
    }
    return cur;
}

const char *kube_json_str(const json_t *obj, const char *dotted)
{
    const json_t *v = kube_json_get(obj, dotted);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

typedef struct code_name {
    long code;
    const char *phrase;
    const char *reason; /* metav1.StatusReason the apiserver would use */
} code_name;

static const code_name codes[] = {
    {400, "Bad Request", "BadRequest"},
    {401, "Unauthorized", "Unauthorized"},
    {403, "Forbidden", "Forbidden"},
    {404, "Not Found", "NotFound"},
    {405, "Method Not Allowed", "MethodNotAllowed"},
    {406, "Not Acceptable", "NotAcceptable"},
    {408, "Request Timeout", "Timeout"},
    {409, "Conflict", "Conflict"},
    {410, "Gone", "Expired"},
    {413, "Request Entity Too Large", "RequestEntityTooLarge"},
    {415, "Unsupported Media Type", "UnsupportedMediaType"},
    {422, "Unprocessable Entity", "Invalid"},
    {429, "Too Many Requests", "TooManyRequests"},
    {500, "Internal Server Error", "InternalError"},
    {501, "Not Implemented", ""},
    {502, "Bad Gateway", ""},
    {503, "Service Unavailable", "ServiceUnavailable"},
    {504, "Gateway Timeout", "Timeout"},
};

static const code_name *code_lookup(long code)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == code)
            return &codes[i];
    return NULL;
}

/* The reason is the server's text: its control bytes are escaped (as
 * lw_text.h has it) since it goes into one-line messages. */
static void copy_str(char *dst, size_t dstlen, const char *src)
{
    if (!dstlen)
        return;
    src = src ? src : "";
    lw_text_escape(src, strlen(src), dst, dstlen);
}

void kube_status_decode(long http_status, const json_t *status,
                        const char *raw, size_t raw_len, char *err,
                        size_t errlen, char *reason, size_t reasonlen)
{
    const code_name *cn = code_lookup(http_status);
    const char *msg = NULL, *rsn = NULL;
    bool is_status = false;
    if (json_is_object(status)) {
        const char *kind = kube_json_str(status, "kind");
        if (kind && !strcmp(kind, "Status")) {
            is_status = true;
            msg = kube_json_str(status, "message");
            rsn = kube_json_str(status, "reason");
        }
    }
    copy_str(reason, reasonlen, rsn && *rsn ? rsn : cn ? cn->reason : "");
    if (!errlen)
        return;
    if (msg && *msg) {
        /* A message of white space alone says nothing: the code does. */
        kube_one_line(msg, strlen(msg), err, errlen);
        if (err[0])
            return;
    }
    char head[64];
    if (cn)
        snprintf(head, sizeof head, "HTTP %ld %s", http_status, cn->phrase);
    else
        snprintf(head, sizeof head, "HTTP %ld", http_status);
    if (rsn && *rsn) {
        char shown[128];
        copy_str(shown, sizeof shown, rsn);
        snprintf(err, errlen, "%s (%s)", head, shown);
        return;
    }
    /* A proxy or a crashed server in front of the API: show what it said,
     * first line only, so the message stays one line.  A Status said all
     * it had to say above. */
    char first[256] = "";
    if (raw && raw_len && !is_status) {
        size_t n = 0;
        while (n < raw_len && raw[n] && raw[n] != '\n' && n < 200)
            n++;
        kube_one_line(raw, n, first, sizeof first);
    }
    if (first[0])
        snprintf(err, errlen, "%s: %s", head, first);
    else
        snprintf(err, errlen, "%s", head);
}

int kube_list(kube_client *c, const char *path_with_query, int page_limit,
              kube_item_fn fn, void *ud, char *rv, size_t rvlen,
              kube_response *err_out)
{
    char *cont = NULL;
    int rc = 0;
    if (err_out)
        memset(err_out, 0, sizeof *err_out);
    if (rv && rvlen)
        rv[0] = '\0';
    char sep = strchr(path_with_query, '?') ? '&' : '?';
    for (;;) {
        char *path = NULL;
        size_t plen = strlen(path_with_query) + 64 +
                      (cont ? strlen(cont) * 3 + 16 : 0);
        path = malloc(plen);
        char *esc = cont ? malloc(strlen(cont) * 3 + 1) : NULL;
        if (!path || (cont && !esc)) {
            free(path);
            free(esc);
            free(cont);
            if (err_out)
                snprintf(err_out->error, sizeof err_out->error,
                         "LIST %s: out of memory", path_with_query);
            return -1;
        }
        int n;
        if (page_limit > 0)
            n = snprintf(path, plen, "%s%climit=%d", path_with_query, sep,
                         page_limit);
        else
            n = snprintf(path, plen, "%s", path_with_query);
        if (cont) {
            lw_pct_encode(cont, esc, strlen(cont) * 3 + 1);
            snprintf(path + n, plen - (size_t)n, "%ccontinue=%s",
                     page_limit > 0 ? '&' : sep, esc);
        }
        free(esc);
        free(cont);
        cont = NULL;

        kube_response r;
        int grc = kube_get(c, path, &r);
        free(path);
        if (grc != 0) {
            if (err_out)
                *err_out = r;
            else
                kube_response_free(&r);
            return -1;
        }
        const json_t *items = json_object_get(r.json, "items");
        if (!json_is_array(items) && !json_is_null(items)) {
            if (err_out) {
                kube_response_free(&r);
                memset(err_out, 0, sizeof *err_out);
                err_out->status = r.status;
                snprintf(err_out->error, sizeof err_out->error,
                         "LIST %s: response is not a list (no items)",
                         path_with_query);
            } else {
                kube_response_free(&r);
            }
            return -1;
        }
        const char *prv = kube_json_str(r.json, "metadata.resourceVersion");
        if (rv && rvlen && prv)
            snprintf(rv, rvlen, "%s", prv);
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item)
        {
            rc = fn(item, ud);
            if (rc != 0)
                break;
        }
        const char *next = kube_json_str(r.json, "metadata.continue");
        if (rc == 0 && next && *next) {
            cont = strdup(next);
            if (!cont) {
                kube_response_free(&r);
                if (err_out)
                    snprintf(err_out->error, sizeof err_out->error,
                             "LIST %s: out of memory", path_with_query);
                return -1;
            }
        }
        kube_response_free(&r);
        if (rc != 0 || !cont)
            return rc;
    }
}
