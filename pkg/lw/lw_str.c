/*
 * lw_str.c — NULL-tolerant strdup, counted copy, bounded append and copy,
 * percent-encoding (see lw_str.h).  libcurl has curl_easy_escape, but it
 * allocates and needs a handle; these run on stack buffers in places that
 * hold no handle.
 * Not for: anything locale-dependent: the byte classes are ASCII's.
 */
#include "lw/lw_str.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

char *lw_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

char *lw_memdup(const void *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

void lw_append(char *buf, size_t size, size_t *len, const void *data,
               size_t n)
{
    size_t room = size - 1 - *len;
    if (n > room)
        n = room;
    memcpy(buf + *len, data, n);
    *len += n;
    buf[*len] = '\0';
}

void lw_strlcpy(char *dst, const char *src, size_t n)
{
    if (!n)
        return;
    src = src ? src : "";
    size_t l = strlen(src);
    if (l >= n)
        l = n - 1;
    memcpy(dst, src, l);
    dst[l] = '\0';
}

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

void lw_pct_encode(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    if (!outlen)
        return;
    for (; in && *in; in++) {
        unsigned char c = (unsigned char)*in;
        size_t need = unreserved(c) ? 1 : 3;
        if (o + need >= outlen)
            break;
        if (need == 1) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}
