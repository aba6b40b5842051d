/*
 * cnt_urgency.c — how soon a leak hits a limit, from the growth the
 * controller measured: goroutines per minute times bytes per goroutine
 * against the memory limit's headroom, and goroutines per minute against
 * --goroutine-cap.  The nearer limit counts; under the horizon (or at the
 * minimum rate) the leak is urgent, otherwise it is mild and only reported.
 *
 * Not for: whether a restart may happen now (cnt_decide.c).
 */
#include "contain/cnt_plan.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void format_rate(double per_minute, char *out, size_t outlen)
{
    if (fabs(per_minute) < 10 && per_minute != floor(per_minute))
        snprintf(out, outlen, "%+.1f", per_minute);
    else
        snprintf(out, outlen, "%+.0f", per_minute);
}

void cnt_urgency_eval(const cnt_config *cfg, const cnt_candidate *cand,
                      const cnt_mem_limit *lim, cnt_urgency *out)
{
    memset(out, 0, sizeof *out);
    double rate = cand->per_minute;
    if (!isfinite(rate))
        rate = 0;
    out->per_minute = rate;
    out->bpg = cand->bytes_per_goroutine > 0 && isfinite(cand->bytes_per_goroutine)
                   ? cand->bytes_per_goroutine
                   : CNT_DEFAULT_BYTES_PER_GOROUTINE;
    out->bpg_estimated = !(cand->bytes_per_goroutine > 0);
    out->eta_s = INFINITY;

    double mem_eta = INFINITY, cap_eta = INFINITY;
    bool have_mem = lim && lim->bytes > 0, have_cap = cfg->goroutine_cap > 0;
    double goroutines = cand->goroutines > 0 ? (double)cand->goroutines : 0;
    if (have_mem) {
        /* Without a measured footprint the goroutines alone are a lower
         * bound of what the process holds: the projection can only be
         * late, never early. */
        double used = cand->memory_bytes > 0 ? (double)cand->memory_bytes
                                             : goroutines * out->bpg;
        double headroom = (double)lim->bytes - used;
        if (headroom <= 0)
            mem_eta = 0;
        else if (rate > 0)
            mem_eta = headroom / (rate * out->bpg) * 60.0;
    }
    if (have_cap) {
        double headroom = (double)cfg->goroutine_cap - goroutines;
        if (headroom <= 0)
            cap_eta = 0;
        else if (rate > 0)
            cap_eta = headroom / rate * 60.0;
    }
    if (have_mem && (mem_eta <= cap_eta || !have_cap)) {
        out->basis = CNT_BASIS_MEMORY;
        out->eta_s = mem_eta;
    } else if (have_cap) {
        out->basis = CNT_BASIS_CAP;
        out->eta_s = cap_eta;
    }
    out->under_horizon = out->basis != CNT_BASIS_NONE && cfg->horizon_s > 0 &&
                         out->eta_s < cfg->horizon_s;
    out->by_rate = cfg->min_rate_per_min > 0 && rate >= cfg->min_rate_per_min;
    out->urgent = out->under_horizon || out->by_rate;

    char r[32], eta[32], hz[32], each[64], sz[32], minr[32];
    format_rate(rate, r, sizeof r);
    cnt_format_duration(out->eta_s, eta, sizeof eta);
    cnt_format_duration(cfg->horizon_s, hz, sizeof hz);
    cnt_format_size(out->bpg, sz, sizeof sz);
    snprintf(each, sizeof each, "~%s each%s", sz,
             out->bpg_estimated ? ", estimated" : "");
    format_rate(cfg->min_rate_per_min, minr, sizeof minr);

    char base[448];
    if (out->basis == CNT_BASIS_MEMORY) {
        char where[80] = "";
        if (lim->source[0] && strncmp(lim->source, "container ", 10))
            snprintf(where, sizeof where, " (%.60s)", lim->source);
        if (out->eta_s <= 0)
            snprintf(base, sizeof base, "already at its %s memory limit%s at "
                     "%s goroutines/min (%s)", lim->text, where, r, each);
        else if (isinf(out->eta_s))
            snprintf(base, sizeof base, "not growing toward its %s memory "
                     "limit%s (%s goroutines/min)", lim->text, where, r);
        else
            snprintf(base, sizeof base, "projected to reach its %s memory "
                     "limit%s in %s at %s goroutines/min (%s)", lim->text,
                     where, eta, r, each);
    } else if (out->basis == CNT_BASIS_CAP) {
        if (out->eta_s <= 0)
            snprintf(base, sizeof base, "already at the goroutine cap of %ld "
                     "(%lld goroutines)", cfg->goroutine_cap,
                     (long long)cand->goroutines);
        else if (isinf(out->eta_s))
            snprintf(base, sizeof base, "not growing toward the goroutine cap "
                     "of %ld (%s goroutines/min)", cfg->goroutine_cap, r);
        else
            snprintf(base, sizeof base, "projected to reach the goroutine cap "
                     "of %ld in %s at %s goroutines/min (now %lld)",
                     cfg->goroutine_cap, eta, r, (long long)cand->goroutines);
    } else {
        snprintf(base, sizeof base, "growing at %s goroutines/min with no "
                 "memory limit or goroutine cap to project against", r);
    }

    const char *dash = "\u2014"; /* an em dash, as kubectl describe shows */
    if (out->under_horizon)
        snprintf(out->phrase, sizeof out->phrase, "%s %s under the %s horizon",
                 base, dash, hz);
    else if (out->by_rate)
        snprintf(out->phrase, sizeof out->phrase, "%s%s%s%s, but %s/min reaches "
                 "the minimum rate of %s/min", base,
                 out->basis != CNT_BASIS_NONE ? " " : "",
                 out->basis != CNT_BASIS_NONE ? dash : "",
                 out->basis != CNT_BASIS_NONE ? " beyond the horizon" : "", r,
                 minr + (minr[0] == '+'));
    else if (out->basis != CNT_BASIS_NONE && cfg->horizon_s > 0)
        snprintf(out->phrase, sizeof out->phrase, "%s %s beyond the %s horizon",
                 base, dash, hz);
    else
        snprintf(out->phrase, sizeof out->phrase, "%s", base);
    if (!out->urgent && cfg->min_rate_per_min > 0) {
        size_t len = strlen(out->phrase);
        snprintf(out->phrase + len, sizeof out->phrase - len,
                 ", below the minimum rate of %s/min", minr + (minr[0] == '+'));
    }
    cnt_utf8_trim(out->phrase);
}
