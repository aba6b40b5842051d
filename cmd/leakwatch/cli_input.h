/*
 * cli_input.h — reading capture files for the offline commands, with one
 * clear line on stderr (naming the file and why) when one cannot be used.
 *
 * Not for: parsing (pkg/pprof does that; its messages are passed through)
 * or fetching from pods (pkg/capture).
 */
#ifndef CLI_INPUT_H
#define CLI_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "analysis/analysis.h"
#include "pprof/pprof.h"

/* The parsed capture, or NULL after printing "CMD: PATH: why". */
pprof_profile *cli_load_profile(const char *cmd, const char *path,
                                const pprof_limits *limits);

/* Parses `path` and counts it into `t`; the profile is freed before
 * returning.  NULL after printing why. */
lwa_snapshot *cli_load_snapshot(const char *cmd, lwa_sigtab *t,
                                const char *path, const pprof_limits *limits);

/* Modification time in unix ms; false when it cannot be read. */
bool cli_file_mtime_ms(const char *path, int64_t *out);

#endif
