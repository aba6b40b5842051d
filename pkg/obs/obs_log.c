/*
 * obs_log.c — the structured logger behind obs_log.h.  JSON lines are built
 * with jansson so any byte in a value is escaped correctly; bytes that are
 * not UTF-8 (a pod's frame names, a file's name) become U+FFFD first
 * (lw_utf8.h), since jansson refuses them and the field would vanish.
 * Text lines escape controls visibly (lw_text.h): one entry, one line.
 */
#include "obs_log.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lw/lw_text.h"
#include "lw/lw_utf8.h"

struct obs_logger {
    int fd;
    obs_level min;
    obs_log_format fmt;
};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

obs_logger *obs_logger_new(int fd, obs_level min, obs_log_format fmt)
{
    obs_logger *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->fd = fd;
    l->min = min;
    l->fmt = fmt;
    return l;
}

void obs_logger_free(obs_logger *l)
{
    free(l);
}

int obs_level_parse(const char *s, obs_level *out)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, level_names[i])) {
            *out = (obs_level)i;
            return 0;
        }
    if (!strcmp(s, "warning")) {
        *out = OBS_WARN;
        return 0;
    }
    return -1;
}

int obs_log_format_parse(const char *s, obs_log_format *out)
{
    if (!strcmp(s, "json"))
        *out = OBS_LOG_JSON;
    else if (!strcmp(s, "text"))
        *out = OBS_LOG_TEXT;
    else
        return -1;
    return 0;
}

int obs_log_enabled(const obs_logger *l, obs_level level)
{
    return l && level >= l->min;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report a failing log */
        }
        p += w;
        n -= (size_t)w;
    }
}

void obs_log(obs_logger *l, obs_level level, const char *msg, ...)
{
    if (!obs_log_enabled(l, level))
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[96];
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000) % 1000);

    va_list ap;
    va_start(ap, msg);
    if (l->fmt == OBS_LOG_JSON) {
        json_t *o = json_object();
        json_object_set_new(o, "ts", json_string(ts));
        json_object_set_new(o, "level", json_string(level_names[level]));
        json_object_set_new(o, "msg", lw_json_string(msg ? msg : ""));
        const char *k;
        while ((k = va_arg(ap, const char *))) {
            const char *v = va_arg(ap, const char *);
            json_object_set_new(o, k, v ? lw_json_string(v) : json_null());
        }
        char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (line) {
            size_t n = strlen(line);
            line[n] = '\n'; /* overwrite the NUL: one write per line */
            write_all(l->fd, line, n + 1);
            free(line);
        }
    } else {
        /* Two bytes stay free for the newline and the terminator. */
        char buf[4096];
        const size_t cap = sizeof(buf) - 1;
        int w = snprintf(buf, cap, "%s %-5s ", ts, level_names[level]);
        size_t n = w < 0 ? 0 : (size_t)w;
        n += lw_text_escape(msg ? msg : "", strlen(msg ? msg : ""), buf + n,
                            cap - n);
        const char *k;
        while (n + 1 < cap && (k = va_arg(ap, const char *))) {
            const char *v = va_arg(ap, const char *);
            int q = v && strpbrk(v, " \"=") != NULL;
            w = snprintf(buf + n, cap - n, " %s=%s", k, q ? "\"" : "");
            n = w < 0 || (size_t)w >= cap - n ? cap - 1 : n + (size_t)w;
            n += lw_text_escape(v ? v : "null", strlen(v ? v : "null"),
                                buf + n, cap - n);
            if (q && n + 1 < cap)
                buf[n++] = '"';
        }
        buf[n++] = '\n';
        write_all(l->fd, buf, n);
    }
    va_end(ap);
}
