/*
 * cmd_analyze.c — `leakwatch analyze [--json] [--baseline FILE]
 * SNAPSHOT...`: snapshots of one pod, oldest first, optionally with a fresh
 * peer's capture as baseline; prints a verdict and the stacks behind it,
 * the way an on-call expert would answer.
 *
 * Capture times (needed for rates) come from, in order: --interval
 * (equal spacing), --times (unix seconds or ms), the protobuf's own
 * time_nanos, the files' modification times.  When none of these
 * increases from one snapshot to the next, the verdict is still given
 * (shapes need only the order) but without rates.
 *
 * Not for: the decision rules (pkg/analysis/lwa_verdict.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "cli_input.h"
#include "cli_print.h"
#include "cmds.h"
#include "lw/lw_text.h"
#include "lw/lw_utf8.h"

#define CMD "leakwatch analyze"
#define MAX_SNAPSHOTS 10000

enum { OPT_BASELINE = 1, OPT_INTERVAL, OPT_TIMES, OPT_TOP };

static const cli_opt opts[] = {
    {"--baseline", true, OPT_BASELINE},
    {"--interval", true, OPT_INTERVAL},
    {"--times", true, OPT_TIMES},
    {"--top", true, OPT_TOP},
    {NULL, false, 0},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: leakwatch analyze [OPTIONS] SNAPSHOT...\n\n"
            "Judges goroutine captures of one pod, oldest first: leak,\n"
            "no-leak or inconclusive, with the growing stacks ranked, each\n"
            "with its pattern and first fix.  A ramp that plateaus and a\n"
            "burst that drains are not leaks; two captures are weak evidence\n"
            "unless blocked minutes (debug=2) or a fresh peer back them up.\n"
            "One SNAPSHOT (or the baseline) may be -, standard input.\n\n"
            "options:\n"
            "  --baseline FILE          a capture of a freshly started peer "
            "of the\n"
            "                           same workload: what healthy looks "
            "like\n"
            "  --interval SECONDS       the snapshots were taken this far "
            "apart\n"
            "  --times T1,T2,...        capture times, unix seconds or ms, "
            "one per\n"
            "                           snapshot (default: protobuf "
            "timestamps,\n"
            "                           then file modification times)\n"
            "  --top N                  findings to list (text: default 5;\n"
            "                           JSON: default all; 0 for all)\n%s\n"
            "exit status: 0 analysed (whatever the verdict), 1 usage error,\n"
            "2 unreadable or invalid input\n",
            cli_common_help);
}

/* --times: unix seconds or milliseconds, told apart by size (1e11 s is
 * the year 5138; 1e11 ms is 1973). */
static int parse_times(const char *arg, size_t n, int64_t *out)
{
    size_t k = 0;
    const char *p = arg;
    while (*p) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || v < 0 ||
            (*end && *end != ',')) {
            fprintf(stderr, CMD ": --times: '%s' is not a list of unix "
                                "times\n", arg);
            return CLI_EXIT_USAGE;
        }
        if (k == n) {
            k++;
            break;
        }
        out[k++] = v >= 1e11 ? (int64_t)llround(v) : (int64_t)llround(v * 1e3);
        p = *end ? end + 1 : end;
    }
    if (k != n) {
        fprintf(stderr, CMD ": --times has %s values for %zu snapshots\n",
                k > n ? "more" : "fewer", n);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static bool increasing(lwa_snapshot *const *s, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!s[k]->has_time || (k && s[k]->time_ms <= s[k - 1]->time_ms))
            return false;
    return true;
}

/* Fills in capture times from the first source that has them all. */
static void resolve_times(lwa_snapshot **s, size_t n, bool interval_set,
                          double interval, const int64_t *times)
{
    if (interval_set) {
        for (size_t k = 0; k < n; k++)
            lwa_snapshot_set_time(s[k], (int64_t)llround((double)k *
                                                         interval * 1e3));
        return;
    }
    if (times) {
        for (size_t k = 0; k < n; k++)
            lwa_snapshot_set_time(s[k], times[k]);
        if (n > 1 && !increasing(s, n))
            fprintf(stderr, CMD ": warning: --times do not increase; "
                                "rates are not shown\n");
        return;
    }
    if (increasing(s, n))
        return; /* protobuf timestamps */
    for (size_t k = 0; k < n; k++) {
        int64_t ms;
        if (s[k]->has_time)
            continue;
        if (cli_file_mtime_ms(s[k]->name, &ms))
            lwa_snapshot_set_time(s[k], ms);
    }
    if (n > 1 && !increasing(s, n))
        fprintf(stderr, CMD ": warning: capture times unknown (file times "
                            "do not increase); pass --interval or --times "
                            "for rates\n");
}

/* ---- JSON ---- */

/* The revision an evidence file's name carries, or null. */
static json_t *json_revision(const char *name)
{
    long rev = cli_revision_of(name);
    return rev > 0 ? json_integer(rev) : json_null();
}

static json_t *json_series(const lwa_report *r, const lwa_finding *f)
{
    json_t *a = json_array();
    for (size_t k = 0; a && f->series && k < r->nsnapshots; k++)
        if (json_array_append_new(a, json_integer((json_int_t)f->series[k])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* {"tenant": {"acme": 0.98}}: the label values the growth is
 * concentrated in (lwa_labels.c says when). */
static json_t *json_labels(const lwa_finding *f)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < f->nlabels; i++) {
        const lwa_label_share *l = &f->labels[i];
        /* Label names and values are any bytes a program set; JSON keys
         * must be UTF-8 (jansson refuses others): repaired as lw_utf8.h
         * says, before the lookup, so that equal keys still meet. */
        char *key = lw_utf8_repair(l->key, strlen(l->key));
        char *val = lw_utf8_repair(l->value, strlen(l->value));
        json_t *k = key ? json_object_get(o, key) : NULL;
        bool ok = key && val &&
                  (k || ((k = json_object()) && json_object_set_new(o, key, k) == 0)) &&
                  cli_json_set(k, val, json_real(cli_round(l->share, 2)));
        free(key);
        free(val);
        if (!ok)
            goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

/* The stacks that are the same leak as the lead (lwa_group.c). */
static json_t *json_companions(const lwa_finding *f)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < f->ncompanions; i++) {
        const lwa_companion *c = &f->companions[i];
        const pprof_frame *fr =
            c->sig->nframes ? &c->sig->frames[c->sig->shown] : NULL;
        json_t *o = json_object();
        if (!o || json_array_append_new(a, o) < 0 ||
            !cli_json_set(o, "function", fr && fr->func
                                             ? lw_json_string(fr->func)
                                             : json_null()) ||
            !cli_json_set(o, "wait_reason",
                          c->sig->wait_reason
                              ? lw_json_string(c->sig->wait_reason)
                              : json_null()) ||
            !cli_json_set(o, "created_by",
                          c->sig->created_by.func
                              ? lw_json_string(c->sig->created_by.func)
                              : json_null()) ||
            !cli_json_set(o, "count", json_integer((json_int_t)c->count)) ||
            !cli_json_set(o, "delta", json_integer((json_int_t)c->delta)) ||
            !cli_json_set(o, "per_unit", json_real(cli_round(c->per_unit, 1)))) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *json_finding(const lwa_report *r, const lwa_finding *f,
                            bool fold)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    bool rate = r->has_times && r->nsnapshots > 1;
    bool ok =
        cli_json_stack_head(o, f->sig, fold) &&
        cli_json_set(o, "count", json_integer((json_int_t)f->count)) &&
        cli_json_set(o, "baseline",
                     f->has_baseline ? json_integer((json_int_t)f->baseline)
                                     : json_null()) &&
        cli_json_set(o, "delta", json_integer((json_int_t)f->delta)) &&
        cli_json_set(o, "per_minute",
                     rate ? json_real(cli_round(f->growth.per_minute, 2))
                          : json_null()) &&
        cli_json_set(o, "blocked_minutes_max",
                     f->has_minutes ? json_integer((json_int_t)f->minutes_max)
                                    : json_null()) &&
        cli_json_stack_tail(o, f->sig) &&
        cli_json_set(o, "status", json_string(lwa_status_name(f->status))) &&
        cli_json_set(o, "shape", json_string(lwa_shape_name(f->growth.shape))) &&
        cli_json_set(o, "why", json_string(f->why ? f->why : "")) &&
        cli_json_set(o, "counts", json_series(r, f)) &&
        cli_json_set(o, "nondecreasing",
                     json_real(cli_round(f->growth.nondecreasing, 3))) &&
        cli_json_set(o, "held",
                     f->has_minutes ? json_integer((json_int_t)f->held)
                                    : json_null()) &&
        cli_json_set(o, "leaked",
                     f->has_leaked ? json_integer((json_int_t)f->leaked)
                                   : json_null()) &&
        cli_json_set(o, "labels", json_labels(f)) &&
        cli_json_set(o, "companions", json_companions(f)) &&
        cli_json_set(o, "per_unit", json_real(cli_round(f->per_unit, 1))) &&
        cli_json_set(o, "goroutines_per_unit",
                     json_real(cli_round(f->group_per_unit, 1))) &&
        cli_json_set(o, "units", json_integer((json_int_t)f->units)) &&
        cli_json_set(o, "unit", f->unit ? json_string(f->unit) : json_null()) &&
        cli_json_set(o, "old",
                     f->has_ids ? json_integer((json_int_t)f->old)
                                : json_null()) &&
        cli_json_set(o, "persisted",
                     f->has_ids ? json_real(cli_round(f->persisted, 3))
                                : json_null());
    /* Behaviour over time can name the pattern better than the frames
     * (a select that keeps its goroutines but never ages is a sleep
     * loop): the finding's pattern and its fix replace the stack's. */
    if (ok && f->pattern != f->sig->pattern)
        ok = cli_json_set(o, "pattern", json_string(lwa_pattern_name(f->pattern))) &&
             cli_json_set(o, "fix", json_string(lwa_pattern_fix(f->pattern)));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *json_findings(const lwa_report *r, const lwa_finding *fs,
                             size_t n, bool fold)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        if (json_array_append_new(a, json_finding(r, &fs[i], fold)) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *json_report(const lwa_report *r, lwa_snapshot *const *snaps,
                           const lwa_snapshot *baseline, size_t limit,
                           bool fold)
{
    json_t *o = json_object();
    json_t *total = json_object();
    json_t *files = json_array();
    json_t *base = baseline ? json_object() : json_null();
    bool rate = r->has_times && r->nsnapshots > 1;
    if (!o || !total || !files || !base)
        goto fail;
    if (!cli_json_set(total, "first", json_integer((json_int_t)r->total_first)) ||
        !cli_json_set(total, "last", json_integer((json_int_t)r->total_last)) ||
        !cli_json_set(total, "per_minute",
                      rate ? json_real(cli_round(r->total_per_minute, 2))
                           : json_null()) ||
        !cli_json_set(total, "shape", json_string(lwa_shape_name(r->total.shape))))
        goto fail;
    for (size_t k = 0; k < r->nsnapshots; k++) {
        json_t *f = json_object();
        if (!f || json_array_append_new(files, f) < 0 ||
            !cli_json_set(f, "file", lw_json_string(snaps[k]->name)) ||
            !cli_json_set(f, "format",
                          json_string(pprof_format_name(snaps[k]->format))) ||
            !cli_json_set(f, "total", json_integer((json_int_t)snaps[k]->total)) ||
            !cli_json_set(f, "revision", json_revision(snaps[k]->name)) ||
            !cli_json_set(f, "time_unix_ms",
                          snaps[k]->has_time
                              ? json_integer(snaps[k]->time_ms)
                              : json_null()))
            goto fail;
    }
    if (baseline &&
        (!cli_json_set(base, "file", lw_json_string(baseline->name)) ||
         !cli_json_set(base, "format",
                       json_string(pprof_format_name(baseline->format))) ||
         !cli_json_set(base, "total",
                       json_integer((json_int_t)baseline->total)) ||
         !cli_json_set(base, "revision", json_revision(baseline->name))))
        goto fail;
    size_t nf = limit && limit < r->nfindings ? limit : r->nfindings;
    bool ok = cli_json_set(o, "verdict",
                           json_string(lwa_verdict_name(r->verdict))) &&
              cli_json_set(o, "total", total);
    total = NULL;
    ok = ok && cli_json_set(o, "findings", json_findings(r, r->findings, nf, fold)) &&
         cli_json_set(o, "why", json_string(r->why ? r->why : "")) &&
         cli_json_set(o, "span_minutes",
                      rate ? json_real(cli_round(r->span_minutes, 3))
                           : json_null()) &&
         cli_json_set(o, "snapshots", files);
    files = NULL;
    ok = ok && cli_json_set(o, "baseline", base);
    base = NULL;
    ok = ok && cli_json_set(o, "dismissed",
                            json_findings(r, r->dismissed, r->ndismissed,
                                                  fold));
    if (!ok)
        goto fail;
    return o;
fail:
    json_decref(total);
    json_decref(files);
    json_decref(base);
    json_decref(o);
    return NULL;
}

/* ---- text ---- */

/* " in revision 7" for the pod's last capture, when its name says */
static void print_revision(const lwa_snapshot *last)
{
    long rev = last ? cli_revision_of(last->name) : -1;
    if (rev > 0)
        printf(" in revision %ld", rev);
}

/* "fresh peer", or "not-yet-rolled peer (revision 6)" when the names say
 * the baseline runs an older revision than the pod */
static void print_peer(const lwa_snapshot *last, const lwa_snapshot *baseline)
{
    long rev = last ? cli_revision_of(last->name) : -1;
    long brev = cli_revision_of(baseline->name);
    if (brev > 0 && rev > 0 && brev < rev)
        printf("not-yet-rolled peer of revision %ld", brev);
    else if (brev > 0)
        printf("peer of revision %ld", brev);
    else
        printf("fresh peer");
}

static void print_headline(const lwa_report *r, lwa_snapshot *const *snaps,
                           const lwa_snapshot *baseline)
{
    const lwa_snapshot *last = r->nsnapshots ? snaps[r->nsnapshots - 1] : NULL;
    char a[CLI_NUM_LEN], b[CLI_NUM_LEN], c[CLI_NUM_LEN];
    const char *label = r->verdict == LWA_VERDICT_LEAK ? "LEAK"
                        : r->verdict == LWA_VERDICT_INCONCLUSIVE
                            ? "INCONCLUSIVE"
                            : "no leak";
    if (r->nsnapshots == 1) {
        printf("%s: %s goroutines in one capture", label,
               cli_fmt_count(a, r->total_last));
        print_revision(last);
        if (baseline) {
            printf(" vs %s in the ", cli_fmt_count(b, baseline->total));
            print_peer(last, baseline);
        }
    } else {
        printf("%s: goroutines %s → %s", label, cli_fmt_count(a, r->total_first),
               cli_fmt_count(b, r->total_last));
        if (r->has_times)
            printf(" in %s (%s/min)", cli_fmt_duration(c, r->span_minutes),
                   cli_fmt_rate(a, r->total_per_minute));
        else
            printf(" over %zu captures", r->nsnapshots);
        print_revision(last);
        if (baseline) {
            printf(", ");
            print_peer(last, baseline);
            printf(" %s", cli_fmt_count(c, baseline->total));
        }
    }
    printf("\n");
}

/* ", 98% tenant=acme" */
static void print_labels(const lwa_finding *f)
{
    for (size_t i = 0; i < f->nlabels; i++) {
        printf(", %.0f%% ", f->labels[i].share * 100.0);
        lw_text_fputs(f->labels[i].key, stdout);
        putchar('=');
        lw_text_fputs(f->labels[i].value, stdout);
    }
}

/* "8 goroutines per leaked ClientConn" */
static void print_ratio(const lwa_finding *f)
{
    double v = f->group_per_unit;
    printf(fabs(v - round(v)) < 0.05 ? "%.0f goroutines per "
                                     : "%.1f goroutines per ", v);
    if (f->unit) {
        printf("%s", f->unit);
    } else {
        const pprof_frame *fr =
            f->sig->nframes ? &f->sig->frames[f->sig->shown] : NULL;
        printf("stuck ");
        lw_text_fputs(fr && fr->func ? fr->func : "(no frames)", stdout);
    }
}

/* The top finding, in full. */
static void print_finding(const lwa_report *r, const lwa_finding *f)
{
    char a[CLI_NUM_LEN], b[CLI_NUM_LEN];
    cli_print_stack_line(stdout, f->sig, f->minutes_max);
    printf("\n  ");
    if (r->nsnapshots > 1) {
        printf("%s goroutines", cli_fmt_delta(a, f->delta));
        if (r->has_times)
            printf(" (%s/min)", cli_fmt_rate(b, f->growth.per_minute));
        printf(", %s now", cli_fmt_count(a, f->count));
    } else {
        printf("%s goroutines", cli_fmt_count(a, f->count));
    }
    if (f->has_baseline)
        printf(" vs %s in the fresh peer", cli_fmt_count(a, f->baseline));
    print_labels(f);
    if (f->why)
        printf(": %s", f->why);
    printf("\n  pattern %s", lwa_pattern_name(f->pattern));
    if (f->pattern == LWA_PATTERN_UNKNOWN && !f->sig->wait_reason)
        printf(" (nothing captured says what it waits on: debug=1 hides "
               "it, debug=2 or protobuf would tell)");
    printf(" — fix: %s\n", lwa_pattern_fix(f->pattern));
    if (!f->ncompanions)
        return;
    printf("  one leak on %zu stacks: ", f->ncompanions + 1);
    print_ratio(f);
    printf(" (%.0f on this stack); with it:\n", f->per_unit);
    for (size_t i = 0; i < f->ncompanions; i++) {
        const lwa_companion *c = &f->companions[i];
        printf("    %s  %.0f/unit  ", cli_fmt_delta(a, c->delta), c->per_unit);
        cli_print_stack_line(stdout, c->sig, 0);
        printf("\n");
    }
}

/* Further findings, one line each. */
static void print_brief(const lwa_report *r, const lwa_finding *f)
{
    char a[CLI_NUM_LEN], b[CLI_NUM_LEN];
    if (r->nsnapshots > 1) {
        printf("  %s", cli_fmt_delta(a, f->delta));
        if (r->has_times)
            printf(" (%s/min)", cli_fmt_rate(b, f->growth.per_minute));
    } else {
        printf("  %s", cli_fmt_count(a, f->count));
        if (f->has_baseline)
            printf(" (peer %s)", cli_fmt_count(b, f->baseline));
    }
    printf("  ");
    cli_print_stack_line(stdout, f->sig, f->minutes_max);
    printf("  %s", lwa_pattern_name(f->pattern));
    if (f->ncompanions) {
        printf(" (+%zu companion stack%s, ", f->ncompanions,
               f->ncompanions > 1 ? "s" : "");
        print_ratio(f);
        printf(")");
    }
    print_labels(f);
    printf("\n");
}

static void text_report(const lwa_report *r, lwa_snapshot *const *snaps,
                        const lwa_snapshot *baseline, size_t limit)
{
    /* goroutineleak profiles other than debug=2 list only proven leaks */
    bool proof_only = true;
    for (size_t k = 0; k < r->nsnapshots; k++)
        proof_only = proof_only && snaps[k]->kind == PPROF_KIND_GOROUTINELEAK &&
                     snaps[k]->format != PPROF_FORMAT_DEBUG2;
    print_headline(r, snaps, baseline);
    size_t nf = limit && limit < r->nfindings ? limit : r->nfindings;
    if (nf) {
        print_finding(r, &r->findings[0]);
        lwa_status last = r->findings[0].status;
        for (size_t i = 1; i < nf; i++) {
            const lwa_finding *f = &r->findings[i];
            if (i == 1 || f->status != last)
                printf("%s:\n", f->status == LWA_STATUS_LEAK
                                    ? "also leaking"
                                    : f->status == r->findings[0].status
                                          ? "other suspects"
                                          : "suspects");
            last = f->status;
            print_brief(r, f);
        }
        if (nf < r->nfindings)
            printf("... %zu more; --top 0 lists all\n", r->nfindings - nf);
    } else {
        printf("%s\n", r->why);
    }
    if (r->verdict != LWA_VERDICT_LEAK && r->ndismissed) {
        char a[CLI_NUM_LEN];
        printf("not leaks:\n");
        for (size_t i = 0; i < r->ndismissed; i++) {
            const lwa_finding *f = &r->dismissed[i];
            printf("  peak %s  ", cli_fmt_delta(a, (int64_t)(f->growth.max -
                                                           f->growth.first)));
            cli_print_stack_line(stdout, f->sig, f->minutes_max);
            printf(": %s\n", f->why);
        }
    }
    if (r->verdict != LWA_VERDICT_INCONCLUSIVE)
        return;
    if (proof_only)
        printf("next: analyze /debug/pprof/goroutine captures of the same "
               "pod\n");
    else
        printf("next: capture again in a few minutes%s\n",
               r->has_baseline ? ""
                               : ", or add --baseline with a fresh peer's "
                                 "capture");
}

int cmd_analyze(int argc, char **argv)
{
    cli_common c;
    cli_common_init(&c);
    cli_parser ps;
    cli_parser_init(&ps, CMD, argc, argv);
    const char *baseline_file = NULL, *times_arg = NULL, *v;
    double interval = 0;
    bool interval_set = false, top_set = false;
    uint64_t top = 0;
    const char **files = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*files));
    size_t nfiles = 0;
    int id, rc = CLI_EXIT_USAGE;
    if (!files) {
        fprintf(stderr, CMD ": out of memory\n");
        return CLI_EXIT_INPUT;
    }
    while ((id = cli_next(&ps, opts, &v)) != CLI_END) {
        if (id == CLI_ERROR)
            goto usage_out;
        if (id == CLI_ARG) {
            files[nfiles++] = v;
        } else if (id == OPT_BASELINE) {
            baseline_file = v;
        } else if (id == OPT_INTERVAL) {
            if (!cli_duration(CMD, "--interval", v, &interval))
                goto usage_out;
            if (interval <= 0) {
                fprintf(stderr, CMD ": --interval: must be more than 0\n");
                goto usage_out;
            }
            interval_set = true;
        } else if (id == OPT_TIMES) {
            times_arg = v;
        } else if (id == OPT_TOP) {
            if (!cli_count(CMD, "--top", v, SIZE_MAX, &top))
                goto usage_out;
            top_set = true;
        } else if (cli_common_option(&c, CMD, id, v) != CLI_EXIT_OK) {
            goto usage_out;
        }
    }
    if (c.help) {
        usage(stdout);
        free(files);
        return CLI_EXIT_OK;
    }
    if (!nfiles) {
        fprintf(stderr, CMD ": needs at least one SNAPSHOT (see --help)\n");
        goto usage_out;
    }
    if (nfiles > MAX_SNAPSHOTS) {
        fprintf(stderr, CMD ": at most %d snapshots\n", MAX_SNAPSHOTS);
        goto usage_out;
    }
    if (interval_set && times_arg) {
        fprintf(stderr, CMD ": give --interval or --times, not both\n");
        goto usage_out;
    }
    int64_t *times = NULL;
    if (times_arg) {
        times = calloc(nfiles, sizeof(*times));
        if (!times) {
            fprintf(stderr, CMD ": out of memory\n");
            free(files);
            return CLI_EXIT_INPUT;
        }
        if (parse_times(times_arg, nfiles, times) != CLI_EXIT_OK) {
            free(times);
            goto usage_out;
        }
    }
    if (!top_set && !c.json)
        top = 5;
    if ((rc = cli_common_finish(&c, CMD)) != CLI_EXIT_OK) {
        free(times);
        free(files);
        cli_common_free(&c);
        return rc;
    }

    rc = CLI_EXIT_INPUT;
    lwa_snapshot **snaps = calloc(nfiles, sizeof(*snaps));
    cli_capture_notes *notes = calloc(nfiles, sizeof(*notes)), bnotes = {0};
    lwa_snapshot *base = NULL;
    lwa_report *r = NULL;
    lwa_sigtab *t = lwa_sigtab_new(&c.opt);
    if (!cli_stdin_once(CMD, (const char *const *)files, nfiles, baseline_file))
        goto out;
    if (!snaps || !notes || !t) {
        fprintf(stderr, CMD ": out of memory\n");
        goto out;
    }
    uint64_t goid_chain = 0;
    for (size_t k = 0; k < nfiles; k++) {
        /* each file with the previous one's highest goroutine id as
         * cutoff: who stayed (not for the baseline, another process) */
        snaps[k] = cli_load_snapshot_chained(CMD, t, files[k], &c.limits,
                                             &notes[k], &goid_chain);
        if (!snaps[k])
            goto out;
    }
    if (baseline_file) {
        base = cli_load_snapshot(CMD, t, baseline_file, &c.limits, &bnotes);
        if (!base)
            goto out;
    }
    resolve_times(snaps, nfiles, interval_set, interval, times);
    lwa_thresholds th;
    lwa_thresholds_default(&th);
    r = lwa_analyze(t, (const lwa_snapshot *const *)snaps, nfiles, base, &th);
    if (!r) {
        fprintf(stderr, CMD ": out of memory\n");
        goto out;
    }
    if (c.json) {
        json_t *j = json_report(r, snaps, base, (size_t)top, c.opt.fold_runtime);
        for (size_t k = 0; k < nfiles; k++)
            j = cli_json_attach_notes(j, "snapshots", k, &notes[k]);
        if (base)
            j = cli_json_attach_notes(j, "baseline", 0, &bnotes);
        rc = cli_json_emit(j, CMD);
    } else {
        text_report(r, snaps, base, (size_t)top);
        for (size_t k = 0; k < nfiles; k++)
            cli_print_capture_notes(stdout, files[k], &notes[k]);
        if (base)
            cli_print_capture_notes(stdout, baseline_file, &bnotes);
        rc = CLI_EXIT_OK;
    }
out:
    free(notes);
    lwa_report_free(r);
    for (size_t k = 0; snaps && k < nfiles; k++)
        lwa_snapshot_free(snaps[k]);
    free(snaps);
    lwa_snapshot_free(base);
    lwa_sigtab_free(t);
    free(times);
    free(files);
    cli_common_free(&c);
    return rc;

usage_out:
    free(files);
    return CLI_EXIT_USAGE;
}
