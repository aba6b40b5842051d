/*
 * cli_top.c — the `--top N` option of inspect and diff (see cli_top.h).
 *
 * Not for: per-command defaults of N, or the shared options (cli_args.c).
 */
#include "cli_top.h"

#include <stdio.h>

const cli_opt cli_top_opts[] = {
    {"--top", true, CLI_OPT_TOP},
    {NULL, false, 0},
};

int cli_top_parse(const char *cmd, const char *v, uint64_t *top)
{
    return cli_count(cmd, "--top", v, SIZE_MAX, top) ? CLI_EXIT_OK
                                                     : CLI_EXIT_USAGE;
}
