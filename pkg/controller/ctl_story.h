/*
 * ctl_story.h — a workload's findings, one "story" per (workload, leaking
 * stack): opened by the first replica found leaking on the stack, kept
 * open while pods come and go, and closed by the revision that fixes it.
 *
 * Pods are the wrong unit for "is it fixed": a restart (containment's, the
 * kubelet's, an autoscaler's) empties the leaking stack for a while and
 * proves nothing.  Only a new revision of the workload's template can fix
 * code, so a story ends in one of three ways:
 *   - every replica's stack went flat on its own (the controller clears it,
 *     as before: GoroutineLeakCleared);
 *   - a pod of a newer revision was watched over a window at least as long
 *     as the one that made the finding, under comparable load, and the
 *     stack did not grow: GoroutineLeakFixed;
 *   - the same watch saw it grow: GoroutineLeakNotFixed, and the story
 *     stays open, now about the newer revision (a later rollout is
 *     verified again).
 * Pods deleted meanwhile are counted ("open across 2 restarts"), never a
 * close.
 *
 * The verification is decided here from plain numbers (goroutines on the
 * stack and the request counter, at two times, on one pod of the newer
 * revision); capturing them is the controller's.  One mutex guards the
 * set: workers and the watch thread call in.
 *
 * It also remembers, per workload and revision, the newest evidence file
 * kept of a pod of that revision (a finding's suspect or baseline, a
 * verification's capture): the runbook's "diff against the last green
 * deploy" once no pod of the older revision serves any more.
 *
 * Not for: per-pod findings (ctl_pods.h), writing Events, or reading the
 * API (controller.c).
 */
#ifndef CTL_STORY_H
#define CTL_STORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube/kube.h"

typedef struct ctl_stories ctl_stories;

/* min_window_ms: the shortest verification window, whatever the finding's
 * (the controller's --finding-min-span). */
ctl_stories *ctl_stories_new(int64_t min_window_ms);
void ctl_stories_free(ctl_stories *s);

typedef struct ctl_story_facts {
    const char *ns;
    const kube_owner *owner;
    const char *func;          /* the leaking stack, as findings name it   */
    const char *pattern;
    long revision;             /* <= 0 unknown                              */
    const char *images;
    double per_minute;         /* the finding pod's growth                  */
    int64_t span_ms;           /* the window it was made over               */
    double req_per_s;          /* the pod's request rate then, -1 unknown   */
} ctl_story_facts;

/* Opens the story; true when it was not open (the caller writes the
 * workload's Event), false when it already was (or out of memory). */
bool ctl_stories_open(ctl_stories *s, const ctl_story_facts *f, int64_t now_ms);
/* Ends it; true when it was open. */
bool ctl_stories_end(ctl_stories *s, const char *owner_uid, const char *func);
bool ctl_stories_is_open(ctl_stories *s, const char *owner_uid, const char *func);
/* A replica with the finding went away (deleted, evicted): a restart when
 * it ran the story's revision.  Returns the restarts counted so far, -1
 * when no such story is open. */
int ctl_stories_pod_gone(ctl_stories *s, const char *owner_uid,
                         const char *func, long revision);
size_t ctl_stories_count(ctl_stories *s);
/* A pod of owner_uid was sampled: its workload still runs. */
void ctl_stories_touch(ctl_stories *s, const char *owner_uid, int64_t now_ms);

/* A story closed because its workload ran no pod for idle_ms (deleted, or
 * scaled to zero): nothing left to verify, and nothing leaking. */
typedef struct ctl_story_gone {
    char ns[64];
    kube_owner owner;
    char func[512];
    char pattern[32];
} ctl_story_gone;
/* Closes such stories, up to max of them into out; returns how many. */
size_t ctl_stories_expire(ctl_stories *s, int64_t now_ms, int64_t idle_ms,
                          ctl_story_gone *out, size_t max);

/* Does an open story of owner_uid want a verification capture from a pod
 * of `revision` now?  True (with the stack in func) when the revision is
 * newer than the story's and the pod is the one being watched with its
 * window elapsed, or no pod is being watched yet. */
bool ctl_stories_wants(ctl_stories *s, const char *owner_uid,
                       const char *pod_uid, long revision, int64_t now_ms,
                       char *func, size_t funclen);

typedef struct ctl_verify_obs {
    const char *owner_uid;
    const char *func;
    const char *pod_uid, *pod_name;
    long revision;
    const char *images;
    int restarts;              /* the pod's container restarts             */
    int64_t count;             /* goroutines shown as func (lwa_count_on)  */
    double requests;           /* the pod's request counter, -1 unknown    */
    int64_t t_ms;              /* wall clock of the capture                */
} ctl_verify_obs;

typedef enum ctl_verify_outcome {
    CTL_VERIFY_NONE = 0,       /* no such story, or not a newer revision   */
    CTL_VERIFY_WATCHING,       /* window started or not over yet           */
    CTL_VERIFY_LOW_LOAD,       /* window over at under half the load: it
                                  starts again (message says why)         */
    CTL_VERIFY_FIXED,          /* story closed                             */
    CTL_VERIFY_NOT_FIXED,      /* story moves to the newer revision        */
} ctl_verify_outcome;

typedef struct ctl_verify_result {
    char ns[64];
    kube_owner owner;
    char pattern[32];
    char message[2048];
} ctl_verify_result;

ctl_verify_outcome ctl_stories_observe(ctl_stories *s, const ctl_verify_obs *o,
                                       ctl_verify_result *out);

/* Evidence kept of one revision of a workload. */
typedef struct ctl_revision_evidence {
    long revision;
    char images[512];
    char path[1024];
    int64_t t_s;               /* when it was captured                     */
} ctl_revision_evidence;

/* Records a file kept of a pod of revision (> 0) of owner_uid; the newest
 * per (workload, revision) is kept, and at most CTL_STORY_MAX_EVIDENCE in
 * all (the oldest go first). */
void ctl_stories_note_evidence(ctl_stories *s, const char *owner_uid,
                               long revision, const char *images,
                               const char *path, int64_t t_s);
/* The evidence of the newest revision of owner_uid older than `revision`;
 * false when none was kept. */
bool ctl_stories_older_evidence(ctl_stories *s, const char *owner_uid,
                                long revision, ctl_revision_evidence *out);

#endif
