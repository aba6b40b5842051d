/*
 * ctl_config.h — the controller's settings: one table of options that is at
 * once the command-line flags, the keys of the YAML config file (the Helm
 * chart writes one) and the --help text, so the three can never disagree.
 *
 * Precedence: built-in defaults < config file (--config) < flags.
 * Not for: per-pod settings (those come from pod annotations).
 */
#ifndef CTL_CONFIG_H
#define CTL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct ctl_config {
    char *config_file;
    char *kubeconfig;
    char *context;
    char *namespaces;      /* comma-separated; empty = all               */
    char *selector;        /* label selector                              */
    double interval_s;     /* cheap sample interval (jittered ±10%)       */
    long window;           /* samples in the rolling window               */
    double min_growth_per_minute;
    long min_delta;
    double min_relative;
    long raise_after;      /* hysteresis: evaluations to raise / clear    */
    long clear_after;
    double finding_min_span_s; /* a suspect pod's full captures must span
                                  this before a finding                   */
    char *transport;       /* auto | direct | portforward | proxy         */
    bool dry_run;
    bool leader_elect;
    bool shard;            /* share pods among replicas (ctl_shard.h)     */
    char *lease_name;
    char *lease_namespace;
    double lease_duration_s, renew_deadline_s, retry_period_s;
    char *identity;        /* leader-election identity (default host_pid) */
    char *metrics_addr;
    char *evidence_dir;
    uint64_t evidence_max_bytes;
    long max_concurrent_captures;
    long max_captures_per_node;
    double capture_timeout_s;
    uint64_t max_capture_bytes;
    long full_capture_threshold; /* above this count, capture protobuf not debug=2 */
    double qps;
    long burst;
    char *log_level;
    char *log_format;
    bool containment;            /* second opt-in for restarts          */
    char *containment_mode;      /* evict | rollout                     */
    double containment_horizon_s;
    long goroutine_cap;
    double containment_min_rate; /* goroutines/min that alone justify   */
    long budget_per_workload;    /* restarts per hour                   */
    long budget_global;
    double pod_cooldown_s;
    double ready_timeout_s;
} ctl_config;

void ctl_config_defaults(ctl_config *c);
/* Parses argv (argv[0] is the subcommand name).  Returns 0 to run, 1 for a
 * usage error (message in err), 2 when --help was printed to out. */
int ctl_config_parse(ctl_config *c, int argc, char **argv, FILE *out,
                     char *err, size_t errlen);
/* Reads a YAML mapping of option names to scalars.  0 or -1 with err
 * naming the file, line and key. */
int ctl_config_load_file(ctl_config *c, const char *path, char *err,
                         size_t errlen);
/* Cross-field checks (renew-deadline < lease-duration...). */
int ctl_config_validate(const ctl_config *c, char *err, size_t errlen);
void ctl_config_free(ctl_config *c);
void ctl_config_usage(FILE *out);

#endif
