/*
 * obs_metrics.c — the registry behind obs_metrics.h.
 *
 * Each metric keeps its series in an lw_htab index keyed by the label
 * values joined with a 0xff separator (a byte that cannot appear in UTF-8
 * text, so "a","bc" and "ab","c" never collide).  A series is its own
 * allocation, so it stays put while the index grows; a removed one leaves
 * a tombstone in the index, which the index's rebuilds drop.
 */
#include "obs_metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lw/lw_grow.h"
#include "lw/lw_hash.h"
#include "lw/lw_htab.h"

typedef enum { OBS_COUNTER, OBS_GAUGE, OBS_HISTOGRAM } obs_type;

typedef struct obs_series {
    char *key;      /* joined label values */
    char **values;
    double value;   /* counter/gauge; histogram: sum */
    uint64_t count; /* histogram observations */
    uint64_t *buckets;
} obs_series;

struct obs_metric {
    obs_registry *reg;
    obs_type type;
    char *name, *help;
    char **labels;
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    lw_htab series; /* hash of key -> obs_series * */
};

struct obs_registry {
    pthread_mutex_t mu;
    obs_metric **metrics;
    size_t n, cap;
};

obs_registry *obs_registry_new(void)
{
    obs_registry *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

/* A series is one block (series_make): the struct, its label values, its
 * buckets and its key. */
static void series_free(obs_series *s)
{
    free(s);
}

static obs_series *series_at(const lw_htab_slot *slot)
{
    return lw_htab_slot_live(slot) ? (obs_series *)(uintptr_t)slot->val
                                   : NULL;
}

static void metric_free(obs_metric *m)
{
    for (size_t i = 0; m->series.slots && i <= m->series.mask; i++)
        series_free(series_at(&m->series.slots[i]));
    lw_htab_fini(&m->series);
    for (size_t i = 0; i < m->nlabels; i++)
        free(m->labels[i]);
    free(m->labels);
    free(m->bounds);
    free(m->name);
    free(m->help);
    free(m);
}

void obs_registry_free(obs_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        metric_free(r->metrics[i]);
    free(r->metrics);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static obs_metric *metric_register(obs_registry *r, obs_type type,
                                   const char *name, const char *help,
                                   const char *const *label_names,
                                   const double *bounds, size_t nbounds)
{
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++) {
        if (!strcmp(r->metrics[i]->name, name)) {
            obs_metric *found = r->metrics[i]->type == type ? r->metrics[i] : NULL;
            pthread_mutex_unlock(&r->mu);
            return found;
        }
    }
    obs_metric *m = calloc(1, sizeof(*m));
    if (!m)
        goto fail;
    m->reg = r;
    m->type = type;
    if (lw_htab_init(&m->series, 16) < 0)
        goto fail_m;
    m->name = strdup(name);
    m->help = strdup(help ? help : "");
    size_t nl = 0;
    while (label_names && label_names[nl])
        nl++;
    m->nlabels = nl;
    m->labels = calloc(nl + 1, sizeof(char *));
    if (!m->name || !m->help || !m->labels)
        goto fail_m;
    for (size_t i = 0; i < nl; i++)
        if (!(m->labels[i] = strdup(label_names[i])))
            goto fail_m;
    if (type == OBS_HISTOGRAM) {
        m->bounds = malloc((nbounds ? nbounds : 1) * sizeof(double));
        if (!m->bounds)
            goto fail_m;
        if (nbounds)
            memcpy(m->bounds, bounds, nbounds * sizeof(double));
        m->nbounds = nbounds;
    }
    if (lw_grow(&r->metrics, &r->cap, r->n, sizeof *r->metrics, 16))
        goto fail_m;
    r->metrics[r->n++] = m;
    pthread_mutex_unlock(&r->mu);
    return m;
fail_m:
    metric_free(m);
fail:
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

obs_metric *obs_counter(obs_registry *r, const char *name, const char *help,
                        const char *const *label_names)
{
    return metric_register(r, OBS_COUNTER, name, help, label_names, NULL, 0);
}

obs_metric *obs_gauge(obs_registry *r, const char *name, const char *help,
                      const char *const *label_names)
{
    return metric_register(r, OBS_GAUGE, name, help, label_names, NULL, 0);
}

obs_metric *obs_histogram(obs_registry *r, const char *name, const char *help,
                          const char *const *label_names,
                          const double *bounds, size_t nbounds)
{
    return metric_register(r, OBS_HISTOGRAM, name, help, label_names, bounds,
                           nbounds);
}

/* Joined key in a caller buffer when it fits, else malloc'd (*heap set). */
static char *join_key(const obs_metric *m, const char *const *vals,
                      char *buf, size_t buflen, int *heap)
{
    size_t len = 1;
    for (size_t i = 0; i < m->nlabels; i++)
        len += strlen(vals && vals[i] ? vals[i] : "") + 1;
    char *k = buf;
    *heap = 0;
    if (len > buflen) {
        k = malloc(len);
        if (!k)
            return NULL;
        *heap = 1;
    }
    size_t off = 0;
    for (size_t i = 0; i < m->nlabels; i++) {
        const char *v = vals && vals[i] ? vals[i] : "";
        size_t vl = strlen(v);
        memcpy(k + off, v, vl);
        off += vl;
        k[off++] = (char)0xff;
    }
    k[off] = '\0';
    return k;
}

/* The series of a joined key; NULL when there is none (p then stands
 * where a new one goes). */
static obs_series *series_find(const obs_metric *m, const char *key,
                               lw_htab_probe *p)
{
    uint64_t h = lw_hash_bytes(key, strlen(key), 0x6f6273);
    for (uint64_t v = lw_htab_find(&m->series, h, p); v;
         v = lw_htab_next(&m->series, p)) {
        obs_series *s = (obs_series *)(uintptr_t)v;
        if (!strcmp(s->key, key))
            return s;
    }
    return NULL;
}

/*
 * A new series for key, in one allocation: the struct, the label value
 * pointers, the histogram buckets, the key and the values.  Pods come and
 * go with two series each, and five small blocks per series cost more in
 * malloc's headers and holes than the strings they hold.  Frees key when
 * heap.
 */
static obs_series *series_make(const obs_metric *m, const char *const *vals,
                               char *key, int heap)
{
    size_t nb = m->type == OBS_HISTOGRAM ? m->nbounds + 1 : 0;
    size_t klen = strlen(key) + 1;
    size_t size = sizeof(obs_series) + m->nlabels * sizeof(char *) +
                  nb * sizeof(uint64_t) + klen;
    for (size_t k = 0; k < m->nlabels; k++)
        size += strlen(vals && vals[k] ? vals[k] : "") + 1;
    obs_series *s = calloc(1, size);
    if (!s) {
        if (heap)
            free(key);
        return NULL;
    }
    /* Pointers, then 8-byte counts, then bytes: each part stays aligned. */
    char *at = (char *)(s + 1);
    s->values = (char **)(void *)at;
    at += m->nlabels * sizeof(char *);
    if (nb) {
        s->buckets = (uint64_t *)(void *)at;
        at += nb * sizeof(uint64_t);
    }
    s->key = memcpy(at, key, klen);
    at += klen;
    for (size_t k = 0; k < m->nlabels; k++) {
        const char *v = vals && vals[k] ? vals[k] : "";
        size_t vl = strlen(v) + 1;
        s->values[k] = memcpy(at, v, vl);
        at += vl;
    }
    if (heap)
        free(key);
    return s;
}

/* Caller holds the registry lock.  With remove, the series found is
 * taken out of the index and returned for the caller to free. */
static obs_series *series_get(obs_metric *m, const char *const *vals,
                              int create, int remove)
{
    char buf[512];
    int heap;
    char *key = join_key(m, vals, buf, sizeof(buf), &heap);
    if (!key)
        return NULL;
    lw_htab_probe p;
    obs_series *s = series_find(m, key, &p);
    if (s && remove)
        lw_htab_remove(&m->series, &p);
    if (s || !create) {
        if (heap)
            free(key);
        return s;
    }
    s = series_make(m, vals, key, heap);
    if (s && lw_htab_add(&m->series, &p, (uint64_t)(uintptr_t)s) < 0) {
        series_free(s);
        s = NULL;
    }
    return s;
}

void obs_counter_add(obs_metric *m, const char *const *vals, double v)
{
    if (!m || !(v >= 0))
        return; /* counters never go down; NaN is dropped too */
    pthread_mutex_lock(&m->reg->mu);
    obs_series *s = series_get(m, vals, 1, 0);
    if (s)
        s->value += v;
    pthread_mutex_unlock(&m->reg->mu);
}

void obs_gauge_set(obs_metric *m, const char *const *vals, double v)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->reg->mu);
    obs_series *s = series_get(m, vals, 1, 0);
    if (s)
        s->value = v;
    pthread_mutex_unlock(&m->reg->mu);
}

void obs_histogram_observe(obs_metric *m, const char *const *vals, double v)
{
    if (!m || m->type != OBS_HISTOGRAM || isnan(v))
        return;
    pthread_mutex_lock(&m->reg->mu);
    obs_series *s = series_get(m, vals, 1, 0);
    if (s) {
        size_t b = 0;
        while (b < m->nbounds && v > m->bounds[b])
            b++;
        s->buckets[b]++;
        s->count++;
        s->value += v;
    }
    pthread_mutex_unlock(&m->reg->mu);
}

double obs_metric_value(obs_metric *m, const char *const *vals)
{
    if (!m)
        return 0;
    pthread_mutex_lock(&m->reg->mu);
    obs_series *s = series_get(m, vals, 0, 0);
    double v = s ? s->value : 0;
    pthread_mutex_unlock(&m->reg->mu);
    return v;
}

void obs_metric_remove(obs_metric *m, const char *const *vals)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->reg->mu);
    series_free(series_get(m, vals, 0, 1));
    pthread_mutex_unlock(&m->reg->mu);
}

/* ---- exposition ------------------------------------------------------- */

typedef struct out_buf {
    char *p;
    size_t len, cap;
    int oom;
} out_buf;

static void out_write(out_buf *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    /* + NUL */
    if (lw_grow(&o->p, &o->cap, o->len + n, 1, 4096)) {
        o->oom = 1;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void out_str(out_buf *o, const char *s)
{
    out_write(o, s, strlen(s));
}

/* Escaping per the exposition format: label values escape \ " and newline;
 * HELP text escapes \ and newline. */
static void out_escaped(out_buf *o, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            out_str(o, "\\\\");
        else if (*s == '\n')
            out_str(o, "\\n");
        else if (quote && *s == '"')
            out_str(o, "\\\"");
        else
            out_write(o, s, 1);
    }
}

static void out_num(out_buf *o, double v)
{
    char b[64];
    if (isnan(v))
        snprintf(b, sizeof(b), "NaN");
    else if (isinf(v))
        snprintf(b, sizeof(b), v > 0 ? "+Inf" : "-Inf");
    else if (v == (double)(int64_t)v && fabs(v) < 1e15)
        snprintf(b, sizeof(b), "%lld", (long long)(int64_t)v);
    else
        snprintf(b, sizeof(b), "%.17g", v);
    out_str(o, b);
}

static void out_labels(out_buf *o, const obs_metric *m, const obs_series *s,
                       const char *extra_name, const char *extra_val)
{
    if (!m->nlabels && !extra_name)
        return;
    out_str(o, "{");
    for (size_t i = 0; i < m->nlabels; i++) {
        if (i)
            out_str(o, ",");
        out_str(o, m->labels[i]);
        out_str(o, "=\"");
        out_escaped(o, s->values[i], 1);
        out_str(o, "\"");
    }
    if (extra_name) {
        if (m->nlabels)
            out_str(o, ",");
        out_str(o, extra_name);
        out_str(o, "=\"");
        out_str(o, extra_val);
        out_str(o, "\"");
    }
    out_str(o, "}");
}

char *obs_registry_render(obs_registry *r, size_t *len)
{
    out_buf o = {0};
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++) {
        obs_metric *m = r->metrics[i];
        out_str(&o, "# HELP ");
        out_str(&o, m->name);
        out_str(&o, " ");
        out_escaped(&o, m->help, 0);
        out_str(&o, "\n# TYPE ");
        out_str(&o, m->name);
        out_str(&o, " ");
        out_str(&o, type_names[m->type]);
        out_str(&o, "\n");
        for (size_t j = 0; j <= m->series.mask; j++) {
            const obs_series *s = series_at(&m->series.slots[j]);
            if (!s)
                continue;
            if (m->type != OBS_HISTOGRAM) {
                out_str(&o, m->name);
                out_labels(&o, m, s, NULL, NULL);
                out_str(&o, " ");
                out_num(&o, s->value);
                out_str(&o, "\n");
                continue;
            }
            uint64_t cum = 0;
            for (size_t b = 0; b <= m->nbounds; b++) {
                char le[64];
                cum += s->buckets[b];
                if (b < m->nbounds)
                    snprintf(le, sizeof(le), "%g", m->bounds[b]);
                else
                    snprintf(le, sizeof(le), "+Inf");
                out_str(&o, m->name);
                out_str(&o, "_bucket");
                out_labels(&o, m, s, "le", le);
                out_str(&o, " ");
                out_num(&o, (double)cum);
                out_str(&o, "\n");
            }
            out_str(&o, m->name);
            out_str(&o, "_sum");
            out_labels(&o, m, s, NULL, NULL);
            out_str(&o, " ");
            out_num(&o, s->value);
            out_str(&o, "\n");
            out_str(&o, m->name);
            out_str(&o, "_count");
            out_labels(&o, m, s, NULL, NULL);
            out_str(&o, " ");
            out_num(&o, (double)s->count);
            out_str(&o, "\n");
        }
    }
    pthread_mutex_unlock(&r->mu);
    if (o.oom) {
        free(o.p);
        return NULL;
    }
    if (!o.p)
        o.p = strdup("");
    if (len)
        *len = o.len;
    return o.p;
}
