/*
 * lwa_group.c — one finding per leak: stacks that grow in lockstep and are
 * tied to each other are one leaked object seen from several goroutines.
 *
 * A leaked grpc.ClientConn is five goroutines on five stacks (three
 * CallbackSerializers, the transport reader, the loopy writer); a stalled
 * SSE client is the handler blocked in a write plus net/http's
 * (*connReader).backgroundRead.  Reported apart they read as five leaks and
 * name library code instead of the user's.  Two stacks are one leak when
 * both hold:
 *
 *   lockstep — they start growing at the same capture and every step's
 *     rise is in the same proportion as their total rises (3:1 for a
 *     CallbackSerializer against the reader), within one goroutine plus
 *     20% per step (a conn being set up while the capture runs);
 *   tied — something other than timing says they belong together:
 *     - the creator of one is a function on the other's stack (it was
 *       started by code that is still running there);
 *     - both were started by the same function (siblings, as
 *       net/http.(*Transport).dialConn starts readLoop and writeLoop);
 *     - one is all standard library, the package that started it is on
 *       the other's stack, and the other has user code (net/http's
 *       backgroundRead beside the handler it serves);
 *     - both lie wholly inside one third-party module other than main
 *       (grpc's goroutines; a library's goroutines belong to its objects);
 *     - the growth of both is concentrated in the same label value
 *       (lwa_labels.c; goroutines inherit their creator's labels, so the
 *       goroutines one request leaves behind share them).  The findings'
 *       `labels` must hold each stack's own shares when grouping runs.
 *   Timing alone never groups: two independent leaks started together at
 *   steady rates are in lockstep too.  The known blind spot is two
 *   independent leaks inside one third-party module that start at the same
 *   capture and keep proportional rates: they read as one.
 *
 * The group is named by its lead: the stack with user code (a frame
 * outside the Go standard library and golang.org/x/), then by the
 * verdict's ranking.  The
 * others become companions.  The ratio counts goroutines per leaked unit:
 * with the median rise as the base, the smallest multiplier (1..6) that
 * makes every member's rise a whole number of goroutines per unit.
 *
 * Needs two captures or more (one capture has no lockstep to see).
 *
 * Not for: judging each stack (lwa_verdict.c) or labels (lwa_labels.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"

/* Findings looked at for grouping: pairs are compared, so a pathological
 * report with thousands of growing stacks stays quadratic in this. */
#define MAX_GROUPED 512

/* Length of the import path of `func` ("net/http.(*conn).serve" ->
 * "net/http"): up to the first '.' after the last '/'. */
static size_t pkg_len(const char *func)
{
    const char *slash = strrchr(func, '/');
    const char *dot = strchr(slash ? slash : func, '.');
    return dot ? (size_t)(dot - func) : strlen(func);
}

/* The Go standard library, and the Go project's golang.org/x/ modules
 * that libraries build on the same way (x/net/http2 framing under grpc,
 * x/sync under user code): nobody's own code. */
static bool is_std(const char *func)
{
    if (!func || !strncmp(func, "golang.org/x/", 13))
        return true;
    size_t pl = pkg_len(func);
    const char *slash = memchr(func, '/', pl);
    size_t first = slash ? (size_t)(slash - func) : pl;
    if (first == 4 && !strncmp(func, "main", 4))
        return false;
    /* Module paths start with a domain; the standard library's do not. */
    return !memchr(func, '.', first);
}

/* The module-ish root of a non-standard package: the domain and one more
 * element ("google.golang.org/grpc"), two more on code hosts
 * ("github.com/org/repo", "golang.org/x/net").  Returns its length. */
static size_t family_len(const char *func)
{
    size_t pl = pkg_len(func);
    const char *slash = memchr(func, '/', pl);
    if (!slash)
        return pl;
    size_t host = (size_t)(slash - func);
    int want = 2;
    static const char *const hosts[] = {"github.com", "gitlab.com",
                                        "bitbucket.org", "golang.org",
                                        "gopkg.in"};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
        if (host == strlen(hosts[i]) && !strncmp(func, hosts[i], host))
            want = 3;
    if (!strncmp(func, "gopkg.in/", 9))
        want = 2;
    size_t k = 0;
    int seen = 0;
    for (; k < pl; k++)
        if (func[k] == '/' && ++seen == want)
            return k;
    return pl;
}

static bool has_user_code(const lwa_sig *s)
{
    for (uint32_t i = 0; i < s->nframes; i++)
        if (s->frames[i].func && !is_std(s->frames[i].func))
            return true;
    return false;
}

/* The one non-standard family every non-standard frame (and the creator)
 * of `s` belongs to; 0 when there is none or more than one, or it is
 * main. */
static size_t sole_family(const lwa_sig *s, const char **fam)
{
    const char *f = NULL;
    size_t fl = 0;
    for (uint32_t i = 0; i <= s->nframes; i++) {
        const char *fn = i < s->nframes ? s->frames[i].func : s->created_by.func;
        if (!fn || is_std(fn))
            continue;
        size_t l = family_len(fn);
        if (!f) {
            f = fn;
            fl = l;
        } else if (l != fl || strncmp(f, fn, l)) {
            return 0;
        }
    }
    if (!f || (fl == 4 && !strncmp(f, "main", 4)))
        return 0;
    *fam = f;
    return fl;
}

static bool on_stack(const lwa_sig *s, const char *func)
{
    for (uint32_t i = 0; i < s->nframes; i++)
        if (s->frames[i].func && !strcmp(s->frames[i].func, func))
            return true;
    return false;
}

static bool pkg_on_stack(const lwa_sig *s, const char *func)
{
    size_t pl = pkg_len(func);
    for (uint32_t i = 0; i < s->nframes; i++) {
        const char *fn = s->frames[i].func;
        if (fn && pkg_len(fn) == pl && !strncmp(fn, func, pl))
            return true;
    }
    return false;
}

static bool all_std(const lwa_sig *s)
{
    return !has_user_code(s) && is_std(s->created_by.func);
}

static bool tied_one_way(const lwa_sig *a, const lwa_sig *b)
{
    const char *cb = a->created_by.func;
    if (cb && on_stack(b, cb))
        return true;
    return cb && all_std(a) && has_user_code(b) && pkg_on_stack(b, cb);
}

bool lwa_group_tied(const lwa_sig *a, const lwa_sig *b)
{
    if (tied_one_way(a, b) || tied_one_way(b, a))
        return true;
    if (a->created_by.func && b->created_by.func &&
        !strcmp(a->created_by.func, b->created_by.func))
        return true;
    const char *fa, *fb;
    size_t la = sole_family(a, &fa), lb = sole_family(b, &fb);
    return la && la == lb && !strncmp(fa, fb, la);
}

bool lwa_group_lockstep(const uint64_t *a, const uint64_t *b, size_t n)
{
    if (n < 2 || a[n - 1] <= a[0] || b[n - 1] <= b[0])
        return false;
    size_t fa = 0, fb = 0;
    for (size_t k = 1; k < n && !fa; k++)
        if (a[k] > a[0])
            fa = k;
    for (size_t k = 1; k < n && !fb; k++)
        if (b[k] > b[0])
            fb = k;
    if (fa != fb)
        return false;
    double da = (double)(a[n - 1] - a[0]), db = (double)(b[n - 1] - b[0]);
    for (size_t k = 1; k < n; k++) {
        double sa = (double)a[k] - (double)a[k - 1];
        double sb = (double)b[k] - (double)b[k - 1];
        double want = sa * db / da; /* b's step if in proportion */
        double big = fabs(sb) > fabs(want) ? fabs(sb) : fabs(want);
        if (fabs(sb - want) > 1.0 + 0.2 * big)
            return false;
    }
    return true;
}

static const char *unit_of(lwa_pattern p)
{
    switch (p) {
    case LWA_PATTERN_GRPC_CONN:
        return "leaked ClientConn";
    case LWA_PATTERN_HTTP_BODY:
        return "unclosed response body";
    case LWA_PATTERN_NETWORK_IO:
        return "stalled connection";
    default:
        return NULL;
    }
}

/* Both stacks' growth is concentrated in the same label value (goroutines
 * inherit their creator's labels, so one request's goroutines share
 * them). */
static bool same_label(const lwa_finding *a, const lwa_finding *b)
{
    for (size_t i = 0; i < a->nlabels; i++) {
        if (a->labels[i].share < 0.6)
            continue;
        for (size_t j = 0; j < b->nlabels; j++)
            if (b->labels[j].share >= 0.6 &&
                !strcmp(a->labels[i].key, b->labels[j].key) &&
                !strcmp(a->labels[i].value, b->labels[j].value))
                return true;
    }
    return false;
}

static size_t find_root(size_t *parent, size_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static int cmp_i64(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return a < b ? -1 : a > b;
}

static int cmp_companion(const void *pa, const void *pb)
{
    const lwa_companion *a = pa, *b = pb;
    if (a->delta != b->delta)
        return a->delta > b->delta ? -1 : 1;
    return a->sig->index < b->sig->index ? -1 : 1;
}

/* per_unit for each of the m members (deltas d), and the unit count. */
static void ratios(const int64_t *d, size_t m, double *per, uint64_t *units)
{
    int64_t *sorted = malloc(m * sizeof(*sorted));
    int64_t base;
    if (sorted) {
        memcpy(sorted, d, m * sizeof(*sorted));
        qsort(sorted, m, sizeof(*sorted), cmp_i64);
        base = sorted[(m - 1) / 2];
        free(sorted);
    } else {
        base = d[0];
    }
    if (base < 1)
        base = 1;
    for (int mul = 1; mul <= 6; mul++) {
        bool whole = true;
        for (size_t i = 0; i < m && whole; i++) {
            double r = (double)d[i] * mul / (double)base;
            whole = r >= 0.5 && fabs(r - round(r)) <= 0.2;
        }
        if (whole) {
            for (size_t i = 0; i < m; i++)
                per[i] = round((double)d[i] * mul / (double)base);
            *units = (uint64_t)llround((double)base / mul);
            if (!*units)
                *units = 1;
            return;
        }
    }
    for (size_t i = 0; i < m; i++)
        per[i] = round((double)d[i] * 10.0 / (double)base) / 10.0;
    *units = (uint64_t)base;
}

void lwa_group_single(lwa_finding *f)
{
    f->per_unit = 1;
    f->group_per_unit = 1;
    f->units = f->delta > 0 ? (uint64_t)f->delta : 0;
    f->unit = unit_of(f->pattern);
}

int lwa_group_findings(lwa_report *r,
                       int (*rank)(const void *, const void *))
{
    size_t nf = r->nfindings < MAX_GROUPED ? r->nfindings : MAX_GROUPED;
    size_t n = r->nsnapshots;
    for (size_t i = 0; i < r->nfindings; i++)
        lwa_group_single(&r->findings[i]);
    if (n < 2 || nf < 2)
        return 0;
    size_t *parent = malloc(nf * sizeof(*parent));
    if (!parent)
        return -1;
    for (size_t i = 0; i < nf; i++)
        parent[i] = i;
    for (size_t i = 0; i < nf; i++) {
        const lwa_finding *a = &r->findings[i];
        for (size_t j = i + 1; j < nf; j++) {
            const lwa_finding *b = &r->findings[j];
            if (find_root(parent, i) == find_root(parent, j))
                continue;
            if (lwa_group_lockstep(a->series, b->series, n) &&
                (lwa_group_tied(a->sig, b->sig) || same_label(a, b)))
                parent[find_root(parent, j)] = find_root(parent, i);
        }
    }
    bool *gone = calloc(nf, sizeof(*gone));
    size_t *members = malloc(nf * sizeof(*members));
    int64_t *d = malloc(nf * sizeof(*d));
    double *per = malloc(nf * sizeof(*per));
    int rc = -1;
    if (!gone || !members || !d || !per)
        goto out;
    for (size_t root = 0; root < nf; root++) {
        size_t m = 0;
        for (size_t i = 0; i < nf; i++)
            if (find_root(parent, i) == root)
                members[m++] = i;
        if (m < 2)
            continue;
        /* The lead: user code first, then the verdict's ranking. */
        size_t lead = members[0];
        for (size_t k = 1; k < m; k++) {
            const lwa_finding *c = &r->findings[members[k]];
            const lwa_finding *l = &r->findings[lead];
            bool cu = has_user_code(c->sig), lu = has_user_code(l->sig);
            if (cu != lu ? cu : rank(c, l) < 0)
                lead = members[k];
        }
        lwa_finding *L = &r->findings[lead];
        L->companions = calloc(m - 1, sizeof(*L->companions));
        if (!L->companions)
            goto out;
        d[0] = L->delta;
        for (size_t k = 0, w = 1; k < m; k++)
            if (members[k] != lead)
                d[w++] = r->findings[members[k]].delta;
        ratios(d, m, per, &L->units);
        L->per_unit = per[0];
        L->group_per_unit = per[0];
        for (size_t k = 0, w = 1; k < m; k++) {
            if (members[k] == lead)
                continue;
            lwa_finding *c = &r->findings[members[k]];
            lwa_companion *cp = &L->companions[L->ncompanions++];
            cp->sig = c->sig;
            cp->status = c->status;
            cp->count = c->count;
            cp->delta = c->delta;
            cp->per_unit = per[w++];
            L->group_per_unit += cp->per_unit;
            /* The group is as strong as its strongest stack. */
            if (c->status > L->status) {
                L->status = c->status;
                L->why = c->why;
            }
            gone[members[k]] = true;
        }
        if (L->ncompanions > 1)
            qsort(L->companions, L->ncompanions, sizeof(*L->companions),
                  cmp_companion);
        if (!L->unit)
            for (size_t k = 0; k < L->ncompanions && !L->unit; k++)
                L->unit = unit_of(L->companions[k].sig->pattern);
    }
    size_t w = 0;
    for (size_t i = 0; i < r->nfindings; i++) {
        if (i < nf && gone[i]) {
            free(r->findings[i].series);
            free(r->findings[i].labels);
            continue;
        }
        r->findings[w++] = r->findings[i];
    }
    r->nfindings = w;
    rc = 0;
out:
    free(parent);
    free(gone);
    free(members);
    free(d);
    free(per);
    return rc;
}
