/*
 * cnt_ledger.c — the restarts of the last hour: what budgets and cooldowns
 * count.  Filled from two sources that must agree after a controller
 * restart: the restarts this process made (at once, before their Events
 * reach the API server) and the LeakContainment Events found in the
 * cluster (what earlier leaders did).  An Event that describes a restart
 * already recorded here is recognised and not counted twice.
 *
 * Not for: reading Events (cnt_cluster.c) or the budget rule itself
 * (cnt_decide.c).
 */
#include "contain/cnt_plan.h"
#include "lw/lw_grow.h"

#include <stdlib.h>
#include <string.h>

/* An Event is written a moment after its restart (the recorder is
 * asynchronous); two restarts of one pod name this close are impossible
 * under any sane cooldown. */
#define SAME_ACTION_S 120

void cnt_ledger_init(cnt_ledger *l)
{
    memset(l, 0, sizeof *l);
}

void cnt_ledger_clear(cnt_ledger *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

static bool same_action(const cnt_action *a, const cnt_action *b)
{
    int64_t dt = a->t_s - b->t_s;
    if (dt < 0)
        dt = -dt;
    return dt <= SAME_ACTION_S && a->dry_run == b->dry_run &&
           !strcmp(a->workload_uid, b->workload_uid) && !strcmp(a->pod, b->pod);
}

int cnt_ledger_add(cnt_ledger *l, const cnt_action *a)
{
    for (size_t i = 0; i < l->n; i++)
        if (same_action(&l->v[i], a))
            return 1;
    if (lw_grow(&l->v, &l->cap, l->n, sizeof *l->v, 16))
        return -1;
    l->v[l->n++] = *a;
    return 0;
}

void cnt_ledger_remove(cnt_ledger *l, const cnt_action *a)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].t_s == a->t_s && !strcmp(l->v[i].workload_uid, a->workload_uid) &&
            !strcmp(l->v[i].pod, a->pod) && l->v[i].dry_run == a->dry_run) {
            l->v[i] = l->v[--l->n];
            return;
        }
}

long cnt_ledger_count(const cnt_ledger *l, const char *workload_uid,
                      int64_t since_s, bool include_dry)
{
    long n = 0;
    for (size_t i = 0; i < l->n; i++) {
        const cnt_action *a = &l->v[i];
        if (a->t_s < since_s || (a->dry_run && !include_dry))
            continue;
        if (workload_uid && strcmp(a->workload_uid, workload_uid))
            continue;
        n++;
    }
    return n;
}

int64_t cnt_ledger_last(const cnt_ledger *l, const char *ns, const char *pod,
                        const char *workload_uid, bool include_dry)
{
    int64_t last = -1;
    for (size_t i = 0; i < l->n; i++) {
        const cnt_action *a = &l->v[i];
        if (a->dry_run && !include_dry)
            continue;
        if (pod && (strcmp(a->pod, pod) || (ns && strcmp(a->ns, ns))))
            continue;
        if (!pod && workload_uid && strcmp(a->workload_uid, workload_uid))
            continue;
        if (a->t_s > last)
            last = a->t_s;
    }
    return last;
}

void cnt_ledger_prune(cnt_ledger *l, int64_t before_s)
{
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].t_s >= before_s)
            l->v[w++] = l->v[i];
    l->n = w;
}
