/*
 * obs_log.h — structured logs: one JSON object per line (or logfmt-like text
 * for humans), written with a single write(2) so lines from several threads
 * never interleave.
 *
 * A logger is an object made in main and handed down; there is no global
 * logger.  Fields are key/value string pairs ending with NULL:
 *   obs_log(log, OBS_WARN, "capture failed", "pod", "ns/web-1",
 *           "error", msg, NULL);
 * Not for: metrics (obs_metrics.h) or Kubernetes Events.
 */
#ifndef OBS_LOG_H
#define OBS_LOG_H

#include <stdio.h>

typedef enum obs_level {
    OBS_DEBUG = 0,
    OBS_INFO,
    OBS_WARN,
    OBS_ERROR,
} obs_level;

typedef enum obs_log_format { OBS_LOG_JSON = 0, OBS_LOG_TEXT } obs_log_format;

typedef struct obs_logger obs_logger;

/* fd: where lines go (2 = stderr). */
obs_logger *obs_logger_new(int fd, obs_level min, obs_log_format fmt);
void obs_logger_free(obs_logger *l);
/* "debug"|"info"|"warn"|"error" → 0, else -1. */
int obs_level_parse(const char *s, obs_level *out);
int obs_log_format_parse(const char *s, obs_log_format *out);
int obs_log_enabled(const obs_logger *l, obs_level level);

/* Ends the key/value list.  A typed null, because a bare NULL may be a
 * plain 0 where variadic arguments want a pointer. */
#define OBS_END ((const char *)NULL)

/* NULL logger is allowed and logs nothing. */
void obs_log(obs_logger *l, obs_level level, const char *msg, ...)
    __attribute__((sentinel));

#endif
