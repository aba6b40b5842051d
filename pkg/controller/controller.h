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
 *     protobuf on huge processes), at least 15 s after the last, into the
 *     pod's episode (ctl_episode.h);
 *   - a FINDING needs three captures or more spanning two minutes whose
 *     analysis (pkg/analysis, with the freshest ready peer as baseline)
 *     calls a stack a LEAK — growing through the end, goroutines that
 *     persist — while the window still says growing and its count did not
 *     fall.  Independent leaking stacks are findings of their own.  The
 *     pod's Event is written unless the pod's newest leakwatch Event is the
 *     same stack still open; the workload's once per stack while open;
 *   - a finding CLEARS when the window is flat as a whole (ctl_window.h),
 *     or the pod is gone, and only if it is open in the cluster;
 *   - findings an earlier leakwatch left open are read back from its
 *     Events at the start of each leadership (ctl_open.h).
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
