/*
 * pprof_builder.c — the profile model under construction: interned
 * strings, the stack-bucket hash table that merges identical goroutines,
 * the limits that keep hostile input bounded, and the finished profile's
 * lifetime.
 *
 * Every parser ends here, so this is the one place that decides what
 * "the same bucket" means and how much memory a capture may take.  Memory
 * grows with unique strings and unique buckets only: a goroutine that
 * matches an existing bucket costs a hash, a probe and a compare.
 *
 * Not for: reading any input format (pprof_debug1.c, pprof_debug2.c,
 * pprof_proto.c) or guessing wait reasons (pprof_infer.c).
 */
#include "pprof_internal.h"

#include "lw/lw_arena.h"
#include "lw/lw_htab.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PP_ARENA_CHUNK (256u * 1024u)
#define PP_STR_TABLE_MIN 64u
#define PP_BUCKET_TABLE_MIN 64u
/* Unique strings plus stored frames may take this many times
 * max_decompressed_bytes: a protobuf profile can reference one location
 * from many samples, so the model could otherwise outgrow its input. */
#define PP_MODEL_FACTOR 4u

struct pprof_builder {
    pprof_limits lim;
    lw_arena *arena;

    lw_htab strs; /* hash -> pp_str * */

    pprof_bucket *buckets;
    size_t nb, bcap;
    lw_htab btab; /* hash -> bucket index + 1 */

    uint64_t counted;
    uint64_t model_bytes, model_cap;

    pprof_frame *scratch; /* for pprof_builder_add's interned copy */
    uint32_t scratch_cap;
    char *nulbuf; /* a string with NUL bytes, made printable */
    size_t nulbuf_cap;

    char err[256];
};

void pprof_limits_default(pprof_limits *limits)
{
    limits->max_input_bytes = 4ULL << 30;
    limits->max_decompressed_bytes = 256ULL << 20;
    limits->max_line_bytes = 1u << 20;
    limits->max_buckets = 2000000;
    limits->max_frames = 4096;
}

unsigned pprof_minutes_bin(uint64_t minutes)
{
    if (minutes == 0)
        return 0;
    if (minutes == 1)
        return 1;
    if (minutes <= 4)
        return 2;
    if (minutes <= 9)
        return 3;
    if (minutes <= 29)
        return 4;
    if (minutes <= 59)
        return 5;
    if (minutes <= 179)
        return 6;
    if (minutes <= 599)
        return 7;
    return 8;
}

const char *pprof_format_name(pprof_format f)
{
    switch (f) {
    case PPROF_FORMAT_DEBUG1:
        return "debug=1";
    case PPROF_FORMAT_DEBUG2:
        return "debug=2";
    case PPROF_FORMAT_PROTO:
        return "protobuf";
    case PPROF_FORMAT_UNKNOWN:
        break;
    }
    return "unknown";
}

const char *pprof_kind_name(pprof_kind k)
{
    return k == PPROF_KIND_GOROUTINELEAK ? "goroutineleak" : "goroutine";
}

static void fill_limits(pprof_limits *dst, const pprof_limits *src)
{
    pprof_limits def;
    pprof_limits_default(&def);
    if (!src) {
        *dst = def;
        return;
    }
    /* A zero field means "the default", so callers can set one limit. */
    *dst = *src;
    if (!dst->max_input_bytes)
        dst->max_input_bytes = def.max_input_bytes;
    if (!dst->max_decompressed_bytes)
        dst->max_decompressed_bytes = def.max_decompressed_bytes;
    if (!dst->max_line_bytes)
        dst->max_line_bytes = def.max_line_bytes;
    if (!dst->max_buckets)
        dst->max_buckets = def.max_buckets;
    if (!dst->max_frames)
        dst->max_frames = def.max_frames;
}

pprof_builder *pprof_builder_new(const pprof_limits *limits)
{
    pprof_builder *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    fill_limits(&b->lim, limits);
    uint64_t dec = b->lim.max_decompressed_bytes;
    b->model_cap = dec > UINT64_MAX / PP_MODEL_FACTOR ? UINT64_MAX
                                                      : dec * PP_MODEL_FACTOR;
    if (b->model_cap < (64u << 20))
        b->model_cap = 64u << 20;
    b->arena = lw_arena_new(PP_ARENA_CHUNK);
    int strs_rc = lw_htab_init(&b->strs, PP_STR_TABLE_MIN);
    int btab_rc = lw_htab_init(&b->btab, PP_BUCKET_TABLE_MIN);
    if (!b->arena || strs_rc < 0 || btab_rc < 0) {
        pprof_builder_free(b);
        return NULL;
    }
    return b;
}

void pprof_builder_free(pprof_builder *b)
{
    if (!b)
        return;
    lw_arena_free(b->arena);
    lw_htab_fini(&b->strs);
    free(b->buckets);
    lw_htab_fini(&b->btab);
    free(b->scratch);
    free(b->nulbuf);
    free(b);
}

const char *pprof_builder_error(const pprof_builder *b)
{
    return b ? b->err : "";
}

static int builder_fail(pprof_builder *b, const char *msg)
{
    if (!b->err[0])
        snprintf(b->err, sizeof(b->err), "%s", msg);
    return -1;
}

static int model_charge(pprof_builder *b, uint64_t bytes)
{
    if (bytes > b->model_cap - b->model_bytes || b->model_bytes > b->model_cap) {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "profile model exceeds %" PRIu64
                 " bytes of unique stacks (limit; raise with "
                 "--max-decompressed)",
                 b->model_cap);
        return builder_fail(b, msg);
    }
    b->model_bytes += bytes;
    return 0;
}

/* ---- strings ----------------------------------------------------------- */

const char *pp_intern(pprof_builder *b, const char *s, size_t len)
{
    if (len > UINT32_MAX) {
        builder_fail(b, "string longer than 4 GiB");
        return NULL;
    }
    /* Model strings are C strings: a NUL byte (never in Go's output,
     * only in damaged input) would silently cut one short.  It reads
     * '?' instead, before hashing, so equal inputs still intern alike. */
    if (len && memchr(s, '\0', len)) {
        if (len > b->nulbuf_cap) {
            char *nb = realloc(b->nulbuf, len);
            if (!nb) {
                builder_fail(b, "out of memory");
                return NULL;
            }
            b->nulbuf = nb;
            b->nulbuf_cap = len;
        }
        for (size_t i = 0; i < len; i++)
            b->nulbuf[i] = s[i] ? s[i] : '?';
        s = b->nulbuf;
    }
    uint64_t h = pp_hash_bytes(s, len);
    lw_htab_probe probe;
    for (uint64_t v = lw_htab_find(&b->strs, h, &probe); v;
         v = lw_htab_next(&b->strs, &probe)) {
        const pp_str *old = (const pp_str *)(uintptr_t)v;
        if (old->len == len && memcmp(old->s, s, len) == 0)
            return old->s;
    }
    size_t need = offsetof(pp_str, s) + len + 1;
    if (model_charge(b, need) < 0)
        return NULL;
    pp_str *str = lw_arena_alloc(b->arena, need);
    if (!str) {
        builder_fail(b, "out of memory");
        return NULL;
    }
    str->hash = h;
    str->len = (uint32_t)len;
    str->flags = pp_func_flags(s, len);
    if (len)
        memcpy(str->s, s, len);
    str->s[len] = '\0';
    if (lw_htab_add(&b->strs, &probe, (uint64_t)(uintptr_t)str) < 0) {
        builder_fail(b, "out of memory");
        return NULL;
    }
    return str->s;
}

/* ---- buckets ----------------------------------------------------------- */

static uint64_t key_hash(const pprof_frame *frames, uint32_t n,
                         const char *wait, uint32_t kflags,
                         const pprof_frame *cb, const char *labels)
{
    /* Interned strings are unique per builder, so their addresses stand
     * for their contents: hashing a stack is pointer arithmetic. */
    uint64_t h = 0x243f6a8885a308d3ULL ^ n;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t v = (uint64_t)(uintptr_t)frames[i].func * 0x9e3779b97f4a7c15ULL;
        v ^= (uint64_t)(uintptr_t)frames[i].file * 0xc2b2ae3d27d4eb4fULL;
        v ^= frames[i].line;
        h = pp_rotl((h ^ v) * 0x87c37b91114253d5ULL, 29);
    }
    uint64_t tail = (uint64_t)(uintptr_t)wait * 0x9e3779b97f4a7c15ULL;
    tail ^= (uint64_t)(uintptr_t)labels * 0xc2b2ae3d27d4eb4fULL;
    tail ^= ((uint64_t)kflags << 32) ^ cb->line;
    tail ^= (uint64_t)(uintptr_t)cb->func * 0x165667b19e3779f9ULL;
    tail ^= pp_rotl((uint64_t)(uintptr_t)cb->file, 17);
    return lw_hash_mix(h ^ pp_rotl(tail, 7));
}

static int frames_equal(const pprof_frame *a, const pprof_frame *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (a[i].func != b[i].func || a[i].file != b[i].file ||
            a[i].line != b[i].line)
            return 0;
    return 1;
}

static int buckets_reserve(pprof_builder *b)
{
    if (b->nb < b->bcap)
        return 0;
    size_t ncap = b->bcap ? b->bcap * 2 : 256;
    pprof_bucket *nbk = realloc(b->buckets, ncap * sizeof(*nbk));
    if (!nbk)
        return builder_fail(b, "out of memory");
    b->buckets = nbk;
    b->bcap = ncap;
    return 0;
}

static int frames_limit(pprof_builder *b, uint32_t nframes)
{
    char msg[160];
    snprintf(msg, sizeof(msg),
             "stack of %" PRIu32 " frames exceeds %" PRIu32
             " (limit; raise with --max-frames)",
             nframes, b->lim.max_frames);
    return builder_fail(b, msg);
}

static void minutes_add(pprof_bucket *bk, uint64_t minutes, uint64_t count,
                        int first)
{
    if (first || minutes < bk->minutes_min)
        bk->minutes_min = minutes;
    if (first || minutes > bk->minutes_max)
        bk->minutes_max = minutes;
    uint64_t *bin = &bk->minutes_hist[pprof_minutes_bin(minutes)];
    /* count is already known not to overflow the bucket total, and each
     * bin is at most the bucket total. */
    *bin += count;
}

int pp_builder_add_interned(pprof_builder *b, const pprof_frame *frames,
                            uint32_t nframes, const char *wait_reason,
                            uint32_t flags, uint64_t minutes,
                            const pprof_frame *created_by, const char *labels,
                            uint64_t count, uint64_t old)
{
    if (nframes > b->lim.max_frames)
        return frames_limit(b, nframes);
    if (count > UINT64_MAX - b->counted)
        return builder_fail(b, "goroutine count overflows 64 bits");
    /* "0 @ ..." or a zero-valued sample: no goroutines, no bucket. */
    if (count == 0)
        return 0;
    if (old > count)
        old = count;
    pprof_frame nocb = {0};
    const pprof_frame *cb = created_by && created_by->func ? created_by : &nocb;
    uint32_t kflags = flags & ~(uint32_t)PPROF_BF_WAIT_INFERRED;
    uint64_t h = key_hash(frames, nframes, wait_reason, kflags, cb, labels);

    lw_htab_probe probe;
    for (uint64_t v = lw_htab_find(&b->btab, h, &probe); v;
         v = lw_htab_next(&b->btab, &probe)) {
        pprof_bucket *bk = &b->buckets[v - 1];
        if (bk->nframes == nframes &&
            bk->wait_reason == wait_reason &&
            (bk->flags & ~(uint32_t)PPROF_BF_WAIT_INFERRED) == kflags &&
            bk->labels == labels && bk->created_by.func == cb->func &&
            bk->created_by.file == cb->file &&
            bk->created_by.line == cb->line &&
            frames_equal(bk->frames, frames, nframes)) {
            bk->count += count;
            bk->old += old;
            b->counted += count;
            /* A reason seen in the input beats the same reason guessed. */
            if (!(flags & PPROF_BF_WAIT_INFERRED))
                bk->flags &= ~(uint32_t)PPROF_BF_WAIT_INFERRED;
            minutes_add(bk, minutes, count, 0);
            return 0;
        }
    }

    if (b->nb >= b->lim.max_buckets) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "more than %" PRIu64
                 " unique stacks (limit; raise with --max-buckets)",
                 b->lim.max_buckets);
        return builder_fail(b, msg);
    }
    if (b->nb >= UINT32_MAX - 1)
        return builder_fail(b, "too many unique stacks");
    if (buckets_reserve(b) < 0)
        return -1;
    pprof_frame *copy = NULL;
    if (nframes) {
        size_t bytes = (size_t)nframes * sizeof(pprof_frame);
        if (model_charge(b, bytes) < 0)
            return -1;
        copy = lw_arena_alloc(b->arena, bytes);
        if (!copy)
            return builder_fail(b, "out of memory");
        memcpy(copy, frames, bytes);
    }
    pprof_bucket *bk = &b->buckets[b->nb];
    memset(bk, 0, sizeof(*bk));
    bk->count = count;
    bk->old = old;
    bk->frames = copy;
    bk->nframes = nframes;
    bk->flags = flags;
    bk->wait_reason = wait_reason;
    bk->created_by = *cb;
    bk->labels = labels;
    minutes_add(bk, minutes, count, 1);
    if (lw_htab_add(&b->btab, &probe, b->nb + 1) < 0)
        return builder_fail(b, "out of memory");
    b->nb++;
    b->counted += count;
    return 0;
}

uint64_t pp_builder_counted(const pprof_builder *b)
{
    return b->counted;
}

static const char *intern_opt(pprof_builder *b, const char *s, int *fail)
{
    if (!s)
        return NULL;
    const char *r = pp_intern(b, s, strlen(s));
    if (!r)
        *fail = 1;
    return r;
}

int pprof_builder_add(pprof_builder *b, const pprof_sample *s)
{
    if (!b || !s)
        return -1;
    b->err[0] = '\0';
    if (s->nframes && !s->frames)
        return builder_fail(b, "sample has frames count but no frames");
    if (s->nframes > b->lim.max_frames)
        return frames_limit(b, s->nframes);
    if (s->nframes > b->scratch_cap) {
        pprof_frame *n = realloc(b->scratch, s->nframes * sizeof(*n));
        if (!n)
            return builder_fail(b, "out of memory");
        b->scratch = n;
        b->scratch_cap = s->nframes;
    }
    int fail = 0;
    for (uint32_t i = 0; i < s->nframes; i++) {
        const char *fn = s->frames[i].func ? s->frames[i].func : "?";
        b->scratch[i].func = intern_opt(b, fn, &fail);
        b->scratch[i].file = intern_opt(b, s->frames[i].file, &fail);
        b->scratch[i].line = s->frames[i].line;
    }
    pprof_frame cb = {0};
    if (s->created_by.func) {
        cb.func = intern_opt(b, s->created_by.func, &fail);
        cb.file = intern_opt(b, s->created_by.file, &fail);
        cb.line = s->created_by.line;
    }
    const char *labels = s->labels && s->labels[0]
                             ? intern_opt(b, s->labels, &fail)
                             : NULL;
    uint32_t flags = s->flags;
    const char *wait = NULL;
    if (s->wait_reason) {
        wait = intern_opt(b, s->wait_reason, &fail);
        flags &= ~(uint32_t)PPROF_BF_WAIT_INFERRED;
    } else {
        const char *guess = pprof_infer_wait_reason(b->scratch, s->nframes);
        if (guess) {
            wait = intern_opt(b, guess, &fail);
            flags |= PPROF_BF_WAIT_INFERRED;
        } else {
            flags &= ~(uint32_t)PPROF_BF_WAIT_INFERRED;
        }
    }
    if (fail)
        return -1;
    return pp_builder_add_interned(b, b->scratch, s->nframes, wait, flags,
                                   s->minutes, &cb, labels, s->count, s->old);
}

pprof_profile *pprof_builder_finish(pprof_builder *b, pprof_format format,
                                    pprof_kind kind, uint64_t total)
{
    if (!b)
        return NULL;
    pprof_profile *p = calloc(1, sizeof(*p));
    pprof_bucket *arr = NULL;
    if (p && b->nb) {
        /* The model promises that the arena owns the buckets too, so
         * the profile is released by freeing the arena alone. */
        arr = lw_arena_alloc(b->arena, b->nb * sizeof(*arr));
        if (arr)
            memcpy(arr, b->buckets, b->nb * sizeof(*arr));
    }
    if (!p || (b->nb && !arr)) {
        free(p);
        pprof_builder_free(b);
        return NULL;
    }
    p->format = format;
    p->kind = kind;
    p->counted = b->counted;
    p->total = total ? total : b->counted;
    p->nbuckets = b->nb;
    p->buckets = arr;
    p->arena = b->arena;
    b->arena = NULL;
    pprof_builder_free(b);
    return p;
}

void pprof_profile_free(pprof_profile *p)
{
    if (!p)
        return;
    lw_arena_free(p->arena);
    free(p);
}
