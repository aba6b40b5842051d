/*
 * pprof_err.c — the one-line error messages every parser reports through.
 *
 * Messages name the input first ("dump.txt: line 812: ..."), never span
 * lines, and never echo raw input bytes that could break a log line or a
 * terminal: excerpts of the input and the name are escaped (lw_text.h).
 * A name too long for the message is shortened in its middle; the reason
 * is kept whole.
 *
 * Not for: deciding what is an error (each parser does).
 */
#include "pprof_internal.h"

#include <stdio.h>

#include "lw/lw_text.h"

int pp_fail(pp_err *e, const char *fmt, ...)
{
    if (e->set)
        return -1;
    char what[PP_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(what, sizeof(what), fmt, ap) < 0)
        snprintf(what, sizeof(what), "error");
    va_end(ap);
    /* The name may be a path of any length and any bytes: it is escaped
     * and, when long, shortened in its middle, so that the reason after it
     * is never cut and the message stays one printable line. */
    lw_text_pathf(e->msg, sizeof(e->msg), e->name ? e->name : "input", "%s",
                  what);
    e->set = 1;
    return -1;
}

void pp_quote_excerpt(char *dst, size_t dstlen, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (dstlen == 0)
        return;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            if (o + 1 >= dstlen)
                break;
            dst[o++] = (char)c;
        } else {
            if (o + 4 >= dstlen)
                break;
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    dst[o] = '\0';
}
