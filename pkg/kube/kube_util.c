/*
 * kube_util.c — small helpers of pkg/kube: query escaping, RFC 3339 times,
 * whole-file reads, base64, one-line error text, the log line of the
 * background workers.
 *
 * Not for: anything that talks to the API server (kube_client.c) or parses
 * API objects (kube_json.c, kube_owner.c, kube_pods.c).
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kube/kube.h"
#include "kube/kube_internal.h"
#include "lw/lw_clock.h"

static int digits(const char **p, int n, int *val)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *val = v;
    return 0;
}

static int expect(const char **p, char a, char b)
{
    if (**p != a && **p != b)
        return -1;
    (*p)++;
    return 0;
}

int64_t kube_parse_time(const char *s)
{
    if (!s)
        return -1;
    int y, mo, d, h, mi, sec;
    const char *p = s;
    if (digits(&p, 4, &y) || expect(&p, '-', '-') || digits(&p, 2, &mo) ||
        expect(&p, '-', '-') || digits(&p, 2, &d) || expect(&p, 'T', 't') ||
        digits(&p, 2, &h) || expect(&p, ':', ':') || digits(&p, 2, &mi) ||
        expect(&p, ':', ':') || digits(&p, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    if (*p == '.') { /* fractional seconds: at least one digit, ignored */
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    int offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (digits(&p, 2, &oh) || expect(&p, ':', ':') || digits(&p, 2, &om) ||
            oh > 23 || om > 59)
            return -1;
        offset = sign * (oh * 3600 + om * 60);
    } else {
        return -1;
    }
    if (*p)
        return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    /* timegm normalises 31 February into March: reject such dates. */
    if (tm.tm_mday != d || tm.tm_mon != mo - 1)
        return -1;
    return (int64_t)t - offset;
}

void kube_format_time(int64_t unix_s, char *out, size_t outlen)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    if (!outlen)
        return;
    if (!gmtime_r(&t, &tm) || !strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm))
        out[0] = '\0';
}

void kube_format_micro_time(int64_t unix_us, char *out, size_t outlen)
{
    int64_t s = unix_us / 1000000, us = unix_us % 1000000;
    if (us < 0) { /* floor division for times before the epoch */
        us += 1000000;
        s--;
    }
    time_t t = (time_t)s;
    struct tm tm;
    char base[32];
    if (!outlen)
        return;
    if (!gmtime_r(&t, &tm) ||
        !strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm)) {
        out[0] = '\0';
        return;
    }
    snprintf(out, outlen, "%s.%06" PRId64 "Z", base, us);
}

long kube_retry_after(const char *value, size_t len, int64_t now_s)
{
    char v[128];
    while (len && (*value == ' ' || *value == '\t')) {
        value++;
        len--;
    }
    while (len && strchr(" \t\r\n", value[len - 1]))
        len--;
    if (len == 0 || len >= sizeof v || memchr(value, '\0', len))
        return -1;
    memcpy(v, value, len);
    v[len] = '\0';
    if (isdigit((unsigned char)v[0])) {
        char *end;
        errno = 0;
        long secs = strtol(v, &end, 10);
        return (!errno && *end == '\0') ? secs : -1;
    }
    /* The HTTP-date form; libcurl's parser is the one every other date
     * the client reads goes through. */
    time_t when = curl_getdate(v, NULL);
    if (when <= 0)
        return -1;
    return (int64_t)when > now_s ? (long)((int64_t)when - now_s) : 0;
}

long kube_retry_after_line(const char *line, size_t len)
{
    static const char name[] = "retry-after:";
    if (len < sizeof name - 1 || strncasecmp(line, name, sizeof name - 1))
        return -1;
    /* The clock only once the name matched: this runs for every header. */
    return kube_retry_after(line + sizeof name - 1, len - (sizeof name - 1),
                            lw_wall_ms() / 1000);
}

int kube_read_file(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    if (len)
        *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        errno = EISDIR;
        return -1;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max + 1) {
                free(buf);
                close(fd);
                errno = EFBIG;
                return -1;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                close(fd);
                errno = ENOMEM;
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            free(buf);
            close(fd);
            errno = EFBIG;
            return -1;
        }
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return 0;
}

int kube_base64_decode(const char *in, size_t inlen, char **out,
                       size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    char *clean = malloc(inlen + 1);
    if (!clean)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < inlen; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (isspace(ch))
            continue;
        if (!isalnum(ch) && ch != '+' && ch != '/' && ch != '=') {
            free(clean);
            return -1;
        }
        clean[n++] = (char)ch;
    }
    if (n % 4 != 0) {
        free(clean);
        return -1;
    }
    size_t pad = 0;
    if (n >= 1 && clean[n - 1] == '=')
        pad++;
    if (n >= 2 && clean[n - 2] == '=')
        pad++;
    /* '=' is only valid as trailing padding. */
    for (size_t i = 0; i + pad < n; i++)
        if (clean[i] == '=') {
            free(clean);
            return -1;
        }
    char *buf = malloc(n / 4 * 3 + 1);
    if (!buf) {
        free(clean);
        return -1;
    }
    int r = n ? EVP_DecodeBlock((unsigned char *)buf, (unsigned char *)clean,
                                (int)n)
              : 0;
    free(clean);
    if (r < 0 || (size_t)r < pad) {
        free(buf);
        return -1;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes of output. */
    size_t len = (size_t)r - pad;
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
}

char *kube_base64_encode(const void *in, size_t inlen)
{
    if (inlen > (size_t)INT32_MAX / 2)
        return NULL;
    char *buf = malloc((inlen + 2) / 3 * 4 + 1);
    if (!buf)
        return NULL;
    int n = EVP_EncodeBlock((unsigned char *)buf, in, (int)inlen);
    buf[n < 0 ? 0 : n] = '\0';
    return buf;
}

void kube_one_line(const char *src, size_t srclen, char *out, size_t outlen)
{
    size_t o = 0;
    bool space = false;
    if (!outlen)
        return;
    for (size_t i = 0; src && i < srclen && src[i]; i++) {
        unsigned char ch = (unsigned char)src[i];
        if (ch < 0x20 || ch == 0x7f || ch == ' ') {
            space = o > 0;
            continue;
        }
        if (space) {
            if (o + 1 >= outlen)
                break;
            out[o++] = ' ';
            space = false;
        }
        if (o + 1 >= outlen) {
            /* Cut before a partial UTF-8 sequence: JSON encoders reject
             * invalid UTF-8 and the text ends up in `--json` output. */
            size_t k = o;
            while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
                k--;
            if (k > 0) {
                unsigned char lead = (unsigned char)out[k - 1];
                size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3
                            : lead >= 0xC0 ? 2 : 1;
                if (o - (k - 1) < need)
                    o = k - 1;
            }
            break;
        }
        out[o++] = (char)ch;
    }
    out[o] = '\0';
}

void kube_logv(kube_log_fn log, void *ud, bool one_line, const char *fmt,
               va_list ap, const char *who_fmt, ...)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (one_line)
        for (char *p = msg; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    if (log) {
        log(msg, ud);
        return;
    }
    char who[512];
    va_list wp;
    va_start(wp, who_fmt);
    vsnprintf(who, sizeof who, who_fmt, wp);
    va_end(wp);
    fprintf(stderr, "%s: %s\n", who, msg);
}
