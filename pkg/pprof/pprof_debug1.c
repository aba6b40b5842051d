/*
 * pprof_debug1.c — runtime/pprof's legacy text profile, which
 * /debug/pprof/goroutine?debug=1 and /debug/pprof/goroutineleak?debug=1
 * serve:
 *
 *   goroutine profile: total 18
 *   3 @ 0x4845ee 0x416eac 0x416d97 0x51ac1e 0x48b4e1
 *   # labels: {"handler":"/api", "tenant":"a"}
 *   #	0x51ac1d	main.main.func4+0x1d	/src/app/main.go:44
 *   <blank line>
 *
 * Records are already merged by stack and labels; columns are aligned by
 * text/tabwriter, so fields are separated by one or more tabs.  A frame
 * the runtime could not symbolise is "#\t0x4384e5" alone.  There is no
 * wait reason, blocked time or creator: the reason is inferred from the
 * frames (pprof_infer.c), and runtime/pprof has already hidden the
 * leading runtime frames that would tell a channel wait from a select.
 *
 * A profile pasted with indentation reads as itself (the header's
 * indentation is taken off every line); a line that fits nowhere is
 * skipped and counted, a record that cannot be read whole is left out
 * (its lines counted), and a "total N" below the records' sum is
 * reported (pprof_profile.total_short).
 *
 * Not for: debug=2 dumps (pprof_debug2.c).
 */
#include "pprof_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct pp_debug1 {
    pp_text t; /* builder, errors, labels, frames */
    uint64_t lineno;

    int have_header;
    pprof_kind kind;
    uint64_t total;

    int in_record;
    uint64_t count;
    const char *label_set;
    uint64_t rec_first_line; /* the record's "N @ ..." line            */
    uint64_t rec_skipped;    /* t.skipped when it started              */
    int broken;              /* skipping the rest of an unreadable one */

    /* What the header line was indented by (a profile pasted into
     * markdown or a test log); stripped from every later line. */
    char indent[32];
    size_t indent_len;
};

pp_debug1 *pp_debug1_new(pprof_builder *b, const pprof_limits *lim,
                         pp_err *err)
{
    pp_debug1 *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    pp_text_init(&d->t, b, lim, err);
    return d;
}

void pp_debug1_free(pp_debug1 *d)
{
    if (!d)
        return;
    pp_text_free(&d->t);
    free(d);
}

static int bad_line(pp_debug1 *d, const char *what, const char *line,
                    size_t len, uint64_t lineno)
{
    char ex[80];
    pp_quote_excerpt(ex, sizeof(ex), line, len < 60 ? len : 60);
    return pp_fail(d->t.err, "line %" PRIu64 ": %s: \"%s\"", lineno, what, ex);
}

/*
 * A record that cannot be read whole is left out rather than added with a
 * wrong stack or count: its lines so far, and the rest of it up to the
 * next blank line or record (d->broken), count as skipped.
 */
static int drop_record(pp_debug1 *d, const char *why, const char *line,
                       size_t len, uint64_t lineno)
{
    uint64_t n = 1;
    if (d->in_record) {
        d->t.skipped = d->rec_skipped;
        n = lineno - d->rec_first_line + 1;
    }
    pp_text_skip(&d->t, n, lineno, why, line, len);
    d->in_record = 0;
    d->broken = 1;
    return 0;
}

static int end_record(pp_debug1 *d, uint64_t lineno)
{
    d->in_record = 0;
    uint32_t flags = 0;
    const char *wait = NULL;
    const char *guess = pprof_infer_wait_reason(d->t.frames, d->t.nframes);
    if (guess) {
        wait = pp_intern(d->t.b, guess, strlen(guess));
        if (!wait)
            return pp_text_builder_error(&d->t, lineno);
        flags |= PPROF_BF_WAIT_INFERRED;
    }
    uint32_t n = pp_frames_normalize(d->t.frames, d->t.nframes);
    if (pp_builder_add_interned(d->t.b, d->t.frames, n, wait, flags, 0, NULL,
                                d->label_set, d->count, 0) < 0)
        return pp_text_builder_error(&d->t, lineno);
    return 0;
}

static int parse_header(pp_debug1 *d, const char *line, size_t len,
                        uint64_t lineno)
{
    size_t pre;
    if (PP_STARTS(line, len, "goroutine profile: total ")) {
        d->kind = PPROF_KIND_GOROUTINE;
        pre = sizeof("goroutine profile: total ") - 1;
    } else if (PP_STARTS(line, len, "goroutineleak profile: total ")) {
        d->kind = PPROF_KIND_GOROUTINELEAK;
        pre = sizeof("goroutineleak profile: total ") - 1;
    } else {
        return bad_line(d, "expected \"goroutine profile: total N\"", line,
                        len, lineno);
    }
    int rc = pp_parse_u64(line + pre, len - pre, &d->total);
    if (rc == -2)
        return pp_fail(d->t.err, "line %" PRIu64 ": total overflows 64 bits",
                       lineno);
    if (rc < 0)
        return bad_line(d, "malformed total", line, len, lineno);
    d->have_header = 1;
    return 0;
}

static int start_record(pp_debug1 *d, const char *line, size_t len,
                        uint64_t lineno)
{
    d->in_record = 1;
    d->rec_first_line = lineno;
    d->rec_skipped = d->t.skipped;
    const char *at = memchr(line, ' ', len);
    if (!at || (size_t)(line + len - at) < 2 || at[1] != '@')
        return drop_record(d, "malformed record header", line, len, lineno);
    uint64_t n;
    int rc = pp_parse_u64(line, (size_t)(at - line), &n);
    if (rc == -2)
        return drop_record(d, "count overflows 64 bits", line, len, lineno);
    if (rc < 0)
        return drop_record(d, "malformed record count", line, len, lineno);
    d->count = n;
    d->t.nframes = 0;
    d->label_set = NULL;
    return 0;
}

static int push_frame(pp_debug1 *d, const char *func, const char *file,
                      uint32_t ln, uint64_t lineno)
{
    int rc = pp_text_push(&d->t, func, file, ln);
    if (rc > 0)
        return pp_fail(d->t.err,
                       "line %" PRIu64 ": stack has more than %" PRIu32
                       " frames (limit; raise with --max-frames)",
                       lineno, d->t.max_frames);
    return rc;
}

/* "#\t0x51ac1d\tmain.main.func4+0x1d\t\t/src/app/main.go:44" */
static int parse_frame(pp_debug1 *d, const char *line, size_t len,
                       uint64_t lineno)
{
    const char *p = line + 2, *end = line + len;
    const char *addr = p;
    while (p < end && *p != '\t')
        p++;
    size_t addrlen = (size_t)(p - addr);
    while (p < end && *p == '\t')
        p++;
    if (p == end) {
        /* No symbol: the address is all there is, and it still tells
         * this stack from others in the same process. */
        if (addrlen == 0)
            return drop_record(d, "empty frame line", line, len, lineno);
        const char *fn = pp_intern(d->t.b, addr, addrlen);
        if (!fn)
            return pp_text_builder_error(&d->t, lineno);
        return push_frame(d, fn, NULL, 0, lineno);
    }
    const char *name = p;
    while (p < end && *p != '\t')
        p++;
    const char *name_end = p;
    /* Drop "+0x1d": the offset is per-binary noise. */
    for (const char *q = name_end; q > name; q--) {
        if (q[-1] == '+') {
            if (name_end - q >= 2 && q[0] == '0' && q[1] == 'x')
                name_end = q - 1;
            break;
        }
    }
    while (p < end && *p == '\t')
        p++;
    const char *fs = p;
    const char *colon = fs < end ? memrchr(fs, ':', (size_t)(end - fs)) : NULL;
    uint64_t ln = 0;
    if (!colon || colon == fs || name_end == name ||
        pp_parse_u64(colon + 1, (size_t)(end - colon - 1), &ln) < 0 ||
        ln > UINT32_MAX)
        return drop_record(d, "malformed frame line", line, len, lineno);
    const char *fn = pp_intern(d->t.b, name, (size_t)(name_end - name));
    const char *file = fn ? pp_intern(d->t.b, fs, (size_t)(colon - fs)) : NULL;
    if (!fn || !file)
        return pp_text_builder_error(&d->t, lineno);
    return push_frame(d, fn, file, (uint32_t)ln, lineno);
}

int pp_debug1_line(void *ctx, const char *line, size_t len, uint64_t lineno)
{
    pp_debug1 *d = ctx;
    d->lineno = lineno;
    if (!d->have_header) {
        /* Tolerate blank lines and indentation before the header (Go
         * writes neither, but editors and shells add them), as format
         * detection does; the header's indentation is then taken off
         * every line after it. */
        size_t w = 0;
        while (w < len && (line[w] == ' ' || line[w] == '\t'))
            w++;
        if (w == len)
            return 0;
        if (w <= sizeof(d->indent)) {
            memcpy(d->indent, line, w);
            d->indent_len = w;
        }
        return parse_header(d, line + w, len - w, lineno);
    }
    if (d->indent_len && len >= d->indent_len &&
        memcmp(line, d->indent, d->indent_len) == 0) {
        line += d->indent_len;
        len -= d->indent_len;
    }
    if (len && (line[0] == ' ' || line[0] == '\t')) {
        /* Whitespace-only lines are the blank lines of an indented
         * paste; anything else indented is not Go's. */
        size_t w = 0;
        while (w < len && (line[w] == ' ' || line[w] == '\t'))
            w++;
        if (w == len)
            len = 0;
    }
    if (len == 0) {
        d->broken = 0;
        if (d->in_record)
            return end_record(d, lineno);
        return 0;
    }
    char c = line[0];
    if (d->broken && !(c >= '0' && c <= '9')) {
        pp_text_skip(&d->t, 1, lineno, "line of an unreadable record", line,
                     len);
        return 0;
    }
    d->broken = 0;
    if (c >= '0' && c <= '9') {
        if (d->in_record && end_record(d, lineno) < 0)
            return -1;
        return start_record(d, line, len, lineno);
    }
    if (c == '#') {
        if (!d->in_record) {
            pp_text_skip(&d->t, 1, lineno, "frame line outside a record", line,
                         len);
            return 0;
        }
        if (len >= 2 && line[1] == '\t')
            return parse_frame(d, line, len, lineno);
        if (PP_STARTS(line, len, "# labels: ")) {
            const size_t pre = sizeof("# labels: ") - 1;
            const char *why;
            int rc = pp_labels_parse(&d->t.labels, d->t.b, line + pre, len - pre,
                                     &d->label_set, &why);
            if (rc == -2)
                return pp_text_builder_error(&d->t, lineno);
            if (rc < 0) {
                (void)why;
                return drop_record(d, "malformed labels", line, len, lineno);
            }
            return 0;
        }
    }
    /* One line nobody can read does not make the rest unreadable. */
    pp_text_skip(&d->t, 1, lineno, "unrecognised line", line, len);
    return 0;
}

int pp_debug1_finish(pp_debug1 *d, int ended_mid_line, pprof_kind *kind,
                     uint64_t *total, int *truncated, int *total_short,
                     uint64_t *skipped)
{
    *truncated = ended_mid_line;
    *total_short = 0;
    *skipped = d->t.skipped;
    *kind = d->kind;
    if (!d->have_header)
        return pp_fail(d->t.err, "debug=1 profile without its "
                               "\"goroutine profile: total N\" line");
    if (d->in_record) {
        /* Go ends every record with a blank line; a record without one
         * at the end is kept unless its last line was cut short. */
        if (ended_mid_line || d->t.nframes == 0)
            d->in_record = 0;
        else if (end_record(d, d->lineno) < 0)
            return -1;
    }
    uint64_t counted = pp_builder_counted(d->t.b);
    *skipped = d->t.skipped;
    /* Records there were, and none could be read: refused, naming the
     * first bad line, as a dump with no readable goroutine is. */
    if (counted == 0 && d->t.first_skip_why && !*truncated)
        return pp_text_nothing_read(&d->t);
    if (counted < d->total)
        *truncated = 1;
    /* The reverse is never Go's output: records were added or the total
     * edited.  The records are what we have, but the caller is told. */
    if (counted > d->total)
        *total_short = 1;
    *total = d->total;
    return 0;
}
