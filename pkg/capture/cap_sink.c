/*
 * cap_sink.c — where a pod's 2xx body goes: the raw bytes to a FILE and/or
 * memory, and the same bytes into a pprof parser or a gauge scan, in one
 * pass, under the body-size cap.
 * Not for: transports (they only call cap_sink_write) or deciding what to
 * fetch (cap_capturer.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_internal.h"

void cap_sink_init(cap_sink *s, uint64_t max_bytes)
{
    memset(s, 0, sizeof *s);
    s->max_bytes = max_bytes;
    s->header_total = -1;
}

void cap_sink_release(cap_sink *s)
{
    free(s->data);
    s->data = NULL;
    s->len = s->cap = 0;
}

static int sink_fail(cap_sink *s, cap_status st, const char *msg)
{
    s->status = st;
    snprintf(s->error, sizeof s->error, "%s", msg);
    return -1;
}

static int mem_append(cap_sink *s, const void *data, size_t len)
{
    if (len > s->cap - s->len) {
        size_t want = s->cap ? s->cap : 64 * 1024;
        while (want - s->len < len) {
            if (want > SIZE_MAX / 2)
                return -1;
            want *= 2;
        }
        unsigned char *n = realloc(s->data, want);
        if (!n)
            return -1;
        s->data = n;
        s->cap = want;
    }
    memcpy(s->data + s->len, data, len);
    s->len += len;
    return 0;
}

/* Reads "goroutine profile: total N" (or goroutineleak) from the first
 * line; returns 1 once decided, 0 when more bytes are needed. */
static int header_probe(cap_sink *s, const void *data, size_t len)
{
    const char *d = data;
    for (size_t i = 0; i < len; i++) {
        if (d[i] == '\n' || s->header_len + 1 >= sizeof s->header) {
            s->header[s->header_len] = '\0';
            const char *p = strstr(s->header, "profile: total ");
            if (p && (!strncmp(s->header, "goroutine profile:", 18) ||
                      !strncmp(s->header, "goroutineleak profile:", 22))) {
                char *end;
                errno = 0;
                unsigned long long v = strtoull(p + 15, &end, 10);
                if (!errno && end != p + 15 && v <= INT64_MAX)
                    s->header_total = (int64_t)v;
            }
            return 1;
        }
        s->header[s->header_len++] = d[i];
    }
    return 0;
}

int cap_sink_write(cap_sink *s, const void *data, size_t len)
{
    char m[160];
    if (len == 0)
        return 0;
    if (s->max_bytes && (uint64_t)len > s->max_bytes - s->bytes) {
        snprintf(m, sizeof m, "response exceeds the size limit of %" PRIu64
                 " bytes", s->max_bytes);
        return sink_fail(s, CAP_ERR_TOO_LARGE, m);
    }
    s->bytes += len;
    if (s->header_probe) {
        if (header_probe(s, data, len)) {
            if (s->header_total < 0)
                return sink_fail(s, CAP_ERR_PARSE,
                                 "no \"goroutine profile: total N\" header "
                                 "in the debug=1 response");
            s->stopped_ok = true;
            return -1;
        }
        return 0;
    }
    if (s->out && fwrite(data, 1, len, s->out) != len) {
        snprintf(m, sizeof m, "writing the capture: %s", strerror(errno));
        return sink_fail(s, CAP_ERR_OUTPUT, m);
    }
    if (s->to_memory && mem_append(s, data, len))
        return sink_fail(s, CAP_ERR_OUTPUT, "out of memory buffering the "
                                            "capture");
    if (s->parser && pprof_parser_feed(s->parser, data, len)) {
        const char *pe = pprof_parser_error(s->parser);
        /* A size limit inside the parser (gzip bomb) is a size problem,
         * not a format one: say so in the status. */
        return sink_fail(s, cap_parse_error_status(pe),
                         pe ? pe : "profile parser failed");
    }
    if (s->prom) {
        if (cap_prom_scan_feed(s->prom, data, len))
            return sink_fail(s, CAP_ERR_PARSE, s->prom->error);
        if (s->prom->found && s->stop_when_found) {
            s->stopped_ok = true;
            return -1;
        }
    }
    return 0;
}

int cap_sink_finish(cap_sink *s)
{
    char m[160];
    if (s->header_probe && !s->stopped_ok) {
        if (header_probe(s, "\n", 1) && s->header_total >= 0) {
            s->stopped_ok = true;
            return 0;
        }
        return sink_fail(s, CAP_ERR_PARSE, "no \"goroutine profile: total "
                                           "N\" header in the debug=1 "
                                           "response");
    }
    if (s->out && fflush(s->out) != 0) {
        snprintf(m, sizeof m, "writing the capture: %s", strerror(errno));
        return sink_fail(s, CAP_ERR_OUTPUT, m);
    }
    if (s->prom && !s->prom->found) {
        if (cap_prom_scan_finish(s->prom) && s->prom->failed)
            return sink_fail(s, CAP_ERR_PARSE, s->prom->error);
    }
    return 0;
}
