/*
 * cap_prom.c — finds one gauge (go_goroutines) in Prometheus text
 * exposition as the bytes stream by, holding at most one line.
 *
 * Hand-written because no library we use parses the exposition format, and
 * we need only "name{labels} value [timestamp]" for one name.  Lines of
 * other metrics are skipped without being buffered.
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

/* A complete line that starts with the metric name. */
static int prom_line(cap_prom_scan *s, char *l)
{
    size_t ml = strlen(s->metric);
    char *p = l + ml;
    if (*p == '{') {
        p = (char *)skip_labels(p);
        if (!p)
            return prom_fail(s, "unterminated label set");
    }
    if (*p != ' ' && *p != '\t')
        return prom_fail(s, "no value after the name");
    while (*p == ' ' || *p == '\t')
        p++;
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    if (end == p || errno == ERANGE)
        return prom_fail(s, "value is not a number");
    if (*end && *end != ' ' && *end != '\t')
        return prom_fail(s, "garbage after the value");
    if (!isfinite(v) || v < 0)
        return prom_fail(s, "value is negative or not finite");
    s->value = v;
    s->found = true;
    return 0;
}

/* Whether the buffered line prefix could still be the metric's sample. */
static bool could_match(const cap_prom_scan *s)
{
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
    size_t ml = strlen(s->metric);
    if (!s->skipping && s->line_len >= ml) {
        while (s->line_len && (s->line[s->line_len - 1] == '\r' ||
                               s->line[s->line_len - 1] == ' '))
            s->line_len--;
        s->line[s->line_len] = '\0';
        if (s->line_len > ml || s->line_len == ml)
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
    for (size_t i = 0; i < len && !s->found; i++) {
        char c = d[i];
        if (c == '\n') {
            if (end_line(s))
                return -1;
            continue;
        }
        if (s->skipping)
            continue;
        if (s->line_len + 1 >= sizeof s->line)
            return prom_fail(s, "longer than 4 KiB");
        s->line[s->line_len++] = c;
        if (!could_match(s))
            s->skipping = true;
    }
    return 0;
}

int cap_prom_scan_finish(cap_prom_scan *s)
{
    if (s->failed)
        return -1;
    if (!s->found && s->line_len && end_line(s))
        return -1;
    return s->found ? 0 : -1;
}
