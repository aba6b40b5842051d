/*
 * cap_prom.c — finds one gauge (go_goroutines) in Prometheus text
 * exposition as the bytes stream by, holding at most one line, and on the
 * way sums the pod's request counter when it exports one.
 *
 * Hand-written because no library we use parses the exposition format, and
 * we need only "name{labels} value [timestamp]" for a few names.
 *
 * The request counter is what "under the same load" is judged by when a
 * fix is verified (controller.c): the first family that looks like one —
 * a *_requests_total counter (but promhttp's count of its own scrapes),
 * grpc-go's grpc_server_handled_total, OpenTelemetry's
 * http_server_request_duration_seconds_count — summed over its labels.
 * Families after the first are ignored rather than added, since services
 * often export one count at two layers (HTTP and gRPC) and adding them
 * would double it.  A malformed request line is skipped, never an error:
 * the gauge is what the scan is for.
 * Not for: general metric scraping or OpenMetrics exemplars.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"

void cap_prom_scan_init(cap_prom_scan *s, const char *metric)
{
    memset(s, 0, sizeof *s);
    snprintf(s->metric, sizeof s->metric, "%s", metric);
}

static int prom_fail(cap_prom_scan *s, const char *what)
{
    s->failed = true;
    snprintf(s->error, sizeof s->error, "/metrics: %s line: %s", s->metric,
             what);
    return -1;
}

/* Skips a {label="value",...} block, honouring escapes in values. */
static const char *skip_labels(const char *p)
{
    bool in_str = false;
    for (p++; *p; p++) {
        if (in_str) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_str = false;
        } else if (*p == '"') {
            in_str = true;
        } else if (*p == '}') {
            return p + 1;
        }
    }
    return NULL;
}

/* The value of a sample whose name ends at p; NULL on success, else what
 * is wrong with it. */
static const char *sample_value(const char *p, double *out)
{
    if (*p == '{') {
        p = skip_labels(p);
        if (!p)
            return "unterminated label set";
    }
    if (*p != ' ' && *p != '\t')
        return "no value after the name";
    while (*p == ' ' || *p == '\t')
        p++;
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    if (end == p || errno == ERANGE)
        return "value is not a number";
    if (*end && *end != ' ' && *end != '\t')
        return "garbage after the value";
    if (!isfinite(v) || v < 0)
        return "value is negative or not finite";
    *out = v;
    return NULL;
}

bool cap_prom_is_request_counter(const char *name, size_t len)
{
    static const char suffix[] = "_requests_total";
    static const char scrapes[] = "promhttp_metric_handler_";
    static const char *const exact[] = {
        "grpc_server_handled_total",
        "http_server_request_duration_seconds_count",
    };
    size_t sl = sizeof(suffix) - 1;
    if (len > sl && !memcmp(name + len - sl, suffix, sl))
        return len < sizeof(scrapes) - 1 ||
               memcmp(name, scrapes, sizeof(scrapes) - 1) != 0;
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strlen(exact[i]) == len && !memcmp(name, exact[i], len))
            return true;
    return false;
}

static size_t name_len(const char *l)
{
    size_t n = 0;
    while (isalnum((unsigned char)l[n]) || l[n] == '_' || l[n] == ':')
        n++;
    return n;
}

static void request_line(cap_prom_scan *s, const char *l)
{
    size_t n = name_len(l);
    if (!n || !cap_prom_is_request_counter(l, n))
        return;
    if (s->requests_family[0] &&
        (strlen(s->requests_family) != n || memcmp(s->requests_family, l, n)))
        return;
    double v;
    if (sample_value(l + n, &v))
        return;
    if (!s->requests_family[0])
        snprintf(s->requests_family, sizeof s->requests_family, "%.*s",
                 (int)(n < sizeof s->requests_family ? n : sizeof s->requests_family - 1),
                 l);
    s->requests += v;
    s->requests_found = true;
}

/* A complete line (NUL-terminated, trailing CR and blanks gone). */
static int prom_line(cap_prom_scan *s, char *l)
{
    size_t ml = strlen(s->metric);
    if (!s->found && !strncmp(l, s->metric, ml) &&
        (l[ml] == '\0' || l[ml] == ' ' || l[ml] == '\t' || l[ml] == '{')) {
        double v;
        const char *why = sample_value(l + ml, &v);
        if (why)
            return prom_fail(s, why);
        s->value = v;
        s->found = true;
        return 0;
    }
    if (l[0] != '#')
        request_line(s, l);
    return 0;
}

/* Whether the buffered line prefix could still be the gauge's sample. */
static bool could_match(const cap_prom_scan *s)
{
    if (s->found)
        return false;
    size_t ml = strlen(s->metric);
    size_t n = s->line_len < ml ? s->line_len : ml;
    if (memcmp(s->line, s->metric, n))
        return false;
    if (s->line_len > ml) {
        char c = s->line[ml];
        return c == ' ' || c == '\t' || c == '{';
    }
    return true;
}

static int end_line(cap_prom_scan *s)
{
    int rc = 0;
    if (!s->skipping) {
        while (s->line_len && (s->line[s->line_len - 1] == '\r' ||
                               s->line[s->line_len - 1] == ' '))
            s->line_len--;
        s->line[s->line_len] = '\0';
        if (s->line_len)
            rc = prom_line(s, s->line);
    }
    s->line_len = 0;
    s->skipping = false;
    return rc;
}

int cap_prom_scan_feed(cap_prom_scan *s, const void *data, size_t len)
{
    const char *d = data;
    if (s->failed)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = d[i];
        if (c == '\n') {
            if (end_line(s))
                return -1;
            continue;
        }
        if (s->skipping)
            continue;
        /* A line too long to hold is skipped unless it is the gauge's. */
        if (s->line_len + 1 >= sizeof s->line) {
            if (could_match(s))
                return prom_fail(s, "longer than 4 KiB");
            s->skipping = true;
            continue;
        }
        s->line[s->line_len++] = c;
    }
    return 0;
}

int cap_prom_scan_finish(cap_prom_scan *s)
{
    if (s->failed)
        return -1;
    if (s->line_len && end_line(s))
        return -1;
    return s->found ? 0 : -1;
}
