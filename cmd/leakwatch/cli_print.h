/*
 * cli_print.h — how the offline commands write numbers, durations, stacks
 * and JSON: thousands separators in text (never in JSON), rates rounded
 * for reading, one dense line per stack.
 *
 * Not for: deciding what to print (each cmd_*.c does).
 */
#ifndef CLI_PRINT_H
#define CLI_PRINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis/analysis.h"

#define CLI_NUM_LEN 40

/* "1,034" */
const char *cli_fmt_count(char buf[CLI_NUM_LEN], uint64_t v);
/* "+822", "-5", "0" */
const char *cli_fmt_delta(char buf[CLI_NUM_LEN], int64_t v);
/* "+205.5", "-3", "+1,240": one decimal below 1000, none above */
const char *cli_fmt_rate(char buf[CLI_NUM_LEN], double v);
/* Go's Duration style: "45s", "4m0s", "1h2m3s" */
const char *cli_fmt_duration(char buf[CLI_NUM_LEN], double minutes);
const char *cli_basename(const char *path);

/* "main.(*fetcher).gather.func1  fetch.go:88  [chan send, up to 3 min]
 *  created by main.(*fetcher).gather" (no newline). */
void cli_print_stack_line(FILE *out, const lwa_sig *sig, uint64_t minutes_max);

/* Rounded to `decimals` places, for JSON reals people read. */
double cli_round(double v, int decimals);
/* A stack's fields in DESIGN.md's order, split so callers put their
 * counts in between: head adds pattern, frames (from the shown frame
 * outward; with fold, without runtime internals such as runtime.goexit),
 * file, line, wait_reason; tail adds created_by, fix,
 * wait_reason_inferred, id.  False when out of memory. */
bool cli_json_stack_head(json_t *o, const lwa_sig *sig, bool fold);
bool cli_json_stack_tail(json_t *o, const lwa_sig *sig);
/* Prints obj (and a newline) to stdout and releases it.  CLI exit code. */
int cli_json_emit(json_t *obj, const char *cmd);
/* Adds key=value, taking the reference; false when out of memory.
 * Values that failed to be created (NULL) count as out of memory. */
bool cli_json_set(json_t *obj, const char *key, json_t *value);
/* Ends a report object: when ok, adds stacks under "stacks" and returns
 * o; otherwise, or when that fails, releases both and returns NULL.  Takes
 * both references; either may be NULL when !ok. */
json_t *cli_json_report_end(json_t *o, json_t *stacks, bool ok);

#endif
