/*
 * cap_http.c — the incremental HTTP/1.1 response parser used over the
 * port-forward data channel (see cap_http.h).  Hand-written because libcurl
 * cannot parse a response that arrives inside WebSocket frames; it follows
 * RFC 9112 for the parts a single GET with Connection: close can meet.
 * Not for: anything libcurl already does for the direct and proxy paths.
 */
#include "capture/cap_http.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void cap_http_parser_init(cap_http_parser *p, uint64_t max_body,
                          cap_http_body_fn on_body, void *ud)
{
    memset(p, 0, sizeof *p);
    p->max_body = max_body;
    p->on_body = on_body;
    p->ud = ud;
}

bool cap_http_parser_have_head(const cap_http_parser *p)
{
    return p->head_done;
}

static int http_fail(cap_http_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int http_fail(cap_http_parser *p, const char *fmt, ...)
{
    p->state = CAP_HTTP_FAILED;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error, sizeof p->error, fmt, ap);
    va_end(ap);
    return -1;
}

/* Copies at most 40 printable bytes of s for an error message. */
static const char *excerpt(const char *s, size_t len, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 4 < cap && i < 40; i++)
        buf[o++] = isprint((unsigned char)s[i]) ? s[i] : '?';
    if (len > 40 && o + 4 < cap) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

static void copy_trimmed(char *dst, size_t cap, const char *s, size_t len)
{
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
}

static int parse_status_line(cap_http_parser *p, const char *l, size_t len)
{
    char ex[64];
    /* "HTTP/1.x SSS reason" — the reason may be empty. */
    if (len < 12 || strncmp(l, "HTTP/1.", 7) || !isdigit((unsigned char)l[7]) ||
        l[8] != ' ' || !isdigit((unsigned char)l[9]) ||
        !isdigit((unsigned char)l[10]) || !isdigit((unsigned char)l[11]) ||
        (len > 12 && l[12] != ' '))
        return http_fail(p, "not an HTTP response: \"%s\"",
                         excerpt(l, len, ex, sizeof ex));
    p->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    if (p->status < 100)
        return http_fail(p, "bad HTTP status in \"%s\"",
                         excerpt(l, len, ex, sizeof ex));
    if (len > 13)
        copy_trimmed(p->reason, sizeof p->reason, l + 13, len - 13);
    p->state = CAP_HTTP_HEADERS;
    return 0;
}

static bool token_list_has(const char *v, const char *tok)
{
    size_t tl = strlen(tok);
    const char *s = v;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        const char *e = s;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - s) == tl && !strncasecmp(s, tok, tl))
            return true;
        s = e;
    }
    return false;
}

static int parse_u64_dec(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return -1;
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

static int header_line(cap_http_parser *p, const char *l, size_t len)
{
    char ex[64];
    if (len && (l[0] == ' ' || l[0] == '\t'))
        return http_fail(p, "obsolete folded header line \"%s\"",
                         excerpt(l, len, ex, sizeof ex));
    const char *colon = memchr(l, ':', len);
    if (!colon || colon == l)
        return http_fail(p, "malformed header line \"%s\"",
                         excerpt(l, len, ex, sizeof ex));
    size_t nlen = (size_t)(colon - l);
    for (size_t i = 0; i < nlen; i++)
        if (!isgraph((unsigned char)l[i]))
            return http_fail(p, "malformed header name \"%s\"",
                             excerpt(l, len, ex, sizeof ex));
    char value[CAP_HTTP_MAX_LINE];
    copy_trimmed(value, sizeof value, colon + 1, len - nlen - 1);
    if (nlen == 14 && !strncasecmp(l, "Content-Length", 14)) {
        uint64_t v;
        /* The value goes into the message only as an excerpt: it may hold
         * tabs and other control bytes that must not reach a log line. */
        if (parse_u64_dec(value, &v))
            return http_fail(p, "bad Content-Length \"%s\"",
                             excerpt(value, strlen(value), ex, sizeof ex));
        if (p->have_length && v != p->content_length)
            return http_fail(p, "conflicting Content-Length headers%s", "");
        p->have_length = true;
        p->content_length = v;
    } else if (nlen == 17 && !strncasecmp(l, "Transfer-Encoding", 17)) {
        if (token_list_has(value, "chunked")) {
            p->chunked = true;
        } else if (strcasecmp(value, "identity") != 0) {
            return http_fail(p, "unsupported Transfer-Encoding \"%s\"",
                             excerpt(value, strlen(value), ex, sizeof ex));
        }
    } else if (nlen == 12 && !strncasecmp(l, "Content-Type", 12)) {
        copy_trimmed(p->content_type, sizeof p->content_type, value,
                     strlen(value));
    } else if (nlen == 16 && !strncasecmp(l, "Content-Encoding", 16)) {
        copy_trimmed(p->content_encoding, sizeof p->content_encoding, value,
                     strlen(value));
    } else if (nlen == 11 && !strncasecmp(l, "Retry-After", 11)) {
        copy_trimmed(p->retry_after, sizeof p->retry_after, value,
                     strlen(value));
    }
    return 0;
}

/* Blank line after headers: choose how the body is delimited. */
static int end_of_head(cap_http_parser *p)
{
    if (p->status >= 100 && p->status < 200 && p->status != 101) {
        /* Interim response: a final one follows. */
        p->status = 0;
        p->reason[0] = p->content_type[0] = p->content_encoding[0] = '\0';
        p->retry_after[0] = '\0';
        p->chunked = p->have_length = false;
        p->content_length = 0;
        p->state = CAP_HTTP_STATUS;
        return 0;
    }
    p->head_done = true;
    if (p->head_request || p->status == 204 || p->status == 304) {
        p->state = CAP_HTTP_DONE;
        return 0;
    }
    if (p->chunked) {
        /* RFC 9112 6.3: chunked wins over Content-Length. */
        p->state = CAP_HTTP_CHUNK_SIZE;
        return 0;
    }
    if (p->have_length) {
        if (p->max_body && p->content_length > p->max_body) {
            char n[32];
            snprintf(n, sizeof n, "%" PRIu64, p->content_length);
            return http_fail(p, "response of %s bytes exceeds the size limit",
                             n);
        }
        p->remaining = p->content_length;
        p->state = p->remaining ? CAP_HTTP_BODY_LENGTH : CAP_HTTP_DONE;
        return 0;
    }
    p->state = CAP_HTTP_BODY_CLOSE;
    return 0;
}

static int chunk_size_line(cap_http_parser *p, const char *l, size_t len)
{
    char ex[64];
    uint64_t v = 0;
    size_t i = 0;
    for (; i < len && isxdigit((unsigned char)l[i]); i++) {
        if (v >> 60)
            return http_fail(p, "chunk size overflows: \"%s\"",
                             excerpt(l, len, ex, sizeof ex));
        int c = tolower((unsigned char)l[i]);
        v = v * 16 + (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    /* Optional whitespace then chunk extensions (";name=value"), ignored. */
    size_t j = i;
    while (j < len && (l[j] == ' ' || l[j] == '\t'))
        j++;
    if (i == 0 || (j < len && l[j] != ';'))
        return http_fail(p, "bad chunk size line \"%s\"",
                         excerpt(l, len, ex, sizeof ex));
    if (v == 0) {
        p->state = CAP_HTTP_TRAILERS;
        return 0;
    }
    p->remaining = v;
    p->state = CAP_HTTP_CHUNK_DATA;
    return 0;
}

/* Handles one complete line (without CRLF) in the line-oriented states. */
static int on_line(cap_http_parser *p, const char *l, size_t len)
{
    switch (p->state) {
    case CAP_HTTP_STATUS:
        return parse_status_line(p, l, len);
    case CAP_HTTP_HEADERS:
        return len == 0 ? end_of_head(p) : header_line(p, l, len);
    case CAP_HTTP_CHUNK_SIZE:
        return chunk_size_line(p, l, len);
    case CAP_HTTP_CHUNK_CRLF:
        if (len != 0)
            return http_fail(p, "chunk data not followed by CRLF%s", "");
        p->state = CAP_HTTP_CHUNK_SIZE;
        return 0;
    case CAP_HTTP_TRAILERS:
        if (len == 0)
            p->state = CAP_HTTP_DONE;
        return 0;
    default:
        return http_fail(p, "internal: line in body state%s", "");
    }
}

static bool line_state(cap_http_state s)
{
    return s == CAP_HTTP_STATUS || s == CAP_HTTP_HEADERS ||
           s == CAP_HTTP_CHUNK_SIZE || s == CAP_HTTP_CHUNK_CRLF ||
           s == CAP_HTTP_TRAILERS;
}

static int deliver(cap_http_parser *p, const uint8_t *d, size_t n)
{
    if (p->max_body && (uint64_t)n > p->max_body - p->body_bytes) {
        char m[32];
        snprintf(m, sizeof m, "%" PRIu64, p->max_body);
        return http_fail(p, "response body exceeds the size limit of %s "
                            "bytes", m);
    }
    p->body_bytes += n;
    if (n && p->on_body && p->on_body(p->ud, d, n)) {
        p->state = CAP_HTTP_FAILED;
        p->error[0] = '\0';
        return -1;
    }
    return 0;
}

int cap_http_parser_feed(cap_http_parser *p, const uint8_t *data, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (p->state == CAP_HTTP_FAILED)
            return -1;
        if (p->state == CAP_HTTP_DONE)
            return 0;
        if (line_state(p->state)) {
            const uint8_t *nl = memchr(data + i, '\n', len - i);
            size_t take = nl ? (size_t)(nl - (data + i)) : len - i;
            bool in_head = p->state == CAP_HTTP_STATUS ||
                           p->state == CAP_HTTP_HEADERS;
            if (p->line_len + take >= sizeof p->line)
                return http_fail(p, "%s line longer than 8 KiB",
                                 in_head ? "header" : "chunk");
            if (in_head) {
                p->header_bytes += take + (nl ? 1 : 0);
                if (p->header_bytes > CAP_HTTP_MAX_HEADER_BYTES)
                    return http_fail(p, "response headers exceed %s",
                                     "64 KiB");
            }
            memcpy(p->line + p->line_len, data + i, take);
            p->line_len += take;
            i += take;
            if (!nl)
                return 0;
            i++; /* the '\n' */
            size_t l = p->line_len;
            if (l && p->line[l - 1] == '\r')
                l--;
            for (size_t k = 0; k < l; k++)
                if (p->line[k] == '\0' || p->line[k] == '\r')
                    return http_fail(p, "stray control byte in %s",
                                     in_head ? "the response head"
                                             : "a chunk line");
            p->line[l] = '\0';
            p->line_len = 0;
            if (on_line(p, p->line, l))
                return -1;
            continue;
        }
        size_t take = len - i;
        if (p->state != CAP_HTTP_BODY_CLOSE && (uint64_t)take > p->remaining)
            take = (size_t)p->remaining;
        if (deliver(p, data + i, take))
            return -1;
        i += take;
        if (p->state == CAP_HTTP_BODY_CLOSE)
            continue;
        p->remaining -= take;
        if (p->remaining == 0)
            p->state = p->state == CAP_HTTP_CHUNK_DATA ? CAP_HTTP_CHUNK_CRLF
                                                       : CAP_HTTP_DONE;
    }
    return p->state == CAP_HTTP_FAILED ? -1 : 0;
}

int cap_http_parser_eof(cap_http_parser *p)
{
    char n[64];
    switch (p->state) {
    case CAP_HTTP_DONE:
        return 0;
    case CAP_HTTP_BODY_CLOSE:
        p->state = CAP_HTTP_DONE;
        return 0;
    case CAP_HTTP_FAILED:
        return -1;
    case CAP_HTTP_STATUS:
        if (p->line_len == 0)
            return http_fail(p, "connection closed before any response%s",
                             "");
        return http_fail(p, "connection closed inside the status line%s", "");
    case CAP_HTTP_HEADERS:
        return http_fail(p, "connection closed inside the response headers%s",
                         "");
    case CAP_HTTP_BODY_LENGTH:
        snprintf(n, sizeof n, "%" PRIu64 " of %" PRIu64, p->body_bytes,
                 p->content_length);
        return http_fail(p, "connection closed after %s body bytes", n);
    default:
        snprintf(n, sizeof n, "%" PRIu64, p->body_bytes);
        return http_fail(p, "connection closed inside the chunked body after "
                            "%s bytes", n);
    }
}

size_t cap_http_format_get(char *out, size_t outcap, const char *host,
                           const char *path, const char *user_agent)
{
    if (path[0] != '/')
        return 0;
    for (const char *s = path; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7F)
            return 0;
    for (const char *s = host; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7F)
            return 0;
    int n = snprintf(out, outcap,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "User-Agent: %s\r\n"
                     "Accept: */*\r\n"
                     "Connection: close\r\n"
                     "\r\n",
                     path, host, user_agent ? user_agent : "leakwatch");
    if (n < 0 || (size_t)n >= outcap)
        return 0;
    return (size_t)n;
}
