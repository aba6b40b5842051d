/*
 * fuzz_pprof_check.h — what every pprof fuzz target asserts about a
 * profile it got back: the model's invariants, and that feeding the same
 * bytes in other pieces gives the same answer.  A violation aborts, which
 * libFuzzer reports as a crash with the input that caused it.
 *
 * Header-only: each target is built alone by hack/fuzz/run.sh.
 */
#ifndef FUZZ_PPROF_CHECK_H
#define FUZZ_PPROF_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_require.h"
#include "pprof/pprof.h"

/* Small limits so that the limit paths are reached and inputs stay fast. */
static inline void fz_limits(pprof_limits *lim)
{
    pprof_limits_default(lim);
    lim->max_input_bytes = 1u << 20;
    lim->max_decompressed_bytes = 4u << 20;
    lim->max_line_bytes = 4096;
    lim->max_buckets = 2000;
    lim->max_frames = 128;
    /* Not a limit: makes debug=2 inputs count "old" goroutines too. */
    lim->goid_cutoff = 40;
}

static inline void fz_check_profile(const pprof_profile *p,
                                    const pprof_limits *lim)
{
    uint64_t sum = 0;
    FZ_REQUIRE(p->nbuckets <= lim->max_buckets);
    FZ_REQUIRE(p->nbuckets == 0 || p->buckets != NULL);
    for (size_t i = 0; i < p->nbuckets; i++) {
        const pprof_bucket *b = &p->buckets[i];
        FZ_REQUIRE(b->nframes <= lim->max_frames);
        FZ_REQUIRE(b->nframes == 0 || b->frames != NULL);
        for (uint32_t f = 0; f < b->nframes; f++)
            FZ_REQUIRE(b->frames[f].func != NULL);
        FZ_REQUIRE(b->minutes_min <= b->minutes_max);
        uint64_t h = 0;
        for (int k = 0; k < PPROF_MINUTES_BINS; k++)
            h += b->minutes_hist[k];
        FZ_REQUIRE(h == b->count);
        FZ_REQUIRE(b->old <= b->count);
        FZ_REQUIRE(b->minutes_hist[pprof_minutes_bin(b->minutes_max)] > 0);
        if (b->labels)
            FZ_REQUIRE(b->labels[0] != '\0');
        FZ_REQUIRE(sum + b->count >= sum);
        sum += b->count;
    }
    FZ_REQUIRE(sum == p->counted);
    FZ_REQUIRE(p->format != PPROF_FORMAT_UNKNOWN);
}

/* Two profiles are the same capture: same buckets, same order. */
static inline void fz_check_same(const pprof_profile *a, const pprof_profile *b)
{
    FZ_REQUIRE(a->format == b->format && a->kind == b->kind);
    FZ_REQUIRE(a->total == b->total && a->counted == b->counted);
    FZ_REQUIRE(a->truncated == b->truncated && a->gzipped == b->gzipped);
    FZ_REQUIRE(a->skipped_lines == b->skipped_lines &&
               a->total_short == b->total_short);
    FZ_REQUIRE(a->has_goids == b->has_goids && a->max_goid == b->max_goid);
    FZ_REQUIRE(a->nbuckets == b->nbuckets);
    for (size_t i = 0; i < a->nbuckets; i++) {
        const pprof_bucket *x = &a->buckets[i], *y = &b->buckets[i];
        FZ_REQUIRE(x->count == y->count && x->nframes == y->nframes);
        FZ_REQUIRE(x->old == y->old);
        FZ_REQUIRE(x->flags == y->flags);
        FZ_REQUIRE(x->minutes_min == y->minutes_min && x->minutes_max == y->minutes_max);
        FZ_REQUIRE((x->wait_reason == NULL) == (y->wait_reason == NULL));
        if (x->wait_reason)
            FZ_REQUIRE(strcmp(x->wait_reason, y->wait_reason) == 0);
        FZ_REQUIRE((x->labels == NULL) == (y->labels == NULL));
        if (x->labels)
            FZ_REQUIRE(strcmp(x->labels, y->labels) == 0);
        for (uint32_t f = 0; f < x->nframes; f++) {
            FZ_REQUIRE(strcmp(x->frames[f].func, y->frames[f].func) == 0);
            FZ_REQUIRE(x->frames[f].line == y->frames[f].line);
        }
    }
}

/* Parses data fed in pieces of `step` bytes (0: at once). */
static inline pprof_profile *fz_parse(const uint8_t *data, size_t size,
                                      size_t step, const pprof_limits *lim,
                                      int *failed)
{
    pprof_parser *p = pprof_parser_new("fuzz", lim);
    FZ_REQUIRE(p != NULL);
    if (!step)
        step = size ? size : 1;
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += step)
        rc = pprof_parser_feed(p, data + off, size - off < step ? size - off : step);
    pprof_profile *prof = rc == 0 ? pprof_parser_finish(p) : NULL;
    if (!prof) {
        const char *e = pprof_parser_error(p);
        /* Every failure says what and where, on one line, naming the input. */
        FZ_REQUIRE(strncmp(e, "fuzz: ", 6) == 0);
        FZ_REQUIRE(strchr(e, '\n') == NULL);
    }
    *failed = prof == NULL;
    pprof_parser_free(p);
    return prof;
}

/* Whole, in pieces of a size taken from the input, and byte by byte for
 * small inputs: the same result each time. */
static inline void fz_run(const uint8_t *data, size_t size)
{
    pprof_limits lim;
    fz_limits(&lim);
    int f1, f2;
    pprof_profile *a = fz_parse(data, size, 0, &lim, &f1);
    size_t step = fz_step(data, size);
    pprof_profile *b = fz_parse(data, size, step, &lim, &f2);
    FZ_REQUIRE(f1 == f2);
    if (a) {
        fz_check_profile(a, &lim);
        fz_check_same(a, b);
    }
    if (size <= 512) {
        int f3;
        pprof_profile *c = fz_parse(data, size, 1, &lim, &f3);
        FZ_REQUIRE(f3 == f1);
        if (a)
            fz_check_same(a, c);
        pprof_profile_free(c);
    }
    pprof_profile_free(a);
    pprof_profile_free(b);
}

/* Runs fz_run on hdr followed by the input, so that every input gets
 * past format detection into the parser that hdr selects. */
static inline void fz_run_after(const char *hdr, const uint8_t *data,
                                size_t size)
{
    size_t hlen = strlen(hdr);
    uint8_t *buf = malloc(hlen + size);
    if (!buf)
        return;
    memcpy(buf, hdr, hlen);
    if (size)
        memcpy(buf + hlen, data, size);
    fz_run(buf, hlen + size);
    free(buf);
}

#endif
