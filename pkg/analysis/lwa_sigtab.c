/*
 * lwa_sigtab.c — the signature table: every distinct stack seen across a
 * set of captures, with a dense index, a 64-bit id and what is known about
 * it (representative frames, wait reason, creator, pattern, ignore rule).
 *
 * The key of a stack is its frames minus runtime internals (see
 * lwa_frames.c), by function name and, with file_line, by file:line.  Wait
 * reason, creator and labels are not part of the key: debug=1 and protobuf
 * do not carry them, and a diff between a debug=1 and a debug=2 capture of
 * the same process must still line up.  Ids are a hash; lookups compare the
 * frames too, so a hash collision costs a probe, never a wrong merge.
 *
 * The table copies and interns every string it keeps (its own arena), so
 * profiles can be freed once counted; its two tables (strings, ids) are
 * lw_htab indexes.
 *
 * Not for: counting (lwa_snapshot.c) or classification rules
 * (lwa_pattern.c).
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/lwa_internal.h"
#include "lw/lw_arena.h"
#include "lw/lw_grow.h"
#include "lw/lw_hash.h"
#include "lw/lw_htab.h"

struct lwa_sigtab {
    lwa_options opt;
    lw_arena *arena;
    lw_htab strs; /* interned strings: hash -> the arena's copy */
    lwa_sig **sigs;
    size_t nsigs, sigs_cap;
    lw_htab ids; /* signature id -> index + 1 */
};

void lwa_options_default(lwa_options *o)
{
    memset(o, 0, sizeof(*o));
    o->fold_runtime = true;
}

lwa_sigtab *lwa_sigtab_new(const lwa_options *opt)
{
    lwa_sigtab *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    if (opt)
        t->opt = *opt;
    else
        lwa_options_default(&t->opt);
    t->arena = lw_arena_new(0);
    int strs_rc = lw_htab_init(&t->strs, 64);
    int ids_rc = lw_htab_init(&t->ids, 64);
    if (!t->arena || strs_rc < 0 || ids_rc < 0) {
        lwa_sigtab_free(t);
        return NULL;
    }
    return t;
}

void lwa_sigtab_free(lwa_sigtab *t)
{
    if (!t)
        return;
    lw_arena_free(t->arena);
    lw_htab_fini(&t->strs);
    free(t->sigs);
    lw_htab_fini(&t->ids);
    free(t);
}

size_t lwa_sigtab_size(const lwa_sigtab *t)
{
    return t->nsigs;
}

const lwa_sig *lwa_sigtab_at(const lwa_sigtab *t, size_t index)
{
    return index < t->nsigs ? t->sigs[index] : NULL;
}

const lwa_options *lwa_sigtab_options(const lwa_sigtab *t)
{
    return &t->opt;
}

const lwa_sig *lwa_sigtab_find(const lwa_sigtab *t, uint64_t id)
{
    lw_htab_probe probe;
    uint64_t v = lw_htab_find(&t->ids, id, &probe);
    return v ? t->sigs[v - 1] : NULL;
}

/* ---- strings ---- */

/* The table's copy of s (NULL stays NULL); NULL with *oom on failure. */
static const char *intern(lwa_sigtab *t, const char *s, bool *oom)
{
    if (!s)
        return NULL;
    size_t len = strlen(s);
    uint64_t h = lw_hash_bytes(s, len, 0x5157);
    lw_htab_probe probe;
    for (uint64_t v = lw_htab_find(&t->strs, h, &probe); v;
         v = lw_htab_next(&t->strs, &probe))
        if (!strcmp((const char *)(uintptr_t)v, s))
            return (const char *)(uintptr_t)v;
    char *copy = lw_arena_strndup(t->arena, s, len);
    if (!copy ||
        lw_htab_add(&t->strs, &probe, (uint64_t)(uintptr_t)copy) < 0) {
        *oom = true;
        return NULL;
    }
    return copy;
}

/* ---- keys ---- */

/* When every frame is a runtime internal (a runtime worker seen through
 * protobuf), the whole stack is the key rather than nothing. */
static bool keeps_all(const pprof_frame *f, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (f[i].func && !lwa_func_is_runtime_internal(f[i].func))
            return false;
    return true;
}

static bool in_key(const pprof_frame *f, bool all)
{
    return all || (f->func && !lwa_func_is_runtime_internal(f->func));
}

static uint64_t key_hash(const lwa_options *opt, const pprof_frame *f,
                         uint32_t n)
{
    bool all = keeps_all(f, n);
    uint64_t h = 0x6c77736967ULL; /* "lwsig" */
    for (uint32_t i = 0; i < n; i++) {
        if (!in_key(&f[i], all))
            continue;
        const char *fn = f[i].func ? f[i].func : "?";
        h = lw_hash_combine(h, lw_hash_bytes(fn, strlen(fn), 1));
        if (opt->file_line) {
            const char *file = f[i].file ? f[i].file : "";
            h = lw_hash_combine(h, lw_hash_bytes(file, strlen(file), 2));
            h = lw_hash_combine(h, f[i].line);
        }
    }
    /* Never 0, so an id can double as "none" for callers. */
    return h ? h : 1;
}

static bool str_eq(const char *a, const char *b)
{
    if (a == b)
        return true;
    return a && b && !strcmp(a, b);
}

static bool key_equal(const lwa_options *opt, const pprof_frame *a,
                      uint32_t na, const pprof_frame *b, uint32_t nb)
{
    bool alla = keeps_all(a, na), allb = keeps_all(b, nb);
    uint32_t i = 0, j = 0;
    for (;;) {
        while (i < na && !in_key(&a[i], alla))
            i++;
        while (j < nb && !in_key(&b[j], allb))
            j++;
        if (i == na || j == nb)
            return i == na && j == nb;
        if (!str_eq(a[i].func, b[j].func))
            return false;
        if (opt->file_line &&
            (a[i].line != b[j].line || !str_eq(a[i].file, b[j].file)))
            return false;
        i++;
        j++;
    }
}

/* ---- signatures ---- */

/* How much a bucket can tell about its stack: a reason Go printed for a
 * parked goroutine beats one inferred from frames, which beats frames
 * alone, which beat "running"/"runnable" (the frames then say more than
 * the reason, but a parked capture of the same stack says more still). */
static int evidence_of(const pprof_bucket *b)
{
    static const char *const transient[] = {"running", "runnable",
                                            "preempted", "syscall",
                                            "waiting", "copystack"};
    const char *r = b->wait_reason;
    if (!r)
        return 2;
    if (b->flags & PPROF_BF_WAIT_INFERRED)
        return 3;
    for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
        if (!strncmp(r, transient[i], strlen(transient[i])))
            return 1;
    return 4;
}

static int set_representative(lwa_sigtab *t, lwa_sig *s,
                              const pprof_bucket *b, int evidence)
{
    bool oom = false;
    pprof_frame *fr = NULL;
    if (b->nframes) {
        fr = lw_arena_calloc(t->arena, b->nframes, sizeof(*fr));
        if (!fr)
            return -1;
    }
    for (uint32_t i = 0; i < b->nframes; i++) {
        fr[i].func = intern(t, b->frames[i].func, &oom);
        fr[i].file = intern(t, b->frames[i].file, &oom);
        fr[i].line = b->frames[i].line;
    }
    s->wait_reason = intern(t, b->wait_reason, &oom);
    if (oom)
        return -1;
    s->frames = fr;
    s->nframes = b->nframes;
    s->reason_inferred =
        s->wait_reason && (b->flags & PPROF_BF_WAIT_INFERRED) != 0;
    s->evidence = evidence;
    return 0;
}

static void classify(const lwa_sigtab *t, lwa_sig *s)
{
    lwa_class c;
    lwa_classify(s->frames, s->nframes, s->wait_reason, s->reason_inferred,
                 s->created_by.func, &c);
    s->pattern = c.pattern;
    s->shown = t->opt.fold_runtime ? c.culprit : 0;
    /* A reason inferred from the frames here is better than none; the
     * strings are static. */
    if (c.wait_reason != s->wait_reason) {
        s->wait_reason = c.wait_reason;
        s->reason_inferred = c.reason_inferred;
    }
}

static lwa_sig *sig_add(lwa_sigtab *t, uint64_t id, const pprof_bucket *b,
                        const lw_htab_probe *probe)
{
    if (t->nsigs >= UINT32_MAX - 1)
        return NULL;
    if (lw_grow(&t->sigs, &t->sigs_cap, t->nsigs, sizeof *t->sigs, 256))
        return NULL;
    lwa_sig *s = lw_arena_calloc(t->arena, 1, sizeof(*s));
    if (!s)
        return NULL;
    s->id = id;
    s->index = (uint32_t)t->nsigs;
    if (set_representative(t, s, b, evidence_of(b)) < 0)
        return NULL;
    bool oom = false;
    s->created_by.func = intern(t, b->created_by.func, &oom);
    s->created_by.file = intern(t, b->created_by.file, &oom);
    s->created_by.line = b->created_by.line;
    if (oom)
        return NULL;
    lwa_ignore_match m;
    if (t->opt.ignore &&
        lwa_ignore_stack(t->opt.ignore, s->frames, s->nframes, &m)) {
        s->ignored_by = intern(t, m.rule, &oom);
        s->allowance = m.allowance;
        if (oom)
            return NULL;
    }
    classify(t, s);
    if (lw_htab_add(&t->ids, probe, t->nsigs + 1) < 0)
        return NULL;
    t->sigs[t->nsigs++] = s;
    return s;
}

/* A later bucket of the same stack may know more. */
static int sig_merge(lwa_sigtab *t, lwa_sig *s, const pprof_bucket *b)
{
    bool changed = false;
    int ev = evidence_of(b);
    if (ev > s->evidence ||
        (ev == s->evidence && b->nframes > s->nframes)) {
        if (set_representative(t, s, b, ev) < 0)
            return -1;
        changed = true;
    }
    if (!s->created_by.func && b->created_by.func) {
        bool oom = false;
        s->created_by.func = intern(t, b->created_by.func, &oom);
        s->created_by.file = intern(t, b->created_by.file, &oom);
        s->created_by.line = b->created_by.line;
        if (oom)
            return -1;
        changed = true;
    }
    if (changed)
        classify(t, s);
    return 0;
}

int lwa_sigtab_place(lwa_sigtab *t, const pprof_bucket *b, lwa_placed *out)
{
    uint64_t id = key_hash(&t->opt, b->frames, b->nframes);
    lw_htab_probe probe;
    lwa_sig *s = NULL;
    for (uint64_t v = lw_htab_find(&t->ids, id, &probe); v;
         v = lw_htab_next(&t->ids, &probe)) {
        lwa_sig *c = t->sigs[v - 1];
        if (key_equal(&t->opt, c->frames, c->nframes, b->frames, b->nframes)) {
            s = c;
            break;
        }
    }
    if (s) {
        if (sig_merge(t, s, b) < 0)
            return -1;
    } else {
        s = sig_add(t, id, b, &probe);
        if (!s)
            return -1;
    }
    out->index = s->index;
    out->ignored = false;
    if (s->ignored_by && !s->allowance) {
        out->ignored = true;
    } else if (t->opt.ignore && b->created_by.func) {
        lwa_ignore_match m;
        out->ignored =
            lwa_ignore_creator(t->opt.ignore, b->created_by.func, &m);
    }
    return 0;
}
