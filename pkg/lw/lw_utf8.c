/*
 * lw_utf8.c — UTF-8 validation and per-byte repair (see lw_utf8.h).
 */
#include "lw_utf8.h"

#include <stdlib.h>
#include <string.h>

/* U+FFFD REPLACEMENT CHARACTER */
static const char REPLACEMENT[3] = {'\xEF', '\xBF', '\xBD'};

size_t lw_utf8_decode(const char *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    const unsigned char *u = (const unsigned char *)s;
    unsigned char c = u[0];
    size_t len;
    uint32_t v, min;
    /* Second-byte bounds exclude overlongs (E0, F0), surrogates (ED) and
     * code points above U+10FFFF (F4) up front, as Go's decoder does. */
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
        if (cp)
            *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, v = c & 0x0F, min = 0x800;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, v = c & 0x07, min = 0x10000;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0; /* continuation byte, C0/C1 (overlong), F5..FF */
    }
    if (n < len)
        return 0;
    if (u[1] < lo || u[1] > hi)
        return 0;
    v = (v << 6) | (u[1] & 0x3F);
    for (size_t i = 2; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (u[i] & 0x3F);
    }
    if (v < min)
        return 0;
    if (cp)
        *cp = v;
    return len;
}

bool lw_utf8_valid(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        /* ASCII runs are the common case: no decode call per byte. */
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = lw_utf8_decode(s + i, n - i, NULL);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

char *lw_utf8_repair(const char *s, size_t n)
{
    size_t need = 0;
    for (size_t i = 0; i < n;) {
        size_t k = lw_utf8_decode(s + i, n - i, NULL);
        need += k ? k : sizeof REPLACEMENT;
        i += k ? k : 1;
    }
    char *out = malloc(need + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = lw_utf8_decode(s + i, n - i, NULL);
        if (k) {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, REPLACEMENT, sizeof REPLACEMENT);
            o += sizeof REPLACEMENT;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

json_t *lw_json_string(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    if (lw_utf8_valid(s, n))
        return json_stringn(s, n);
    char *fixed = lw_utf8_repair(s, n);
    if (!fixed)
        return NULL;
    json_t *j = json_string(fixed);
    free(fixed);
    return j;
}

int lw_json_object_set(json_t *obj, const char *key, json_t *value)
{
    if (!key) {
        json_decref(value);
        return -1;
    }
    size_t n = strlen(key);
    if (lw_utf8_valid(key, n))
        return json_object_set_new(obj, key, value);
    char *fixed = lw_utf8_repair(key, n);
    if (!fixed) {
        json_decref(value);
        return -1;
    }
    int rc = json_object_set_new(obj, fixed, value);
    free(fixed);
    return rc;
}
