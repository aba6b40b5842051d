/*
 * ctl_config.c — flags, config file and help from one option table.
 */
#include "ctl_config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lw/lw_units.h"

typedef enum { OPT_STR, OPT_BOOL, OPT_LONG, OPT_DOUBLE, OPT_DURATION, OPT_BYTES } opt_type;

typedef struct opt_def {
    const char *name;
    opt_type type;
    size_t offset;
    const char *help;
} opt_def;

#define O(name, type, field, help) {name, type, offsetof(ctl_config, field), help}

static const opt_def options[] = {
    O("config", OPT_STR, config_file, "YAML file with any of these options as keys"),
    O("kubeconfig", OPT_STR, kubeconfig, "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)"),
    O("context", OPT_STR, context, "kubeconfig context"),
    O("namespaces", OPT_STR, namespaces, "comma-separated namespaces to watch (default: all)"),
    O("selector", OPT_STR, selector, "label selector the pods must also match"),
    O("interval", OPT_DURATION, interval_s, "cheap sample interval per pod, jittered by 10%"),
    O("window", OPT_LONG, window, "samples in the rolling window"),
    O("min-growth-per-minute", OPT_DOUBLE, min_growth_per_minute, "robust growth rate that makes a pod suspect"),
    O("min-delta", OPT_LONG, min_delta, "goroutines a pod must gain over the window"),
    O("min-relative", OPT_DOUBLE, min_relative, "relative growth over the window (0.02 = 2%)"),
    O("raise-after", OPT_LONG, raise_after, "consecutive growing evaluations before suspecting"),
    O("clear-after", OPT_LONG, clear_after, "consecutive flat evaluations before clearing"),
    O("finding-min-span", OPT_DURATION, finding_min_span_s, "a suspect pod's full captures (3 or more) must span this before a finding: a ramp to steady state levels off within it"),
    O("transport", OPT_STR, transport, "auto | direct | portforward | proxy"),
    O("dry-run", OPT_BOOL, dry_run, "decide and log; write no GoroutineLeak Events and change nothing (containment says \"dry-run: would ...\")"),
    O("leader-elect", OPT_BOOL, leader_elect, "use a Lease so only one replica acts"),
    O("shard", OPT_BOOL, shard, "share the pods among the replicas: each holds a member Lease named after the lease name and samples only the workloads that hash to it (needs --leader-elect; the leader alone contains)"),
    O("lease-name", OPT_STR, lease_name, "leader-election Lease name"),
    O("lease-namespace", OPT_STR, lease_namespace, "leader-election Lease namespace"),
    O("lease-duration", OPT_DURATION, lease_duration_s, "how long a lease is valid"),
    O("renew-deadline", OPT_DURATION, renew_deadline_s, "leader gives up if it cannot renew within this"),
    O("retry-period", OPT_DURATION, retry_period_s, "interval between lease attempts"),
    O("identity", OPT_STR, identity, "leader-election identity (default: host_pid)"),
    O("metrics-addr", OPT_STR, metrics_addr, "address for /metrics, /healthz, /readyz (empty: off)"),
    O("evidence-dir", OPT_STR, evidence_dir, "where suspect and baseline profiles are kept"),
    O("evidence-max-bytes", OPT_BYTES, evidence_max_bytes, "size cap of the evidence directory"),
    O("max-concurrent-captures", OPT_LONG, max_concurrent_captures, "captures in flight, all pods"),
    O("max-captures-per-node", OPT_LONG, max_captures_per_node, "captures in flight per node"),
    O("capture-timeout", OPT_DURATION, capture_timeout_s, "one capture, connect to last byte"),
    O("max-capture-bytes", OPT_BYTES, max_capture_bytes, "largest profile accepted"),
    O("full-capture-threshold", OPT_LONG, full_capture_threshold, "above this many goroutines capture protobuf, not debug=2"),
    O("qps", OPT_DOUBLE, qps, "API requests per second (client-side limit)"),
    O("burst", OPT_LONG, burst, "API request burst"),
    O("log-level", OPT_STR, log_level, "debug | info | warn | error"),
    O("log-format", OPT_STR, log_format, "json | text"),
    O("containment", OPT_BOOL, containment, "allow restarts of pods that opt in with leakwatch.dev/containment"),
    O("containment-mode", OPT_STR, containment_mode, "evict | rollout"),
    O("containment-horizon", OPT_DURATION, containment_horizon_s, "restart when the limit would be hit within this"),
    O("goroutine-cap", OPT_LONG, goroutine_cap, "goroutine count treated as the pod's limit (0: memory only)"),
    O("containment-min-rate", OPT_DOUBLE, containment_min_rate, "growth per minute that alone justifies a restart (0: off)"),
    O("restart-budget-per-workload", OPT_LONG, budget_per_workload, "restarts per hour per workload"),
    O("restart-budget-global", OPT_LONG, budget_global, "restarts per hour in total"),
    O("pod-cooldown", OPT_DURATION, pod_cooldown_s, "minimum time between decisions on one pod"),
    O("ready-timeout", OPT_DURATION, ready_timeout_s, "wait this long for a replacement to be Ready"),
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort(); /* configuration happens once at start: no sane recovery */
    return d;
}

void ctl_config_defaults(ctl_config *c)
{
    memset(c, 0, sizeof(*c));
    c->namespaces = xstrdup("");
    c->selector = xstrdup("");
    c->interval_s = 30;
    c->window = 10;
    c->min_growth_per_minute = 2;
    c->min_delta = 30;
    c->min_relative = 0.02;
    c->raise_after = 2;
    c->clear_after = 3;
    c->finding_min_span_s = 120;
    c->transport = xstrdup("auto");
    c->leader_elect = true;
    c->lease_name = xstrdup("leakwatch");
    c->lease_namespace = xstrdup("");
    c->lease_duration_s = 15;
    c->renew_deadline_s = 10;
    c->retry_period_s = 2;
    c->identity = xstrdup("");
    c->metrics_addr = xstrdup(":8080");
    c->evidence_dir = xstrdup("/var/lib/leakwatch/evidence");
    c->evidence_max_bytes = 256ull << 20;
    c->max_concurrent_captures = 16;
    c->max_captures_per_node = 4;
    c->capture_timeout_s = 20;
    c->max_capture_bytes = 256ull << 20;
    c->full_capture_threshold = 50000;
    c->qps = 20;
    c->burst = 40;
    c->log_level = xstrdup("info");
    c->log_format = xstrdup("json");
    c->containment_mode = xstrdup("evict");
    c->containment_horizon_s = 6 * 3600;
    c->goroutine_cap = 0;
    c->containment_min_rate = 0;
    c->budget_per_workload = 3;
    c->budget_global = 10;
    c->pod_cooldown_s = 600;
    c->ready_timeout_s = 300;
}

void ctl_config_free(ctl_config *c)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (options[i].type == OPT_STR) {
            char **p = (char **)((char *)c + options[i].offset);
            free(*p);
            *p = NULL;
        }
}

static const opt_def *find_opt(const char *name)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (!strcmp(options[i].name, name))
            return &options[i];
    return NULL;
}

static int set_opt(ctl_config *c, const opt_def *o, const char *val, char *err,
                   size_t errlen)
{
    void *field = (char *)c + o->offset;
    const char *why = NULL;
    switch (o->type) {
    case OPT_STR:
        free(*(char **)field);
        *(char **)field = xstrdup(val);
        return 0;
    case OPT_BOOL:
        if (!strcmp(val, "true") || !strcmp(val, "1") || !strcmp(val, "yes")) {
            *(bool *)field = true;
            return 0;
        }
        if (!strcmp(val, "false") || !strcmp(val, "0") || !strcmp(val, "no")) {
            *(bool *)field = false;
            return 0;
        }
        break;
    case OPT_LONG: {
        uint64_t v;
        why = lw_count_parse(val, LONG_MAX, &v);
        if (!why) {
            *(long *)field = (long)v;
            return 0;
        }
        break;
    }
    case OPT_DOUBLE:
        why = lw_number_parse(val, (double *)field);
        if (!why)
            return 0;
        break;
    case OPT_DURATION:
        why = lw_duration_parse(val, (double *)field);
        if (!why)
            return 0;
        break;
    case OPT_BYTES:
        why = lw_size_parse(val, (uint64_t *)field);
        if (!why)
            return 0;
        break;
    }
    static const char *const want[] = {"text", "true or false",
                                       "a non-negative integer",
                                       "a non-negative number", "a duration",
                                       "a size"};
    static const char *const grammar[] = {
        [OPT_DURATION] = " (" LW_DURATION_GRAMMAR ")",
        [OPT_BYTES] = " (" LW_SIZE_GRAMMAR ")"};
    snprintf(err, errlen, "--%s: \"%s\" is not %s%s%s%s", o->name, val,
             want[o->type], why ? ": " : "", why ? why : "",
             grammar[o->type] ? grammar[o->type] : "");
    return -1;
}

int ctl_config_load_file(ctl_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "config %s: %s", path, strerror(errno));
        return -1;
    }
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    int rc = -1, depth = 0, done = 0;
    char *key = NULL;
    size_t key_line = 0;
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            snprintf(err, errlen, "config %s: line %zu: %s", path,
                     p.problem_mark.line + 1, p.problem ? p.problem : "invalid YAML");
            goto out;
        }
        int bad = 0;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_MAPPING_START_EVENT:
            if (++depth > 1) {
                snprintf(err, errlen, "config %s: line %zu: option %s: nested "
                         "mappings are not options", path, ev.start_mark.line + 1,
                         key ? key : "?");
                bad = 1;
            }
            break;
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        case YAML_SEQUENCE_START_EVENT:
            snprintf(err, errlen, "config %s: line %zu: %s%s: lists are not "
                     "supported (use a comma-separated string)", path,
                     ev.start_mark.line + 1, key ? "option " : "", key ? key : "top level");
            bad = 1;
            break;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            if (depth != 1) {
                snprintf(err, errlen, "config %s: line %zu: want a mapping of "
                         "option names to values", path, ev.start_mark.line + 1);
                bad = 1;
            } else if (!key) {
                key = xstrdup(v);
                key_line = ev.start_mark.line + 1;
            } else {
                const opt_def *o = find_opt(key);
                char inner[256];
                if (!o || !strcmp(key, "config")) {
                    snprintf(err, errlen, "config %s: line %zu: unknown option "
                             "\"%s\"", path, key_line, key);
                    bad = 1;
                } else if (!(o->type != OPT_STR && !*v) &&
                           set_opt(c, o, v, inner, sizeof(inner)) < 0) {
                    snprintf(err, errlen, "config %s: line %zu: %s", path,
                             key_line, inner + 2);
                    bad = 1;
                }
                free(key);
                key = NULL;
            }
            break;
        }
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (bad)
            goto out;
    }
    rc = 0;
out:
    free(key);
    yaml_parser_delete(&p);
    fclose(f);
    return rc;
}

void ctl_config_usage(FILE *out)
{
    ctl_config d;
    ctl_config_defaults(&d);
    fprintf(out, "usage: leakwatch controller [OPTIONS]\n\n"
                 "Watches annotated pods, samples their goroutine counts, "
                 "captures and diffs\nprofiles when they grow, and records "
                 "GoroutineLeak Events.  Every option is\nalso a key of the "
                 "--config YAML file; flags win over the file.\n\n"
                 "Sizes are " LW_SIZE_GRAMMAR ",\nas in Kubernetes: 64M is "
                 "64,000,000 bytes, 64Mi is 67,108,864.\nDurations are "
                 LW_DURATION_GRAMMAR ".\n\noptions:\n");
    for (size_t i = 0; i < NOPTIONS; i++) {
        const opt_def *o = &options[i];
        void *field = (char *)&d + o->offset;
        char def[64] = "";
        switch (o->type) {
        case OPT_STR:
            if (*(char **)field && **(char **)field)
                snprintf(def, sizeof(def), " (default %s)", *(char **)field);
            break;
        case OPT_BOOL:
            snprintf(def, sizeof(def), " (default %s)", *(bool *)field ? "true" : "false");
            break;
        case OPT_LONG:
            snprintf(def, sizeof(def), " (default %ld)", *(long *)field);
            break;
        case OPT_DOUBLE:
            snprintf(def, sizeof(def), " (default %g)", *(double *)field);
            break;
        case OPT_DURATION:
            snprintf(def, sizeof(def), " (default %gs)", *(double *)field);
            break;
        case OPT_BYTES: {
            uint64_t b = *(uint64_t *)field;
            if (b && b % (1ull << 20) == 0)
                snprintf(def, sizeof(def), " (default %lluMi)",
                         (unsigned long long)(b >> 20));
            else
                snprintf(def, sizeof(def), " (default %llu)",
                         (unsigned long long)b);
            break;
        }
        }
        fprintf(out, "  --%-28s %s%s\n", o->name, o->help, def);
    }
    ctl_config_free(&d);
}

int ctl_config_parse(ctl_config *c, int argc, char **argv, FILE *out, char *err,
                     size_t errlen)
{
    /* First pass: --help and --config, so the file loads before flags
     * override it whatever their order. */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            ctl_config_usage(out);
            return 2;
        }
        const char *v = NULL;
        if (!strncmp(argv[i], "--config=", 9))
            v = argv[i] + 9;
        else if (!strcmp(argv[i], "--config") && i + 1 < argc)
            v = argv[i + 1];
        if (v && ctl_config_load_file(c, v, err, errlen) < 0)
            return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2)) {
            snprintf(err, errlen, "unexpected argument \"%s\"", a);
            return 1;
        }
        char name[64];
        const char *eq = strchr(a + 2, '=');
        size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (nl >= sizeof(name)) {
            snprintf(err, errlen, "unknown option \"%s\"", a);
            return 1;
        }
        memcpy(name, a + 2, nl);
        name[nl] = '\0';
        /* --no-dry-run style negation for booleans. */
        bool negated = false;
        const opt_def *o = find_opt(name);
        if (!o && !strncmp(name, "no-", 3)) {
            o = find_opt(name + 3);
            if (o && o->type != OPT_BOOL)
                o = NULL;
            negated = o != NULL;
        }
        if (!o) {
            snprintf(err, errlen, "unknown option \"--%s\" (see --help)", name);
            return 1;
        }
        const char *val;
        if (eq)
            val = eq + 1;
        else if (o->type == OPT_BOOL)
            val = negated ? "false" : "true";
        else if (i + 1 < argc)
            val = argv[++i];
        else {
            snprintf(err, errlen, "--%s needs a value", name);
            return 1;
        }
        if (!strcmp(o->name, "config"))
            continue; /* loaded in the first pass */
        if (set_opt(c, o, val, err, errlen) < 0)
            return 1;
    }
    return ctl_config_validate(c, err, errlen) < 0 ? 1 : 0;
}

int ctl_config_validate(const ctl_config *c, char *err, size_t errlen)
{
    static const char *const transports[] = {"auto", "direct", "portforward", "proxy"};
    bool ok = false;
    for (size_t i = 0; i < 4; i++)
        ok |= !strcmp(c->transport, transports[i]);
    if (!ok) {
        snprintf(err, errlen, "--transport: \"%s\" is not one of auto, direct, "
                 "portforward, proxy", c->transport);
        return -1;
    }
    if (c->interval_s < 1) {
        snprintf(err, errlen, "--interval: %gs is too short (minimum 1s)", c->interval_s);
        return -1;
    }
    if (c->window < 3 || c->window > 64) {
        snprintf(err, errlen, "--window: %ld is out of range 3..64", c->window);
        return -1;
    }
    if (c->leader_elect &&
        !(c->retry_period_s > 0 && c->retry_period_s < c->renew_deadline_s &&
          c->renew_deadline_s < c->lease_duration_s)) {
        snprintf(err, errlen, "leader election wants retry-period < "
                 "renew-deadline < lease-duration (got %gs, %gs, %gs)",
                 c->retry_period_s, c->renew_deadline_s, c->lease_duration_s);
        return -1;
    }
    if (c->shard && !c->leader_elect) {
        snprintf(err, errlen, "--shard needs --leader-elect: the members' Leases "
                 "share the pods, and the leader's alone contains");
        return -1;
    }
    if (c->shard && strlen(c->lease_name) > 180) {
        snprintf(err, errlen, "--lease-name: %zu characters leave no room for "
                 "the member Leases' names with --shard (at most 180)",
                 strlen(c->lease_name));
        return -1;
    }
    if (strcmp(c->containment_mode, "evict") && strcmp(c->containment_mode, "rollout")) {
        snprintf(err, errlen, "--containment-mode: \"%s\" is not evict or rollout",
                 c->containment_mode);
        return -1;
    }
    if (strcmp(c->log_format, "json") && strcmp(c->log_format, "text")) {
        snprintf(err, errlen, "--log-format: \"%s\" is not json or text", c->log_format);
        return -1;
    }
    if (strcmp(c->log_level, "debug") && strcmp(c->log_level, "info") &&
        strcmp(c->log_level, "warn") && strcmp(c->log_level, "error")) {
        snprintf(err, errlen, "--log-level: \"%s\" is not debug, info, warn or error",
                 c->log_level);
        return -1;
    }
    if (c->max_concurrent_captures < 1 || c->max_captures_per_node < 1) {
        snprintf(err, errlen, "capture concurrency limits must be at least 1");
        return -1;
    }
    return 0;
}
