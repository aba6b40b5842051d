/*
 * pprof.h — the one in-memory model of a goroutine capture, and the entry
 * points that fill it from any of Go's goroutine profile formats.
 *
 * Every format Go serves for goroutines (debug=1 text, debug=2 dumps,
 * protobuf raw or gzipped, and the Go 1.26 goroutineleak profile in each of
 * those) is reduced to the same thing: a set of stack buckets, each a unique
 * (stack, wait reason, created-by, labels) with the number of goroutines in
 * it and what is known about how long they have been blocked.  Memory grows
 * with the number of unique buckets, never with the input size: parsers are
 * streaming and discard per-goroutine detail (ids, arguments, addresses) as
 * soon as it is read.
 *
 * All strings and frames in a profile live in the profile's arena and are
 * interned, so two equal function names in one profile are the same
 * pointer.  Frames are innermost first (frames[0] is where the goroutine is
 * parked), as Go prints them.
 *
 * Not for: deciding what a stack means (pkg/analysis), or fetching profiles
 * (pkg/capture).
 */
#ifndef PPROF_H
#define PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum pprof_format {
    PPROF_FORMAT_UNKNOWN = 0,
    PPROF_FORMAT_DEBUG1, /* "goroutine profile: total N" + "N @ 0x..." */
    PPROF_FORMAT_DEBUG2, /* "goroutine N [reason]:" full dump          */
    PPROF_FORMAT_PROTO,  /* profile.proto, raw or gzip-wrapped          */
} pprof_format;

typedef enum pprof_kind {
    PPROF_KIND_GOROUTINE = 0,
    PPROF_KIND_GOROUTINELEAK, /* Go 1.26 GOEXPERIMENT=goroutineleakprofile */
} pprof_kind;

/* Bucket flags. */
enum {
    PPROF_BF_LOCKED = 1u << 0,        /* "locked to thread"                   */
    PPROF_BF_ELIDED = 1u << 1,        /* "...additional frames elided..."     */
    PPROF_BF_WAIT_INFERRED = 1u << 2, /* wait_reason guessed from frames      */
    PPROF_BF_DURABLE = 1u << 3,       /* synctest "(durable)" blocking        */
    PPROF_BF_LEAKED = 1u << 4,        /* goroutineleak "(leaked)" marking     */
    PPROF_BF_SYNCTEST = 1u << 5,      /* inside a synctest bubble             */
};

typedef struct pprof_frame {
    const char *func; /* "main.(*fetcher).gather.func1": args/offsets stripped */
    const char *file; /* "/src/app/fetch.go", or NULL when the format lacks it */
    uint32_t line;    /* 0 when unknown                                       */
} pprof_frame;

/*
 * Blocked-minutes histogram bins (debug=2 prints minutes only once a
 * goroutine has been blocked for at least one minute, so bin 0 means "under
 * a minute, or not shown").  Upper bounds inclusive:
 *   0: 0   1: 1   2: 2-4   3: 5-9   4: 10-29   5: 30-59
 *   6: 60-179   7: 180-599   8: 600+
 */
#define PPROF_MINUTES_BINS 9
unsigned pprof_minutes_bin(uint64_t minutes);

typedef struct pprof_bucket {
    uint64_t count;            /* goroutines in this bucket                */
    const pprof_frame *frames; /* innermost first; interned                */
    uint32_t nframes;
    uint32_t flags;            /* PPROF_BF_*                               */
    /* The wait reason as Go prints it, without minutes and flags:
     * "chan send", "chan receive (nil chan)", "IO wait", "select",
     * "sync.WaitGroup.Wait", "semacquire", "running", "runnable"...
     * debug=1 and protobuf do not carry it; there it is inferred from the
     * runtime frames (PPROF_BF_WAIT_INFERRED) or NULL if nothing fits. */
    const char *wait_reason;
    uint64_t minutes_min;      /* blocked minutes across the bucket         */
    uint64_t minutes_max;
    uint64_t minutes_hist[PPROF_MINUTES_BINS];
    pprof_frame created_by;    /* .func NULL when unknown (debug=1/proto
                                  give no creator; main has none)          */
    const char *labels;        /* "k1=v1,k2=v2" sorted, or NULL            */
    /* Goroutines in this bucket whose id is <= pprof_limits.goid_cutoff
     * (debug=2 only; 0 when the cutoff is off or the format has no ids).
     * Go hands out ids in increasing order and a goroutine keeps its id
     * for life, so with the previous capture's max_goid as the cutoff,
     * "old" goroutines were already there then: a leak keeps its old
     * goroutines and adds new ones, a burst is all new. */
    uint64_t old;
} pprof_bucket;

typedef struct pprof_profile {
    pprof_format format;
    pprof_kind kind;
    bool gzipped;
    bool truncated;           /* input ended mid-record: counts are a floor */
    uint64_t total;           /* what the process reported ("total N"),
                                 else the sum of bucket counts              */
    uint64_t counted;         /* sum of bucket counts                       */
    /* debug=1 only: "total N" is smaller than the sum of the records'
     * counts.  Go never writes that; the file was edited or stitched
     * together.  total keeps the reported N, counted the records' sum. */
    bool total_short;
    /* Lines the parser could not read and skipped, from the first
     * goroutine header (or debug=1 header) on: runtime diagnostics in a
     * crash dump ("runtime: g1: unexpected return pc...", hex stack
     * dumps, "\tstack=[..."), register dumps, stray text, and every line
     * of a goroutine that could not be read whole (it is left out of the
     * buckets).  Text before the first header (a panic message, test or
     * log output) is a preamble, not counted.  0 for protobuf. */
    uint64_t skipped_lines;
    /* debug=2 only (has_goids false for debug=1 and protobuf): the
     * largest goroutine id in the dump, goroutine 0 (an M's system
     * stack) aside.  Passed as the next parse's goid_cutoff, it splits
     * each bucket into goroutines that existed then (old) and new ones. */
    bool has_goids;
    uint64_t max_goid;
    int64_t time_unix_nanos;  /* protobuf time_nanos; 0 when unknown        */
    size_t nbuckets;
    pprof_bucket *buckets;    /* order: as first seen in the input          */
    struct lw_arena *arena;   /* owns every string, frame and bucket        */
} pprof_profile;

/* Limits that make hostile or broken input fail cleanly. */
typedef struct pprof_limits {
    uint64_t max_input_bytes;        /* raw bytes fed (default 4 GiB)        */
    uint64_t max_decompressed_bytes; /* after gunzip (default 256 MiB)       */
    uint32_t max_line_bytes;         /* one text line (default 1 MiB)        */
    uint64_t max_buckets;            /* unique buckets (default 2,000,000)   */
    uint32_t max_frames;             /* frames per stack (default 4096)      */
    /* Not a limit: it rides along because every parse entry point takes
     * this struct.  Goroutines whose id is <= goid_cutoff count as "old"
     * in pprof_bucket.old (debug=2 only).  0 = off. */
    uint64_t goid_cutoff;
} pprof_limits;

void pprof_limits_default(pprof_limits *limits);

/*
 * Streaming parser: feed the bytes as they arrive (from a file, a socket),
 * then finish.  The format is detected from the first bytes (gzip magic,
 * protobuf, "goroutine profile: total", "goroutineleak profile: total",
 * "goroutine N [").  Errors are one line naming `name`, what is wrong and
 * where, e.g. "dump.txt: line 812: frame line without a goroutine header".
 */
typedef struct pprof_parser pprof_parser;

pprof_parser *pprof_parser_new(const char *name, const pprof_limits *limits);
/* 0 on success, -1 on error (the parser then refuses further input). */
int pprof_parser_feed(pprof_parser *p, const void *data, size_t len);
/* The profile (caller frees with pprof_profile_free), or NULL on error. */
pprof_profile *pprof_parser_finish(pprof_parser *p);
const char *pprof_parser_error(const pprof_parser *p);
void pprof_parser_free(pprof_parser *p);

/* Convenience wrappers.  On error they return NULL and write a one-line
 * message naming the file into err (errlen bytes, always terminated). */
pprof_profile *pprof_parse_file(const char *path, const pprof_limits *limits,
                                char *err, size_t errlen);
pprof_profile *pprof_parse_buffer(const void *data, size_t len,
                                  const char *name,
                                  const pprof_limits *limits, char *err,
                                  size_t errlen);

void pprof_profile_free(pprof_profile *p);

const char *pprof_format_name(pprof_format f); /* "debug=1", "debug=2", "protobuf" */
const char *pprof_kind_name(pprof_kind k);     /* "goroutine", "goroutineleak" */

/*
 * Builder: how parsers (and tests, and synthetic benchmarks) produce a
 * profile.  Samples with equal (frames, wait_reason, flags minus
 * WAIT_INFERRED, created_by, labels) merge into one bucket; strings are
 * copied and interned, so the caller's buffers may be reused at once.
 */
typedef struct pprof_sample {
    const pprof_frame *frames;
    uint32_t nframes;
    uint32_t flags;
    const char *wait_reason; /* NULL: infer from frames                   */
    uint64_t minutes;        /* blocked minutes of these goroutines        */
    pprof_frame created_by;
    const char *labels;
    uint64_t count;
    uint64_t old;            /* of count, goroutines with id <= cutoff
                                (pprof_bucket.old); at most count      */
} pprof_sample;

typedef struct pprof_builder pprof_builder;

pprof_builder *pprof_builder_new(const pprof_limits *limits);
/* 0 on success, -1 when a limit is hit or memory runs out. */
int pprof_builder_add(pprof_builder *b, const pprof_sample *s);
/* Consumes the builder.  total 0 means "sum of counts". */
pprof_profile *pprof_builder_finish(pprof_builder *b, pprof_format format,
                                    pprof_kind kind, uint64_t total);
void pprof_builder_free(pprof_builder *b);
/* Why the last pprof_builder_add failed ("" when it did not). */
const char *pprof_builder_error(const pprof_builder *b);

/* Infer a wait reason from the runtime frames of a stack (innermost first):
 * runtime.chansend → "chan send", runtime.selectgo → "select",
 * sync.(*WaitGroup).Wait → "sync.WaitGroup.Wait", internal/poll → "IO wait",
 * time.Sleep → "sleep"...  NULL when nothing fits. */
const char *pprof_infer_wait_reason(const pprof_frame *frames,
                                    uint32_t nframes);

/*
 * How the parsers fill the model, so that one capture reads the same in
 * every format:
 * - Frames are those Go's default traceback shows: runtime.goexit,
 *   leading runtime.* / internal/runtime/ frames and unexported runtime.*
 *   frames are dropped (protobuf and GOTRACEBACK=system dumps keep them
 *   in the input; a stack of nothing but runtime frames is kept whole).
 *   Generic instances read "F[...]" in every format.
 * - Status markers become flags and leave wait_reason: "(leaked)" →
 *   PPROF_BF_LEAKED, "(durable)" and Go 1.24's "(synctest)" →
 *   PPROF_BF_DURABLE, ", synctest bubble N" / ", synctest group N" →
 *   PPROF_BF_SYNCTEST; "(scan)" is dropped.  "chan receive (nil chan)"
 *   stays a reason of its own.
 * - debug=1 hides the runtime frames of channel and select waits, so
 *   those buckets have wait_reason NULL there; protobuf infers them from
 *   the full stack, "(nil chan)" included.
 * - A goroutineleak?debug=2 dump is a full goroutine dump (kind
 *   GOROUTINE) whose leaked goroutines carry PPROF_BF_LEAKED.
 * - Dumps as people paste them read like the dump itself: lines
 *   indented (markdown, test output) by the indentation of their
 *   goroutine headers, whitespace-only lines as blank, a goroutine header
 *   glued to earlier output without a newline, a last line without its
 *   newline when it completes the goroutine ("created by" and its
 *   file:line), and a header first seen after any amount of log output.
 *   What cannot be read is skipped and counted (skipped_lines); a text
 *   dump in which no goroutine can be read at all is an error.
 * - Samples of zero goroutines add no bucket; NUL bytes in names read '?'.
 * - A zero field in pprof_limits means that limit's default.
 */

#endif
