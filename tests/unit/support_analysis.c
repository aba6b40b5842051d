/*
 * support_analysis.c — builds pprof profiles and analysis snapshots from
 * the short stack strings unit tests write, and the world of captures the
 * analysis tests judge (see support.h). Uses cmocka
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

const char *ts_shown(const lwa_sig *s)
{
    return s->frames[s->shown].func;
}

void ts_world_init(ts_world *w)
{
    memset(w, 0, sizeof(*w));
    w->t = lwa_sigtab_new(NULL);
    assert_non_null(w->t);
}

void ts_world_add_kind(ts_world *w, pprof_format fmt, pprof_kind kind,
                       const ts_gr *g, size_t n, int64_t t_s)
{
    assert_true(w->n < sizeof(w->s) / sizeof(w->s[0]));
    pprof_profile *p = ts_build(fmt, kind, g, n);
    lwa_snapshot *s = lwa_snapshot_take(w->t, p, "capture");
    pprof_profile_free(p);
    assert_non_null(s);
    if (t_s >= 0)
        lwa_snapshot_set_time(s, 1795400000000LL + t_s * 1000);
    w->s[w->n++] = s;
}

void ts_world_add(ts_world *w, pprof_format fmt, const ts_gr *g, size_t n,
                  int64_t t_s)
{
    ts_world_add_kind(w, fmt, PPROF_KIND_GOROUTINE, g, n, t_s);
}

void ts_world_peer(ts_world *w, pprof_format fmt, const ts_gr *g, size_t n)
{
    pprof_profile *p = ts_build(fmt, PPROF_KIND_GOROUTINE, g, n);
    w->peer = lwa_snapshot_take(w->t, p, "peer");
    pprof_profile_free(p);
    assert_non_null(w->peer);
}

const lwa_report *ts_world_judge(ts_world *w)
{
    lwa_report_free(w->r);
    w->r = lwa_analyze(w->t, (const lwa_snapshot *const *)w->s, w->n,
                       w->peer, NULL);
    assert_non_null(w->r);
    return w->r;
}

void ts_world_free(ts_world *w)
{
    lwa_report_free(w->r);
    for (size_t i = 0; i < w->n; i++)
        lwa_snapshot_free(w->s[i]);
    lwa_snapshot_free(w->peer);
    lwa_sigtab_free(w->t);
}
