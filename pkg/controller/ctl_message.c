/*
 * ctl_message.c — Event sentences (see ctl_message.h).
 *
 * Frame names, files and wait reasons come from the pod's capture: they
 * are escaped visibly (lw_text.h) so that no byte of them reaches a
 * terminal through `kubectl describe`, and an invalid UTF-8 byte cannot
 * make the API server refuse the Event.
 */
#include "ctl_message.h"
#include "lw/lw_fmt.h"
#include "lw/lw_text.h"

#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ctl_fmt_count(int64_t v, char *out, size_t outlen)
{
    lw_fmt_grouped(v, out, outlen);
}

void ctl_fmt_duration(double minutes, char *out, size_t outlen)
{
    if (!(minutes >= 0))
        minutes = 0;
    long secs = lround(minutes * 60);
    if (secs < 60)
        snprintf(out, outlen, "%lds", secs);
    else if (secs < 3600)
        snprintf(out, outlen, "%ldm", secs / 60);
    else if (secs % 3600 < 60)
        snprintf(out, outlen, "%ldh", secs / 3600);
    else
        snprintf(out, outlen, "%ldh%ldm", secs / 3600, (secs % 3600) / 60);
}

void ctl_fmt_fileline(const char *file, uint32_t line, char *out, size_t outlen)
{
    if (!file || !*file) {
        snprintf(out, outlen, "?");
        return;
    }
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    if (line)
        snprintf(out, outlen, "%s:%u", base, line);
    else
        snprintf(out, outlen, "%s", base);
}

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

/* An empty sentence in out; false when there is no room at all. */
static bool sb_open(sbuf *b, char *out, size_t outlen)
{
    *b = (sbuf){out, 0, outlen};
    if (!outlen)
        return false;
    out[0] = '\0';
    return true;
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->len + 1 >= b->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    b->len += (size_t)n;
    if (b->len >= b->cap)
        b->len = b->cap - 1;
}

/* Input bytes, escaped; cut (whole characters only) when out of room. */
static void sb_escaped(sbuf *b, const char *s)
{
    if (b->len + 1 >= b->cap)
        return;
    b->len += lw_text_escape(s, strlen(s), b->p + b->len, b->cap - b->len);
}

/* "revision 7 (orders:1.4.2)", or "revision 7" when the images are unknown */
static void sb_revision(sbuf *b, long rev, const char *images)
{
    sb_printf(b, "revision %ld", rev);
    if (images && images[0]) {
        sb_printf(b, " (");
        sb_escaped(b, images);
        sb_printf(b, ")");
    }
}

/* " (3m old, 2,072 goroutines)": the peer's age, and its count when known */
static void sb_peer_facts(sbuf *b, const ctl_finding_msg *m)
{
    char age[32];
    ctl_fmt_duration(m->peer_age_minutes, age, sizeof(age));
    sb_printf(b, " (%s old", age);
    if (m->peer_count >= 0) {
        char cnt[32];
        ctl_fmt_count(m->peer_count, cnt, sizeof(cnt));
        sb_printf(b, ", %s goroutines", cnt);
    }
    sb_printf(b, ")");
}

void ctl_format_finding(const ctl_finding_msg *m, char *out, size_t outlen)
{
    sbuf b;
    if (!sb_open(&b, out, outlen))
        return;
    char n1[32], d1[32];
    ctl_fmt_count(m->growth, n1, sizeof(n1));
    ctl_fmt_duration(m->span_minutes, d1, sizeof(d1));
    sb_printf(&b, "%s%s goroutines in %s (%.1f/min)", m->growth >= 0 ? "+" : "",
              n1, d1, m->per_minute);
    if (m->revision > 0 && m->revision_age_minutes > 0) {
        /* "in revision 7 (orders:1.4.2, rolled out 2h ago)" */
        char age[32];
        ctl_fmt_duration(m->revision_age_minutes, age, sizeof(age));
        sb_printf(&b, " in revision %ld (", m->revision);
        if (m->images && m->images[0]) {
            sb_escaped(&b, m->images);
            sb_printf(&b, ", ");
        }
        sb_printf(&b, "rolled out %s ago)", age);
    } else if (m->revision > 0) {
        sb_printf(&b, " in ");
        sb_revision(&b, m->revision, m->images);
    }
    bool older_peer = m->peer_name && m->revision > 0 &&
                      m->peer_revision > 0 && m->peer_revision < m->revision;
    if (older_peer) {
        /* The runbook's baseline: a pod that has not yet rolled. */
        sb_printf(&b, " vs not-yet-rolled peer %s of ", m->peer_name);
        sb_revision(&b, m->peer_revision, m->peer_images);
        sb_peer_facts(&b, m);
    } else if (m->peer_name) {
        bool fresh = m->pod_age_minutes <= 0 ||
                     m->peer_age_minutes < 0.5 * m->pod_age_minutes;
        sb_printf(&b, " vs %speer %s", fresh ? "fresh " : "", m->peer_name);
        sb_peer_facts(&b, m);
    } else {
        sb_printf(&b, " vs its own first capture (no ready peer)");
    }
    if (m->diverged)
        sb_printf(&b, ", far above its peers for its age");
    const lwa_finding *f = m->top;
    if (f && f->sig) {
        const lwa_sig *s = f->sig;
        const pprof_frame *fr = s->nframes ? &s->frames[s->shown] : NULL;
        char fl[160] = "?";
        if (fr)
            ctl_fmt_fileline(fr->file, fr->line, fl, sizeof(fl));
        sb_printf(&b, ": ");
        sb_escaped(&b, fr && fr->func ? fr->func : "(unknown)");
        sb_printf(&b, " ");
        sb_escaped(&b, fl);
        if (s->wait_reason || f->has_minutes) {
            sb_printf(&b, " [");
            sb_escaped(&b, s->wait_reason ? s->wait_reason : "blocked");
            if (f->has_minutes && f->minutes_max)
                sb_printf(&b, ", %" PRIu64 " min", f->minutes_max);
            sb_printf(&b, "]");
        }
        char cnt[32], dl[32];
        ctl_fmt_count((int64_t)f->count, cnt, sizeof(cnt));
        ctl_fmt_count(f->delta, dl, sizeof(dl));
        sb_printf(&b, " x%s (%s%s", cnt, f->delta >= 0 ? "+" : "", dl);
        if (f->has_baseline) {
            char bl[32];
            ctl_fmt_count((int64_t)f->baseline, bl, sizeof(bl));
            sb_printf(&b, ", %s in baseline", bl);
        }
        sb_printf(&b, ")");
        if (s->created_by.func) {
            sb_printf(&b, ", created by ");
            sb_escaped(&b, s->created_by.func);
        }
        if (f->ncompanions) {
            /* One leak seen from several goroutines: say what one leaked
             * object costs, so nobody chases the companions separately. */
            sb_printf(&b, "; one leak on %zu stacks, %.0f goroutines per ",
                      f->ncompanions + 1, f->group_per_unit);
            if (f->unit) {
                sb_printf(&b, "%s", f->unit);
            } else {
                sb_printf(&b, "stuck ");
                sb_escaped(&b, fr && fr->func ? fr->func : "goroutine");
            }
            size_t shown = f->ncompanions < 4 ? f->ncompanions : 4;
            for (size_t i = 0; i < shown; i++) {
                const lwa_sig *cs = f->companions[i].sig;
                const char *cf = cs && cs->nframes ? cs->frames[cs->shown].func : NULL;
                sb_printf(&b, "%s", i ? ", " : " (with ");
                sb_escaped(&b, cf ? cf : "?");
                sb_printf(&b, " x%.0f", f->companions[i].per_unit);
            }
            if (f->ncompanions > shown)
                sb_printf(&b, ", %zu more", f->ncompanions - shown);
            sb_printf(&b, ")");
        }
        /* The tenant (route, job...) the growth is concentrated in. */
        for (size_t i = 0; i < f->nlabels && i < 2; i++) {
            sb_printf(&b, "%s%.0f%% ", i ? ", " : "; ", 100.0 * f->labels[i].share);
            sb_escaped(&b, f->labels[i].key);
            sb_printf(&b, "=");
            sb_escaped(&b, f->labels[i].value);
        }
        if (older_peer && f->has_baseline) {
            /* Flat: the old revision's pod ran at least as long as the
             * window and holds under a tenth of what this one holds. */
            bool flat = m->peer_age_minutes >= m->span_minutes &&
                        f->baseline * 10 <= f->count;
            sb_printf(&b, "; ");
            if (flat) {
                sb_printf(&b, "new in ");
                sb_revision(&b, m->revision, m->images);
                sb_printf(&b, "; ");
                sb_revision(&b, m->peer_revision, m->peer_images);
                sb_printf(&b, " flat on this stack");
            } else {
                char bl[32];
                ctl_fmt_count((int64_t)f->baseline, bl, sizeof(bl));
                sb_revision(&b, m->peer_revision, m->peer_images);
                sb_printf(&b, " holds %s on this stack too: not new in "
                          "revision %ld", bl, m->revision);
            }
        }
        if (!older_peer && m->revision > 0 && m->prev_revision > 0 &&
            m->prev_revision < m->revision && m->prev_count >= 0) {
            /* The last green deploy, from its evidence: a capture of one
             * moment, so "held", and new only under a tenth again. */
            char held[32], age[32];
            ctl_fmt_count(m->prev_count, held, sizeof(held));
            ctl_fmt_duration(m->prev_age_minutes, age, sizeof(age));
            bool new_here = (uint64_t)m->prev_count * 10 <= f->count;
            sb_printf(&b, "; ");
            if (new_here) {
                sb_printf(&b, "new in ");
                sb_revision(&b, m->revision, m->images);
                sb_printf(&b, "; ");
            }
            sb_revision(&b, m->prev_revision, m->prev_images);
            sb_printf(&b, " held %s on this stack%s in evidence kept %s ago", held,
                      new_here ? "" : " too", age);
            if (!new_here)
                sb_printf(&b, ": not new in revision %ld", m->revision);
        }
        sb_printf(&b, "; pattern %s: %s", lwa_pattern_name(f->pattern),
                  lwa_pattern_fix(f->pattern));
    }
    if (m->suspect_path && m->baseline_path)
        sb_printf(&b, ". Evidence: go tool pprof -diff_base %s %s",
                  m->baseline_path, m->suspect_path);
    else if (m->suspect_path)
        sb_printf(&b, ". Evidence: %s", m->suspect_path);
    /* Said, not dropped: without it a reader cannot tell "not configured"
     * from "lost", nor why containment will not act on this finding. */
    if (m->evidence_error) {
        sb_printf(&b, m->suspect_path ? " (baseline could not be saved: "
                                      : ". Evidence could not be saved: ");
        sb_escaped(&b, m->evidence_error);
        if (m->suspect_path)
            sb_printf(&b, ")");
    }
}

void ctl_format_workload(size_t leaking, size_t replicas, size_t growing,
                         const char *pods, const char *first_pod,
                         const char *pod_msg, char *out, size_t outlen)
{
    sbuf b;
    if (!sb_open(&b, out, outlen))
        return;
    sb_printf(&b, "%zu of %zu replica%s leak%s on this stack (%s)", leaking,
              replicas, replicas == 1 ? "" : "s", leaking == 1 ? "s" : "",
              pods && pods[0] ? pods : first_pod);
    if (growing)
        sb_printf(&b, ", %zu more growing", growing);
    sb_printf(&b, "; pod %s: %s", first_pod, pod_msg);
}

/* " at 4.1 req/s", or what is known instead (why: for the pod watched
 * now; a finding's rate is also unknown when it was adopted) */
static void sb_rate(sbuf *b, double req_per_s, bool why)
{
    if (req_per_s >= 0)
        sb_printf(b, " at %.1f req/s", req_per_s);
    else
        sb_printf(b, " at an unknown request rate%s",
                  why ? " (no request counter in /metrics)" : "");
}

void ctl_format_verified(const ctl_verify_msg *m, char *out, size_t outlen)
{
    sbuf b;
    if (!sb_open(&b, out, outlen))
        return;
    char from[32], to[32], span[32];
    ctl_fmt_count(m->from, from, sizeof(from));
    ctl_fmt_count(m->to, to, sizeof(to));
    ctl_fmt_duration(m->minutes, span, sizeof(span));
    if (m->kind == CTL_VERIFIED_LOW_LOAD) {
        sb_printf(&b, "not yet comparable: ");
        sb_escaped(&b, m->func);
        sb_printf(&b, " in ");
        sb_revision(&b, m->revision, m->images);
        sb_printf(&b, " was watched for %s at %.1f req/s, under half the "
                  "%.1f req/s it leaked at; watching again", span,
                  m->req_per_s, m->old_req_per_s);
        return;
    }
    bool fixed = m->kind == CTL_VERIFIED_FIXED;
    sb_escaped(&b, m->func);
    sb_printf(&b, fixed ? " no longer grows in " : " still grows in ");
    sb_revision(&b, m->revision, m->images);
    sb_printf(&b, ": %s \xe2\x86\x92 %s over %s", from, to, span);
    if (!fixed)
        sb_printf(&b, " (%+.1f/min)", m->per_minute);
    sb_printf(&b, " on pod %s", m->pod);
    sb_rate(&b, m->req_per_s, true);
    sb_printf(&b, "; it grew %+.1f/min in ", m->old_per_minute);
    sb_revision(&b, m->old_revision, m->old_images);
    sb_rate(&b, m->old_req_per_s, false);
    if (m->restarts > 0)
        sb_printf(&b, ". The finding stayed open across %d restart%s of "
                  "revision %ld: a restart is not a fix", m->restarts,
                  m->restarts == 1 ? "" : "s", m->old_revision);
    if (!fixed && m->pattern && m->pattern[0]) {
        int p = lwa_pattern_from_name(m->pattern);
        sb_printf(&b, ". Pattern %s", m->pattern);
        if (p >= 0)
            sb_printf(&b, ": %s", lwa_pattern_fix((lwa_pattern)p));
    }
}

/* ---- reading back ---------------------------------------------------- */

enum {
    RX_LEAK_FUNC,      /* GoroutineLeak: the top stack's function */
    RX_LEAK_RATE,
    RX_LEAK_PATTERN,
    RX_NOT_FIXED_FUNC,
    RX_NOT_FIXED_RATE,
    RX_NOT_FIXED_PATTERN,
    RX_NOT_FIXED_LOAD,
    RX_FIXED_FUNC,
    RX_CLEARED_FUNC,
    RX_REVISION,
    RX_COUNT
};

/* Index by the enum above; each quotes the sentence ctl_format_* writes. */
static const char *const rx_source[RX_COUNT] = {
    /* "N of M replicas leak …; pod P: +G goroutines in 4m (15.9/min)
     * in revision 7 (…) vs …: FUNC FILE:LINE [reason] xCOUNT (…" */
    [RX_LEAK_FUNC] = ": ([^ ]+) [^ ]+( \\[[^]]*\\])? x[0-9]",
    [RX_LEAK_RATE] = "goroutines in [^(]*\\(([-0-9.]+)/min\\)",
    [RX_LEAK_PATTERN] = "; pattern ([^:]+):",
    /* "FUNC still grows in revision 8 (…): A → B over 30m (+10.3/min)
     * on pod P at 4.1 req/s; …" */
    [RX_NOT_FIXED_FUNC] = "^([^ ]+) still grows in revision",
    [RX_NOT_FIXED_RATE] = "over [^ ]+ \\(([-+0-9.]+)/min\\)",
    [RX_NOT_FIXED_PATTERN] = "Pattern ([^:]+):",
    [RX_NOT_FIXED_LOAD] = "^[^;]* on pod [^ ]+ at ([0-9.]+) req/s",
    [RX_FIXED_FUNC] = "^([^ ]+) no longer grows in revision",
    [RX_CLEARED_FUNC] = "^goroutine leak \\([^)]*\\) on ([^ ]+) no longer observed "
                        "in any replica",
    /* "in revision 7 (orders:1.4.2, rolled out 2h ago)" or "in revision 7
     * (orders:1.4.2)": the number and the images. */
    [RX_REVISION] = "in revision ([0-9]+)( \\([^ )]*)?",
};

struct ctl_event_reader {
    regex_t rx[RX_COUNT];
};

ctl_event_reader *ctl_event_reader_new(void)
{
    ctl_event_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    for (int i = 0; i < RX_COUNT; i++) {
        if (regcomp(&r->rx[i], rx_source[i], REG_EXTENDED) != 0) {
            /* The patterns are constants: only memory can fail here. */
            while (i-- > 0)
                regfree(&r->rx[i]);
            free(r);
            return NULL;
        }
    }
    return r;
}

void ctl_event_reader_free(ctl_event_reader *r)
{
    if (!r)
        return;
    for (int i = 0; i < RX_COUNT; i++)
        regfree(&r->rx[i]);
    free(r);
}

/* The first match of pattern rx in msg, its groups copied out (bufs[i]
 * of sizes[i] bytes each); false when none. */
static bool match_groups(const ctl_event_reader *r, int rx, const char *msg,
                         char **bufs, const size_t *sizes, size_t ngroups)
{
    regmatch_t m[6];
    if (ngroups > 5 || regexec(&r->rx[rx], msg, ngroups + 1, m, 0) != 0)
        return false;
    for (size_t i = 0; i < ngroups; i++) {
        size_t n = m[i + 1].rm_so < 0 ? 0 : (size_t)(m[i + 1].rm_eo - m[i + 1].rm_so);
        if (n >= sizes[i])
            n = sizes[i] - 1;
        memcpy(bufs[i], msg + (m[i + 1].rm_so < 0 ? 0 : m[i + 1].rm_so), n);
        bufs[i][n] = '\0';
    }
    return true;
}

static void revision_of(const ctl_event_reader *r, const char *msg,
                        ctl_story_event *out)
{
    char num[24] = "", images[512] = "";
    char *bufs[] = {num, images};
    size_t sizes[] = {sizeof(num), sizeof(images)};
    out->revision = -1;
    if (!match_groups(r, RX_REVISION, msg, bufs, sizes, 2))
        return;
    out->revision = strtol(num, NULL, 10);
    const char *img = images[0] == ' ' ? images + 2 : images;
    size_t n = strlen(img);
    if (n && img[n - 1] == ',')
        n--;
    snprintf(out->images, sizeof(out->images), "%.*s", (int)n, img);
}

/* match_groups for one group. */
static bool match_one(const ctl_event_reader *r, int rx, const char *msg,
                      char *buf, size_t size)
{
    char *bufs[] = {buf};
    size_t sizes[] = {size};
    return match_groups(r, rx, msg, bufs, sizes, 1);
}

bool ctl_parse_workload_event(const ctl_event_reader *r, const char *reason,
                              const char *message, ctl_story_event *out)
{
    memset(out, 0, sizeof(*out));
    out->revision = -1;
    out->req_per_s = -1;
    if (!reason || !message)
        return false;
    char rate[32] = "", load[32] = "";
    const char *about = message; /* where the revision is read */
    if (!strcmp(reason, "GoroutineLeak")) {
        about = strstr(message, "; pod ");
        if (!about || !match_one(r, RX_LEAK_FUNC, about, out->func, sizeof(out->func)))
            return false;
        match_one(r, RX_LEAK_RATE, about, rate, sizeof(rate));
        match_one(r, RX_LEAK_PATTERN, about, out->pattern, sizeof(out->pattern));
        out->open = true;
    } else if (!strcmp(reason, "GoroutineLeakNotFixed")) {
        if (!match_one(r, RX_NOT_FIXED_FUNC, message, out->func, sizeof(out->func)))
            return false;
        match_one(r, RX_NOT_FIXED_RATE, message, rate, sizeof(rate));
        match_one(r, RX_NOT_FIXED_PATTERN, message, out->pattern, sizeof(out->pattern));
        if (match_one(r, RX_NOT_FIXED_LOAD, message, load, sizeof(load)))
            out->req_per_s = strtod(load, NULL);
        out->open = true;
    } else if (!strcmp(reason, "GoroutineLeakFixed")) {
        if (!match_one(r, RX_FIXED_FUNC, message, out->func, sizeof(out->func)))
            return false;
    } else if (!strcmp(reason, "GoroutineLeakCleared")) {
        if (!match_one(r, RX_CLEARED_FUNC, message, out->func, sizeof(out->func)))
            return false;
    } else {
        return false;
    }
    if (out->open)
        revision_of(r, about, out);
    out->per_minute = rate[0] ? strtod(rate, NULL) : 0;
    return out->func[0] != '\0';
}
