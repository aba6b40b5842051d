/*
 * obs_metrics.h — an in-process Prometheus metrics registry and its text
 * exposition (format 0.0.4).
 *
 * Counters, gauges and histograms with labels; thread-safe (one mutex per
 * registry — updates are a hash lookup and an add, far cheaper than the
 * captures they count).  Series can be removed, so a deleted pod's gauges
 * disappear instead of lingering forever.
 *
 * Written here rather than taken from a library because the only C client
 * (prometheus-client-c) is unmaintained and not packaged by Debian; the
 * exposition format is small and stable.  Not for: serving HTTP
 * (obs_http.h) or pushing anywhere.
 */
#ifndef OBS_METRICS_H
#define OBS_METRICS_H

#include <stddef.h>

typedef struct obs_registry obs_registry;
typedef struct obs_metric obs_metric;

obs_registry *obs_registry_new(void);
void obs_registry_free(obs_registry *r);

/* label_names: NULL-terminated array (or NULL for none); copied.  Names
 * must be valid Prometheus names.  Registering the same name twice returns
 * the existing metric when the type matches, NULL otherwise. */
obs_metric *obs_counter(obs_registry *r, const char *name, const char *help,
                        const char *const *label_names);
obs_metric *obs_gauge(obs_registry *r, const char *name, const char *help,
                      const char *const *label_names);
/* bounds: ascending upper bounds, +Inf implied. */
obs_metric *obs_histogram(obs_registry *r, const char *name, const char *help,
                          const char *const *label_names,
                          const double *bounds, size_t nbounds);

/* label_values: as many as the metric has label names (NULL for none).
 * Unknown values create the series.  Out of memory drops the update. */
void obs_counter_add(obs_metric *m, const char *const *label_values, double v);
void obs_gauge_set(obs_metric *m, const char *const *label_values, double v);
void obs_histogram_observe(obs_metric *m, const char *const *label_values,
                           double v);
/* Value of a counter or gauge series, 0 when absent (for tests, /readyz). */
double obs_metric_value(obs_metric *m, const char *const *label_values);
void obs_metric_remove(obs_metric *m, const char *const *label_values);

/* The whole registry in text exposition format; caller frees. */
char *obs_registry_render(obs_registry *r, size_t *len);

#endif
