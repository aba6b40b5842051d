/*
 * cli_input.h — reading capture files for the offline commands, with one
 * clear line on stderr (naming the file and why) when one cannot be used,
 * and what the reports say about how a capture read (skipped lines, a
 * debug=1 total below its records).  PATH "-" is standard input.
 *
 * Not for: parsing (pkg/pprof does that; its messages are passed through)
 * or fetching from pods (pkg/capture).
 */
#ifndef CLI_INPUT_H
#define CLI_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <stdio.h>

#include "analysis/analysis.h"
#include "pprof/pprof.h"

/* The path that means standard input. */
#define CLI_STDIN_PATH "-"

/* How a capture read, beyond its goroutines: kept after the profile is
 * freed so reports can say it. */
typedef struct cli_capture_notes {
    uint64_t skipped_lines; /* pprof_profile.skipped_lines               */
    bool total_short;       /* debug=1 "total N" below its records' sum  */
    uint64_t total;         /* the reported N                            */
    uint64_t counted;       /* the records' sum                          */
} cli_capture_notes;

void cli_capture_notes_of(cli_capture_notes *n, const pprof_profile *p);

/* The parsed capture, or NULL after printing "CMD: PATH: why".  PATH "-"
 * reads standard input (named "stdin" in messages). */
pprof_profile *cli_load_profile(const char *cmd, const char *path,
                                const pprof_limits *limits);

/* Parses `path` and counts it into `t`; the profile is freed before
 * returning.  NULL after printing why.  notes (may be NULL) is filled. */
lwa_snapshot *cli_load_snapshot(const char *cmd, lwa_sigtab *t,
                                const char *path, const pprof_limits *limits,
                                cli_capture_notes *notes);

/* The same for captures of one process in order: *goid_chain (the
 * previous capture's highest goroutine id, 0 for none) is the parse's
 * goid_cutoff, so the snapshot knows which goroutines already existed
 * then (debug=2); on return it holds this capture's highest id (0 when the
 * format has none). */
lwa_snapshot *cli_load_snapshot_chained(const char *cmd, lwa_sigtab *t,
                                        const char *path,
                                        const pprof_limits *limits,
                                        cli_capture_notes *notes,
                                        uint64_t *goid_chain);

/* Standard input can be read once: false, after saying so, when "-" is
 * more than once among paths[0..n) and extra (which may be NULL). */
bool cli_stdin_once(const char *cmd, const char *const *paths, size_t n,
                    const char *extra);

/* "skipped_lines" and "total_short" into a JSON object describing a
 * capture; false when out of memory. */
bool cli_json_capture_notes(json_t *o, const cli_capture_notes *n);

/* The same into a finished report: into report[key] when it is an object,
 * or into its element `index` when it is an array.  Returns report, or
 * NULL (report released) when out of memory; NULL in gives NULL. */
json_t *cli_json_attach_notes(json_t *report, const char *key, size_t index,
                              const cli_capture_notes *n);

/* One note line per thing worth saying about how `name` read (nothing
 * when it read cleanly), each starting with "note: ". */
void cli_print_capture_notes(FILE *out, const char *name,
                             const cli_capture_notes *n);

/* The workload revision an evidence file's name carries
 * (NS_POD_revN_STAMP_ROLE.EXT, as the controller keeps them); -1 when the
 * name carries none. */
long cli_revision_of(const char *path);

/* Modification time in unix ms; false when it cannot be read. */
bool cli_file_mtime_ms(const char *path, int64_t *out);

#endif
