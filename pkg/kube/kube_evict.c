/*
 * kube_evict.c — one policy/v1 Eviction request (see kube_evict.h).
 *
 * It drives its own easy handle (set up by kube_client_setup_easy) instead
 * of kube_request because the client's retry policy would re-send on 429
 * and 5xx, which for an eviction are the answers we want to report.
 *
 * Not for: retry or budget policy (pkg/contain).
 */
#include "kube/kube_evict.h"
#include "lw/lw_clock.h"
#include "lw/lw_grow.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVICT_BODY (1u << 20)

const char *kube_evict_result_name(kube_evict_result r)
{
    switch (r) {
    case KUBE_EVICT_EVICTED: return "evicted";
    case KUBE_EVICT_PDB_BLOCKED: return "pdb-blocked";
    case KUBE_EVICT_MULTIPLE_PDBS: return "multiple-pdbs";
    case KUBE_EVICT_NOT_FOUND: return "not-found";
    case KUBE_EVICT_FORBIDDEN: return "forbidden";
    case KUBE_EVICT_CONFLICT: return "conflict";
    case KUBE_EVICT_THROTTLED: return "throttled";
    case KUBE_EVICT_ERROR: return "error";
    }
    return "error";
}

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; hay && *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return true;
    return false;
}

/* A Status cause of type DisruptionBudget, or the budget sentence. */
static bool mentions_budget(const json_t *body, const char *msg)
{
    const json_t *causes = json_object_get(json_object_get(body, "details"),
                                           "causes");
    size_t i;
    const json_t *c;
    json_array_foreach(causes, i, c) {
        const char *t = json_string_value(json_object_get(c, "reason"));
        if (!t)
            t = json_string_value(json_object_get(c, "type"));
        if (t && !strcmp(t, "DisruptionBudget"))
            return true;
    }
    return contains_ci(msg, "disruption budget");
}

void kube_evict_classify(long status, const json_t *body, const char *raw,
                         size_t raw_len, long retry_after_s,
                         kube_evict_outcome *out)
{
    memset(out, 0, sizeof *out);
    out->status = status;
    out->retry_after_s = retry_after_s;
    if (out->retry_after_s < 0) {
        json_int_t ra = json_integer_value(json_object_get(
            json_object_get(body, "details"), "retryAfterSeconds"));
        out->retry_after_s = ra > 0 ? (long)ra : -1;
    }
    if (status >= 200 && status < 300) {
        out->result = KUBE_EVICT_EVICTED;
        snprintf(out->message, sizeof out->message, "evicted (HTTP %ld)",
                 status);
        return;
    }
    char reason[64];
    kube_status_decode(status, json_is_object(body) ? body : NULL, raw,
                       raw_len, out->message, sizeof out->message, reason,
                       sizeof reason);
    const char *smsg = json_string_value(json_object_get(body, "message"));
    if (!smsg)
        smsg = out->message;
    switch (status) {
    case 429:
        out->result = mentions_budget(body, smsg) ? KUBE_EVICT_PDB_BLOCKED
                                                  : KUBE_EVICT_THROTTLED;
        break;
    case 500:
        out->result = contains_ci(smsg, "more than one PodDisruptionBudget")
                          ? KUBE_EVICT_MULTIPLE_PDBS
                          : KUBE_EVICT_ERROR;
        break;
    case 404:
        out->result = KUBE_EVICT_NOT_FOUND;
        break;
    case 403:
        out->result = KUBE_EVICT_FORBIDDEN;
        break;
    case 409:
        out->result = KUBE_EVICT_CONFLICT;
        break;
    default:
        out->result = KUBE_EVICT_ERROR;
        break;
    }
}

/* ---- the request ------------------------------------------------------- */

typedef struct body_buf {
    char *p;
    size_t n, cap;
    bool over;
} body_buf;

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    body_buf *b = ud;
    size_t len = size * nmemb;
    if (b->over || len > MAX_EVICT_BODY - b->n) {
        b->over = true;
        return len; /* keep reading; the status is what matters */
    }
    /* + NUL */
    if (lw_grow(&b->p, &b->cap, b->n + len, 1, 4096)) {
        b->over = true;
        return len;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    b->p[b->n] = '\0';
    return len;
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    long *retry_after = ud;
    size_t len = size * nmemb;
    long v = kube_retry_after_line(data, len);
    if (v >= 0)
        *retry_after = v;
    return len;
}

static bool name_ok(const char *s, size_t max)
{
    if (!s || !*s || strlen(s) > max)
        return false;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
              *s == '-' || *s == '.'))
            return false;
    return true;
}

static void fail(kube_evict_outcome *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(kube_evict_outcome *out, const char *fmt, ...)
{
    memset(out, 0, sizeof *out);
    out->result = KUBE_EVICT_ERROR;
    out->retry_after_s = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
}

kube_evict_result kube_evict_pod(kube_client *c, const char *ns,
                                 const char *name, const kube_evict_opts *o,
                                 kube_evict_outcome *out)
{
    kube_evict_opts none = {0};
    if (!o)
        o = &none;
    if (!name_ok(ns, 63) || !name_ok(name, 253)) {
        fail(out, "evict: invalid pod reference \"%s/%s\"", ns ? ns : "",
             name ? name : "");
        return out->result;
    }
    json_t *del = json_object();
    if (o->set_grace && o->grace_period_seconds >= 0)
        json_object_set_new(del, "gracePeriodSeconds",
                            json_integer(o->grace_period_seconds));
    if (o->uid && *o->uid)
        json_object_set_new(del, "preconditions",
                            json_pack("{s:s}", "uid", o->uid));
    json_t *ev = json_pack("{s:s,s:s,s:{s:s,s:s},s:o}", "apiVersion",
                           "policy/v1", "kind", "Eviction", "metadata",
                           "name", name, "namespace", ns, "deleteOptions",
                           del);
    char *payload = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!payload) {
        fail(out, "evict %s/%s: out of memory", ns, name);
        return out->result;
    }
    char path[512], url[2048];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/eviction%s",
             ns, name, o->dry_run ? "?dryRun=All" : "");
    if (kube_client_url(c, path, url, sizeof url) != 0) {
        free(payload);
        fail(out, "evict %s/%s: URL too long", ns, name);
        return out->result;
    }

    for (int attempt = 0; attempt < 2; attempt++) {
        CURL *e = curl_easy_init();
        if (!e) {
            fail(out, "evict %s/%s: cannot create a curl handle", ns, name);
            break;
        }
        struct curl_slist *hdr = NULL;
        char err[512] = "";
        if (kube_client_setup_easy(c, e, &hdr, err, sizeof err) != 0) {
            curl_slist_free_all(hdr);
            curl_easy_cleanup(e);
            fail(out, "evict %s: %s", path, err);
            break;
        }
        struct curl_slist *h2 =
            curl_slist_append(hdr, "Content-Type: application/json");
        if (h2)
            hdr = h2;
        h2 = curl_slist_append(hdr, "Accept: application/json");
        if (h2)
            hdr = h2;
        body_buf b = {0};
        long retry_after = -1;
        char cerr[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, &retry_after);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        /* The client's setup gives a connect timeout only. */
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                         o->timeout_ms > 0 ? o->timeout_ms : 30000L);
        CURLcode rc = curl_easy_perform(e);
        long status = 0;
        if (rc == CURLE_OK)
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(e);
        curl_slist_free_all(hdr);
        if (rc != CURLE_OK) {
            free(b.p);
            fail(out, "evict %s: %s", path,
                 cerr[0] ? cerr : curl_easy_strerror(rc));
            break;
        }
        json_t *j = b.p && !b.over ? json_loadb(b.p, b.n, 0, NULL) : NULL;
        kube_evict_classify(status, j, b.p, b.over ? 0 : b.n, retry_after,
                            out);
        json_decref(j);
        free(b.p);
        if (status == 401 && attempt == 0) {
            /* Expired exec or file token: refresh once and ask again. */
            kube_client_auth_rejected(c);
            continue;
        }
        break;
    }
    free(payload);
    return out->result;
}
