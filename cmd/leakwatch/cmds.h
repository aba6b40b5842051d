/*
 * cmds.h — the subcommands of the leakwatch binary.  Each lives in its own
 * cmd_<name>.c and has the same shape: argv[0] is the subcommand name, the
 * return value is the process exit status (0 ran, 1 usage, 2 bad input or
 * unreachable target).  main.c only dispatches.
 */
#ifndef LW_CMDS_H
#define LW_CMDS_H

int cmd_version(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_controller(int argc, char **argv);

#endif
