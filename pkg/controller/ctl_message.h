/*
 * ctl_message.h — the sentences leakwatch writes into Events: dense enough
 * that an on-call engineer can act on one read of `kubectl describe`.
 *
 *   +3,812 goroutines in 4m (15.9/min) vs fresh peer web-7d9f-x2k (2m old,
 *   41 goroutines): main.(*fetcher).gather.func1 fetch.go:88 [chan send,
 *   3 min] x3,790, created by main.(*fetcher).gather; pattern chan-send:
 *   buffer the channel or select on ctx.Done() in the sender. Evidence: ...
 *
 * With the workload revisions known, it says which one the pod runs and,
 * against a peer of an older revision, whether that revision was flat on
 * the stack ("new in revision 7 (orders:1.4.2); revision 6 (orders:1.4.1)
 * flat on this stack"); with no such peer, it says the same against the
 * evidence kept of the older revision ("revision 6 (orders:1.4.1) held 3
 * on this stack in evidence kept 2h ago").
 *
 * Not for: deciding anything; pure formatting, unit-tested.
 */
#ifndef CTL_MESSAGE_H
#define CTL_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/analysis.h"

typedef struct ctl_finding_msg {
    int64_t growth;          /* pod total, over the window               */
    double span_minutes;
    double per_minute;
    const char *peer_name;   /* NULL: compared with its own earlier capture */
    double peer_age_minutes;
    double pod_age_minutes;  /* "fresh peer" only when clearly younger   */
    int64_t peer_count;      /* -1 unknown                                */
    const lwa_finding *top;  /* the dominant growing stack                */
    const char *suspect_path;  /* evidence files, or NULL                 */
    const char *baseline_path;
    const char *evidence_error; /* why a file could not be saved, or NULL */
    bool diverged;           /* stands out from its peers                 */
    long revision;           /* the workload revision the pod runs, <= 0
                                unknown; images: its containers' ("" / NULL
                                unknown) — the same for the peer          */
    const char *images;
    double revision_age_minutes; /* since it was rolled out, 0 unknown */
    long peer_revision;
    const char *peer_images;
    /* With no pod of an older revision to compare with: the evidence kept
     * of the newest older revision (prev_revision <= 0: none), how many
     * goroutines the leaking stack had in it and how long ago. */
    long prev_revision;
    const char *prev_images;
    int64_t prev_count;
    double prev_age_minutes;
} ctl_finding_msg;

/* "3,812" */
void ctl_fmt_count(int64_t v, char *out, size_t outlen);
/* "4m", "1h12m", "45s" */
void ctl_fmt_duration(double minutes, char *out, size_t outlen);
/* "fetch.go:88" from "/src/app/fetch.go", 88 */
void ctl_fmt_fileline(const char *file, uint32_t line, char *out, size_t outlen);

void ctl_format_finding(const ctl_finding_msg *m, char *out, size_t outlen);

/* The workload's Event: one story for its replicas, e.g. "2 of 3 replicas
 * leak on this stack (orders-a +338.6/min, orders-b +12.0/min), 1 more
 * growing; pod orders-a: <that pod's finding>".  `pods` lists the leaking
 * replicas; `first_pod` is the one whose finding wrote this. */
void ctl_format_workload(size_t leaking, size_t replicas, size_t growing,
                         const char *pods, const char *first_pod,
                         const char *pod_msg, char *out, size_t outlen);

/* The verification of a fix on a newer revision (ctl_story.h):
 *   main.f no longer grows in revision 8 (orders:1.4.3): 0 → 2 over 30m on
 *   pod orders-x at 4.1 req/s; it grew +340.0/min in revision 7
 *   (orders:1.4.2) at 4.0 req/s
 * "still grows" (with the pattern's first fix) when it does not hold, and
 * "not yet comparable" when the load was under half. */
typedef enum ctl_verified_kind {
    CTL_VERIFIED_FIXED,
    CTL_VERIFIED_NOT_FIXED,
    CTL_VERIFIED_LOW_LOAD,
} ctl_verified_kind;

typedef struct ctl_verify_msg {
    ctl_verified_kind kind;
    const char *func;          /* as captured: escaped here                */
    const char *pattern;
    const char *pod;           /* the pod of the newer revision watched    */
    long revision;             /* the newer revision and its images        */
    const char *images;
    long old_revision;         /* the one the finding was made on          */
    const char *old_images;
    int64_t from, to;          /* goroutines on func at the window's ends  */
    double minutes;
    double per_minute;
    double req_per_s;          /* -1 unknown                                */
    double old_per_minute;
    double old_req_per_s;      /* -1 unknown                                */
    int restarts;              /* of the old revision while open            */
} ctl_verify_msg;

void ctl_format_verified(const ctl_verify_msg *m, char *out, size_t outlen);

/* One of leakwatch's Events on a workload, read back (a new leader
 * adopting the findings an earlier one left open): GoroutineLeak and
 * GoroutineLeakNotFixed open the stack's finding, GoroutineLeakFixed and
 * GoroutineLeakCleared close it. */
typedef struct ctl_story_event {
    bool open;
    char func[512];            /* as the message has it (escaped)          */
    char pattern[32];          /* "" when a closing Event                  */
    long revision;             /* -1 unknown                               */
    char images[512];
    double per_minute;         /* 0 unknown                                */
    double req_per_s;          /* the load it still grew at, -1 unknown    */
} ctl_story_event;

/* The patterns the messages are read with, compiled once: a new leader
 * reads every workload Event of the cluster, and compiling them per Event
 * cost more than the matching.  NULL when out of memory. */
typedef struct ctl_event_reader ctl_event_reader;
ctl_event_reader *ctl_event_reader_new(void);
void ctl_event_reader_free(ctl_event_reader *r);

/* False when the Event is not one of these or names no stack. */
bool ctl_parse_workload_event(const ctl_event_reader *r, const char *reason,
                              const char *message, ctl_story_event *out);

#endif
