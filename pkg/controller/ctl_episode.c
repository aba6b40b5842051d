/*
 * ctl_episode.c — one pod's suspicion episode: its full captures, parsed
 * once into snapshots of one signature table (see ctl_episode.h for why a
 * series, and for who owns it when).
 *
 * Not for: capturing (the worker hands in the bytes) or reading the report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "controller/ctl_episode.h"

struct ctl_episode {
    lwa_sigtab *tab;
    lwa_snapshot *snaps[CTL_EPISODE_MAX]; /* oldest first                 */
    size_t n;
    uint64_t last_max_goid;               /* 0: the last capture had no ids */
    ctl_full first, last;
};

ctl_episode *ctl_episode_new(const lwa_options *opt)
{
    ctl_episode *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->tab = lwa_sigtab_new(opt);
    if (!e->tab) {
        free(e);
        return NULL;
    }
    return e;
}

void ctl_episode_free(ctl_episode *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++)
        lwa_snapshot_free(e->snaps[i]);
    ctl_full_clear(&e->first);
    ctl_full_clear(&e->last);
    lwa_sigtab_free(e->tab);
    free(e);
}

/* A debug=2 dump is text that gzip shrinks about tenfold; a suspect pod
 * keeps two of them for the length of its episode, so they are kept
 * compressed (and saved so: a .txt.gz opens with zless).  NULL when
 * compression fails; the caller then keeps the bytes as they are. */
static unsigned char *gzip_copy(const unsigned char *in, size_t len,
                                size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, (uLong)len);
    unsigned char *out = malloc(cap ? cap : 1);
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END || len > UINT32_MAX) {
        free(out);
        return NULL;
    }
    /* Shrinking cannot really fail; if it does, the larger block is fine. */
    unsigned char *fit = realloc(out, *outlen ? *outlen : 1);
    if (fit)
        out = fit;
    return out;
}

static void keep_raw(ctl_full *f, unsigned char *raw, size_t len,
                     const char *ext, int64_t t_ms)
{
    ctl_full_clear(f);
    ext = ext ? ext : "txt";
    size_t zlen = 0;
    unsigned char *z = strcmp(ext, "txt") ? NULL : gzip_copy(raw, len, &zlen);
    if (z) {
        free(raw);
        raw = z;
        len = zlen;
        ext = "txt.gz";
    }
    f->raw = raw;
    f->len = len;
    f->t_ms = t_ms;
    snprintf(f->ext, sizeof(f->ext), "%s", ext);
}

static pprof_profile *parse(const unsigned char *raw, size_t len,
                            const char *name, uint64_t cutoff, char *err,
                            size_t errlen)
{
    pprof_limits lim;
    pprof_limits_default(&lim);
    lim.goid_cutoff = cutoff;
    return pprof_parse_buffer(raw, len, name, &lim, err, errlen);
}

int ctl_episode_add(ctl_episode *e, unsigned char *raw, size_t len,
                    const char *ext, int64_t t_ms, const char *pod, char *err,
                    size_t errlen)
{
    char name[400];
    snprintf(name, sizeof(name), "pod %.250s capture %zu", pod ? pod : "?",
             e->n + 1);
    uint64_t cutoff = e->last_max_goid;
    pprof_profile *p = parse(raw, len, name, cutoff, err, errlen);
    /* Ids that went backwards belong to a new process the watch has not
     * reported yet: the previous capture's cutoff means nothing to it. */
    if (p && cutoff && (!p->has_goids || p->max_goid < cutoff)) {
        pprof_profile_free(p);
        cutoff = 0;
        p = parse(raw, len, name, 0, err, errlen);
    }
    if (!p) {
        free(raw);
        return -1;
    }
    /* With the cutoff, the snapshot keeps per stack the goroutines that
     * already existed at the previous capture: what tells a leak (they
     * stay) from a burst in flight (always new). */
    lwa_snapshot *s = lwa_snapshot_take_after(e->tab, p, name, cutoff);
    uint64_t max_goid = p->has_goids ? p->max_goid : 0;
    pprof_profile_free(p);
    if (!s) {
        snprintf(err, errlen, "%s: out of memory for its snapshot", name);
        free(raw);
        return -1;
    }
    lwa_snapshot_set_time(s, t_ms);
    if (e->n == CTL_EPISODE_MAX) {
        /* Keep the first (where the episode began) and slide the rest. */
        lwa_snapshot_free(e->snaps[1]);
        memmove(&e->snaps[1], &e->snaps[2],
                (CTL_EPISODE_MAX - 2) * sizeof(e->snaps[0]));
        e->n--;
    }
    e->snaps[e->n++] = s;
    e->last_max_goid = max_goid;
    if (!e->first.raw)
        keep_raw(&e->first, raw, len, ext, t_ms);
    else
        keep_raw(&e->last, raw, len, ext, t_ms);
    return 0;
}

size_t ctl_episode_captures(const ctl_episode *e)
{
    return e ? e->n : 0;
}

const ctl_full *ctl_episode_first(const ctl_episode *e)
{
    return &e->first;
}

const ctl_full *ctl_episode_last(const ctl_episode *e)
{
    return e->last.raw ? &e->last : &e->first;
}

lwa_snapshot *ctl_episode_baseline(ctl_episode *e, const pprof_profile *peer,
                                   const char *name)
{
    return lwa_snapshot_take(e->tab, peer, name);
}

lwa_report *ctl_episode_analyze(const ctl_episode *e,
                                const lwa_snapshot *baseline,
                                const lwa_thresholds *th)
{
    if (!e->n)
        return NULL;
    return lwa_analyze(e->tab, (const lwa_snapshot *const *)e->snaps, e->n,
                       baseline, th);
}

const lwa_sigtab *ctl_episode_table(const ctl_episode *e)
{
    return e->tab;
}
