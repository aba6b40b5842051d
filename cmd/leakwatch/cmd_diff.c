/*
 * cmd_diff.c — `leakwatch diff [--json] [--top N] BASE TARGET`: per-stack
 * growth from one capture to another, from the same pod later or from a
 * healthy peer.  The captures may be in different formats.
 *
 * Not for: judging the growth (analyze does, with more captures).
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
#include "lw/lw_utf8.h"

#define CMD "leakwatch diff"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: leakwatch diff [OPTIONS] BASE TARGET\n\n"
            "Per-stack growth from capture BASE to capture TARGET (later in\n"
            "the same pod, or a leaking pod against a healthy peer), largest\n"
            "growth first.  The captures may be in different formats; -\n"
            "reads one of them from standard input.\n\n"
            "options:\n"
            "  --top N                  stacks to list (text: default 10;\n"
            "                           JSON: default every stack that "
            "changed;\n"
            "                           0 for all)\n%s\n"
            "exit status: 0 compared, 1 usage error, 2 unreadable or "
            "invalid input\n",
            cli_common_help);
}

static json_t *json_side(const lwa_snapshot *s)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (!cli_json_set(o, "file", lw_json_string(s->name)) ||
        !cli_json_set(o, "format", json_string(pprof_format_name(s->format))) ||
        !cli_json_set(o, "total", json_integer((json_int_t)s->total)) ||
        !cli_json_set(o, "ignored", json_integer((json_int_t)s->ignored)) ||
        !cli_json_set(o, "truncated", json_boolean(s->truncated))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *json_report(const lwa_diff *d, const lwa_snapshot *base,
                           const lwa_snapshot *target, size_t limit, bool fold)
{
    json_t *o = json_object();
    json_t *stacks = json_array();
    if (!o || !stacks)
        goto fail;
    size_t listed = 0;
    for (size_t i = 0; i < d->nrows && (!limit || listed < limit); i++) {
        const lwa_diff_row *r = &d->rows[i];
        if (!r->delta && !limit)
            continue;
        const lwa_minutes *m = lwa_snapshot_minutes(target, r->sig->index);
        json_t *st = json_object();
        if (!st || json_array_append_new(stacks, st) < 0)
            goto fail;
        if (!cli_json_stack_head(st, r->sig, fold) ||
            !cli_json_set(st, "base", json_integer((json_int_t)r->base)) ||
            !cli_json_set(st, "target", json_integer((json_int_t)r->target)) ||
            !cli_json_set(st, "delta", json_integer((json_int_t)r->delta)) ||
            !cli_json_set(st, "blocked_minutes_max",
                          m ? json_integer((json_int_t)m->max) : json_null()) ||
            !cli_json_stack_tail(st, r->sig))
            goto fail;
        listed++;
    }
    bool ok = cli_json_set(o, "base", json_side(base)) &&
              cli_json_set(o, "target", json_side(target)) &&
              cli_json_set(o, "total_delta",
                           json_integer((json_int_t)d->total_delta)) &&
              cli_json_set(o, "grew", json_integer((json_int_t)d->grew)) &&
              cli_json_set(o, "shrank", json_integer((json_int_t)d->shrank)) &&
              cli_json_set(o, "appeared",
                           json_integer((json_int_t)d->appeared)) &&
              cli_json_set(o, "vanished",
                           json_integer((json_int_t)d->vanished));
    return cli_json_report_end(o, stacks, ok);
fail:
    return cli_json_report_end(o, stacks, false);
}

static void print_row(const lwa_diff_row *r, const lwa_snapshot *target,
                      int wd, int wb)
{
    char a[CLI_NUM_LEN], b[CLI_NUM_LEN], c[CLI_NUM_LEN];
    const lwa_minutes *m = lwa_snapshot_minutes(target, r->sig->index);
    printf("%*s  %*s → %-*s  ", wd, cli_fmt_delta(a, r->delta), wb,
           cli_fmt_count(b, r->base), wb, cli_fmt_count(c, r->target));
    cli_print_stack_line(stdout, r->sig, m ? m->max : 0);
    printf("  %s\n", lwa_pattern_name(r->sig->pattern));
}

static void text_report(const lwa_diff *d, const lwa_snapshot *base,
                        const lwa_snapshot *target, size_t limit)
{
    char a[CLI_NUM_LEN], b[CLI_NUM_LEN], c[CLI_NUM_LEN];
    printf("goroutines %s → %s (%s): %zu stack%s grew, %zu shrank "
           "(%zu new, %zu gone)\n",
           cli_fmt_count(a, d->base_total), cli_fmt_count(b, d->target_total),
           cli_fmt_delta(c, d->total_delta), d->grew, d->grew == 1 ? "" : "s",
           d->shrank, d->appeared, d->vanished);
    if (base->truncated || target->truncated)
        printf("an input was cut off: its counts are a floor\n");
    if (!limit)
        limit = d->nrows;
    /* Growth first (the rows are sorted by delta), then the largest
     * drops, which matter when diffing against a peer. */
    size_t grow = 0, drop = 0;
    while (grow < d->nrows && grow < limit && d->rows[grow].delta > 0)
        grow++;
    for (size_t i = d->nrows; i-- > grow && drop < limit / 3 + 1;)
        if (d->rows[i].delta < 0)
            drop++;
    int wd = 1, wb = 1;
    for (size_t i = 0; i < d->nrows; i++) {
        bool shown = i < grow || i >= d->nrows - drop;
        if (!shown)
            continue;
        int w = (int)strlen(cli_fmt_delta(a, d->rows[i].delta));
        if (w > wd)
            wd = w;
        w = (int)strlen(cli_fmt_count(a, d->rows[i].base));
        if (w > wb)
            wb = w;
        w = (int)strlen(cli_fmt_count(a, d->rows[i].target));
        if (w > wb)
            wb = w;
    }
    if (!grow)
        printf("no stack grew\n");
    for (size_t i = 0; i < grow; i++)
        print_row(&d->rows[i], target, wd, wb);
    size_t more = 0;
    for (size_t i = grow; i < d->nrows; i++)
        more += d->rows[i].delta > 0;
    if (more)
        printf("... %zu more stack%s grew; --top 0 lists all\n", more,
               more == 1 ? "" : "s");
    if (drop) {
        printf("largest drops:\n");
        for (size_t i = d->nrows; i-- > d->nrows - drop;)
            print_row(&d->rows[i], target, wd, wb);
    }
}

int cmd_diff(int argc, char **argv)
{
    cli_common c;
    cli_common_init(&c);
    cli_parser ps;
    cli_parser_init(&ps, CMD, argc, argv);
    const char *files[2] = {NULL, NULL}, *v;
    int nfiles = 0, id, rc;
    uint64_t top = 0;
    bool top_set = false;
    while ((id = cli_next(&ps, cli_top_opts, &v)) != CLI_END) {
        if (id == CLI_ERROR)
            return CLI_EXIT_USAGE;
        if (id == CLI_ARG) {
            if (nfiles == 2) {
                fprintf(stderr, CMD ": takes exactly BASE and TARGET "
                                    "(see --help)\n");
                return CLI_EXIT_USAGE;
            }
            files[nfiles++] = v;
        } else if (id == CLI_OPT_TOP) {
            if ((rc = cli_top_parse(CMD, v, &top)) != CLI_EXIT_OK)
                return rc;
            top_set = true;
        } else if ((rc = cli_common_option(&c, CMD, id, v)) != CLI_EXIT_OK) {
            return rc;
        }
    }
    if (c.help) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (nfiles != 2) {
        fprintf(stderr, CMD ": needs BASE and TARGET (see --help)\n");
        return CLI_EXIT_USAGE;
    }
    if (!top_set && !c.json)
        top = 10;
    if ((rc = cli_common_finish(&c, CMD)) != CLI_EXIT_OK)
        return rc;

    rc = CLI_EXIT_INPUT;
    lwa_snapshot *base = NULL, *target = NULL;
    cli_capture_notes notes[2] = {{0}, {0}};
    lwa_diff *d = NULL;
    lwa_sigtab *t = lwa_sigtab_new(&c.opt);
    if (!cli_stdin_once(CMD, files, 2, NULL))
        goto out;
    if (!t) {
        fprintf(stderr, CMD ": out of memory\n");
        goto out;
    }
    base = cli_load_snapshot(CMD, t, files[0], &c.limits, &notes[0]);
    if (!base)
        goto out;
    target = cli_load_snapshot(CMD, t, files[1], &c.limits, &notes[1]);
    if (!target)
        goto out;
    d = lwa_diff_new(t, base, target);
    if (!d) {
        fprintf(stderr, CMD ": out of memory\n");
        goto out;
    }
    if (c.json) {
        json_t *j = json_report(d, base, target, (size_t)top,
                                c.opt.fold_runtime);
        j = cli_json_attach_notes(j, "base", 0, &notes[0]);
        j = cli_json_attach_notes(j, "target", 0, &notes[1]);
        rc = cli_json_emit(j, CMD);
    } else {
        text_report(d, base, target, (size_t)top);
        cli_print_capture_notes(stdout, files[0], &notes[0]);
        cli_print_capture_notes(stdout, files[1], &notes[1]);
        rc = CLI_EXIT_OK;
    }
out:
    lwa_diff_free(d);
    lwa_snapshot_free(base);
    lwa_snapshot_free(target);
    lwa_sigtab_free(t);
    cli_common_free(&c);
    return rc;
}
