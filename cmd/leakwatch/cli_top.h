/*
 * cli_top.h — the `--top N` option that inspect and diff both take: its
 * option table and the check of its value.
 *
 * Not for: what N means to a command (each applies its own default and
 * decides what a row is), or options shared by every offline command
 * (cli_args.h).
 */
#ifndef CLI_TOP_H
#define CLI_TOP_H

#include <stdint.h>

#include "cli_args.h"

enum { CLI_OPT_TOP = 1 };

/* {"--top", value, CLI_OPT_TOP} and the NULL end, for cli_next. */
extern const cli_opt cli_top_opts[];

/* Reads --top's value v into *top: CLI_EXIT_OK, or CLI_EXIT_USAGE after
 * printing "CMD: --top: 'v' is not a count". */
int cli_top_parse(const char *cmd, const char *v, uint64_t *top);

#endif
