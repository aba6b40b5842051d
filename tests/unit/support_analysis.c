/*
 * support_analysis.c — builds pprof profiles and analysis snapshots from
 * the short stack strings unit tests write (see support.h). Uses cmocka
 * assertions, so it belongs to the unit tests only, never to e2e drivers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

void ts_stack_parse(ts_stack *s, const char *text)
{
    assert_true(strlen(text) < sizeof(s->buf));
    strcpy(s->buf, text);
    s->n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(s->buf, ";", &save); tok;
         tok = strtok_r(NULL, ";", &save)) {
        assert_true(s->n < TS_MAX_FRAMES);
        pprof_frame *f = &s->f[s->n++];
        memset(f, 0, sizeof(*f));
        char *at = strchr(tok, '@');
        if (at) {
            *at = '\0';
            char *colon = strrchr(at + 1, ':');
            if (colon) {
                *colon = '\0';
                f->line = (uint32_t)atoi(colon + 1);
            }
            f->file = at + 1;
        }
        f->func = tok;
    }
}

pprof_profile *ts_build(pprof_format fmt, pprof_kind kind, const ts_gr *g,
                        size_t n)
{
    pprof_limits lim;
    pprof_limits_default(&lim);
    pprof_builder *b = pprof_builder_new(&lim);
    assert_non_null(b);
    /* One at a time: the builder copies the frames it is handed. */
    ts_stack *st = malloc(sizeof(*st));
    assert_non_null(st);
    for (size_t i = 0; i < n; i++) {
        ts_stack_parse(st, g[i].stack);
        pprof_sample s = {st->f, st->n, g[i].flags, g[i].reason,
                          g[i].minutes, {g[i].created_by, NULL, 0},
                          g[i].labels, g[i].count};
        assert_int_equal(pprof_builder_add(b, &s), 0);
    }
    free(st);
    pprof_profile *p = pprof_builder_finish(b, fmt, kind, 0);
    assert_non_null(p);
    return p;
}

lwa_snapshot *ts_take(lwa_sigtab *t, pprof_format fmt, const ts_gr *g,
                      size_t n)
{
    pprof_profile *p = ts_build(fmt, PPROF_KIND_GOROUTINE, g, n);
    lwa_snapshot *s = lwa_snapshot_take(t, p, "test");
    pprof_profile_free(p);
    assert_non_null(s);
    return s;
}
