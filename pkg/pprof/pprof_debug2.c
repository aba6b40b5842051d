/*
 * pprof_debug2.c — Go's full goroutine dumps: /debug/pprof/goroutine?
 * debug=2, runtime.Stack(buf, true), panic and fatal-error output and
 * SIGQUIT dumps, from Go 1.19 to Go 1.26.
 *
 * One goroutine is a header, its frames and its creator:
 *
 *   goroutine 42 [chan receive, 12 minutes, locked to thread]:
 *   main.(*fetcher).gather.func1({0x5a0f00, 0xc000010000}, ...)
 *   	/src/app/fetch.go:83 +0x1d
 *   ...
 *   created by main.(*fetcher).gather in goroutine 7
 *   	/src/app/fetch.go:80 +0x95
 *
 * The header may carry " gp=0x.. m=N mp=0x.." (GOTRACEBACK=system and
 * crashes, Go 1.23+), and its status "(leaked)" (goroutineleak), "(scan)",
 * "(durable)" (Go 1.25+) or "(synctest)" (Go 1.24) and ", synctest bubble
 * N" (Go 1.25+) or ", synctest group N" (Go 1.24) inside synctest bubbles,
 * ", N minutes", ", locked to thread" and " labels:{...}"
 * (GODEBUG=tracebacklabels=1).  Stacks may have "...N frames elided..."
 * (Go 1.21+) or "...additional frames elided..." (older), and be followed
 * by "[originating from goroutine K]:" ancestor stacks
 * (GODEBUG=tracebackancestors), which are skipped: they describe another
 * goroutine.  Text before the first goroutine (a panic message, SIGQUIT
 * registers, test output) and "runtime stack:" sections are skipped too.
 *
 * Dumps are also read as people paste them: indented by the indentation
 * of their headers (markdown, test logs), a header glued to the end of
 * other output, a last line without its newline when it closes its
 * goroutine.  Anything else after the first header that cannot be read is
 * skipped and counted (pprof_profile.skipped_lines): runtime diagnostics
 * ("runtime: g 1: unexpected return pc ...", "stack: frame={...}" and hex
 * dumps, "	stack=[..."), register dumps, "exit status 2".  A goroutine
 * that cannot be read whole (a function line without its file:line, a
 * malformed header) is left out, its lines counted; a dump in which no
 * goroutine can be read is an error.
 *
 * Goroutine ids are read for two figures only, never stored per
 * goroutine: the largest id, and per bucket how many ids are at or below
 * pprof_limits.goid_cutoff.
 *
 * Each line is looked at once, in place; arguments, offsets, goroutine
 * ids and fp/sp/pc are never copied.  A goroutine's frames go into a
 * reusable scratch array and then into the builder, so memory follows
 * unique stacks, not the dump's size.
 *
 * Not for: debug=1 ("N @ 0x...") profiles (pprof_debug1.c).
 */
#include "pprof_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define PP_D2_CACHE_DEPTH 64

enum d2_state {
    D2_OUTSIDE = 0, /* before the first goroutine, or after a blank line */
    D2_IN_G,        /* reading a goroutine's own stack                   */
    D2_ANCESTORS,   /* "[originating from goroutine K]:" sections        */
    D2_SYSSTACK,    /* "runtime stack:" of a fatal error                 */
    D2_BROKEN,      /* the rest of a goroutine that cannot be read       */
};

struct pp_debug2 {
    pp_text t; /* builder, errors, labels, frames */
    enum d2_state state;
    uint64_t lineno; /* last line seen, for errors raised at the end */

    /* the goroutine being read */
    uint64_t goid;
    const char *pending_func; /* function line waiting for its file line */
    int pending_cb;           /* "created by" waiting for its file line   */
    int cb_done;
    int unavailable; /* "goroutine running on other thread" */
    pprof_frame cb;
    const char *wait;
    const char *label_set;
    uint32_t flags;
    uint64_t minutes;
    uint64_t g_first_line; /* its header's line number                  */
    const char *cur;       /* the line being read (indentation taken off) */
    size_t cur_len;
    uint64_t g_skipped;    /* t.skipped when its header was read        */

    int seen_header;       /* any goroutine header so far               */
    uint64_t goid_cutoff;  /* pprof_limits.goid_cutoff                  */
    uint64_t max_goid;
    /* What the current goroutine header was indented by (a dump pasted
     * into markdown or printed by a test), taken off the lines after it. */
    char indent[32];
    size_t indent_len;

    /*
     * What the previous goroutine had at each depth.  Dumps list the
     * goroutines of a leak one after another, so most lines repeat the
     * line at the same depth one goroutine earlier: comparing against
     * that interned string is cheaper than hashing the line again.
     */
    const char *seen_func[PP_D2_CACHE_DEPTH];
    const char *seen_file[PP_D2_CACHE_DEPTH];
    const char *seen_cb_func, *seen_cb_file, *seen_wait;
};

pp_debug2 *pp_debug2_new(pprof_builder *b, const pprof_limits *lim,
                         pp_err *err)
{
    pp_debug2 *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    pp_text_init(&d->t, b, lim, err);
    d->goid_cutoff = lim->goid_cutoff;
    return d;
}

void pp_debug2_free(pp_debug2 *d)
{
    if (!d)
        return;
    pp_text_free(&d->t);
    free(d);
}

/* Interns s[0..n), trying *seen first; remembers the result in *seen. */
static const char *intern_seen(pp_debug2 *d, const char **seen, const char *s,
                               size_t n)
{
    const char *c = *seen;
    if (c && pp_str_of(c)->len == n && memcmp(c, s, n) == 0)
        return c;
    c = pp_intern(d->t.b, s, n);
    if (c)
        *seen = c;
    return c;
}

static void reset_goroutine(pp_debug2 *d)
{
    d->t.nframes = 0;
    d->pending_func = NULL;
    d->pending_cb = 0;
    d->cb_done = 0;
    d->unavailable = 0;
    memset(&d->cb, 0, sizeof(d->cb));
    d->wait = NULL;
    d->label_set = NULL;
    d->flags = 0;
    d->minutes = 0;
}

/*
 * A goroutine that cannot be read whole is left out rather than added
 * with a wrong stack: its lines from the header to `last` count as
 * skipped (lines of it already counted one by one are not counted
 * twice).  `at` and `why` name the line at fault.
 */
static void drop_goroutine(pp_debug2 *d, uint64_t last, uint64_t at,
                           const char *why)
{
    d->t.skipped = d->g_skipped;
    uint64_t n = last >= d->g_first_line ? last - d->g_first_line + 1 : 1;
    int current = at == d->lineno && d->cur;
    pp_text_skip(&d->t, n, at, why, current ? d->cur : NULL,
                 current ? d->cur_len : 0);
    reset_goroutine(d);
}

/* The rest of the goroutine, up to a blank line or the next header, is
 * skipped too (D2_BROKEN): its frames would otherwise read as crash
 * chatter. */
static int break_goroutine(pp_debug2 *d, uint64_t lineno, const char *why)
{
    drop_goroutine(d, lineno, lineno, why);
    d->state = D2_BROKEN;
    return 0;
}

static int on_header(pp_debug2 *d, const char *line, size_t len,
                     uint64_t lineno);
static int end_goroutine(pp_debug2 *d, uint64_t lineno);

static int is_header(const char *line, size_t len)
{
    return len > 10 && line[0] == 'g' && memcmp(line, "goroutine ", 10) == 0 &&
           line[10] >= '0' && line[10] <= '9';
}

/* Offset of a goroutine header glued to the end of other output ("...done
 * goroutine 7 [select]:", printed after text that had no newline), or 0. */
static size_t find_glued(const char *line, size_t len)
{
    if (len < 14 || line[len - 1] != ':' || line[len - 2] != ']')
        return 0;
    const char *p = line + 1, *end = line + len;
    while ((p = memmem(p, (size_t)(end - p), "goroutine ", 10)) != NULL) {
        const char *q = p + 10;
        const char *ds = q;
        while (q < end && *q >= '0' && *q <= '9')
            q++;
        if (q > ds && end - q >= 2 && q[0] == ' ' &&
            (q[1] == '[' || PP_STARTS(q, (size_t)(end - q), " gp=")))
            return (size_t)(p - line);
        p += 10;
    }
    return 0;
}

/* 1 when line ended in a glued header (now read), 0 when not, -1 failed. */
static int glued_header(pp_debug2 *d, const char *line, size_t len,
                        uint64_t lineno)
{
    size_t k = find_glued(line, len);
    if (!k)
        return 0;
    if ((d->state == D2_IN_G || d->state == D2_ANCESTORS) &&
        end_goroutine(d, lineno) < 0)
        return -1;
    d->indent_len = 0;
    return on_header(d, line + k, len - k, lineno) < 0 ? -1 : 1;
}

/* lineno: the first line after the goroutine (blank, header, chatter). */
static int end_goroutine(pp_debug2 *d, uint64_t lineno)
{
    d->state = D2_OUTSIDE;
    if (d->pending_func || d->pending_cb) {
        drop_goroutine(d, lineno - 1, lineno - 1,
                       "stack ends after a function line without its "
                       "file:line");
        return 0;
    }
    /* "goroutine 0" is an M's system stack in crash dumps, not a
     * goroutine anyone started. */
    if (d->goid == 0)
        return 0;
    uint64_t old = d->goid_cutoff && d->goid <= d->goid_cutoff;
    uint32_t n = pp_frames_normalize(d->t.frames, d->t.nframes);
    if (pp_builder_add_interned(d->t.b, d->t.frames, n, d->wait, d->flags,
                                d->minutes, d->cb.func ? &d->cb : NULL,
                                d->label_set, 1, old) < 0)
        return pp_text_builder_error(&d->t, lineno);
    return 0;
}

static int push_frame(pp_debug2 *d, const char *func, const char *file,
                      uint32_t line, uint64_t lineno)
{
    int rc = pp_text_push(&d->t, func, file, line);
    if (rc > 0)
        return pp_fail(d->t.err,
                       "line %" PRIu64 ": goroutine %" PRIu64
                       " has more than %" PRIu32
                       " frames (limit; raise with --max-frames)",
                       lineno, d->goid, d->t.max_frames);
    return rc;
}

/* "\t/path/to/file.go:123 +0x1d fp=0x.. sp=0x.. pc=0x..": the last ':'
 * separates path and line (paths may hold ':' and spaces; the tail never
 * holds ':').  0 read, 1 malformed, -1 failed. */
static int parse_file_line(pp_debug2 *d, const char *s, size_t len,
                           const char **file, uint32_t *line,
                           const char **seen, uint64_t lineno)
{
    /* The tail after the colon is short (" +0x1d"), so a plain backward
     * loop beats a memrchr call. */
    const char *colon = NULL;
    for (const char *q = s + len; q > s; q--)
        if (q[-1] == ':') {
            colon = q - 1;
            break;
        }
    if (colon && colon > s) {
        const char *num = colon + 1, *end = s + len;
        const char *q = num;
        uint64_t v = 0;
        while (q < end && *q >= '0' && *q <= '9' && v <= UINT32_MAX) {
            v = v * 10 + (uint64_t)(*q - '0');
            q++;
        }
        if (q > num && (q == end || *q == ' ') && v <= UINT32_MAX) {
            *file = seen ? intern_seen(d, seen, s, (size_t)(colon - s))
                         : pp_intern(d->t.b, s, (size_t)(colon - s));
            if (!*file)
                return pp_text_builder_error(&d->t, lineno);
            *line = (uint32_t)v;
            return 0;
        }
    }
    (void)lineno;
    return 1; /* malformed: the caller drops the goroutine */
}

static int on_tab_line(pp_debug2 *d, const char *line, size_t len,
                       uint64_t lineno)
{
    const char *s = line + 1;
    size_t n = len - 1;
    if (d->pending_cb) {
        int rc = parse_file_line(d, s, n, &d->cb.file, &d->cb.line,
                                 &d->seen_cb_file, lineno);
        if (rc)
            return rc < 0 ? -1 : break_goroutine(d, lineno, "malformed file:line");
        d->pending_cb = 0;
        d->cb_done = 1;
        return 0;
    }
    if (d->pending_func) {
        const char *file;
        uint32_t ln;
        const char **seen = d->t.nframes < PP_D2_CACHE_DEPTH
                                ? &d->seen_file[d->t.nframes]
                                : NULL;
        int rc = parse_file_line(d, s, n, &file, &ln, seen, lineno);
        if (rc)
            return rc < 0 ? -1 : break_goroutine(d, lineno, "malformed file:line");
        const char *fn = d->pending_func;
        d->pending_func = NULL;
        return push_frame(d, fn, file, ln, lineno);
    }
    if (PP_STARTS(s, n, "goroutine running on other thread")) {
        d->unavailable = 1;
        return 0;
    }
    /* "\tstack=[0x..-0x.." after a "runtime: gN: frame.sp=" diagnostic,
     * or other indented chatter: one line, not the goroutine's fault. */
    pp_text_skip(&d->t, 1, lineno, "file line without a function line",
                 line, len);
    return 0;
}

static int on_created_by(pp_debug2 *d, const char *line, size_t len,
                         uint64_t lineno)
{
    const size_t pre = sizeof("created by ") - 1;
    size_t end = len;
    /* "created by F in goroutine K" (Go 1.21+) or "created by F". */
    size_t j = len;
    while (j > pre && line[j - 1] >= '0' && line[j - 1] <= '9')
        j--;
    const size_t ing = sizeof(" in goroutine ") - 1;
    if (j < len && j >= pre + ing && memcmp(line + j - ing, " in goroutine ", ing) == 0)
        end = j - ing;
    if (end <= pre)
        return break_goroutine(d, lineno, "\"created by\" without a function");
    d->cb.func = intern_seen(d, &d->seen_cb_func, line + pre, end - pre);
    if (!d->cb.func)
        return pp_text_builder_error(&d->t, lineno);
    d->pending_cb = 1;
    return 0;
}

static int on_func_line(pp_debug2 *d, const char *line, size_t len,
                        uint64_t lineno)
{
    if (d->pending_func || d->pending_cb)
        return break_goroutine(d, lineno,
                               "expected the file:line of the line before");
    /* Arguments are the last parenthesised group: names may hold '('
     * ("pkg.(*T).m") but argument lists never do. */
    const char *paren = NULL;
    if (len && line[len - 1] == ')')
        for (const char *q = line + len - 1; q > line; q--)
            if (q[-1] == '(') {
                paren = q - 1;
                break;
            }
    if (paren && paren > line) {
        size_t n = (size_t)(paren - line);
        const char *fn = d->t.nframes < PP_D2_CACHE_DEPTH
                             ? intern_seen(d, &d->seen_func[d->t.nframes], line, n)
                             : pp_intern(d->t.b, line, n);
        if (!fn)
            return pp_text_builder_error(&d->t, lineno);
        d->pending_func = fn;
        return 0;
    }
    if (PP_STARTS(line, len, "non-Go function")) {
        /* cgo frames without a symbolizer: no file line follows. */
        const char *fn = pp_intern(d->t.b, "non-Go function", 15);
        if (!fn)
            return pp_text_builder_error(&d->t, lineno);
        return push_frame(d, fn, NULL, 0, lineno);
    }
    int g = glued_header(d, line, len, lineno);
    if (g)
        return g < 0 ? -1 : 0;
    if (d->t.nframes || d->unavailable) {
        /* Text right after a whole stack is crash chatter: the register
         * dump GOTRACEBACK=crash prints without a blank line, "exit
         * status 2" from go run, or a runtime diagnostic such as
         * "runtime: g 1: unexpected return pc for ..." (Go's own
         * traceback stopped there too).  The stack ends there. */
        if (end_goroutine(d, lineno) < 0)
            return -1;
        pp_text_skip(&d->t, 1, lineno, "text after a stack", line, len);
        return 0;
    }
    /* Before any frame: "runtime: g 0 gp=..: unknown pc" and the hex
     * stack dump after it, in a crash dump's goroutine 0. */
    pp_text_skip(&d->t, 1, lineno, "unrecognised line in a goroutine", line,
                 len);
    return 0;
}

static int parse_status(pp_debug2 *d, const char *st, size_t n,
                        uint64_t lineno)
{
    /* Labels, when present, close the status: test the last byte before
     * searching. */
    const char *lab = n && st[n - 1] == '}' ? memmem(st, n, " labels:{", 9) : NULL;
    if (lab) {
        const char *ls = lab + 8;
        const char *why;
        int rc = pp_labels_parse(&d->t.labels, d->t.b, ls, (size_t)(st + n - ls),
                                 &d->label_set, &why);
        if (rc == -2)
            return pp_text_builder_error(&d->t, lineno);
        if (rc < 0) {
            (void)why;
            return break_goroutine(d, lineno, "malformed goroutine labels");
        }
        n = (size_t)(lab - st);
    }
    const char *comma = memchr(st, ',', n);
    size_t rn = comma ? (size_t)(comma - st) : n;
    /* Status markers the runtime appends to the reason, innermost last. */
    for (;;) {
        if (rn >= 9 && memcmp(st + rn - 9, " (leaked)", 9) == 0) {
            d->flags |= PPROF_BF_LEAKED;
            rn -= 9;
        } else if (rn >= 10 && memcmp(st + rn - 10, " (durable)", 10) == 0) {
            d->flags |= PPROF_BF_DURABLE;
            rn -= 10;
        } else if (rn >= 11 && memcmp(st + rn - 11, " (synctest)", 11) == 0) {
            /* Go 1.24's name for the durable (bubble-blocking) waits. */
            d->flags |= PPROF_BF_DURABLE | PPROF_BF_SYNCTEST;
            rn -= 11;
        } else if (rn >= 7 && memcmp(st + rn - 7, " (scan)", 7) == 0) {
            rn -= 7;
        } else {
            break;
        }
    }
    if (rn) {
        d->wait = intern_seen(d, &d->seen_wait, st, rn);
        if (!d->wait)
            return pp_text_builder_error(&d->t, lineno);
    }
    const char *p = comma, *end = st + n;
    while (p && p < end) {
        p++; /* ',' */
        while (p < end && *p == ' ')
            p++;
        const char *q = memchr(p, ',', (size_t)(end - p));
        const char *se = q ? q : end;
        size_t sn = (size_t)(se - p);
        if (sn > 8 && memcmp(se - 8, " minutes", 8) == 0) {
            /* Saturated, not rejected: Go prints an int64 here (and no
             * real wait reaches 2^63 minutes), so a larger figure is a
             * damaged or forged line, and one such goroutine must not
             * cost the rest of the capture.  Everything from 2^63 up,
             * beyond 64 bits included, becomes INT64_MAX: minutes stay
             * non-negative wherever they are signed, as in JSON. */
            uint64_t m;
            int rc = pp_parse_u64(p, sn - 8, &m);
            if (rc == -2 || (rc == 0 && m > (uint64_t)INT64_MAX))
                d->minutes = (uint64_t)INT64_MAX;
            else if (rc == 0)
                d->minutes = m;
        } else if (sn == 16 && memcmp(p, "locked to thread", 16) == 0) {
            d->flags |= PPROF_BF_LOCKED;
        } else if (PP_STARTS(p, sn, "synctest")) {
            d->flags |= PPROF_BF_SYNCTEST;
        }
        p = q;
    }
    return 0;
}

static int on_header(pp_debug2 *d, const char *line, size_t len,
                     uint64_t lineno)
{
    const size_t pre = sizeof("goroutine ") - 1;
    const char *p = line + pre, *end = line + len;
    const char *ds = p;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    uint64_t goid;
    int rc = pp_parse_u64(ds, (size_t)(p - ds), &goid);
    reset_goroutine(d);
    d->seen_header = 1;
    d->g_first_line = lineno;
    d->g_skipped = d->t.skipped;
    d->goid = 0;
    if (rc == -2)
        return break_goroutine(d, lineno, "goroutine id overflows 64 bits");
    const char *open = NULL;
    if (rc == 0 && end - p >= 2 && p[0] == ' ') {
        if (p[1] == '[')
            open = p + 1;
        else if (PP_STARTS(p, (size_t)(end - p), " gp="))
            open = memchr(p, '[', (size_t)(end - p));
    }
    if (!open || len < 2 || end[-2] != ']' || end[-1] != ':' ||
        open + 1 > end - 2)
        return break_goroutine(d, lineno, "malformed goroutine header");
    d->goid = goid;
    if (goid > d->max_goid)
        d->max_goid = goid;
    d->state = D2_IN_G;
    return parse_status(d, open + 1, (size_t)(end - 2 - (open + 1)), lineno);
}

int pp_debug2_line(void *ctx, const char *line, size_t len, uint64_t lineno)
{
    pp_debug2 *d = ctx;
    d->lineno = lineno;
    const char *raw = line;
    if (d->indent_len && len >= d->indent_len &&
        memcmp(line, d->indent, d->indent_len) == 0) {
        line += d->indent_len;
        len -= d->indent_len;
    }
    if (len && (line[0] == ' ' || line[0] == '\t')) {
        /* Whitespace-only lines are the blank lines of an indented paste;
         * an indented header sets the indentation of what follows. */
        size_t w = 1;
        while (w < len && (line[w] == ' ' || line[w] == '\t'))
            w++;
        if (w == len) {
            len = 0;
        } else if (line[w] == 'g' && is_header(line + w, len - w) &&
                   (size_t)(line + w - raw) <= sizeof(d->indent)) {
            line += w;
            len -= w;
        }
    }
    d->cur = line;
    d->cur_len = len;
    if (len == 0) {
        if (d->state == D2_IN_G || d->state == D2_ANCESTORS)
            return end_goroutine(d, lineno);
        d->state = D2_OUTSIDE;
        return 0;
    }
    char c = line[0];
    if (c == 'g' && is_header(line, len)) {
        if ((d->state == D2_IN_G || d->state == D2_ANCESTORS) &&
            end_goroutine(d, lineno) < 0)
            return -1;
        d->indent_len = (size_t)(line - raw);
        memcpy(d->indent, raw, d->indent_len);
        return on_header(d, line, len, lineno);
    }
    if (d->state == D2_IN_G && d->cb_done && c != '\t' && c != '[') {
        /* "created by" closes a stack; text right after it, with no
         * blank line ("exit status 2" from go run), is not part of it. */
        if (end_goroutine(d, lineno) < 0)
            return -1;
    }
    switch (d->state) {
    case D2_IN_G:
        if (c == '\t')
            return on_tab_line(d, line, len, lineno);
        if (c == 'c' && PP_STARTS(line, len, "created by "))
            return on_created_by(d, line, len, lineno);
        if (c == '.' && PP_STARTS(line, len, "...")) {
            d->flags |= PPROF_BF_ELIDED;
            return 0;
        }
        if (c == '[' && PP_STARTS(line, len, "[originating from goroutine")) {
            if (d->pending_func || d->pending_cb)
                return break_goroutine(d, lineno,
                                       "ancestors follow a function line "
                                       "without its file:line");
            d->state = D2_ANCESTORS;
            return 0;
        }
        return on_func_line(d, line, len, lineno);
    case D2_ANCESTORS:
    case D2_SYSSTACK:
        return 0;
    case D2_BROKEN:
    case D2_OUTSIDE:
        if (c != '\t') {
            int g = glued_header(d, line, len, lineno);
            if (g)
                return g < 0 ? -1 : 0;
        }
        if (d->state == D2_OUTSIDE && len == 14 &&
            memcmp(line, "runtime stack:", 14) == 0) {
            d->state = D2_SYSSTACK;
            return 0;
        }
        /* Before the first goroutine this is the preamble (a panic
         * message, SIGQUIT's registers, test or log output), not part of
         * the dump.  After it, crash chatter ("-----", registers, "exit
         * status 2", hex stack dumps, a stray "\tstack=[" line) that is
         * not read: counted, never fatal. */
        if (d->seen_header)
            pp_text_skip(&d->t, 1, lineno,
                         d->state == D2_BROKEN ? "line of an unreadable goroutine"
                         : c == '\t'           ? "frame line outside a goroutine"
                                               : "text between goroutines",
                         line, len);
        return 0;
    }
    return 0;
}

/*
 * Whether a last line that came without its newline is whole: only when it
 * is the file:line of "created by", which closes a goroutine, and its line
 * number is followed by the " +0x.." offset.  Anywhere else the dump may
 * have been cut mid-stack (more frames could have followed), and a line
 * number may have been cut mid-digits.
 */
static int tail_completes(const pp_debug2 *d, const char *s, size_t n)
{
    if (d->state != D2_IN_G || !d->pending_cb)
        return 0;
    if (d->indent_len && n >= d->indent_len &&
        memcmp(s, d->indent, d->indent_len) == 0) {
        s += d->indent_len;
        n -= d->indent_len;
    }
    if (n < 2 || s[0] != '\t')
        return 0;
    const char *colon = NULL;
    for (const char *q = s + n; q > s; q--)
        if (q[-1] == ':') {
            colon = q - 1;
            break;
        }
    if (!colon)
        return 0;
    const char *q = colon + 1, *end = s + n;
    while (q < end && *q >= '0' && *q <= '9')
        q++;
    return q > colon + 1 && end - q >= 4 && memcmp(q, " +0x", 4) == 0;
}

/* A last partial line outside any goroutine is chatter unless it starts a
 * goroutine header, or may be the start of one (then the dump was cut). */
static int tail_is_chatter(const pp_debug2 *d, const char *s, size_t n)
{
    if (d->state == D2_IN_G || d->state == D2_ANCESTORS)
        return 0;
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    static const char hdr[] = "goroutine ";
    size_t m = n < sizeof(hdr) - 1 ? n : sizeof(hdr) - 1;
    return memcmp(s, hdr, m) != 0;
}

int pp_debug2_finish(pp_debug2 *d, const char *tail, size_t tail_len,
                     uint64_t tail_lineno, pp_debug2_result *r)
{
    memset(r, 0, sizeof(*r));
    int cut = tail != NULL;
    if (tail && (tail_completes(d, tail, tail_len) ||
                 tail_is_chatter(d, tail, tail_len))) {
        if (pp_debug2_line(d, tail, tail_len, tail_lineno) < 0)
            return -1;
        cut = 0;
    }
    r->truncated = cut;
    d->cur = NULL; /* the last line's bytes are gone */
    if (d->state == D2_IN_G || d->state == D2_ANCESTORS) {
        /* The last goroutine is kept only if it is visibly whole: a dump
         * cut inside it would otherwise add a shorter, wrong stack. */
        if (cut || d->pending_func || d->pending_cb ||
            (d->t.nframes == 0 && !d->unavailable)) {
            r->truncated = 1;
            d->state = D2_OUTSIDE;
        } else if (end_goroutine(d, d->lineno + 1) < 0) {
            return -1;
        }
    }
    r->skipped = d->t.skipped;
    r->has_goids = d->seen_header;
    r->max_goid = d->max_goid;
    if (!d->seen_header)
        return pp_fail(d->t.err,
                       "not a goroutine profile (no goroutine header in %" PRIu64
                       " lines of text)",
                       d->lineno);
    if (pp_builder_counted(d->t.b) == 0 && !r->truncated) {
        if (d->t.first_skip_why)
            return pp_text_nothing_read(&d->t);
        return pp_fail(d->t.err, "no goroutine in the dump but the runtime's "
                                 "goroutine 0");
    }
    return 0;
}
