/*
 * pprof_proto.c — goroutine and goroutineleak profiles in the protobuf
 * format (/debug/pprof/goroutine without debug=, after gunzip).
 *
 * A hand-written decoder of the protobuf wire format for just the
 * fields a goroutine profile uses, with field numbers taken from the
 * public profile.proto (github.com/google/pprof/proto/profile.proto);
 * no schema or generated code is copied, and no protobuf library is
 * linked: it would cost a dependency and a full object tree for a
 * message we read once.  Fields read:
 *
 *   Profile  1 sample_type (ValueType), 2 sample, 4 location, 5 function,
 *            6 string_table, 9 time_nanos; 3 mapping, 7/8 drop/keep_frames,
 *            10 duration_nanos, 11 period_type, 12 period, 13 comment,
 *            14 default_sample_type, 15 doc_url and unknown fields are
 *            skipped by wire type (the sample type is chosen by name:
 *            "goroutine" or "goroutineleak").
 *   ValueType 1 type, 2 unit (string indices)
 *   Sample   1 location_id (packed or not), 2 value (packed or not),
 *            3 label {1 key, 2 str, 3 num, 4 num_unit}
 *   Location 1 id, 2 mapping_id, 3 address, 4 line {1 function_id,
 *            2 line, 3 column}, 5 is_folded
 *   Function 1 id, 2 name, 3 system_name, 4 filename, 5 start_line
 *
 * The message is decoded in two passes over the bytes (fields may come
 * in any order and Go writes the string table last): the first indexes
 * strings, functions and locations by offset, the second turns each
 * sample into a bucket.  Locations with several lines are inlined calls,
 * line[0] innermost.  The full stack (with runtime frames) is used to
 * infer the wait reason, then runtime frames are hidden as in the text
 * formats (pprof_infer.c) so a capture looks the same in all of them.
 *
 * Not for: gzip (pprof_gzip.c) or deciding that bytes are protobuf
 * (pprof_detect.c).
 */
#include "pprof_internal.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* A runtime.chanrecv/chansend park this close to the function's first
 * line is the nil-channel park at its top; a real wait parks far below. */
#define NIL_CHAN_PARK_LINES 40

typedef struct pb_fn {
    uint64_t id;
    uint64_t name, file; /* string indices */
    int64_t start_line;
    const char *iname, *ifile; /* interned on first use */
} pb_fn;

typedef struct pb_loc {
    uint64_t id;
    uint32_t off, len; /* the Location message */
} pb_loc;

typedef struct pb {
    const unsigned char *base;
    size_t len;
    pp_err *err;
    pprof_builder *b;

    uint32_t *str_off; /* offset of each string's length varint */
    size_t nstr, str_cap;
    pb_fn *fns;
    size_t nfn, fn_cap;
    int fn_dense, fn_sorted;
    pb_loc *locs;
    size_t nloc, loc_cap;
    int loc_dense, loc_sorted;
    uint64_t index_bytes, index_cap;

    uint64_t sample_types[16];
    size_t nsample_types;
    int64_t time_nanos;
    uint64_t expanded, expand_cap; /* frames produced by all samples */

    /* per-sample scratch */
    pprof_frame *frames;
    int64_t *starts;
    uint32_t nframes, frames_cap, max_frames;
    pp_labels labels;
    pp_label_pair *pairs;
    size_t pairs_cap;
    char *numbuf;
    size_t numbuf_cap;
    char *namebuf;
    size_t namebuf_cap;
} pb;

typedef struct pb_cur {
    const unsigned char *p, *end;
} pb_cur;

static size_t at(const pb *x, const unsigned char *p)
{
    return (size_t)(p - x->base);
}

static int get_varint(pb *x, pb_cur *c, uint64_t *v)
{
    uint64_t r = 0;
    const unsigned char *start = c->p;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (c->p >= c->end)
            return pp_fail(x->err, "protobuf: truncated varint at byte %zu",
                           at(x, start));
        unsigned char byte = *c->p++;
        if (shift == 63 && byte > 1)
            return pp_fail(x->err, "protobuf: varint overflows 64 bits at byte %zu",
                           at(x, start));
        r |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return pp_fail(x->err, "protobuf: varint longer than 10 bytes at byte %zu",
                   at(x, start));
}

/* One field: its number, wire type, and either a varint value or a
 * sub-range (length-delimited), with fixed-width values skipped. */
typedef struct pb_field {
    uint64_t num;
    unsigned wt;
    uint64_t v;
    pb_cur sub;
    const unsigned char *start;
    const unsigned char *lenpos; /* WT_LEN: where the length varint is */
} pb_field;

static int next_field(pb *x, pb_cur *c, pb_field *f)
{
    f->start = c->p;
    uint64_t tag;
    if (get_varint(x, c, &tag) < 0)
        return -1;
    f->num = tag >> 3;
    f->wt = (unsigned)(tag & 7);
    if (f->num == 0)
        return pp_fail(x->err, "protobuf: field number 0 at byte %zu",
                       at(x, f->start));
    switch (f->wt) {
    case WT_VARINT:
        return get_varint(x, c, &f->v);
    case WT_I64:
    case WT_I32: {
        size_t n = f->wt == WT_I64 ? 8 : 4;
        if ((size_t)(c->end - c->p) < n)
            return pp_fail(x->err, "protobuf: truncated fixed-width field at byte %zu",
                           at(x, f->start));
        f->v = 0;
        c->p += n;
        return 0;
    }
    case WT_LEN: {
        uint64_t n;
        f->lenpos = c->p;
        if (get_varint(x, c, &n) < 0)
            return -1;
        if (n > (uint64_t)(c->end - c->p))
            return pp_fail(x->err,
                           "protobuf: field %" PRIu64 " length %" PRIu64
                           " runs past the end of its message at byte %zu",
                           f->num, n, at(x, f->start));
        f->sub.p = c->p;
        f->sub.end = c->p + n;
        c->p += n;
        return 0;
    }
    default:
        return pp_fail(x->err, "protobuf: unsupported wire type %u at byte %zu",
                       f->wt, at(x, f->start));
    }
}

static int want_wt(pb *x, const pb_field *f, unsigned wt, const char *what)
{
    if (f->wt == wt)
        return 0;
    return pp_fail(x->err, "protobuf: %s has wire type %u, not %u at byte %zu",
                   what, f->wt, wt, at(x, f->start));
}

static int index_charge(pb *x, size_t bytes)
{
    x->index_bytes += bytes;
    if (x->index_bytes > x->index_cap)
        return pp_fail(x->err,
                       "protobuf: more tables than a %zu-byte profile can "
                       "hold (malformed)",
                       x->len);
    return 0;
}

static int grow(pb *x, void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 64;
    if (index_charge(x, (nc - *cap) * elem) < 0)
        return -1;
    void *na = realloc(*arr, nc * elem);
    if (!na)
        return pp_fail(x->err, "out of memory");
    *arr = na;
    *cap = nc;
    return 0;
}

/* ---- pass 1: tables --------------------------------------------------- */

static int read_value_type(pb *x, pb_cur sub, uint64_t *type)
{
    pb_field f;
    *type = 0;
    while (sub.p < sub.end) {
        if (next_field(x, &sub, &f) < 0)
            return -1;
        if (f.num == 1) {
            if (want_wt(x, &f, WT_VARINT, "ValueType.type") < 0)
                return -1;
            *type = f.v;
        }
    }
    return 0;
}

static int read_function(pb *x, pb_cur sub)
{
    if (grow(x, (void **)&x->fns, &x->fn_cap, x->nfn, sizeof(*x->fns)) < 0)
        return -1;
    pb_fn *fn = &x->fns[x->nfn];
    memset(fn, 0, sizeof(*fn));
    pb_field f;
    while (sub.p < sub.end) {
        if (next_field(x, &sub, &f) < 0)
            return -1;
        if (f.num >= 1 && f.num <= 5 &&
            want_wt(x, &f, WT_VARINT, "Function field") < 0)
            return -1;
        switch (f.num) {
        case 1: fn->id = f.v; break;
        case 2: fn->name = f.v; break;
        case 4: fn->file = f.v; break;
        case 5: fn->start_line = (int64_t)f.v; break;
        default: break;
        }
    }
    if (x->fn_dense && fn->id != x->nfn + 1)
        x->fn_dense = 0;
    x->nfn++;
    return 0;
}

static int read_location(pb *x, pb_cur sub)
{
    if (grow(x, (void **)&x->locs, &x->loc_cap, x->nloc, sizeof(*x->locs)) < 0)
        return -1;
    pb_loc *loc = &x->locs[x->nloc];
    loc->id = 0;
    loc->off = (uint32_t)at(x, sub.p);
    loc->len = (uint32_t)(sub.end - sub.p);
    pb_field f;
    while (sub.p < sub.end) {
        if (next_field(x, &sub, &f) < 0)
            return -1;
        if (f.num == 1) {
            if (want_wt(x, &f, WT_VARINT, "Location.id") < 0)
                return -1;
            loc->id = f.v;
        }
    }
    if (x->loc_dense && loc->id != x->nloc + 1)
        x->loc_dense = 0;
    x->nloc++;
    return 0;
}

static int pass_tables(pb *x)
{
    pb_cur c = {x->base, x->base + x->len};
    pb_field f;
    while (c.p < c.end) {
        if (next_field(x, &c, &f) < 0)
            return -1;
        switch (f.num) {
        case 1:
            if (want_wt(x, &f, WT_LEN, "Profile.sample_type") < 0)
                return -1;
            if (x->nsample_types < sizeof(x->sample_types) / sizeof(x->sample_types[0])) {
                if (read_value_type(x, f.sub, &x->sample_types[x->nsample_types]) < 0)
                    return -1;
                x->nsample_types++;
            }
            break;
        case 2:
        case 3:
            if (want_wt(x, &f, WT_LEN, f.num == 2 ? "Profile.sample" : "Profile.mapping") < 0)
                return -1;
            break;
        case 4:
            if (want_wt(x, &f, WT_LEN, "Profile.location") < 0 ||
                read_location(x, f.sub) < 0)
                return -1;
            break;
        case 5:
            if (want_wt(x, &f, WT_LEN, "Profile.function") < 0 ||
                read_function(x, f.sub) < 0)
                return -1;
            break;
        case 6:
            if (want_wt(x, &f, WT_LEN, "Profile.string_table") < 0)
                return -1;
            if (grow(x, (void **)&x->str_off, &x->str_cap, x->nstr,
                     sizeof(*x->str_off)) < 0)
                return -1;
            /* Keep where the length varint starts: 4 bytes per string,
             * and the length is re-read when the string is used. */
            x->str_off[x->nstr++] = (uint32_t)at(x, f.lenpos);
            break;
        case 9:
            if (want_wt(x, &f, WT_VARINT, "Profile.time_nanos") < 0)
                return -1;
            x->time_nanos = (int64_t)f.v;
            break;
        default:
            break;
        }
    }
    return 0;
}

/* ---- lookups ------------------------------------------------------------- */

static int get_string(pb *x, uint64_t idx, const char **s, size_t *len,
                      const unsigned char *where)
{
    if (idx >= x->nstr)
        return pp_fail(x->err,
                       "protobuf: string index %" PRIu64
                       " out of range (table has %zu) at byte %zu",
                       idx, x->nstr, at(x, where));
    pb_cur c = {x->base + x->str_off[idx], x->base + x->len};
    uint64_t n;
    if (get_varint(x, &c, &n) < 0)
        return -1;
    *s = (const char *)c.p;
    *len = (size_t)n;
    return 0;
}

/* Functions and locations are found the same way: both records start
 * with their id. */
_Static_assert(offsetof(pb_fn, id) == 0, "pb_fn starts with its id");
_Static_assert(offsetof(pb_loc, id) == 0, "pb_loc starts with its id");

static uint64_t rec_id(const void *rec)
{
    uint64_t id;
    memcpy(&id, rec, sizeof id);
    return id;
}

static int cmp_id(const void *a, const void *b)
{
    uint64_t x = rec_id(a), y = rec_id(b);
    return x < y ? -1 : x > y;
}

/* The record numbered id among the n of size bytes at base, or NULL.  Go
 * numbers functions and locations 1..n in order (dense); anything else is
 * sorted once (*sorted) and searched. */
static void *find_id(void *base, size_t n, size_t size, int dense,
                     int *sorted, uint64_t id)
{
    unsigned char *b = base;
    if (dense)
        return id >= 1 && id <= n ? b + (id - 1) * size : NULL;
    if (!*sorted) {
        qsort(base, n, size, cmp_id);
        *sorted = 1;
    }
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rec_id(b + mid * size) < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && rec_id(b + lo * size) == id ? b + lo * size : NULL;
}

static pb_fn *find_fn(pb *x, uint64_t id)
{
    return find_id(x->fns, x->nfn, sizeof *x->fns, x->fn_dense,
                   &x->fn_sorted, id);
}

static pb_loc *find_loc(pb *x, uint64_t id)
{
    return find_id(x->locs, x->nloc, sizeof *x->locs, x->loc_dense,
                   &x->loc_sorted, id);
}

static int builder_error(pb *x)
{
    return pp_fail(x->err, "protobuf: %s", pprof_builder_error(x->b));
}

/* Function names as Go's tracebacks print them: a generic instance's
 * shape ("F[go.shape.int]") reads "F[...]", as in debug=1 and debug=2. */
static const char *intern_func_name(pb *x, const char *s, size_t len)
{
    const char *open = memchr(s, '[', len);
    const char *close = NULL;
    for (size_t i = len; open && i > 0; i--)
        if (s[i - 1] == ']') {
            close = s + i - 1;
            break;
        }
    if (!open || !close || close <= open)
        return pp_intern(x->b, s, len);
    size_t head = (size_t)(open - s), tail = (size_t)(s + len - close - 1);
    size_t need = head + 5 + tail;
    if (need > x->namebuf_cap) {
        char *nb = realloc(x->namebuf, need);
        if (!nb)
            return NULL;
        x->namebuf = nb;
        x->namebuf_cap = need;
    }
    memcpy(x->namebuf, s, head);
    memcpy(x->namebuf + head, "[...]", 5);
    memcpy(x->namebuf + head + 5, close + 1, tail);
    return pp_intern(x->b, x->namebuf, need);
}

static int fn_strings(pb *x, pb_fn *fn, const unsigned char *where)
{
    if (fn->iname)
        return 0;
    const char *s;
    size_t n;
    if (get_string(x, fn->name, &s, &n, where) < 0)
        return -1;
    fn->iname = n ? intern_func_name(x, s, n) : pp_intern(x->b, "?", 1);
    if (!fn->iname)
        return builder_error(x);
    if (get_string(x, fn->file, &s, &n, where) < 0)
        return -1;
    fn->ifile = n ? pp_intern(x->b, s, n) : NULL;
    if (n && !fn->ifile)
        return builder_error(x);
    return 0;
}

/* ---- pass 2: samples ----------------------------------------------------- */

static int push(pb *x, const char *func, const char *file, int64_t line,
                int64_t start, const unsigned char *where)
{
    /* Samples share locations by id, so a small message could otherwise
     * expand into billions of frames; real profiles stay far below. */
    if (++x->expanded > x->expand_cap)
        return pp_fail(x->err,
                       "protobuf: samples expand to more frames than a "
                       "%zu-byte profile can hold (malformed) at byte %zu",
                       x->len, at(x, where));
    if (x->nframes == x->frames_cap) {
        if (x->nframes >= x->max_frames)
            return pp_fail(x->err,
                           "protobuf: sample at byte %zu has more than %" PRIu32
                           " frames (limit; raise with --max-frames)",
                           at(x, where), x->max_frames);
        uint32_t nc = x->frames_cap ? x->frames_cap * 2 : 64;
        if (nc > x->max_frames)
            nc = x->max_frames;
        pprof_frame *nf = realloc(x->frames, nc * sizeof(*nf));
        if (!nf)
            return pp_fail(x->err, "out of memory");
        x->frames = nf;
        int64_t *ns = realloc(x->starts, nc * sizeof(*ns));
        if (!ns)
            return pp_fail(x->err, "out of memory");
        x->starts = ns;
        x->frames_cap = nc;
    }
    x->frames[x->nframes].func = func;
    x->frames[x->nframes].file = file;
    x->frames[x->nframes].line =
        line < 0 ? 0 : line > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)line;
    x->starts[x->nframes] = start;
    x->nframes++;
    return 0;
}

static int expand_location(pb *x, uint64_t id, const unsigned char *where)
{
    pb_loc *loc = find_loc(x, id);
    if (!loc)
        return pp_fail(x->err,
                       "protobuf: sample references unknown location id %" PRIu64
                       " at byte %zu",
                       id, at(x, where));
    pb_cur c = {x->base + loc->off, x->base + loc->off + loc->len};
    pb_field f;
    uint64_t address = 0;
    int lines = 0;
    while (c.p < c.end) {
        if (next_field(x, &c, &f) < 0)
            return -1;
        if (f.num == 3 && f.wt == WT_VARINT)
            address = f.v;
        if (f.num != 4)
            continue;
        if (want_wt(x, &f, WT_LEN, "Location.line") < 0)
            return -1;
        uint64_t fid = 0;
        int64_t ln = 0;
        pb_field g;
        while (f.sub.p < f.sub.end) {
            if (next_field(x, &f.sub, &g) < 0)
                return -1;
            if (g.num == 1 && g.wt == WT_VARINT)
                fid = g.v;
            else if (g.num == 2 && g.wt == WT_VARINT)
                ln = (int64_t)g.v;
        }
        pb_fn *fn = find_fn(x, fid);
        if (!fn)
            return pp_fail(x->err,
                           "protobuf: location %" PRIu64
                           " references unknown function id %" PRIu64
                           " at byte %zu",
                           id, fid, at(x, f.start));
        if (fn_strings(x, fn, f.start) < 0)
            return -1;
        if (push(x, fn->iname, fn->ifile, ln, fn->start_line, where) < 0)
            return -1;
        lines++;
    }
    if (!lines) {
        /* Not symbolised: the address still identifies the frame. */
        char hex[24];
        int n = snprintf(hex, sizeof(hex), "0x%" PRIx64, address);
        const char *fnm = pp_intern(x->b, hex, (size_t)n);
        if (!fnm)
            return builder_error(x);
        return push(x, fnm, NULL, 0, 0, where);
    }
    return 0;
}

static const char *refine_nil_chan(pb *x, const char *reason)
{
    int recv = strcmp(reason, "chan receive") == 0;
    if (!recv && strcmp(reason, "chan send") != 0)
        return reason;
    const char *want = recv ? "runtime.chanrecv" : "runtime.chansend";
    for (uint32_t i = 0; i < x->nframes; i++) {
        if (strcmp(x->frames[i].func, want) != 0)
            continue;
        int64_t start = x->starts[i], line = x->frames[i].line;
        if (start <= 0 && i + 1 < x->nframes) {
            /* Go before 1.20 writes no start_line.  chanrecv1/2 and
             * chansend1 sit just above chanrecv/chansend in chan.go, so
             * the caller's line stands in for the function's start. */
            const char *caller = x->frames[i + 1].func;
            if (strcmp(caller, recv ? "runtime.chanrecv1" : "runtime.chansend1") == 0 ||
                (recv && strcmp(caller, "runtime.chanrecv2") == 0))
                start = x->frames[i + 1].line;
            if (start > 0 && line >= start &&
                line - start < NIL_CHAN_PARK_LINES + 20)
                return recv ? "chan receive (nil chan)" : "chan send (nil chan)";
            break;
        }
        if (start > 0 && line >= start && line - start < NIL_CHAN_PARK_LINES)
            return recv ? "chan receive (nil chan)" : "chan send (nil chan)";
        break;
    }
    return reason;
}

/* Repeated scalar fields come packed (one length-delimited run) or one
 * varint per field; both are valid encodings. */
typedef int (*scalar_fn)(pb *x, uint64_t v, const unsigned char *where,
                         void *ctx);

static int each_scalar(pb *x, const pb_field *f, scalar_fn fn, void *ctx)
{
    if (f->wt == WT_VARINT)
        return fn(x, f->v, f->start, ctx);
    if (f->wt != WT_LEN)
        return want_wt(x, f, WT_LEN, "repeated scalar");
    pb_cur c = f->sub;
    while (c.p < c.end) {
        uint64_t v;
        if (get_varint(x, &c, &v) < 0)
            return -1;
        if (fn(x, v, f->start, ctx) < 0)
            return -1;
    }
    return 0;
}

static int on_location_id(pb *x, uint64_t v, const unsigned char *where,
                          void *ctx)
{
    (void)ctx;
    return expand_location(x, v, where);
}

typedef struct value_ctx {
    size_t idx, want;
    int64_t value;
    int found;
} value_ctx;

static int on_value(pb *x, uint64_t v, const unsigned char *where, void *ctx)
{
    (void)x;
    (void)where;
    value_ctx *vc = ctx;
    if (vc->idx == vc->want) {
        vc->value = (int64_t)v;
        vc->found = 1;
    }
    vc->idx++;
    return 0;
}

typedef struct raw_label {
    uint64_t key, str, unit;
    int64_t num;
    int has_str;
} raw_label;

static int read_label(pb *x, pb_cur sub, raw_label *rl)
{
    memset(rl, 0, sizeof(*rl));
    pb_field f;
    while (sub.p < sub.end) {
        if (next_field(x, &sub, &f) < 0)
            return -1;
        if (f.num >= 1 && f.num <= 4 &&
            want_wt(x, &f, WT_VARINT, "Label field") < 0)
            return -1;
        switch (f.num) {
        case 1: rl->key = f.v; break;
        case 2: rl->str = f.v; rl->has_str = 1; break;
        case 3: rl->num = (int64_t)f.v; break;
        case 4: rl->unit = f.v; break;
        default: break;
        }
    }
    return 0;
}

static int sample_labels(pb *x, pb_cur s, const char **out)
{
    *out = NULL;
    size_t n = 0;
    pb_cur c = s;
    pb_field f;
    while (c.p < c.end) {
        if (next_field(x, &c, &f) < 0)
            return -1;
        if (f.num == 3)
            n++;
    }
    if (!n)
        return 0;
    if (n > x->pairs_cap) {
        pp_label_pair *np = realloc(x->pairs, n * sizeof(*np));
        if (!np)
            return pp_fail(x->err, "out of memory");
        x->pairs = np;
        x->pairs_cap = n;
    }
    if (n * 24 > x->numbuf_cap) {
        char *nb = realloc(x->numbuf, n * 24);
        if (!nb)
            return pp_fail(x->err, "out of memory");
        x->numbuf = nb;
        x->numbuf_cap = n * 24;
    }
    size_t k = 0;
    c = s;
    while (c.p < c.end) {
        if (next_field(x, &c, &f) < 0)
            return -1;
        if (f.num != 3)
            continue;
        if (want_wt(x, &f, WT_LEN, "Sample.label") < 0)
            return -1;
        raw_label rl;
        if (read_label(x, f.sub, &rl) < 0)
            return -1;
        pp_label_pair *p = &x->pairs[k];
        if (get_string(x, rl.key, &p->k, &p->klen, f.start) < 0)
            return -1;
        if (rl.has_str) {
            if (get_string(x, rl.str, &p->v, &p->vlen, f.start) < 0)
                return -1;
        } else {
            char *nb = x->numbuf + k * 24;
            int m = snprintf(nb, 24, "%" PRId64, rl.num);
            p->v = nb;
            p->vlen = (size_t)m;
        }
        k++;
    }
    if (pp_labels_join(&x->labels, x->b, x->pairs, k, out) < 0)
        return builder_error(x);
    return 0;
}

static int read_sample(pb *x, pb_cur s, size_t value_index,
                       const unsigned char *where)
{
    x->nframes = 0;
    value_ctx vc = {0, value_index, 0, 0};
    pb_cur c = s;
    pb_field f;
    while (c.p < c.end) {
        if (next_field(x, &c, &f) < 0)
            return -1;
        if (f.num == 1) {
            if (each_scalar(x, &f, on_location_id, NULL) < 0)
                return -1;
        } else if (f.num == 2) {
            if (each_scalar(x, &f, on_value, &vc) < 0)
                return -1;
        }
    }
    if (!vc.found)
        return pp_fail(x->err, "protobuf: sample without a value at byte %zu",
                       at(x, where));
    if (vc.value < 0)
        return pp_fail(x->err,
                       "protobuf: negative goroutine count %" PRId64
                       " at byte %zu",
                       vc.value, at(x, where));
    if (vc.value == 0)
        return 0;
    const char *labels;
    if (sample_labels(x, s, &labels) < 0)
        return -1;
    const char *reason = pprof_infer_wait_reason(x->frames, x->nframes);
    const char *wait = NULL;
    uint32_t flags = 0;
    if (reason) {
        reason = refine_nil_chan(x, reason);
        wait = pp_intern(x->b, reason, strlen(reason));
        if (!wait)
            return builder_error(x);
        flags = PPROF_BF_WAIT_INFERRED;
    }
    uint32_t n = pp_frames_normalize(x->frames, x->nframes);
    if (pp_builder_add_interned(x->b, x->frames, n, wait, flags, 0, NULL,
                                labels, (uint64_t)vc.value, 0) < 0)
        return builder_error(x);
    return 0;
}

static int sample_kind(pb *x, size_t *value_index, pprof_kind *kind)
{
    if (x->nsample_types == 0)
        return pp_fail(x->err, "not a goroutine profile (protobuf without a sample type)");
    size_t vi = x->nsample_types;
    for (size_t i = 0; i < x->nsample_types && vi == x->nsample_types; i++) {
        const char *s;
        size_t n;
        if (get_string(x, x->sample_types[i], &s, &n, x->base) < 0)
            return -1;
        if ((n == 9 && memcmp(s, "goroutine", 9) == 0) ||
            (n == 13 && memcmp(s, "goroutineleak", 13) == 0)) {
            vi = i;
            *kind = n == 9 ? PPROF_KIND_GOROUTINE : PPROF_KIND_GOROUTINELEAK;
        }
    }
    if (vi == x->nsample_types) {
        const char *s;
        size_t n;
        if (get_string(x, x->sample_types[0], &s, &n, x->base) < 0)
            return -1;
        char ex[64];
        pp_quote_excerpt(ex, sizeof(ex), s, n < 40 ? n : 40);
        return pp_fail(x->err, "not a goroutine profile (protobuf sample type \"%s\")",
                       ex);
    }
    *value_index = vi;
    return 0;
}

static int pass_samples(pb *x, size_t value_index)
{
    pb_cur c = {x->base, x->base + x->len};
    pb_field f;
    while (c.p < c.end) {
        if (next_field(x, &c, &f) < 0)
            return -1;
        if (f.num == 2 && read_sample(x, f.sub, value_index, f.start) < 0)
            return -1;
    }
    return 0;
}

int pp_proto_parse(pprof_builder *b, const unsigned char *data, size_t len,
                   uint32_t max_frames, pp_err *err, pprof_kind *kind,
                   int64_t *time_nanos)
{
    pb x;
    memset(&x, 0, sizeof(x));
    x.base = data;
    x.len = len;
    x.err = err;
    x.b = b;
    x.fn_dense = x.loc_dense = 1;
    x.max_frames = max_frames;
    x.index_cap = 2 * (uint64_t)len + (1u << 20);
    x.expand_cap = 16 * (uint64_t)len + (1u << 20);
    pp_labels_init(&x.labels);
    *kind = PPROF_KIND_GOROUTINE;
    int rc = -1;
    size_t vi = 0;
    if (len > UINT32_MAX) {
        pp_fail(err, "protobuf: profile larger than 4 GiB");
        goto out;
    }
    if (pass_tables(&x) < 0 || sample_kind(&x, &vi, kind) < 0 ||
        pass_samples(&x, vi) < 0)
        goto out;
    *time_nanos = x.time_nanos;
    rc = 0;
out:
    free(x.str_off);
    free(x.fns);
    free(x.locs);
    free(x.frames);
    free(x.starts);
    free(x.pairs);
    free(x.numbuf);
    free(x.namebuf);
    pp_labels_free(&x.labels);
    return rc;
}
