/*
 * pprof_lines.c — splits a fed byte stream into lines for the text
 * parsers, whatever the chunk boundaries.
 *
 * Lines are handed out as pointers into the caller's chunk; only a line
 * that straddles two chunks is copied, once, into a carry buffer bounded
 * by max_line.  This is what lets a 100 MB dump parse in a few hundred
 * kilobytes of memory.
 *
 * Not for: knowing what a line means (pprof_debug1.c, pprof_debug2.c).
 */
#include "pprof_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

void pp_lines_init(pp_lines *l, uint32_t max_line, pp_err *err)
{
    memset(l, 0, sizeof(*l));
    l->max_line = max_line;
    l->err = err;
}

void pp_lines_free(pp_lines *l)
{
    free(l->carry);
    l->carry = NULL;
    l->carry_len = l->carry_cap = 0;
}

static int too_long(pp_lines *l)
{
    return pp_fail(l->err,
                   "line %" PRIu64 ": line longer than %" PRIu32
                   " bytes (limit; raise with --max-line)",
                   l->lineno + 1, l->max_line);
}

static int carry_append(pp_lines *l, const char *p, size_t n)
{
    if (n > (size_t)l->max_line - l->carry_len)
        return too_long(l);
    if (l->carry_len + n > l->carry_cap) {
        size_t cap = l->carry_cap ? l->carry_cap : 256;
        while (cap < l->carry_len + n)
            cap *= 2;
        char *c = realloc(l->carry, cap);
        if (!c)
            return pp_fail(l->err, "out of memory");
        l->carry = c;
        l->carry_cap = cap;
    }
    memcpy(l->carry + l->carry_len, p, n);
    l->carry_len += n;
    return 0;
}

static int deliver(pp_lines *l, const char *p, size_t n, pp_line_fn fn,
                   void *ctx)
{
    l->lineno++;
    if (n && p[n - 1] == '\r')
        n--;
    return fn(ctx, p, n, l->lineno);
}

/*
 * Finds the next '\n' in [p, end).  Lines in a dump are short (30-60
 * bytes), where memchr's per-call setup dominates; scanning 16 bytes at a
 * time with SSE2 (always there on x86-64) and keeping the match mask
 * between calls costs a few instructions per line instead.
 */
typedef struct nl_scan {
    const char *base; /* start of the 16-byte block the mask describes */
    unsigned mask;    /* newline positions in that block, not yet used */
} nl_scan;

#if defined(__SSE2__)

static const char *next_nl(nl_scan *sc, const char *p, const char *end)
{
    if (sc->base && p >= sc->base && p < sc->base + 16) {
        unsigned m = sc->mask & (~0u << (unsigned)(p - sc->base));
        if (m) {
            const char *nl = sc->base + __builtin_ctz(m);
            if (nl < end)
                return nl;
            return NULL;
        }
        p = sc->base + 16;
    }
    const __m128i want = _mm_set1_epi8('\n');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, want));
        if (m) {
            sc->base = p;
            sc->mask = m;
            return p + __builtin_ctz(m);
        }
        p += 16;
    }
    sc->base = NULL;
    return p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
}
#else
static const char *next_nl(nl_scan *sc, const char *p, const char *end)
{
    (void)sc;
    return p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
}
#endif

int pp_lines_feed(pp_lines *l, const char *data, size_t len, pp_line_fn fn,
                  void *ctx)
{
    const char *p = data, *end = data + len;
    if (l->carry_len) {
        const char *nl = memchr(p, '\n', len);
        if (!nl)
            return carry_append(l, p, len);
        if (carry_append(l, p, (size_t)(nl - p)) < 0)
            return -1;
        size_t n = l->carry_len;
        l->carry_len = 0;
        if (deliver(l, l->carry, n, fn, ctx) < 0)
            return -1;
        p = nl + 1;
    }
    nl_scan sc = {NULL, 0};
    while (p < end) {
        const char *nl = next_nl(&sc, p, end);
        if (!nl)
            break;
        size_t n = (size_t)(nl - p);
        if (n > l->max_line)
            return too_long(l);
        if (deliver(l, p, n, fn, ctx) < 0)
            return -1;
        p = nl + 1;
    }
    if (p < end)
        return carry_append(l, p, (size_t)(end - p));
    return 0;
}

int pp_lines_finish(pp_lines *l, const char **tail, size_t *tail_len,
                    uint64_t *lineno)
{
    int partial = 0;
    for (size_t i = 0; i < l->carry_len; i++) {
        char c = l->carry[i];
        if (c != ' ' && c != '\t' && c != '\r') {
            partial = 1;
            break;
        }
    }
    size_t n = l->carry_len;
    if (n && l->carry[n - 1] == '\r')
        n--;
    *tail = partial ? l->carry : NULL;
    *tail_len = partial ? n : 0;
    *lineno = l->lineno + 1;
    l->carry_len = 0;
    return partial;
}

int pp_parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9)
            return -1;
        if (v > (UINT64_MAX - d) / 10)
            return -2;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}
