/*
 * cap_names.c — option defaults and the names of transports, kinds and
 * statuses as the CLI, logs and metrics spell them.
 * Not for: behaviour; only tables.
 */
#include <string.h>

#include "capture/capture.h"

#ifndef LW_VERSION
#define LW_VERSION "dev"
#endif

void cap_options_default(cap_options *o)
{
    memset(o, 0, sizeof *o);
    o->transport = CAP_TRANSPORT_AUTO;
    o->goroutine_format = CAP_FORMAT_AUTO;
    o->debug2_max_goroutines = 50000;
    o->count_max_age_ms = 120000;
    o->connect_timeout_ms = 5000;
    o->timeout_ms = 60000;
    o->stall_timeout_ms = 15000;
    o->pod_check_ms = 5000;
    o->max_body_bytes = 256ull << 20;
    pprof_limits_default(&o->parse_limits);
    o->backoff_base_ms = 10000;
    o->backoff_max_ms = 600000;
    o->backoff_jitter = 0.2;
    o->max_in_flight = 16;
    o->max_in_flight_per_node = 4;
    o->max_tracked_pods = 100000;
    o->pod_tls_verify = false;
    o->metrics_path = "/metrics";
    o->user_agent = "leakwatch/" LW_VERSION;
}

static const char *const transport_names[] = {
    [CAP_TRANSPORT_AUTO] = "auto",
    [CAP_TRANSPORT_DIRECT] = "direct",
    [CAP_TRANSPORT_PORTFORWARD] = "portforward",
    [CAP_TRANSPORT_PROXY] = "proxy",
};

static const char *const kind_names[] = {
    [CAP_KIND_GOROUTINE] = "goroutine",
    [CAP_KIND_GOROUTINE_DEBUG1] = "goroutine-debug1",
    [CAP_KIND_GOROUTINE_DEBUG2] = "goroutine-debug2",
    [CAP_KIND_GOROUTINE_PROTO] = "goroutine-proto",
    [CAP_KIND_GOROUTINELEAK] = "goroutineleak",
    [CAP_KIND_METRICS] = "metrics",
};

static const char *const status_names[] = {
    [CAP_OK] = "ok",
    [CAP_ERR_CONFIG] = "config",
    [CAP_ERR_CONNECT] = "connect",
    [CAP_ERR_TIMEOUT] = "timeout",
    [CAP_ERR_HTTP] = "http",
    [CAP_ERR_FORBIDDEN] = "forbidden",
    [CAP_ERR_NOT_FOUND] = "not-found",
    [CAP_ERR_TOO_LARGE] = "too-large",
    [CAP_ERR_PARSE] = "parse",
    [CAP_ERR_PROTOCOL] = "protocol",
    [CAP_ERR_UNSUPPORTED] = "unsupported",
    [CAP_ERR_BACKOFF] = "backoff",
    [CAP_ERR_CANCELLED] = "cancelled",
    [CAP_ERR_OUTPUT] = "output",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *cap_transport_name(cap_transport t)
{
    return (unsigned)t < NELEM(transport_names) ? transport_names[t] : "?";
}

const char *cap_kind_name(cap_kind k)
{
    return (unsigned)k < NELEM(kind_names) ? kind_names[k] : "?";
}

const char *cap_status_name(cap_status s)
{
    return (unsigned)s < NELEM(status_names) ? status_names[s] : "?";
}

int cap_transport_parse(const char *s, cap_transport *out)
{
    for (unsigned i = 0; i < NELEM(transport_names); i++)
        if (!strcmp(s, transport_names[i])) {
            *out = (cap_transport)i;
            return 0;
        }
    /* kubectl's spelling. */
    if (!strcmp(s, "port-forward")) {
        *out = CAP_TRANSPORT_PORTFORWARD;
        return 0;
    }
    return -1;
}

int cap_kind_parse(const char *s, cap_kind *out)
{
    for (unsigned i = 0; i < NELEM(kind_names); i++)
        if (!strcmp(s, kind_names[i])) {
            *out = (cap_kind)i;
            return 0;
        }
    return -1;
}

const char *cap_kind_ext(cap_kind k)
{
    switch (k) {
    case CAP_KIND_GOROUTINE_PROTO:
        return "pb.gz";
    case CAP_KIND_METRICS:
        return "prom";
    default:
        return "txt";
    }
}
