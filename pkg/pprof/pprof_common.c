/*
 * pprof_common.c — the plumbing the two text parsers share: their common
 * state (builder, error sink, labels, a reusable frame array) and the
 * cold paths around it (setup, teardown, growing the frame array,
 * reporting a builder failure).
 *
 * Not for: reading either format (pprof_debug1.c, pprof_debug2.c), or
 * anything on the per-line hot path beyond what pprof_internal.h inlines.
 */
#include "pprof_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void pp_text_init(pp_text *t, pprof_builder *b, const pprof_limits *lim,
                  pp_err *err)
{
    memset(t, 0, sizeof(*t));
    t->b = b;
    t->err = err;
    t->max_frames = lim->max_frames;
    pp_labels_init(&t->labels);
}

void pp_text_free(pp_text *t)
{
    pp_labels_free(&t->labels);
    free(t->frames);
    t->frames = NULL;
    t->nframes = t->cap = 0;
}

void pp_text_skip(pp_text *t, uint64_t n, uint64_t lineno, const char *why,
                  const char *line, size_t len)
{
    if (!n)
        return;
    if (!t->first_skip_why) {
        t->first_skip_line = lineno;
        t->first_skip_why = why;
        t->first_skip_text[0] = '\0';
        if (line)
            pp_quote_excerpt(t->first_skip_text, sizeof(t->first_skip_text),
                             line, len < 60 ? len : 60);
    }
    t->skipped += n;
}

int pp_text_nothing_read(pp_text *t)
{
    /* Nothing else could be read, so the first unreadable line is why
     * the input is refused: it is named the way every parse error is. */
    if (!t->first_skip_why)
        return pp_fail(t->err, "no goroutine could be read");
    if (t->first_skip_text[0])
        return pp_fail(t->err, "line %" PRIu64 ": %s \"%s\"",
                       t->first_skip_line, t->first_skip_why,
                       t->first_skip_text);
    return pp_fail(t->err, "line %" PRIu64 ": %s", t->first_skip_line,
                   t->first_skip_why);
}

int pp_text_builder_error(pp_text *t, uint64_t lineno)
{
    return pp_fail(t->err, "line %" PRIu64 ": %s", lineno,
                   pprof_builder_error(t->b));
}

int pp_text_grow(pp_text *t)
{
    if (t->nframes >= t->max_frames)
        return 1;
    uint32_t ncap = t->cap ? t->cap * 2 : 64;
    if (ncap > t->max_frames)
        ncap = t->max_frames;
    pprof_frame *nf = realloc(t->frames, ncap * sizeof(*nf));
    if (!nf)
        return pp_fail(t->err, "out of memory");
    t->frames = nf;
    t->cap = ncap;
    return 0;
}
