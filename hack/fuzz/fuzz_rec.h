/*
 * fuzz_rec.h — a growing byte log that a fuzz target writes what a
 * streaming parser handed out into (callbacks, body bytes), so that two
 * feedings of the same input, whole and in pieces, can be compared.
 *
 * Not for: anything outside hack/fuzz.  Header-only, like the targets'
 * other helpers.
 */
#ifndef FUZZ_REC_H
#define FUZZ_REC_H

#include "fuzz_require.h"

typedef struct fz_rec {
    uint8_t *buf;
    size_t len, cap;
} fz_rec;

static inline void fz_rec_add(fz_rec *r, const void *p, size_t n)
{
    if (!n)
        return;
    if (r->len + n > r->cap) {
        size_t nc = r->cap ? r->cap : 256;
        while (nc < r->len + n)
            nc *= 2;
        uint8_t *nb = realloc(r->buf, nc);
        FZ_REQUIRE(nb != NULL);
        r->buf = nb;
        r->cap = nc;
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
}

static inline void fz_rec_byte(fz_rec *r, uint8_t b)
{
    fz_rec_add(r, &b, 1);
}

static inline int fz_rec_same(const fz_rec *a, const fz_rec *b)
{
    return a->len == b->len && (a->len == 0 || !memcmp(a->buf, b->buf, a->len));
}

/* One log is the start of the other (a stream cut short at different
 * points). */
static inline int fz_rec_prefix(const fz_rec *a, const fz_rec *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    return n == 0 || !memcmp(a->buf, b->buf, n);
}

static inline void fz_rec_free(fz_rec *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}

#endif
