/*
 * lw_fmt.c — thousands separators (see lw_fmt.h).
 */
#include "lw_fmt.h"

#include <inttypes.h>
#include <stdio.h>

static void grouped(const char *sign, uint64_t mag, char *out, size_t outlen)
{
    char digits[24], buf[40];
    int n = snprintf(digits, sizeof(digits), "%" PRIu64, mag);
    size_t j = 0;
    for (const char *s = sign; *s; s++)
        buf[j++] = *s;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            buf[j++] = ',';
        buf[j++] = digits[i];
    }
    buf[j] = '\0';
    if (outlen)
        snprintf(out, outlen, "%s", buf);
}

void lw_fmt_grouped_u(uint64_t v, char *out, size_t outlen)
{
    grouped("", v, out, outlen);
}

void lw_fmt_grouped(int64_t v, char *out, size_t outlen)
{
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    grouped(v < 0 ? "-" : "", mag, out, outlen);
}
