/*
 * kube_members.h — who is alive in a group of processes that each hold a
 * Lease of their own (kube_lease.h with sole_candidate and a label): one
 * watch of the group's Leases by label, and the live members at any time.
 *
 * "Alive" is judged the way kube_lease judges a leader: a Lease whose
 * holder is not empty and whose record or resourceVersion changed, as we
 * saw it, within its leaseDurationSeconds, timed by OUR monotonic clock
 * from the moment we saw the change — never the server's renewTime against
 * our wall clock.  So a member that stops renewing drops out one lease
 * duration after its last renewal reached us, a member that deletes or
 * releases its Lease drops out at once, and a Lease first seen in a list
 * counts as alive for one duration (it may have been renewed just before).
 *
 * Threads: the watch runs on its own thread; every function may be called
 * from any thread.
 *
 * Not for: choosing who owns what (that is the caller's hashing over the
 * live members), or holding a Lease (kube_lease).
 */
#ifndef KUBE_MEMBERS_H
#define KUBE_MEMBERS_H

#include "kube/kube.h"
#include "kube/kube_watch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kube_members_opts {
    const char *namespace;        /* where the Leases live                  */
    const char *label_selector;   /* which Leases are the group's           */
    kube_watch_log_fn log;
    void *log_ud;
} kube_members_opts;

/* A member as its Lease shows it. */
typedef struct kube_member {
    char identity[256];           /* holderIdentity                         */
    char lease[254];              /* the Lease's name                       */
    char rv[64];                  /* its resourceVersion when last seen     */
} kube_member;

typedef struct kube_members kube_members;

/* c may be NULL for a group fed only through kube_members_watch_handler
 * (tests); such a group cannot be started. */
kube_members *kube_members_new(kube_client *c, const kube_members_opts *o,
                               char *err, size_t errlen);
int kube_members_start(kube_members *m, char *err, size_t errlen);
/* Stops the watch and frees. */
void kube_members_free(kube_members *m);
/* True once the Leases were listed. */
bool kube_members_synced(kube_members *m);

/* The live members' identities at now_mono_ms, sorted and without
 * repeats, up to cap of them into ids; returns how many are live (which
 * may exceed cap). */
size_t kube_members_live(kube_members *m, int64_t now_mono_ms,
                         char (*ids)[256], size_t cap);
/* The Leases, live or not, whose holder has been gone (empty, or not
 * renewed) for at least stale_ms at now_mono_ms: the Leases of members
 * that died without deleting theirs, for whoever collects them.  Up to cap
 * into out; returns how many there are. */
size_t kube_members_stale(kube_members *m, int64_t now_mono_ms,
                          int64_t stale_ms, kube_member *out, size_t cap);

/* The handler the group's own watch uses (see kube_cache_watch_handler). */
const kube_watch_handler *kube_members_watch_handler(kube_members *m);

#endif
