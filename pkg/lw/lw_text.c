/*
 * lw_text.c — visible escapes and middle-shortening for text people read
 * (see lw_text.h).  Everything works on "units": one valid UTF-8
 * character or one stray byte, and the bytes it is shown as.
 */
#include "lw_text.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lw_utf8.h"

/* A path keeps at least this much of itself, "…" included, even when the
 * reason alone fills the message. */
#define PATH_MIN 40

static bool hidden(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E ||
           cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

/* The unit at s[0..n) (n > 0): returns the input bytes it spans and sets
 * *shown and *len to the bytes that show it (pointing into s or into esc). */
static size_t unit(const char *s, size_t n, char esc[8], const char **shown,
                   size_t *len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = (unsigned char)s[0];
    if (c >= 0x20 && c < 0x7F) {
        *shown = s;
        *len = 1;
        return 1;
    }
    uint32_t cp = 0;
    size_t k = c < 0x80 ? 0 : lw_utf8_decode(s, n, &cp);
    if (k == 0) { /* C0, DEL, or not UTF-8 */
        esc[0] = '\\';
        esc[1] = 'x';
        esc[2] = hex[c >> 4];
        esc[3] = hex[c & 15];
        *shown = esc;
        *len = 4;
        return 1;
    }
    if (hidden(cp)) {
        esc[0] = '\\';
        esc[1] = 'u';
        for (int i = 0; i < 4; i++)
            esc[2 + i] = hex[(cp >> (12 - 4 * i)) & 15];
        *shown = esc;
        *len = 6;
        return k;
    }
    *shown = s;
    *len = k;
    return k;
}

size_t lw_text_escaped_len(const char *s, size_t n)
{
    size_t w = 0;
    char esc[8];
    const char *sh;
    size_t len;
    for (size_t i = 0; i < n;) {
        i += unit(s + i, n - i, esc, &sh, &len);
        w += len;
    }
    return w;
}

/* Appends units of s[from..n) to out[*o..] while they fit in max bytes;
 * returns the input offset reached. */
static size_t put(const char *s, size_t from, size_t n, char *out, size_t *o,
                  size_t max)
{
    char esc[8];
    const char *sh;
    size_t len, i = from;
    while (i < n && *o < max) {
        /* A run of printable ASCII, most of any text, goes in one copy
         * rather than unit by unit; the scan stops where the room does. */
        size_t end = n - i > max - *o ? i + (max - *o) : n, run = i;
        while (run < end && (unsigned char)s[run] >= 0x20 && (unsigned char)s[run] < 0x7F)
            run++;
        if (run > i) {
            memcpy(out + *o, s + i, run - i);
            *o += run - i;
            i = run;
            continue;
        }
        size_t k = unit(s + i, n - i, esc, &sh, &len);
        if (*o + len > max)
            break;
        memcpy(out + *o, sh, len);
        *o += len;
        i += k;
    }
    return i;
}

size_t lw_text_escape(const char *s, size_t n, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    size_t o = 0;
    put(s, 0, n, out, &o, cap - 1);
    out[o] = '\0';
    return o;
}

char *lw_text_escape_dup(const char *s)
{
    size_t n = strlen(s), w = lw_text_escaped_len(s, n);
    char *out = malloc(w + 1);
    if (out)
        lw_text_escape(s, n, out, w + 1);
    return out;
}

int lw_text_fputs(const char *s, FILE *out)
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    char esc[8];
    const char *sh;
    size_t len;
    for (size_t i = 0; i < n;) {
        i += unit(s + i, n - i, esc, &sh, &len);
        if (fwrite(sh, 1, len, out) != len)
            return EOF;
    }
    return 0;
}

size_t lw_text_shorten(const char *s, size_t n, size_t max, char *out)
{
    size_t w = lw_text_escaped_len(s, n);
    size_t ell = sizeof LW_TEXT_ELLIPSIS - 1;
    if (w <= max || max < ell + 2)
        return lw_text_escape(s, n, out, max + 1);
    size_t budget = max - ell;
    size_t head_max = budget / 3, tail_max = budget - head_max;
    size_t o = 0;
    size_t head_end = put(s, 0, n, out, &o, head_max);
    memcpy(out + o, LW_TEXT_ELLIPSIS, ell);
    o += ell;
    /* The tail starts at the first unit boundary after the head from which
     * the rest fits in tail_max. */
    char esc[8];
    const char *sh;
    size_t len, seen = 0, i = 0;
    while (i < n) {
        if (i >= head_end && w - seen <= tail_max)
            break;
        i += unit(s + i, n - i, esc, &sh, &len);
        seen += len;
    }
    size_t tail = o;
    put(s, i, n, out, &tail, max);
    out[tail] = '\0';
    return tail;
}

void lw_text_pathf(char *out, size_t outlen, const char *path,
                   const char *fmt, ...)
{
    if (outlen == 0)
        return;
    char *reason = NULL;
    va_list ap;
    va_start(ap, fmt);
    int rn = vasprintf(&reason, fmt, ap);
    va_end(ap);
    const char *r = rn >= 0 ? reason : "error (out of memory)";
    if (!path)
        path = "";
    size_t pn = strlen(path), rlen = strlen(r);
    size_t room = outlen - 1;
    size_t need_r = lw_text_escaped_len(r, rlen);
    size_t pmax = room >= need_r + 2 + PATH_MIN ? room - need_r - 2 : PATH_MIN;
    if (pmax > room)
        pmax = room;
    char *pbuf = malloc(pmax + 1);
    size_t o = 0;
    if (pbuf) {
        o = lw_text_shorten(path, pn, pmax, pbuf);
        memcpy(out, pbuf, o);
        free(pbuf);
    }
    if (o + 2 <= room) {
        memcpy(out + o, ": ", 2);
        o += 2;
        o += lw_text_escape(r, rlen, out + o, outlen - o);
    }
    out[o] = '\0';
    if (rn >= 0)
        free(reason);
}
