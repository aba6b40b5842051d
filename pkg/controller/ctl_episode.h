/*
 * ctl_episode.h — the full captures of one pod's suspicion episode, kept as
 * snapshots in one signature table so the analysis judges the whole series
 * (three captures or more), not just its two ends.
 *
 * Why a series and not a pair: a burst of short requests caught in flight
 * by the last capture looks, between two captures, exactly like a leak
 * that has just started.  Over three captures the difference shows: the
 * leaked goroutines of the second capture are still there at the third,
 * the burst's are gone.  Each capture is parsed once, as it arrives, with
 * the previous capture's highest goroutine id as the cutoff, so the
 * snapshot also says how many goroutines of each stack already existed at
 * the previous capture (debug=2 only: the other formats carry no ids).
 *
 * The bytes of the first and the latest capture are kept as evidence of
 * last resort (when the protobuf endpoint fails at finding time), debug=2
 * text gzip-compressed (ext "txt.gz").
 *
 * Ownership: an episode hangs off its pod in the registry.  The worker that
 * holds the pod takes it out under the lock, works on it without the lock,
 * and puts it back only if the pod's episode generation is unchanged (a
 * restart or an ended suspicion discards it meanwhile).
 *
 * Not for: deciding what the report means (controller.c) or the rules of
 * the analysis itself (pkg/analysis).
 */
#ifndef CTL_EPISODE_H
#define CTL_EPISODE_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/analysis.h"
#include "controller/ctl_pods.h"

/* Snapshots kept: the episode's first and the latest ones. */
#define CTL_EPISODE_MAX 8

typedef struct ctl_episode ctl_episode;

/* `opt` (and its ignore rules) must outlive the episode. */
ctl_episode *ctl_episode_new(const lwa_options *opt);
void ctl_episode_free(ctl_episode *e);

/* Parses one full capture and adds its snapshot.  Takes ownership of
 * `raw` (malloc'd) in every case.  0, or -1 with a one-line error. */
int ctl_episode_add(ctl_episode *e, unsigned char *raw, size_t len,
                    const char *ext, int64_t t_ms, const char *pod,
                    char *err, size_t errlen);
size_t ctl_episode_captures(const ctl_episode *e);
/* Raw bytes of the first and of the latest capture (evidence of last
 * resort); .raw NULL when none. */
const ctl_full *ctl_episode_first(const ctl_episode *e);
const ctl_full *ctl_episode_last(const ctl_episode *e);

/* A peer's capture counted into the episode's table (NULL on no memory).
 * The caller frees the snapshot before the episode. */
lwa_snapshot *ctl_episode_baseline(ctl_episode *e, const pprof_profile *peer,
                                   const char *name);
/* The analysis of the series kept so far against the optional baseline. */
lwa_report *ctl_episode_analyze(const ctl_episode *e,
                                const lwa_snapshot *baseline,
                                const lwa_thresholds *th);
const lwa_sigtab *ctl_episode_table(const ctl_episode *e);

#endif
