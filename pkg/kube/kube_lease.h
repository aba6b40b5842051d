/*
 * kube_lease.h — leader election on a coordination.k8s.io/v1 Lease, the way
 * client-go's leaderelection package does it:
 *   - a candidate takes the lease when nobody holds it or when the holder
 *     has not renewed it for leaseDurationSeconds;
 *   - "has not renewed" is measured with OUR monotonic clock from the moment
 *     we last saw the lease change (any change of its record or
 *     resourceVersion), never by comparing the server's renewTime with our
 *     wall clock, so clock skew between machines cannot cause two leaders;
 *   - every write is a PUT carrying the resourceVersion we read, so of two
 *     candidates racing only one wins (409 Conflict for the other, which
 *     reads again);
 *   - the leader renews every retry period and steps down (callback) when it
 *     could not renew for renewDeadline, or at once when it sees another
 *     holder; renewDeadline < leaseDuration means it stops acting before
 *     anyone else may start;
 *   - stopping releases the lease (empty holder, 1 s duration), and
 *     candidates watch the Lease, so a successor takes over within
 *     milliseconds instead of at its next retry (client-go polls; polling
 *     remains the fallback here whenever the watch is down).
 * RBAC: get, create, update, list and watch on coordination.k8s.io leases.
 *
 * Threads: one elector thread per kube_lease (plus its release watch);
 * callbacks run on the elector thread and must return quickly (start long
 * work elsewhere) or renewals stall.
 *
 * A lease can also stand for one process alone (sole_candidate,
 * delete_on_stop, a label): the membership of a sharded controller
 * (kube_members.h), where holding it means "alive".
 *
 * Not for: anything but leases (no ConfigMap/Endpoints locks).
 */
#ifndef KUBE_LEASE_H
#define KUBE_LEASE_H

#include "kube/kube.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*kube_lease_log_fn)(const char *msg, void *ud);

typedef struct kube_lease_opts {
    const char *namespace;
    const char *name;
    const char *identity;        /* default "<hostname>_<pid>_<random>"   */
    long lease_duration_ms;      /* default 15000; written in whole s     */
    long renew_deadline_ms;      /* default 10000; < lease duration       */
    long retry_period_ms;        /* default 2000; 1.2 x it < renew deadline */
    bool keep_on_stop;           /* do not release when stopping           */
    /* Delete the Lease when stopping instead of releasing it: a lease
     * named after one process (a shard member's) has no next holder, and
     * watchers see it gone at once. */
    bool delete_on_stop;
    /* Nobody else campaigns for this lease (a member lease): no watch for
     * its release. */
    bool sole_candidate;
    /* One label the Lease is created with (both or neither): how a set of
     * member leases is listed and watched. */
    const char *label_key, *label_value;
    void (*on_started_leading)(void *ud);
    void (*on_stopped_leading)(void *ud);
    /* Whenever the observed holder changes (identity "" = nobody). */
    void (*on_new_leader)(const char *identity, void *ud);
    void *ud;
    kube_lease_log_fn log;       /* NULL: "kube lease ns/name: ..." on stderr */
    void *log_ud;
} kube_lease_opts;

typedef struct kube_lease kube_lease;

/* Deletes Lease ns/name if its resourceVersion is still rv (a Lease
 * renewed since it was read is left alone: 409).  0 when deleted or
 * already gone; -1 and r says why.  Synchronous: for a Lease this process
 * does not hold (kube_lease_stop deletes its own with delete_on_stop). */
int kube_lease_delete(kube_client *c, const char *ns, const char *name,
                      const char *rv, kube_response *r);

/* Starts campaigning on the elector thread.  NULL (and err) on bad
 * options. */
kube_lease *kube_lease_start(kube_client *c, const kube_lease_opts *o,
                             char *err, size_t errlen);
/* True while we hold the lease and renewed it within the renew deadline. */
bool kube_lease_is_leader(kube_lease *l);
const char *kube_lease_identity(const kube_lease *l);
/* Stops campaigning, releases the lease if we hold it (unless
 * keep_on_stop), calls on_stopped_leading if we were leading, frees. */
void kube_lease_stop(kube_lease *l);

/* ---- the decision logic, without the network (exposed for tests) ------ */

typedef struct kube_lease_record {
    char holder[256];
    long duration_s;             /* leaseDurationSeconds                   */
    char acquire_time[40];       /* MicroTime strings as on the server:    */
    char renew_time[40];         /* informative only, never compared       */
    long transitions;
} kube_lease_record;

typedef struct kube_lease_state {
    bool have_observed;
    kube_lease_record observed;
    char observed_rv[64];
    int64_t observed_mono_ms;    /* local monotonic time of the last change */
} kube_lease_state;

typedef enum kube_lease_action {
    KUBE_LEASE_WAIT,             /* held by someone else and still valid   */
    KUBE_LEASE_CREATE,           /* no Lease object: create `next`         */
    KUBE_LEASE_UPDATE,           /* take over or renew: PUT `next`         */
} kube_lease_action;

/* One step of tryAcquireOrRenew: fetched is the Lease as just read (NULL:
 * 404), fetched_rv its resourceVersion.  Updates st's observation and fills
 * next with what to write. */
kube_lease_action kube_lease_decide(kube_lease_state *st, const char *me,
                                    const kube_lease_record *fetched,
                                    const char *fetched_rv, long duration_s,
                                    int64_t now_mono_ms, int64_t now_wall_us,
                                    kube_lease_record *next);
/* What a read of the Lease (record and resourceVersion rv) shows: the
 * lease clock restarts at now_mono_ms when either changed. */
void kube_lease_observe(kube_lease_state *st, const kube_lease_record *seen,
                        const char *rv, int64_t now_mono_ms);
/* Our write of rec succeeded and the server answered with rv. */
void kube_lease_observe_write(kube_lease_state *st,
                              const kube_lease_record *rec, const char *rv,
                              int64_t now_mono_ms);
/* Is the observed holder's lease still running at now_mono_ms? */
bool kube_lease_observed_valid(const kube_lease_state *st,
                               int64_t now_mono_ms);
/* The record that releases a lease we hold. */
void kube_lease_release_record(const kube_lease_state *st,
                               int64_t now_wall_us, kube_lease_record *out);

/* Lease spec <-> record.  parse returns 0, or -1 when obj is not a Lease. */
int kube_lease_parse(const json_t *lease, kube_lease_record *out, char *rv,
                     size_t rvlen);
/* Sets spec from rec on lease (a Lease object, modified in place). */
int kube_lease_apply(json_t *lease, const kube_lease_record *rec);

#endif
