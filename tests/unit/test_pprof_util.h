/*
 * test_pprof_util.h — helpers shared by the pkg/pprof unit tests: reading
 * the recorded inputs in tests/unit/pprof_testdata, parsing buffers in
 * chosen chunkings, and printing a profile in one canonical text so two
 * parses can be compared byte for byte.
 *
 * Header-only (static inline) so that it is not linked into other
 * packages' test binaries.
 */
#ifndef TEST_PPROF_UTIL_H
#define TEST_PPROF_UTIL_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pprof/pprof.h"

/* Path of a file under tests/unit/pprof_testdata (or another repo path
 * with testdata=0), relative to the repository root that tests/run.sh
 * runs from, or to $LW_ROOT. */
static inline char *tp_path(const char *rel, int testdata)
{
    const char *root = getenv("LW_ROOT");
    if (!root || !*root)
        root = ".";
    size_t n = strlen(root) + strlen(rel) + 64;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s%s", root, testdata ? "tests/unit/pprof_testdata/" : "",
             rel);
    return p;
}

static inline unsigned char *tp_read_path(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* A testdata file; aborts the test binary when it is missing, because a
 * missing input must fail loudly rather than skip. */
static inline unsigned char *tp_read(const char *name, size_t *len)
{
    char *p = tp_path(name, 1);
    unsigned char *b = tp_read_path(p, len);
    if (!b) {
        fprintf(stderr, "cannot read test input %s\n", p);
        abort();
    }
    free(p);
    return b;
}

/* Parses in chunks of `chunk` bytes (0: one feed).  On failure returns
 * NULL and copies the error into err. */
static inline pprof_profile *tp_parse_chunked(const void *data, size_t len,
                                              size_t chunk, const char *name,
                                              const pprof_limits *lim,
                                              char *err, size_t errlen)
{
    pprof_parser *p = pprof_parser_new(name, lim);
    const unsigned char *d = data;
    if (!chunk)
        chunk = len ? len : 1;
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        rc = pprof_parser_feed(p, d + off, n);
    }
    pprof_profile *prof = rc == 0 ? pprof_parser_finish(p) : NULL;
    if (err && errlen)
        snprintf(err, errlen, "%s", prof ? "" : pprof_parser_error(p));
    pprof_parser_free(p);
    return prof;
}

/* Random chunk sizes from a fixed seed (1..max). */
static inline pprof_profile *tp_parse_random(const void *data, size_t len,
                                             unsigned seed, size_t max,
                                             const char *name, char *err,
                                             size_t errlen)
{
    pprof_parser *p = pprof_parser_new(name, NULL);
    const unsigned char *d = data;
    uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;
    int rc = 0;
    size_t off = 0;
    while (off < len && rc == 0) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        size_t n = 1 + (size_t)(s % max);
        if (n > len - off)
            n = len - off;
        rc = pprof_parser_feed(p, d + off, n);
        off += n;
    }
    pprof_profile *prof = rc == 0 ? pprof_parser_finish(p) : NULL;
    if (err && errlen)
        snprintf(err, errlen, "%s", prof ? "" : pprof_parser_error(p));
    pprof_parser_free(p);
    return prof;
}

typedef struct tp_buf {
    char *s;
    size_t len, cap;
} tp_buf;

static inline void tp_printf(tp_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void tp_printf(tp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        char *ns = realloc(b->s, b->cap);
        if (!ns)
            abort();
        b->s = ns;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Everything in a profile, one canonical text (caller frees). */
static inline char *tp_canon(const pprof_profile *p)
{
    tp_buf b = {0};
    tp_printf(&b, "%s %s gz=%d trunc=%d total=%" PRIu64 " counted=%" PRIu64
                  " time=%" PRId64 " n=%zu\n",
              pprof_format_name(p->format), pprof_kind_name(p->kind),
              p->gzipped, p->truncated, p->total, p->counted,
              p->time_unix_nanos, p->nbuckets);
    for (size_t i = 0; i < p->nbuckets; i++) {
        const pprof_bucket *bk = &p->buckets[i];
        tp_printf(&b, "%" PRIu64 " [%s] f=%x m=%" PRIu64 "-%" PRIu64 " h=",
                  bk->count, bk->wait_reason ? bk->wait_reason : "-",
                  bk->flags, bk->minutes_min, bk->minutes_max);
        for (int h = 0; h < PPROF_MINUTES_BINS; h++)
            tp_printf(&b, "%" PRIu64 ",", bk->minutes_hist[h]);
        tp_printf(&b, " cb=%s@%s:%u l=%s\n",
                  bk->created_by.func ? bk->created_by.func : "-",
                  bk->created_by.file ? bk->created_by.file : "-",
                  bk->created_by.line, bk->labels ? bk->labels : "-");
        for (uint32_t f = 0; f < bk->nframes; f++)
            tp_printf(&b, "  %s %s:%u\n", bk->frames[f].func,
                      bk->frames[f].file ? bk->frames[f].file : "-",
                      bk->frames[f].line);
    }
    if (!b.s) {
        b.s = malloc(1);
        b.s[0] = '\0';
    }
    return b.s;
}

/* The first bucket whose innermost frame is func (and, if wait is not
 * NULL, whose wait reason is wait). */
static inline const pprof_bucket *tp_find(const pprof_profile *p,
                                          const char *func, const char *wait)
{
    for (size_t i = 0; i < p->nbuckets; i++) {
        const pprof_bucket *bk = &p->buckets[i];
        if (bk->nframes && strcmp(bk->frames[0].func, func) == 0 &&
            (!wait || (bk->wait_reason && strcmp(bk->wait_reason, wait) == 0)))
            return bk;
    }
    return NULL;
}

/* Count of goroutines whose stack contains func anywhere. */
static inline uint64_t tp_count_with(const pprof_profile *p, const char *func)
{
    uint64_t n = 0;
    for (size_t i = 0; i < p->nbuckets; i++)
        for (uint32_t f = 0; f < p->buckets[i].nframes; f++)
            if (strcmp(p->buckets[i].frames[f].func, func) == 0) {
                n += p->buckets[i].count;
                break;
            }
    return n;
}

static inline pprof_profile *tp_parse_str(const char *s, char *err,
                                          size_t errlen)
{
    return pprof_parse_buffer(s, strlen(s), "t.txt", NULL, err, errlen);
}

#endif
