/*
 * ctl_open.c — findings left open by an earlier leakwatch (ctl_open.h).
 *
 * A sorted-on-demand array: it is filled once per leadership and read a
 * few hundred times, so a linear scan per take would already do; entries
 * are looked up by uid with a binary search after one sort.
 */
#include "ctl_open.h"
#include "lw/lw_grow.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct open_entry {
    char uid[64];
    int64_t t;          /* newest relevant Event                          */
    bool open;          /* that Event was a GoroutineLeak                 */
    char pattern[32];
} open_entry;

struct ctl_open {
    pthread_mutex_t mu;
    open_entry *e;
    size_t n, cap;
    bool sorted;
};

ctl_open *ctl_open_new(void)
{
    ctl_open *o = calloc(1, sizeof(*o));
    if (o)
        pthread_mutex_init(&o->mu, NULL);
    return o;
}

void ctl_open_free(ctl_open *o)
{
    if (!o)
        return;
    pthread_mutex_destroy(&o->mu);
    free(o->e);
    free(o);
}

static int cmp_uid(const void *a, const void *b)
{
    return strcmp(((const open_entry *)a)->uid, ((const open_entry *)b)->uid);
}

static open_entry *find(ctl_open *o, const char *uid)
{
    if (!o->n)
        return NULL; /* qsort and bsearch want a real array */
    if (!o->sorted) {
        qsort(o->e, o->n, sizeof(*o->e), cmp_uid);
        o->sorted = true;
    }
    open_entry key = {0};
    snprintf(key.uid, sizeof(key.uid), "%s", uid);
    return bsearch(&key, o->e, o->n, sizeof(*o->e), cmp_uid);
}

/* "…; pattern chan-send: buffer the channel…" -> "chan-send". */
static void pattern_of(const char *msg, char *out, size_t len)
{
    out[0] = '\0';
    const char *p = msg ? strstr(msg, "; pattern ") : NULL;
    if (!p)
        return;
    p += strlen("; pattern ");
    size_t n = strcspn(p, ": ");
    if (n >= len)
        n = len - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

int ctl_open_note(ctl_open *o, const char *uid, const char *reason, int64_t t,
                  const char *message)
{
    bool leak = reason && !strcmp(reason, "GoroutineLeak");
    if (!uid || !reason || (!leak && strcmp(reason, "GoroutineLeakCleared")))
        return 0;
    pthread_mutex_lock(&o->mu);
    open_entry *e = find(o, uid);
    if (!e) {
        if (lw_grow(&o->e, &o->cap, o->n, sizeof *o->e, 64)) {
            pthread_mutex_unlock(&o->mu);
            return -1;
        }
        e = &o->e[o->n++];
        memset(e, 0, sizeof(*e));
        snprintf(e->uid, sizeof(e->uid), "%s", uid);
        e->t = -1;
        o->sorted = false;
    }
    /* The newer Event decides; on a tie a clear wins (never leave open
     * what may have been closed). */
    if (t > e->t || (t == e->t && !leak)) {
        e->t = t;
        e->open = leak;
        if (leak)
            pattern_of(message, e->pattern, sizeof(e->pattern));
    }
    pthread_mutex_unlock(&o->mu);
    return 0;
}

bool ctl_open_take(ctl_open *o, const char *uid, char *pattern, size_t len)
{
    pthread_mutex_lock(&o->mu);
    open_entry *e = find(o, uid);
    bool open = e && e->open;
    if (open && pattern && len)
        snprintf(pattern, len, "%s", e->pattern);
    if (e)
        e->open = false; /* taken: later samples go by the pod's own state */
    pthread_mutex_unlock(&o->mu);
    return open;
}

size_t ctl_open_count(const ctl_open *o)
{
    ctl_open *m = (ctl_open *)o;
    pthread_mutex_lock(&m->mu);
    size_t k = 0;
    for (size_t i = 0; i < o->n; i++)
        k += o->e[i].open;
    pthread_mutex_unlock(&m->mu);
    return k;
}

void ctl_open_reset(ctl_open *o)
{
    pthread_mutex_lock(&o->mu);
    o->n = 0;
    o->sorted = true;
    pthread_mutex_unlock(&o->mu);
}
