/*
 * cli_args.h — option parsing and the options every offline command shares
 * (inspect, diff, analyze): output format, parser limits, signature keys
 * and ignore rules.
 *
 * The parser is hand-written because getopt keeps its state in globals
 * (optind), and these commands must be callable more than once per process
 * (tests).  It accepts "--name value", "--name=value", "--" and options
 * after positional arguments.
 *
 * Not for: reading inputs (cli_input.h) or printing results (cli_print.h).
 */
#ifndef CLI_ARGS_H
#define CLI_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "analysis/analysis.h"
#include "pprof/pprof.h"

enum {
    CLI_EXIT_OK = 0,    /* the command ran, whatever it found            */
    CLI_EXIT_USAGE = 1, /* bad options or arguments                      */
    CLI_EXIT_INPUT = 2, /* an input could not be read or parsed          */
};

typedef struct cli_opt {
    const char *name; /* "--json"; "-h" style short names also work     */
    bool has_value;
    int id;           /* returned by cli_next                           */
} cli_opt;

enum {
    CLI_END = -1,   /* no more arguments                                 */
    CLI_ARG = -2,   /* a positional argument, in *value                  */
    CLI_ERROR = -3, /* unknown option or missing value (already printed) */
};

typedef struct cli_parser {
    const char *cmd; /* "leakwatch inspect", for messages               */
    int argc;
    char **argv;
    int i;
    bool only_args;  /* after "--"                                     */
} cli_parser;

void cli_parser_init(cli_parser *p, const char *cmd, int argc, char **argv);
/* Next option id, CLI_ARG, CLI_END or CLI_ERROR.  opts (the command's
 * own, ending with a NULL name) are tried first, then cli_common_opts. */
int cli_next(cli_parser *p, const cli_opt *opts, const char **value);

/* Options shared by the offline commands.  Their ids start at 1000 so a
 * command's own ids (small numbers) never collide. */
enum {
    CLI_OPT_HELP = 1000,
    CLI_OPT_JSON,
    CLI_OPT_MAX_INPUT,
    CLI_OPT_MAX_DECOMPRESSED,
    CLI_OPT_MAX_LINE,
    CLI_OPT_MAX_BUCKETS,
    CLI_OPT_MAX_FRAMES,
    CLI_OPT_FILE_LINE,
    CLI_OPT_NO_FOLD,
    CLI_OPT_IGNORE_TOP,
    CLI_OPT_IGNORE_ANY,
    CLI_OPT_IGNORE_CREATED_BY,
    CLI_OPT_NO_BUILTIN_IGNORES,
};

/* The shared options (cli_next always knows them). */
extern const cli_opt cli_common_opts[];
/* Help text for the shared options, one per line, indented two spaces. */
extern const char cli_common_help[];

typedef struct cli_common {
    bool json;
    bool help;
    bool builtin_ignores;
    pprof_limits limits;
    lwa_options opt;
    lwa_ignore *ignore; /* owned; built by cli_common_finish            */
    /* user rules, kept until finish (builtins may be switched off after
     * a rule was given) */
    struct {
        lwa_ignore_kind kind;
        const char *func;
    } rules[64];
    int nrules;
} cli_common;

void cli_common_init(cli_common *c);
/* Handles a shared option; CLI_EXIT_OK, or CLI_EXIT_USAGE after printing
 * why.  Returns -1 when `id` is not a shared option. */
int cli_common_option(cli_common *c, const char *cmd, int id,
                      const char *value);
/* Builds the ignore rules; CLI_EXIT_OK or CLI_EXIT_INPUT (memory). */
int cli_common_finish(cli_common *c, const char *cmd);
void cli_common_free(cli_common *c);

/* An option's value in the grammar of lw_units.h.  False after printing
 * "CMD: OPT: 'VALUE' is not a size: why (the grammar)". */
bool cli_size(const char *cmd, const char *opt, const char *v, uint64_t *out);
bool cli_duration(const char *cmd, const char *opt, const char *v,
                  double *seconds);
bool cli_count(const char *cmd, const char *opt, const char *v, uint64_t max,
               uint64_t *out);

#endif
