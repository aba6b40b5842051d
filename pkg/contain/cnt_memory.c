/*
 * cnt_memory.c — what containment learns from the LeakContainment Events
 * leakwatch wrote in the last hour: restarts (for budgets and cooldowns),
 * "several PodDisruptionBudgets" stops, and the last decision said to each
 * pod (so a restarted or newly elected controller does not say it again).
 * The Events are the memory that survives the process; this file reads
 * them at most every 30 s, cluster-wide (namespace by namespace when that
 * is forbidden).
 *
 * Not for: deciding (cnt_decide.c) or the in-process tables (cnt_contain.c).
 */
#include "contain/cnt_internal.h"
#include "lw/lw_grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How stale the Events picture may be before a decision that needs it. */
#define EVENTS_MAX_AGE_MS 30000

/* ---- what the cluster remembers ---------------------------------------------- */

bool cnt_events_fresh(cnt_containment *c, const char *ns, int64_t now)
{
    for (size_t i = 0; i < c->nfetches; i++) {
        const cnt_events_fetch *f = &c->fetches[i];
        if ((!f->ns[0] || !strcmp(f->ns, ns)) && now - f->at_ms < EVENTS_MAX_AGE_MS)
            return true;
    }
    return false;
}

static void note_fetch(cnt_containment *c, const char *ns, int64_t now)
{
    size_t slot = 0;
    const size_t max = sizeof c->fetches / sizeof c->fetches[0];
    for (; slot < c->nfetches; slot++)
        if (!strcmp(c->fetches[slot].ns, ns))
            break;
    if (slot == c->nfetches) {
        if (c->nfetches < max) {
            c->nfetches++;
        } else { /* full: reuse the oldest */
            slot = 0;
            for (size_t i = 1; i < c->nfetches; i++)
                if (c->fetches[i].at_ms < c->fetches[slot].at_ms)
                    slot = i;
        }
    }
    snprintf(c->fetches[slot].ns, sizeof c->fetches[slot].ns, "%s", ns);
    c->fetches[slot].at_ms = now;
}

/* Replaces what is known of scope ns ("" = all) by list, and learns the
 * restarts it records.  Under mu. */
static void merge_events(cnt_containment *c, const char *ns,
                         cnt_seen_events *list)
{
    size_t k = 0;
    for (size_t i = 0; i < c->seen.n; i++)
        if (ns[0] && strcmp(c->seen.v[i].ns, ns))
            c->seen.v[k++] = c->seen.v[i];
    c->seen.n = k;
    for (size_t i = 0; i < list->n; i++) {
        const cnt_seen_event *e = &list->v[i];
        if (lw_grow(&c->seen.v, &c->seen.cap, c->seen.n, sizeof *c->seen.v,
                    32))
            break;
        c->seen.v[c->seen.n++] = *e;
        bool action = e->kind == CNT_EVICTED || e->kind == CNT_ROLLED_OUT ||
                      e->kind == CNT_WOULD;
        if (!action || e->on_pod)
            continue;
        /* Workload Events count restarts: one per Event, or per repeat
         * when the whole series falls within the window. */
        long times = e->count > 1 && e->first_s >= e->t_s - CNT_BUDGET_WINDOW_S
                         ? e->count
                         : 1;
        for (long t = 0; t < times && t < 100; t++) {
            cnt_action a = {.t_s = e->t_s - t, .dry_run = e->kind == CNT_WOULD,
                            .from_events = true};
            snprintf(a.ns, sizeof a.ns, "%s", e->ns);
            snprintf(a.workload_uid, sizeof a.workload_uid, "%s", e->uid);
            snprintf(a.pod, sizeof a.pod, "%s", e->pod);
            if (t > 0) /* distinct entries for a repeated identical message */
                snprintf(a.pod, sizeof a.pod, "%.240s#%ld", e->pod, t);
            cnt_ledger_add(&c->ledger, &a);
        }
    }
}

/* Lists leakwatch's LeakContainment Events of the last hour, cluster-wide
 * (namespace by namespace when that is forbidden).  Not under mu. */
void cnt_refresh_events(cnt_containment *c, const char *ns)
{
    pthread_mutex_lock(&c->mu);
    if (c->events_loading || cnt_events_fresh(c, ns, cnt_now_ms(c))) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    c->events_loading = true;
    bool per_ns = c->cluster_list_denied;
    pthread_mutex_unlock(&c->mu);

    int64_t since = cnt_now_ms(c) / 1000 - CNT_BUDGET_WINDOW_S;
    cnt_seen_events list = {0};
    kube_response err;
    int rc = cnt_cluster_events(c->kube, per_ns ? ns : NULL, since, &list, &err);
    bool denied = rc < 0 && !per_ns && err.status == 403;
    if (denied) {
        obs_log(c->log, OBS_WARN, "containment: cannot list Events in every "
                "namespace; budgets count namespace by namespace", "error",
                err.error, (char *)OBS_END);
        kube_response_free(&err);
        cnt_seen_events_clear(&list);
        rc = cnt_cluster_events(c->kube, ns, since, &list, &err);
        per_ns = true;
    }
    if (rc < 0)
        obs_log(c->log, OBS_WARN, "containment: cannot list LeakContainment "
                "Events; counting only this process's restarts", "error",
                err.error, (char *)OBS_END);
    kube_response_free(&err);

    pthread_mutex_lock(&c->mu);
    if (denied)
        c->cluster_list_denied = true;
    if (rc == 0) {
        merge_events(c, per_ns ? ns : "", &list);
        note_fetch(c, per_ns ? ns : "", cnt_now_ms(c));
    }
    c->events_loading = false;
    pthread_mutex_unlock(&c->mu);
    cnt_seen_events_clear(&list);
}

cnt_kind cnt_seen_kind(cnt_containment *c, const char *uid, bool on_pod)
{
    /* A dry run's words are not a real run's (and the reverse). */
    int64_t best = -1;
    cnt_kind k = CNT_SILENT;
    for (size_t i = 0; i < c->seen.n; i++) {
        const cnt_seen_event *e = &c->seen.v[i];
        bool action = e->kind == CNT_EVICTED || e->kind == CNT_ROLLED_OUT ||
                      e->kind == CNT_WOULD;
        if (!action && e->on_pod == on_pod && e->dry_run == c->cfg.dry_run &&
            !strcmp(e->uid, uid) && e->t_s >= best) {
            best = e->t_s;
            k = e->kind;
        }
    }
    return k;
}

const cnt_seen_event *cnt_seen_stop(cnt_containment *c, const char *wl_uid,
                                    int64_t since_s)
{
    const cnt_seen_event *best = NULL;
    for (size_t i = 0; i < c->seen.n; i++) {
        const cnt_seen_event *e = &c->seen.v[i];
        if (!e->on_pod && e->kind == CNT_MULTIPLE_PDBS && !strcmp(e->uid, wl_uid) &&
            e->t_s >= since_s && (!best || e->t_s > best->t_s))
            best = e;
    }
    return best;
}

