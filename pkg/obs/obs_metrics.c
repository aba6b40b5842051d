/*
 * obs_metrics.c — the registry behind obs_metrics.h.
 *
 * Each metric keeps its series in an open-addressing table keyed by the
 * label values joined with a 0xff separator (a byte that cannot appear in
 * UTF-8 text, so "a","bc" and "ab","c" never collide).  Removal uses
 * tombstones; the table is rebuilt when it fills up.
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

typedef enum { OBS_COUNTER, OBS_GAUGE, OBS_HISTOGRAM } obs_type;

typedef struct obs_series {
    char *key;      /* joined label values; NULL = empty, TOMBSTONE = removed */
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
    obs_series *slots;
    size_t cap, used, live;
};

struct obs_registry {
    pthread_mutex_t mu;
    obs_metric **metrics;
    size_t n, cap;
};

static char tombstone_mark;
#define TOMBSTONE (&tombstone_mark)

obs_registry *obs_registry_new(void)
{
    obs_registry *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

static void series_clear(obs_metric *m, obs_series *s)
{
    if (s->key && s->key != TOMBSTONE) {
        free(s->key);
        for (size_t i = 0; i < m->nlabels; i++)
            free(s->values[i]);
        free(s->values);
        free(s->buckets);
    }
    memset(s, 0, sizeof(*s));
}

static void metric_free(obs_metric *m)
{
    for (size_t i = 0; i < m->cap; i++)
        series_clear(m, &m->slots[i]);
    free(m->slots);
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

static size_t slot_of(const obs_metric *m, const char *key, int *found)
{
    uint64_t h = lw_hash_bytes(key, strlen(key), 0x6f6273);
    size_t mask = m->cap - 1, i = (size_t)h & mask, first_free = SIZE_MAX;
    for (;;) {
        obs_series *s = &m->slots[i];
        if (!s->key) {
            *found = 0;
            return first_free != SIZE_MAX ? first_free : i;
        }
        if (s->key == TOMBSTONE) {
            if (first_free == SIZE_MAX)
                first_free = i;
        } else if (!strcmp(s->key, key)) {
            *found = 1;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static int grow(obs_metric *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    if (m->live * 4 < m->cap)
        ncap = m->cap; /* mostly tombstones: rebuild at the same size */
    obs_series *old = m->slots;
    size_t oldcap = m->cap;
    obs_series *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -1;
    m->slots = ns;
    m->cap = ncap;
    m->used = 0;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].key || old[i].key == TOMBSTONE)
            continue;
        int found;
        size_t j = slot_of(m, old[i].key, &found);
        m->slots[j] = old[i];
        m->used++;
    }
    free(old);
    return 0;
}

/* Caller holds the registry lock. */
static obs_series *series_get(obs_metric *m, const char *const *vals, int create)
{
    char buf[512];
    int heap;
    char *key = join_key(m, vals, buf, sizeof(buf), &heap);
    if (!key)
        return NULL;
    obs_series *res = NULL;
    if ((m->used + 1) * 4 >= m->cap * 3 && create && grow(m) < 0)
        goto out;
    if (!m->cap)
        goto out;
    int found;
    size_t i = slot_of(m, key, &found);
    if (found) {
        res = &m->slots[i];
        goto out;
    }
    if (!create)
        goto out;
    obs_series *s = &m->slots[i];
    int was_tomb = s->key == TOMBSTONE;
    memset(s, 0, sizeof(*s));
    s->key = heap ? key : strdup(key);
    s->values = calloc(m->nlabels + 1, sizeof(char *));
    if (m->type == OBS_HISTOGRAM)
        s->buckets = calloc(m->nbounds + 1, sizeof(uint64_t));
    int bad = !s->key || !s->values || (m->type == OBS_HISTOGRAM && !s->buckets);
    for (size_t k = 0; !bad && k < m->nlabels; k++)
        bad = !(s->values[k] = strdup(vals && vals[k] ? vals[k] : ""));
    if (bad) {
        if (heap)
            heap = 0; /* ownership moved into s->key; freed below */
        for (size_t k = 0; s->values && k < m->nlabels; k++)
            free(s->values[k]);
        free(s->values);
        free(s->buckets);
        free(s->key);
        s->key = was_tomb ? TOMBSTONE : NULL;
        s->values = NULL;
        s->buckets = NULL;
        return NULL;
    }
    heap = 0;
    if (!was_tomb)
        m->used++;
    m->live++;
    res = s;
out:
    if (heap)
        free(key);
    return res;
}

void obs_counter_add(obs_metric *m, const char *const *vals, double v)
{
    if (!m || !(v >= 0))
        return; /* counters never go down; NaN is dropped too */
    pthread_mutex_lock(&m->reg->mu);
    obs_series *s = series_get(m, vals, 1);
    if (s)
        s->value += v;
    pthread_mutex_unlock(&m->reg->mu);
}

void obs_gauge_set(obs_metric *m, const char *const *vals, double v)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->reg->mu);
    obs_series *s = series_get(m, vals, 1);
    if (s)
        s->value = v;
    pthread_mutex_unlock(&m->reg->mu);
}

void obs_histogram_observe(obs_metric *m, const char *const *vals, double v)
{
    if (!m || m->type != OBS_HISTOGRAM || isnan(v))
        return;
    pthread_mutex_lock(&m->reg->mu);
    obs_series *s = series_get(m, vals, 1);
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
    obs_series *s = series_get(m, vals, 0);
    double v = s ? s->value : 0;
    pthread_mutex_unlock(&m->reg->mu);
    return v;
}

void obs_metric_remove(obs_metric *m, const char *const *vals)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->reg->mu);
    obs_series *s = series_get(m, vals, 0);
    if (s) {
        series_clear(m, s);
        s->key = TOMBSTONE;
        m->live--;
    }
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
        for (size_t j = 0; j < m->cap; j++) {
            obs_series *s = &m->slots[j];
            if (!s->key || s->key == TOMBSTONE)
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
