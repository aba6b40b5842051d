/*
 * lwa_labels.c — goroutine labels (pprof.Do, SetGoroutineLabels) counted
 * per signature, and which label value a finding's growth is concentrated
 * in ("98% tenant=acme").
 *
 * Signatures are keyed by frames only, so one signature holds goroutines
 * of every tenant that runs that code.  A snapshot keeps, for the
 * signatures that have labels at all, one count per (signature, key,
 * value); unlabelled signatures cost nothing.  Entries are appended while
 * a capture is counted and sorted and merged once (lwa_labels_seal), so a
 * lookup is a binary search.
 *
 * What "concentrated" means, per label key, over the stacks of a finding
 * (its lead and companions) that carry that key:
 *   - the growth of a value is its count in the last capture minus its
 *     count in the first (or in the fresh peer for a single capture, or
 *     all of it for a single capture alone);
 *   - the key's growth is the sum of the values that grew plus the growth
 *     of those stacks' goroutines that lack the key (so unlabelled growth
 *     dilutes a value's share instead of being ignored);
 *   - the key is concentrated when its top value has at least 60% of that
 *     growth.  Healthy tenants on the same stack hold steady and take no
 *     share.  A stack with a single value reads 100%: still the value a
 *     human acts on.
 * Each concentrated key is reported (at most four keys), keys that tell
 * one value among several on these stacks first (tenant=acme among three
 * tenants says more than a route every goroutine of the stack carries),
 * then the most concentrated, with the values that have at least 10% of
 * its growth (at most three, top first).  A key whose growth is spread evenly (three
 * tenants a third each) is not reported: it would name no culprit.
 *
 * Labels arrive as one string "k1=v1,k2=v2" (pkg/pprof joins them without
 * escaping): a piece without '=' belongs to the previous value, which had
 * a comma in it.
 *
 * Not for: parsing labels (pkg/pprof) or deciding what grows
 * (lwa_verdict.c).
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "lw/lw_arena.h"
#include "lw/lw_grow.h"

#define CONCENTRATED 0.60
#define MIN_VALUE_SHARE 0.10
#define MAX_KEYS 4
#define MAX_VALUES 3

struct lwa_labels {
    lw_arena *arena;
    lwa_label_count *e;
    size_t n, cap;
    bool sealed;
    /* The profile interns its label strings: the same pointer twice is
     * the same split. */
    const char *last_src;
    size_t last_first, last_n;
};

lwa_labels *lwa_labels_new(void)
{
    lwa_labels *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->arena = lw_arena_new(16 * 1024);
    if (!l->arena) {
        free(l);
        return NULL;
    }
    return l;
}

void lwa_labels_free(lwa_labels *l)
{
    if (!l)
        return;
    lw_arena_free(l->arena);
    free(l->e);
    free(l);
}

static lwa_label_count *push(lwa_labels *l)
{
    if (lw_grow(&l->e, &l->cap, l->n, sizeof *l->e, 16))
        return NULL;
    return &l->e[l->n++];
}

int lwa_labels_add(lwa_labels *l, uint32_t sig, const char *labels,
                   uint64_t count)
{
    if (!labels || !*labels || !count)
        return 0;
    l->sealed = false;
    if (labels == l->last_src) {
        /* same split, new signature or more goroutines */
        size_t first = l->last_first, k = l->last_n;
        l->last_first = l->n;
        for (size_t i = 0; i < k; i++) {
            lwa_label_count *d = push(l);
            if (!d)
                return -1;
            *d = l->e[first + i];
            d->sig = sig;
            d->count = count;
        }
        return 0;
    }
    size_t first = l->n;
    const char *p = labels;
    while (*p) {
        const char *eq = strchr(p, '=');
        if (!eq)
            break; /* not "k=v": nothing more to read */
        const char *v = eq + 1, *end = v;
        /* The value runs to the next ",k=" (a comma followed by a piece
         * that has '=' before any further comma). */
        for (;;) {
            const char *comma = strchr(end, ',');
            if (!comma) {
                end = v + strlen(v);
                break;
            }
            const char *nx_eq = strchr(comma + 1, '=');
            const char *nx_comma = strchr(comma + 1, ',');
            if (nx_eq && (!nx_comma || nx_eq < nx_comma)) {
                end = comma;
                break;
            }
            end = comma + 1;
        }
        lwa_label_count *d = push(l);
        if (!d)
            return -1;
        d->sig = sig;
        d->count = count;
        d->key = lw_arena_strndup(l->arena, p, (size_t)(eq - p));
        d->value = lw_arena_strndup(l->arena, v, (size_t)(end - v));
        if (!d->key || !d->value)
            return -1;
        p = *end ? end + 1 : end;
    }
    l->last_src = labels;
    l->last_first = first;
    l->last_n = l->n - first;
    return 0;
}

static int cmp_entry(const void *pa, const void *pb)
{
    const lwa_label_count *a = pa, *b = pb;
    if (a->sig != b->sig)
        return a->sig < b->sig ? -1 : 1;
    int c = strcmp(a->key, b->key);
    return c ? c : strcmp(a->value, b->value);
}

void lwa_labels_seal(lwa_labels *l)
{
    if (l->sealed)
        return;
    l->last_src = NULL;
    if (l->n > 1)
        qsort(l->e, l->n, sizeof(*l->e), cmp_entry);
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (w && !cmp_entry(&l->e[w - 1], &l->e[i]))
            l->e[w - 1].count += l->e[i].count;
        else
            l->e[w++] = l->e[i];
    }
    l->n = w;
    l->sealed = true;
}

size_t lwa_labels_of(const lwa_labels *l, uint32_t sig,
                     const lwa_label_count **out)
{
    *out = NULL;
    if (!l || !l->n)
        return 0;
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->e[mid].sig < sig)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < l->n && l->e[end].sig == sig)
        end++;
    if (end == lo)
        return 0;
    *out = &l->e[lo];
    return end - lo;
}

size_t lwa_labels_size(const lwa_labels *l)
{
    return l ? l->n : 0;
}

/* ---- shares ---- */

typedef struct acc {
    const char *key, *value;
    int64_t delta;
} acc;

typedef struct key_acc {
    const char *key;
    int64_t stacks_delta; /* growth of the stacks carrying the key */
    int64_t labelled;     /* growth of its values, signed          */
    int64_t pos;          /* growth of the values that grew        */
    const acc *top;
    double share;
    size_t nvalues;       /* values seen on these stacks              */
} key_acc;

static int cmp_acc(const void *pa, const void *pb)
{
    const acc *a = pa, *b = pb;
    int c = strcmp(a->key, b->key);
    if (c)
        return c;
    if (a->delta != b->delta)
        return a->delta > b->delta ? -1 : 1;
    return strcmp(a->value, b->value);
}

static int cmp_key(const void *pa, const void *pb)
{
    const key_acc *a = pa, *b = pb;
    /* A key that tells one value from others (tenant=acme among three
     * tenants) before one every goroutine of the stack carries alike. */
    bool da = a->nvalues > 1, db = b->nvalues > 1;
    if (da != db)
        return da ? -1 : 1;
    if (a->share != b->share)
        return a->share > b->share ? -1 : 1;
    return strcmp(a->key, b->key);
}

static int add_acc(acc **arr, size_t *n, size_t *cap, const char *key,
                   const char *value, int64_t delta)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*arr)[i].key, key) && !strcmp((*arr)[i].value, value)) {
            (*arr)[i].delta += delta;
            return 0;
        }
    if (lw_grow(arr, cap, *n, sizeof **arr, 16))
        return -1;
    (*arr)[(*n)++] = (acc){key, value, delta};
    return 0;
}

static bool has_key(const lwa_label_count *e, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(e[i].key, key))
            return true;
    return false;
}

int lwa_labels_share(const lwa_snapshot *from, const lwa_snapshot *to,
                     const uint32_t *sigs, size_t nsigs,
                     lwa_label_share **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (!to->labels)
        return 0;
    acc *a = NULL;
    size_t na = 0, cap = 0;
    key_acc *keys = NULL;
    size_t nk = 0;
    int rc = -1;
    for (size_t s = 0; s < nsigs; s++) {
        const lwa_label_count *et, *ef = NULL;
        size_t nt = lwa_labels_of(to->labels, sigs[s], &et);
        size_t nf = from ? lwa_labels_of(from->labels, sigs[s], &ef) : 0;
        for (size_t i = 0; i < nt; i++)
            if (add_acc(&a, &na, &cap, et[i].key, et[i].value,
                        (int64_t)et[i].count) < 0)
                goto out;
        for (size_t i = 0; i < nf; i++)
            if (add_acc(&a, &na, &cap, ef[i].key, ef[i].value,
                        -(int64_t)ef[i].count) < 0)
                goto out;
    }
    if (!na) {
        rc = 0;
        goto out;
    }
    qsort(a, na, sizeof(*a), cmp_acc);
    keys = calloc(na, sizeof(*keys));
    if (!keys)
        goto out;
    for (size_t i = 0; i < na; i++) {
        if (!nk || strcmp(keys[nk - 1].key, a[i].key)) {
            keys[nk].key = a[i].key;
            keys[nk].top = &a[i]; /* sorted: largest growth first */
            nk++;
        }
        key_acc *k = &keys[nk - 1];
        k->nvalues++;
        k->labelled += a[i].delta;
        if (a[i].delta > 0)
            k->pos += a[i].delta;
    }
    for (size_t i = 0; i < nk; i++) {
        key_acc *k = &keys[i];
        for (size_t s = 0; s < nsigs; s++) {
            const lwa_label_count *et, *ef = NULL;
            size_t nt = lwa_labels_of(to->labels, sigs[s], &et);
            size_t nf = from ? lwa_labels_of(from->labels, sigs[s], &ef) : 0;
            if (!has_key(et, nt, k->key) && !has_key(ef, nf, k->key))
                continue;
            k->stacks_delta +=
                (int64_t)lwa_snapshot_count(to, sigs[s]) -
                (int64_t)(from ? lwa_snapshot_count(from, sigs[s]) : 0);
        }
        int64_t unlabelled = k->stacks_delta - k->labelled;
        int64_t denom = k->pos + (unlabelled > 0 ? unlabelled : 0);
        k->share = denom > 0 && k->top->delta > 0
                       ? (double)k->top->delta / (double)denom
                       : 0;
    }
    qsort(keys, nk, sizeof(*keys), cmp_key);
    size_t nshare = 0, bytes = 0;
    for (size_t i = 0; i < nk && i < MAX_KEYS; i++) {
        if (keys[i].share < CONCENTRATED)
            break;
        int64_t unl = keys[i].stacks_delta - keys[i].labelled;
        int64_t denom = keys[i].pos + (unl > 0 ? unl : 0);
        size_t nv = 0;
        for (const acc *v = keys[i].top;
             v < a + na && !strcmp(v->key, keys[i].key) && nv < MAX_VALUES;
             v++, nv++) {
            if ((double)v->delta < MIN_VALUE_SHARE * (double)denom)
                break;
            nshare++;
            bytes += strlen(v->key) + strlen(v->value) + 2;
        }
    }
    if (!nshare) {
        rc = 0;
        goto out;
    }
    /* One block: the shares, then their strings. */
    lwa_label_share *sh = malloc(nshare * sizeof(*sh) + bytes);
    if (!sh)
        goto out;
    char *str = (char *)(sh + nshare);
    size_t w = 0;
    for (size_t i = 0; i < nk && i < MAX_KEYS && w < nshare; i++) {
        int64_t unl = keys[i].stacks_delta - keys[i].labelled;
        int64_t denom = keys[i].pos + (unl > 0 ? unl : 0);
        size_t nv = 0;
        for (const acc *v = keys[i].top;
             v < a + na && !strcmp(v->key, keys[i].key) && nv < MAX_VALUES &&
             w < nshare;
             v++, nv++) {
            if ((double)v->delta < MIN_VALUE_SHARE * (double)denom)
                break;
            lwa_label_share *d = &sh[w++];
            size_t kl = strlen(v->key) + 1, vl = strlen(v->value) + 1;
            memcpy(str, v->key, kl);
            d->key = str;
            str += kl;
            memcpy(str, v->value, vl);
            d->value = str;
            str += vl;
            d->delta = v->delta;
            d->share = (double)v->delta / (double)denom;
        }
    }
    *out = sh;
    *nout = w;
    rc = 0;
out:
    free(a);
    free(keys);
    return rc;
}
