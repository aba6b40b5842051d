/*
 * main.c — the leakwatch binary: dispatch to one subcommand.
 *
 * Everything a subcommand needs is parsed in its own cmd_<name>.c; this file
 * owns only the table and the top-level help.  Not for: shared option
 * parsing (each command documents its own flags) or any global state.
 */
#include <stdio.h>
#include <string.h>

#include "cmds.h"

typedef struct lw_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} lw_command;

static const lw_command commands[] = {
    {"inspect", cmd_inspect, "what one goroutine capture holds"},
    {"diff", cmd_diff, "per-stack growth from one capture to another"},
    {"analyze", cmd_analyze, "verdict over snapshots of one pod"},
    {"scan", cmd_scan, "list the pods leakwatch would watch"},
    {"capture", cmd_capture, "capture a goroutine profile from a pod or workload"},
    {"controller", cmd_controller, "run the controller (watch, sample, report)"},
    {"version", cmd_version, "print the version"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: leakwatch COMMAND [OPTIONS] [ARGS]\n\n"
                 "Finds goroutine leaks in Go services.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'leakwatch COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version"))
        return cmd_version(1, argv + 1);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "leakwatch: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 1;
}
