/*
 * cli_args.c — option parsing and the shared options of the offline
 * commands.  See cli_args.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "lw/lw_units.h"

void cli_parser_init(cli_parser *p, const char *cmd, int argc, char **argv)
{
    p->cmd = cmd;
    p->argc = argc;
    p->argv = argv;
    p->i = 1; /* argv[0] is the subcommand */
    p->only_args = false;
}

static const cli_opt *find_opt(const cli_opt *opts, const char *a,
                               size_t nlen)
{
    for (const cli_opt *o = opts; o && o->name; o++)
        if (strlen(o->name) == nlen && !strncmp(o->name, a, nlen))
            return o;
    return NULL;
}

int cli_next(cli_parser *p, const cli_opt *opts, const char **value)
{
    *value = NULL;
    if (p->i >= p->argc)
        return CLI_END;
    const char *a = p->argv[p->i++];
    if (p->only_args || a[0] != '-' || !a[1]) {
        *value = a; /* "-" alone is a positional (stdin is not supported,
                       but the message then names it) */
        return CLI_ARG;
    }
    if (!strcmp(a, "--")) {
        p->only_args = true;
        return cli_next(p, opts, value);
    }
    const char *eq = strchr(a, '=');
    size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
    const cli_opt *o = find_opt(opts, a, nlen);
    if (!o)
        o = find_opt(cli_common_opts, a, nlen);
    if (o) {
        if (!o->has_value) {
            if (eq) {
                fprintf(stderr, "%s: option %s takes no value\n", p->cmd,
                        o->name);
                return CLI_ERROR;
            }
            return o->id;
        }
        if (eq) {
            *value = eq + 1;
        } else if (p->i < p->argc) {
            *value = p->argv[p->i++];
        } else {
            fprintf(stderr, "%s: option %s needs a value\n", p->cmd, o->name);
            return CLI_ERROR;
        }
        return o->id;
    }
    fprintf(stderr, "%s: unknown option '%.*s' (see --help)\n", p->cmd,
            (int)nlen, a);
    return CLI_ERROR;
}

const cli_opt cli_common_opts[] = {
    {"--help", false, CLI_OPT_HELP},
    {"-h", false, CLI_OPT_HELP},
    {"--json", false, CLI_OPT_JSON},
    {"--max-input", true, CLI_OPT_MAX_INPUT},
    {"--max-decompressed", true, CLI_OPT_MAX_DECOMPRESSED},
    {"--max-line", true, CLI_OPT_MAX_LINE},
    {"--max-buckets", true, CLI_OPT_MAX_BUCKETS},
    {"--max-frames", true, CLI_OPT_MAX_FRAMES},
    {"--file-line", false, CLI_OPT_FILE_LINE},
    {"--no-fold", false, CLI_OPT_NO_FOLD},
    {"--ignore-top", true, CLI_OPT_IGNORE_TOP},
    {"--ignore-any", true, CLI_OPT_IGNORE_ANY},
    {"--ignore-created-by", true, CLI_OPT_IGNORE_CREATED_BY},
    {"--no-builtin-ignores", false, CLI_OPT_NO_BUILTIN_IGNORES},
    {NULL, false, 0},
};

const char cli_common_help[] =
    "  --json                   print one JSON object instead of text\n"
    "  --file-line              tell stacks apart by file:line, not only by\n"
    "                           function\n"
    "  --no-fold                show stacks from their innermost frame, not\n"
    "                           from the innermost user function\n"
    "  --ignore-top FUNC        ignore stacks whose top (or innermost user)\n"
    "                           function is FUNC (a trailing * matches a\n"
    "                           prefix); repeatable\n"
    "  --ignore-any FUNC        ignore stacks with FUNC in any frame\n"
    "  --ignore-created-by FUNC ignore goroutines started by FUNC (debug=2\n"
    "                           captures only: other formats do not say)\n"
    "  --no-builtin-ignores     also count the capture's own goroutine,\n"
    "                           signal loops, runtime workers, the testing\n"
    "                           harness and one net/http accept loop\n"
    "  --max-input BYTES        refuse inputs larger than this (default 4Gi)\n"
    "  --max-decompressed BYTES refuse gzip inputs that inflate beyond this\n"
    "                           (default 256Mi)\n"
    "  --max-line BYTES         refuse text lines longer than this (1Mi)\n"
    "  --max-buckets N          refuse captures with more distinct stacks\n"
    "                           (default 2000000)\n"
    "  --max-frames N           refuse stacks deeper than this (4096)\n"
    "  -h, --help               this help\n"
    "sizes are " LW_SIZE_GRAMMAR ",\n"
    "as in Kubernetes: 64M is 64,000,000 bytes, 64Mi is 67,108,864\n";

void cli_common_init(cli_common *c)
{
    memset(c, 0, sizeof(*c));
    c->builtin_ignores = true;
    pprof_limits_default(&c->limits);
    lwa_options_default(&c->opt);
}

bool cli_size(const char *cmd, const char *opt, const char *v, uint64_t *out)
{
    const char *why = lw_size_parse(v, out);
    if (why)
        fprintf(stderr, "%s: %s: '%s' is not a size: %s (" LW_SIZE_GRAMMAR
                ")\n", cmd, opt, v, why);
    return !why;
}

bool cli_duration(const char *cmd, const char *opt, const char *v,
                  double *seconds)
{
    const char *why = lw_duration_parse(v, seconds);
    if (why)
        fprintf(stderr, "%s: %s: '%s' is not a duration: %s ("
                LW_DURATION_GRAMMAR ")\n", cmd, opt, v, why);
    return !why;
}

bool cli_count(const char *cmd, const char *opt, const char *v, uint64_t max,
               uint64_t *out)
{
    const char *why = lw_count_parse(v, max, out);
    if (why)
        fprintf(stderr, "%s: %s: '%s' is not a count: %s\n", cmd, opt, v,
                why);
    return !why;
}

int cli_common_option(cli_common *c, const char *cmd, int id,
                      const char *value)
{
    switch (id) {
    case CLI_OPT_HELP:
        c->help = true;
        return CLI_EXIT_OK;
    case CLI_OPT_JSON:
        c->json = true;
        return CLI_EXIT_OK;
    case CLI_OPT_FILE_LINE:
        c->opt.file_line = true;
        return CLI_EXIT_OK;
    case CLI_OPT_NO_FOLD:
        c->opt.fold_runtime = false;
        return CLI_EXIT_OK;
    case CLI_OPT_NO_BUILTIN_IGNORES:
        c->builtin_ignores = false;
        return CLI_EXIT_OK;
    case CLI_OPT_MAX_INPUT:
    case CLI_OPT_MAX_DECOMPRESSED: {
        uint64_t v;
        const char *name = id == CLI_OPT_MAX_INPUT ? "--max-input"
                                                   : "--max-decompressed";
        if (!cli_size(cmd, name, value, &v))
            return CLI_EXIT_USAGE;
        if (!v) {
            fprintf(stderr, "%s: %s: must be more than 0\n", cmd, name);
            return CLI_EXIT_USAGE;
        }
        if (id == CLI_OPT_MAX_INPUT)
            c->limits.max_input_bytes = v;
        else
            c->limits.max_decompressed_bytes = v;
        return CLI_EXIT_OK;
    }
    case CLI_OPT_MAX_LINE:
    case CLI_OPT_MAX_BUCKETS:
    case CLI_OPT_MAX_FRAMES: {
        const char *name = id == CLI_OPT_MAX_LINE      ? "--max-line"
                           : id == CLI_OPT_MAX_BUCKETS ? "--max-buckets"
                                                       : "--max-frames";
        uint64_t v;
        bool ok = id == CLI_OPT_MAX_LINE
                      ? cli_size(cmd, name, value, &v)
                      : cli_count(cmd, name, value, UINT32_MAX, &v);
        if (!ok)
            return CLI_EXIT_USAGE;
        if (v == 0 || v > UINT32_MAX) {
            fprintf(stderr, "%s: %s: '%s' is out of range 1..%u\n", cmd, name,
                    value, UINT32_MAX);
            return CLI_EXIT_USAGE;
        }
        if (id == CLI_OPT_MAX_LINE)
            c->limits.max_line_bytes = (uint32_t)v;
        else if (id == CLI_OPT_MAX_BUCKETS)
            c->limits.max_buckets = v;
        else
            c->limits.max_frames = (uint32_t)v;
        return CLI_EXIT_OK;
    }
    case CLI_OPT_IGNORE_TOP:
    case CLI_OPT_IGNORE_ANY:
    case CLI_OPT_IGNORE_CREATED_BY: {
        if (!value || !*value || !strcmp(value, "*")) {
            fprintf(stderr, "%s: an ignore rule needs a function name\n",
                    cmd);
            return CLI_EXIT_USAGE;
        }
        if (c->nrules >= (int)(sizeof(c->rules) / sizeof(c->rules[0]))) {
            fprintf(stderr, "%s: too many ignore rules (at most %zu)\n", cmd,
                    sizeof(c->rules) / sizeof(c->rules[0]));
            return CLI_EXIT_USAGE;
        }
        c->rules[c->nrules].kind = id == CLI_OPT_IGNORE_TOP ? LWA_IGNORE_TOP
                                   : id == CLI_OPT_IGNORE_ANY
                                       ? LWA_IGNORE_ANY
                                       : LWA_IGNORE_CREATED_BY;
        c->rules[c->nrules].func = value;
        c->nrules++;
        return CLI_EXIT_OK;
    }
    default:
        return -1;
    }
}

int cli_common_finish(cli_common *c, const char *cmd)
{
    c->ignore = lwa_ignore_new(c->builtin_ignores);
    if (!c->ignore)
        goto oom;
    for (int i = 0; i < c->nrules; i++)
        if (lwa_ignore_add(c->ignore, c->rules[i].kind, c->rules[i].func) < 0)
            goto oom;
    c->opt.ignore = c->ignore;
    return CLI_EXIT_OK;
oom:
    fprintf(stderr, "%s: out of memory\n", cmd);
    return CLI_EXIT_INPUT;
}

void cli_common_free(cli_common *c)
{
    lwa_ignore_free(c->ignore);
    c->ignore = NULL;
    c->opt.ignore = NULL;
}
