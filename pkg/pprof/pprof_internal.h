/*
 * pprof_internal.h — private contracts between the files of pkg/pprof:
 * interned strings, the builder's fast path, the line splitter, the
 * per-format parsers and the error sink they all report through.
 *
 * Not for: anything outside pkg/pprof (use pprof.h), or code that needs
 * to know which format it is reading (each parser file owns its format).
 */
#ifndef PPROF_INTERNAL_H
#define PPROF_INTERNAL_H

#include "lw/lw_hash.h"
#include "pprof/pprof.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct lw_arena;

/* ---- hashing ------------------------------------------------------- */

/*
 * Written here rather than using lw_hash_bytes because it sits on the hot
 * path of every text frame: one multiply and one rotate per 8-byte word
 * (instead of a full mix) keeps the dependency chain short, and the final
 * lw_hash_mix spreads the bits for power-of-two tables.  Only for tables
 * that cap their size: it is not collision resistant.
 */
static inline uint64_t pp_rotl(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t pp_hash_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)len * 0xff51afd7ed558ccdULL);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = pp_rotl((h ^ w) * 0x87c37b91114253d5ULL, 31);
        p += 8;
        len -= 8;
    }
    if (len) {
        uint64_t w = 0;
        memcpy(&w, p, len);
        h = pp_rotl((h ^ w) * 0x4cf5ad432745937fULL, 27);
    }
    return lw_hash_mix(h);
}

/* ---- interned strings (pprof_builder.c) ---------------------------- */

/* Function-name properties computed once, when a name is first interned,
 * so that hiding runtime frames costs a flag test per frame. */
enum {
    /* Go's tracebacks never show it: unexported runtime.* functions and
     * runtime.goexit (runtime.gopanic excepted, printed as "panic"). */
    PP_STR_HIDE = 1u << 0,
    /* Hidden when innermost: any runtime.* or internal/runtime/ function
     * (what runtime/pprof's debug=1 writer strips from the top). */
    PP_STR_HIDE_TOP = 1u << 1,
    PP_STR_GOEXIT = 1u << 2,
};

/* Every interned string is preceded in the arena by this header. */
typedef struct pp_str {
    uint64_t hash;
    uint32_t len;
    uint32_t flags;
    char s[];
} pp_str;

static inline const pp_str *pp_str_of(const char *s)
{
    return (const pp_str *)(const void *)(s - offsetof(pp_str, s));
}

/* Interns len bytes (need not be terminated); NULL when out of memory or
 * over the model-size limit (the builder then holds the reason). */
const char *pp_intern(pprof_builder *b, const char *s, size_t len);

/*
 * Adds count goroutines with already-interned strings (every pointer in
 * frames, wait_reason, created_by and labels came from pp_intern on this
 * builder, or is NULL).  wait_reason NULL stays NULL: callers infer first.
 * old (at most count) is how many of them are "old" (pprof_bucket.old).
 */
int pp_builder_add_interned(pprof_builder *b, const pprof_frame *frames,
                            uint32_t nframes, const char *wait_reason,
                            uint32_t flags, uint64_t minutes,
                            const pprof_frame *created_by, const char *labels,
                            uint64_t count, uint64_t old);

/* Sum of counts so far (parsers check it against "total N"). */
uint64_t pp_builder_counted(const pprof_builder *b);

/* ---- frame normalisation and inference (pprof_infer.c) ------------- */

/*
 * Go prints goroutine stacks without the runtime's own frames (gopark,
 * chanrecv, selectgo...) in debug=1 and default debug=2 output, while
 * protobuf profiles and GOTRACEBACK=system dumps keep them.  To make one
 * capture look the same in every format, parsers drop interned frames
 * that Go would hide by default: runtime.goexit, leading runtime.* and
 * internal/runtime/ frames, and unexported runtime.* frames anywhere.  A
 * stack made only of such frames is kept whole (minus goexit), as Go does.
 * Works in place; returns the new frame count.
 */
uint32_t pp_frames_normalize(pprof_frame *frames, uint32_t n);

/* Properties of a function name (PP_STR_*), for pp_intern. */
uint32_t pp_func_flags(const char *s, size_t len);

/* ---- errors --------------------------------------------------------- */

#define PP_ERR_MAX 512

/* A one-line message sink: the first error wins, later ones are dropped
 * (they are usually consequences of the first). */
typedef struct pp_err {
    char msg[PP_ERR_MAX];
    const char *name;
    int set;
} pp_err;

/* Formats "name: <fmt>" into e unless an error is already set; returns -1
 * so callers can `return pp_fail(...)`. */
int pp_fail(pp_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copies s (at most max bytes) for an error message, replacing control
 * and non-ASCII bytes so one bad input cannot break the one-line rule. */
void pp_quote_excerpt(char *dst, size_t dstlen, const char *s, size_t len);

/* ---- line splitting (pprof_lines.c) -------------------------------- */

/* lineno is 1-based. */
typedef int (*pp_line_fn)(void *ctx, const char *line, size_t len,
                          uint64_t lineno);

/*
 * Splits a byte stream into lines without copying, except a line that
 * straddles two fed chunks (copied once into a carry buffer, bounded by
 * max_line).  The callback sees lines without "\n" or "\r\n".
 */
typedef struct pp_lines {
    char *carry;
    size_t carry_len, carry_cap;
    uint32_t max_line;
    uint64_t lineno;
    pp_err *err;
} pp_lines;

void pp_lines_init(pp_lines *l, uint32_t max_line, pp_err *err);
int pp_lines_feed(pp_lines *l, const char *data, size_t len, pp_line_fn fn,
                  void *ctx);
/*
 * Ends the stream.  A last line without "\n" is not delivered: Go always
 * ends its output with a newline, so such a line may have been cut short
 * (a dump truncated at runtime.Stack's buffer size, a dropped connection)
 * and parsing it could read a wrong number or name.  Returns 1 when such
 * a partial line is left (whitespace-only tails excepted), else 0; the
 * line itself (without "\r") is in *tail / *tail_len, valid until the next
 * call on l, for a parser that can tell a whole line from a cut one (a
 * pasted dump often just lacks its final newline).  *lineno is its number.
 */
int pp_lines_finish(pp_lines *l, const char **tail, size_t *tail_len,
                    uint64_t *lineno);
void pp_lines_free(pp_lines *l);

/* ---- labels (pprof_labels.c) --------------------------------------- */

typedef struct pp_label_pair {
    const char *k, *v;
    size_t klen, vlen;
} pp_label_pair;

/* Reusable buffers (no allocation per goroutine once warm) and a
 * one-entry cache: consecutive goroutines usually share a label set. */
typedef struct pp_labels {
    char *buf;
    size_t buf_cap;
    pp_label_pair *pairs;
    size_t pairs_cap;
    char *out;
    size_t out_cap;
    char *last;
    size_t last_len, last_cap;
    const char *last_result;
} pp_labels;

void pp_labels_init(pp_labels *l);
void pp_labels_free(pp_labels *l);

/*
 * Parses a Go-quoted label set, `{"k":"v", "k2":"v2"}` (debug=1, as
 * strconv.Quote writes it) or `{"k": "v"}` (debug=2 headers, as the
 * runtime's printquoted writes it), into "k=v,k2=v2" sorted by key, and
 * interns it.  *out is NULL for an empty set.  Returns -1 on malformed
 * input (*why says what), -2 when the builder failed.
 */
int pp_labels_parse(pp_labels *l, pprof_builder *b, const char *s, size_t len,
                    const char **out, const char **why);

/* Sorts pairs (in place) and interns "k=v,..."; -2 when the builder
 * failed. */
int pp_labels_join(pp_labels *l, pprof_builder *b, pp_label_pair *pairs,
                   size_t n, const char **out);

/* ---- numbers --------------------------------------------------------- */

/* Decimal digits at s[0..len) into *out; -1 when empty or not all
 * digits, -2 when the number does not fit 64 bits. */
int pp_parse_u64(const char *s, size_t len, uint64_t *out);

/* ---- text parser plumbing (pprof_common.c) --------------------------- */

/* Whether s[0..len) starts with the string literal lit. */
static inline int pp_starts(const char *s, size_t len, const char *lit,
                            size_t litlen)
{
    return len >= litlen && memcmp(s, lit, litlen) == 0;
}
#define PP_STARTS(s, len, lit) pp_starts((s), (len), (lit), sizeof(lit) - 1)

/*
 * What the debug=1 and debug=2 parsers both hold: where goroutines go,
 * where errors go, the label parser, and one stack's frames in a scratch
 * array reused from record to record (it grows up to max_frames).
 */
typedef struct pp_text {
    pprof_builder *b;
    pp_err *err;
    uint32_t max_frames;
    pp_labels labels;
    pprof_frame *frames;
    uint32_t nframes, cap;
    /* Lines skipped as unreadable (pprof_profile.skipped_lines), and the
     * first one's number and why, for the error when nothing was read. */
    uint64_t skipped;
    uint64_t first_skip_line;
    const char *first_skip_why;
    char first_skip_text[80]; /* quoted excerpt of that line, or ""    */
} pp_text;

void pp_text_init(pp_text *t, pprof_builder *b, const pprof_limits *lim,
                  pp_err *err);
void pp_text_free(pp_text *t);

/* Counts n lines as skipped; lineno, why (a string literal) and line
 * (may be NULL) describe the one at fault. */
void pp_text_skip(pp_text *t, uint64_t n, uint64_t lineno, const char *why,
                  const char *line, size_t len);

/* The error for a text input in which no goroutine could be read: the
 * first skipped line, its reason and an excerpt, as other parse errors
 * name theirs ("line 3: malformed file:line \"...\""); returns -1. */
int pp_text_nothing_read(pp_text *t);

/* Reports the builder's error at lineno; returns -1. */
int pp_text_builder_error(pp_text *t, uint64_t lineno);

/* Doubles the frame array up to max_frames: 0 when grown, 1 when already
 * at the limit (the caller reports it, naming its record), -1 when out of
 * memory (reported). */
int pp_text_grow(pp_text *t);

/* Appends a frame on the hot path; growing is the rare, out-of-line case.
 * Returns what pp_text_grow does. */
static inline int pp_text_push(pp_text *t, const char *func, const char *file,
                               uint32_t line)
{
    if (t->nframes == t->cap) {
        int rc = pp_text_grow(t);
        if (rc)
            return rc;
    }
    pprof_frame *f = &t->frames[t->nframes++];
    f->func = func;
    f->file = file;
    f->line = line;
    return 0;
}

/* ---- format parsers ------------------------------------------------- */

typedef struct pp_debug1 pp_debug1;
pp_debug1 *pp_debug1_new(pprof_builder *b, const pprof_limits *lim,
                         pp_err *err);
int pp_debug1_line(void *ctx, const char *line, size_t len, uint64_t lineno);
/* Ends the input; truncated is set when it stopped mid-record or holds
 * fewer goroutines than its "total N" line says, total_short when it holds
 * more.  *total is that N; *skipped the lines skipped. */
int pp_debug1_finish(pp_debug1 *d, int ended_mid_line, pprof_kind *kind,
                     uint64_t *total, int *truncated, int *total_short,
                     uint64_t *skipped);
void pp_debug1_free(pp_debug1 *d);

typedef struct pp_debug2 pp_debug2;
pp_debug2 *pp_debug2_new(pprof_builder *b, const pprof_limits *lim,
                         pp_err *err);
int pp_debug2_line(void *ctx, const char *line, size_t len, uint64_t lineno);
/* Ends the input.  tail/tail_len is a last line that had no newline
 * (NULL when none): it is read when it visibly completes the dump, else
 * the dump counts as cut.  Fails when no goroutine could be read. */
typedef struct pp_debug2_result {
    int truncated;
    uint64_t skipped;
    int has_goids;
    uint64_t max_goid;
} pp_debug2_result;
int pp_debug2_finish(pp_debug2 *d, const char *tail, size_t tail_len,
                     uint64_t tail_lineno, pp_debug2_result *r);
void pp_debug2_free(pp_debug2 *d);

/* Decodes a whole profile.proto message into b. */
int pp_proto_parse(pprof_builder *b, const unsigned char *data, size_t len,
                   uint32_t max_frames, pp_err *err, pprof_kind *kind,
                   int64_t *time_nanos);

/* ---- detection (pprof_detect.c) ------------------------------------ */

typedef enum pp_detect {
    PP_DETECT_MORE = 0,  /* need more bytes                              */
    PP_DETECT_GZIP,
    PP_DETECT_DEBUG1,
    PP_DETECT_DEBUG2,
    PP_DETECT_PROTO,
    PP_DETECT_NONE,      /* not a goroutine profile                      */
} pp_detect;

/* How far detection has judged a growing buffer, so that a stream fed in
 * small pieces is scanned once rather than again from its first byte on
 * every piece (which made detection quadratic in the undecided prefix).
 * Zero it before the first call; keep it while the bytes already passed
 * stay the same and only more are appended. */
typedef struct pp_detect_scan {
    size_t lead;     /* leading blank bytes seen                         */
    size_t line;     /* start of the first line not judged yet           */
    size_t texty_to; /* that line holds text and no newline up to here   */
} pp_detect_scan;

/* Decides from the first bytes; final says no more bytes will come.  On
 * PP_DETECT_NONE, why/why_len describe what was seen (for the message).
 * scan carries what earlier calls on a prefix of the same bytes saw. */
pp_detect pp_detect_format(const unsigned char *data, size_t len, int final,
                           pp_detect_scan *scan, char *why, size_t why_len);

/* ---- gzip (pprof_gzip.c) -------------------------------------------- */

typedef int (*pp_sink_fn)(void *ctx, const unsigned char *data, size_t len);

typedef struct pp_gunzip pp_gunzip;
pp_gunzip *pp_gunzip_new(uint64_t max_out, pp_err *err);
/* Inflates and hands decompressed bytes to sink as they come. */
int pp_gunzip_feed(pp_gunzip *g, const unsigned char *data, size_t len,
                   pp_sink_fn sink, void *ctx);
int pp_gunzip_finish(pp_gunzip *g);
void pp_gunzip_free(pp_gunzip *g);

#endif
