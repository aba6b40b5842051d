/*
 * obs_http.h — the controller's own HTTP endpoints: /metrics (Prometheus
 * text from an obs_registry), /healthz (liveness) and /readyz (readiness).
 *
 * Served by libmicrohttpd on its own polling thread, so a slow scraper never
 * stalls sampling.  Not for: anything a user could post to — every other
 * path is 404 and every method but GET/HEAD is 405.
 */
#ifndef OBS_HTTP_H
#define OBS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "obs_metrics.h"

/* Returns true when healthy/ready; may fill why (a short reason shown in
 * the response body).  Called on the server thread: must be cheap and
 * thread-safe. */
typedef bool (*obs_check_fn)(void *ud, char *why, size_t whylen);

typedef struct obs_http_opts {
    const char *listen;  /* "127.0.0.1:8080", ":8080", "[::1]:8080" */
    obs_registry *registry;
    obs_check_fn healthz; /* NULL: always healthy */
    obs_check_fn readyz;  /* NULL: always ready   */
    void *ud;
} obs_http_opts;

typedef struct obs_http obs_http;

/* NULL with a message in err when the address is bad or in use. */
obs_http *obs_http_start(const obs_http_opts *opts, char *err, size_t errlen);
/* The port actually bound (useful with port 0). */
unsigned obs_http_port(const obs_http *h);
void obs_http_stop(obs_http *h);

#endif
