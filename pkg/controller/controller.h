/*
 * controller.h — leakwatch's control loop: discover annotated pods from the
 * watch cache, sample their goroutine counts cheaply, capture and analyse
 * full profiles when a count climbs, and record what was found as Events.
 *
 * Shape (controller-runtime's, level-triggered):
 *
 *   watch cache ──callbacks──> ctl_pods registry (facts + sampling state)
 *   scheduler (main thread): every due pod ──> bounded work queue
 *   workers (N threads): cheap sample → window → [full capture + fresh
 *     peer → analysis] → finding → Events, evidence, metrics
 *   lease elector: only the leader schedules work and writes Events.
 *
 * Every decision is re-derived from current state (the window, the pod as
 * the cache has it now, the Events already in the cluster), so a restarted
 * or newly elected controller picks up where the last one left off without
 * repeating itself.
 *
 * The decision rules, briefly (details at their code):
 *   - a pod is SUSPECT when its cheap-count window grows steadily for
 *     raise-after consecutive evaluations (ctl_window.h), or when its
 *     count, normalised by age, is far above its peers';
 *   - while suspect, each interval takes a full capture (debug=2, or
 *     protobuf on huge processes);
 *   - a FINDING needs two full captures of this episode whose analysis
 *     (pkg/analysis, with the freshest ready peer as baseline) says leak,
 *     while the window still says growing.  A burst that drains fails the
 *     window test before the second capture; a ramp that plateaus fails
 *     the analysis' growth-at-the-end test;
 *   - a finding CLEARS when the window has been flat for clear-after
 *     evaluations, or the pod is gone.
 *
 * Not for: restarting pods (pkg/contain) — the controller only hands it
 * findings.
 */
#ifndef CTL_CONTROLLER_H
#define CTL_CONTROLLER_H

#include <signal.h>
#include <stddef.h>

#include "controller/ctl_config.h"
#include "obs/obs_log.h"

typedef struct ctl_controller ctl_controller;

/* Builds everything (client, caches, capturer, metrics server) but starts
 * no thread.  NULL with a one-line message in err. */
ctl_controller *ctl_controller_new(const ctl_config *cfg, obs_logger *log,
                                   char *err, size_t errlen);
/* Runs until *stop becomes non-zero (set it from a signal handler), then
 * shuts down in order: stop scheduling, let workers finish (captures are
 * cancelled), flush Events, release the lease.  0 on a clean stop. */
int ctl_controller_run(ctl_controller *c, volatile sig_atomic_t *stop);
void ctl_controller_free(ctl_controller *c);

#endif
