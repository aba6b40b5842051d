/*
 * cmd_inspect.c — `leakwatch inspect [--json] FILE`: what one goroutine
 * capture holds.  Format, total, distinct stacks, and the largest stacks
 * with their innermost user function, location, wait reason, blocked
 * minutes, creator and pattern.
 *
 * Not for: growth or verdicts (diff, analyze).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "cli_input.h"
#include "cli_print.h"
#include "cli_top.h"
#include "cmds.h"
#include "lw/lw_text.h"
#include "lw/lw_utf8.h"

#define CMD "leakwatch inspect"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: leakwatch inspect [OPTIONS] FILE\n\n"
            "Shows what one goroutine capture holds: its format, how many\n"
            "goroutines and distinct stacks, and the largest stacks with\n"
            "their innermost user function, file:line, wait reason, blocked\n"
            "minutes, creator and likely leak pattern.  FILE is any Go\n"
            "goroutine profile (debug=1, debug=2, protobuf raw or gzipped),\n"
            "or a crash dump as pasted; - reads standard input.\n\n"
            "options:\n"
            "  --top N                  stacks to list (default 10, 0 for "
            "all)\n%s\n"
            "exit status: 0 shown, 1 usage error, 2 unreadable or invalid "
            "input\n",
            cli_common_help);
}

typedef struct row {
    size_t index;
    uint64_t count;
    uint64_t id;
} row;

static int by_count(const void *pa, const void *pb)
{
    const row *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return a->index < b->index ? -1 : 1;
}

static json_t *json_report(const char *path, const pprof_profile *p,
                           const lwa_sigtab *t, const lwa_snapshot *s,
                           const row *rows, size_t nrows, size_t shown)
{
    bool fold = lwa_sigtab_options(t)->fold_runtime;
    cli_capture_notes notes;
    cli_capture_notes_of(&notes, p);
    json_t *o = json_object();
    json_t *stacks = json_array();
    if (!o || !stacks)
        goto fail;
    for (size_t i = 0; i < shown; i++) {
        const lwa_sig *sig = lwa_sigtab_at(t, rows[i].index);
        const lwa_minutes *m = lwa_snapshot_minutes(s, rows[i].index);
        json_t *st = json_object();
        if (!st || json_array_append_new(stacks, st) < 0)
            goto fail;
        if (!cli_json_stack_head(st, sig, fold) ||
            !cli_json_set(st, "count", json_integer((json_int_t)rows[i].count)) ||
            !cli_json_set(st, "blocked_minutes_max",
                          m ? json_integer((json_int_t)m->max) : json_null()) ||
            !cli_json_stack_tail(st, sig))
            goto fail;
    }
    uint64_t counted = lwa_snapshot_counted(s);
    bool ok =
        cli_json_set(o, "file", lw_json_string(path)) &&
        cli_json_set(o, "format", json_string(pprof_format_name(p->format))) &&
        cli_json_set(o, "kind", json_string(pprof_kind_name(p->kind))) &&
        cli_json_set(o, "gzipped", json_boolean(p->gzipped)) &&
        cli_json_set(o, "truncated", json_boolean(p->truncated)) &&
        cli_json_set(o, "total", json_integer((json_int_t)p->total)) &&
        cli_json_set(o, "counted", json_integer((json_int_t)counted)) &&
        cli_json_set(o, "ignored", json_integer((json_int_t)s->ignored)) &&
        cli_json_set(o, "buckets", json_integer((json_int_t)p->nbuckets)) &&
        cli_json_set(o, "unique_stacks", json_integer((json_int_t)nrows)) &&
        cli_json_capture_notes(o, &notes) &&
        cli_json_set(o, "time_unix_ms",
                     p->time_unix_nanos > 0
                         ? json_integer(p->time_unix_nanos / 1000000)
                         : json_null());
    return cli_json_report_end(o, stacks, ok);
fail:
    return cli_json_report_end(o, stacks, false);
}

static void text_report(const char *path, const pprof_profile *p,
                        const lwa_sigtab *t, const lwa_snapshot *s,
                        const row *rows, size_t nrows, size_t shown)
{
    char a[CLI_NUM_LEN], b[CLI_NUM_LEN];
    cli_capture_notes notes;
    cli_capture_notes_of(&notes, p);
    lw_text_fputs(path, stdout);
    printf(": %s %s capture%s, %s goroutine%s in %s distinct stack%s",
           pprof_format_name(p->format), pprof_kind_name(p->kind),
           p->gzipped ? " (gzip)" : "", cli_fmt_count(a, p->total),
           p->total == 1 ? "" : "s", cli_fmt_count(b, nrows),
           nrows == 1 ? "" : "s");
    if (s->ignored)
        printf(" (%s ignored)", cli_fmt_count(a, s->ignored));
    printf("\n");
    if (p->truncated)
        printf("input was cut off: counts are a floor\n");
    cli_print_capture_notes(stdout, path, &notes);
    int width = 1;
    for (size_t i = 0; i < shown; i++) {
        int w = (int)strlen(cli_fmt_count(a, rows[i].count));
        if (w > width)
            width = w;
    }
    for (size_t i = 0; i < shown; i++) {
        const lwa_sig *sig = lwa_sigtab_at(t, rows[i].index);
        const lwa_minutes *m = lwa_snapshot_minutes(s, rows[i].index);
        printf("%*s  ", width, cli_fmt_count(a, rows[i].count));
        cli_print_stack_line(stdout, sig, m ? m->max : 0);
        printf("\n%*s  pattern %s\n", width, "",
               lwa_pattern_name(sig->pattern));
    }
    if (shown < nrows) {
        uint64_t rest = 0;
        for (size_t i = shown; i < nrows; i++)
            rest += rows[i].count;
        printf("... %s more stack%s (%s goroutines); --top 0 lists all\n",
               cli_fmt_count(a, nrows - shown), nrows - shown == 1 ? "" : "s",
               cli_fmt_count(b, rest));
    }
}

int cmd_inspect(int argc, char **argv)
{
    cli_common c;
    cli_common_init(&c);
    cli_parser ps;
    cli_parser_init(&ps, CMD, argc, argv);
    const char *file = NULL, *v;
    uint64_t top = 10;
    int id, rc;
    while ((id = cli_next(&ps, cli_top_opts, &v)) != CLI_END) {
        if (id == CLI_ERROR)
            return CLI_EXIT_USAGE;
        if (id == CLI_ARG) {
            if (file) {
                fprintf(stderr, CMD ": takes one FILE (see --help)\n");
                return CLI_EXIT_USAGE;
            }
            file = v;
        } else if (id == CLI_OPT_TOP) {
            if ((rc = cli_top_parse(CMD, v, &top)) != CLI_EXIT_OK)
                return rc;
        } else if ((rc = cli_common_option(&c, CMD, id, v)) != CLI_EXIT_OK) {
            return rc;
        }
    }
    if (c.help) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!file) {
        fprintf(stderr, CMD ": missing FILE (see --help)\n");
        return CLI_EXIT_USAGE;
    }
    if ((rc = cli_common_finish(&c, CMD)) != CLI_EXIT_OK)
        return rc;

    rc = CLI_EXIT_INPUT;
    lwa_sigtab *t = NULL;
    lwa_snapshot *s = NULL;
    row *rows = NULL;
    pprof_profile *p = cli_load_profile(CMD, file, &c.limits);
    if (!p)
        goto out;
    t = lwa_sigtab_new(&c.opt);
    s = t ? lwa_snapshot_take(t, p, file) : NULL;
    size_t n = t ? lwa_sigtab_size(t) : 0, nrows = 0;
    rows = calloc(n ? n : 1, sizeof(*rows));
    if (!s || !rows) {
        fputs(CMD ": ", stderr);
        lw_text_fputs(file, stderr);
        fputs(": out of memory\n", stderr);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t cnt = lwa_snapshot_count(s, i);
        if (cnt)
            rows[nrows++] = (row){i, cnt, lwa_sigtab_at(t, i)->id};
    }
    qsort(rows, nrows, sizeof(*rows), by_count);
    size_t shown = top && top < nrows ? (size_t)top : nrows;
    if (c.json) {
        rc = cli_json_emit(json_report(file, p, t, s, rows, nrows, shown), CMD);
    } else {
        text_report(file, p, t, s, rows, nrows, shown);
        rc = CLI_EXIT_OK;
    }
out:
    free(rows);
    lwa_snapshot_free(s);
    lwa_sigtab_free(t);
    if (p)
        pprof_profile_free(p);
    cli_common_free(&c);
    return rc;
}
