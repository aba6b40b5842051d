/*
 * cnt_contain.c — containment's moving parts (see contain.h): gathers the
 * facts for one candidate (urgency, evidence, restarts this hour, the
 * workload's state, the other leaking replicas), asks cnt_decide, acts,
 * and speaks when the decision changed.
 *
 * Concurrency: one mutex guards the tables (cnt_internal.h) and is never
 * held across an API call.  A per-workload busy flag makes the read-decide-act sequence
 * of one workload exclusive, so two worker threads can never restart two
 * pods of it at once; a thread that finds the workload busy simply waits
 * for its next interval.  The global budget is reserved in the ledger
 * under the mutex before the API call and released if the call fails.
 *
 * Tables are arrays searched linearly: they hold pods with a leak finding
 * and their workloads — a handful, a few hundred in a very bad hour.
 *
 * Not for: the rules (cnt_decide.c and friends) or the HTTP (cnt_cluster.c,
 * kube_evict.h).
 */
#include "contain/contain.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "contain/cnt_cluster.h"
#include "contain/cnt_internal.h"
#include "contain/cnt_plan.h"
#include "kube/kube_evict.h"
#include "kube/kube_objects.h"
#include "lw/lw_clock.h"
#include "lw/lw_grow.h"

/* Backoff after a refused or failed restart: doubling, within these. */
#define BACKOFF_MIN_S 30.0
#define BACKOFF_MAX_S 300.0
/* Several PodDisruptionBudgets select the pod: stop that workload. */
#define STOP_S 3600
/* Forget pods and workloads not considered for this long. */
#define FORGET_MS (3600 * 1000LL)

/* ---- time ---------------------------------------------------------------- */

static int64_t wall_ms(void *ud)
{
    (void)ud;
    return lw_wall_ms();
}

void cnt_set_clock(cnt_containment *c, cnt_clock_fn fn, void *ud)
{
    c->clock = fn ? fn : wall_ms;
    c->clock_ud = ud;
}

int64_t cnt_now_ms(cnt_containment *c)
{
    return c->clock(c->clock_ud);
}

/* ---- construction --------------------------------------------------------- */

void cnt_config_default(cnt_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->horizon_s = 6 * 3600;
    cfg->budget_per_workload = 3;
    cfg->budget_global = 10;
    cfg->pod_cooldown_s = 600;
    cfg->ready_timeout_s = 300;
}

cnt_containment *cnt_new(kube_client *kube, kube_recorder *rec,
                         const cnt_config *cfg, obs_registry *metrics,
                         obs_logger *log, char *err, size_t errlen)
{
    if (!kube || !cfg) {
        snprintf(err, errlen, "containment: no API client or configuration");
        return NULL;
    }
    if (!(cfg->horizon_s >= 0) || !(cfg->min_rate_per_min >= 0) ||
        cfg->goroutine_cap < 0 || cfg->budget_per_workload < 0 ||
        cfg->budget_global < 0 || !(cfg->pod_cooldown_s >= 0) ||
        !(cfg->ready_timeout_s >= 0)) {
        snprintf(err, errlen, "containment: horizon, rates, caps, budgets, "
                 "cooldown and ready timeout must not be negative");
        return NULL;
    }
    cnt_containment *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->kube = kube;
    c->rec = rec;
    c->log = log;
    c->cfg = *cfg;
    c->clock = wall_ms;
    pthread_mutex_init(&c->mu, NULL);
    cnt_ledger_init(&c->ledger);
    if (metrics) {
        const char *rl[] = {"result", NULL};
        const char *bl[] = {"scope", "namespace", "workload", NULL};
        const char *dl[] = {"decision", NULL};
        c->m_restarts = obs_counter(metrics, "leakwatch_restarts_total",
                                    "Containment restart attempts by result: "
                                    "evicted, rolled-out, dry-run, "
                                    "deferred-pdb, multiple-pdbs, not-found, "
                                    "conflict, forbidden, throttled, error.", rl);
        c->m_budget = obs_gauge(metrics, "leakwatch_restart_budget_remaining",
                                "Containment restarts left this hour, "
                                "globally and per workload.", bl);
        c->m_decisions = obs_counter(metrics, "leakwatch_containment_decisions_total",
                                     "Containment decisions announced, by "
                                     "decision.", dl);
        const char *gv[] = {"global", "", ""};
        obs_gauge_set(c->m_budget, gv, (double)cfg->budget_global);
    }
    return c;
}

void cnt_free(cnt_containment *c)
{
    if (!c)
        return;
    free(c->pods);
    free(c->wls);
    cnt_ledger_clear(&c->ledger);
    cnt_seen_events_clear(&c->seen);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ---- tables (under mu) ----------------------------------------------------- */

static cnt_pod_ent *pod_find(cnt_containment *c, const char *uid)
{
    for (size_t i = 0; i < c->npods; i++)
        if (!strcmp(c->pods[i].uid, uid))
            return &c->pods[i];
    return NULL;
}

static cnt_wl_ent *wl_find(cnt_containment *c, const char *uid)
{
    if (!uid || !*uid)
        return NULL;
    for (size_t i = 0; i < c->nwls; i++)
        if (!strcmp(c->wls[i].uid, uid))
            return &c->wls[i];
    return NULL;
}

static cnt_pod_ent *pod_upsert(cnt_containment *c, const cnt_candidate *cand,
                           int64_t now)
{
    cnt_pod_ent *p = pod_find(c, cand->pod_uid);
    if (!p) {
        if (lw_grow(&c->pods, &c->cappods, c->npods, sizeof *c->pods, 16))
            return NULL;
        p = &c->pods[c->npods++];
        memset(p, 0, sizeof *p);
        snprintf(p->uid, sizeof p->uid, "%s", cand->pod_uid);
    }
    snprintf(p->ns, sizeof p->ns, "%s", cand->ns);
    snprintf(p->name, sizeof p->name, "%s", cand->pod);
    snprintf(p->wl_uid, sizeof p->wl_uid, "%s",
             cand->owner_kind && *cand->owner_kind && cand->owner_uid ? cand->owner_uid : "");
    if (p->last_ms && now > p->last_ms)
        p->prev_ms = p->last_ms;
    p->last_ms = now;
    p->calls++;
    return p;
}

static cnt_wl_ent *wl_upsert(cnt_containment *c, const cnt_candidate *cand,
                         int64_t now)
{
    cnt_wl_ent *w = wl_find(c, cand->owner_uid);
    if (!w) {
        if (lw_grow(&c->wls, &c->capwls, c->nwls, sizeof *c->wls, 8))
            return NULL;
        w = &c->wls[c->nwls++];
        memset(w, 0, sizeof *w);
        snprintf(w->uid, sizeof w->uid, "%s", cand->owner_uid);
    }
    snprintf(w->ns, sizeof w->ns, "%s", cand->ns);
    snprintf(w->kind, sizeof w->kind, "%s", cand->owner_kind);
    snprintf(w->name, sizeof w->name, "%s", cand->owner_name ? cand->owner_name : "");
    w->last_ms = now;
    return w;
}

static void budget_gauge(cnt_containment *c, const cnt_wl_ent *w, double left,
                         bool remove)
{
    if (!c->m_budget)
        return;
    char label[300];
    cnt_workload_label(w->kind, w->name, label, sizeof label);
    const char *v[] = {"workload", w->ns, label};
    if (remove)
        obs_metric_remove(c->m_budget, v);
    else
        obs_gauge_set(c->m_budget, v, left);
}

static void prune(cnt_containment *c, int64_t now)
{
    size_t k = 0;
    for (size_t i = 0; i < c->npods; i++)
        if (now - c->pods[i].last_ms < FORGET_MS)
            c->pods[k++] = c->pods[i];
    c->npods = k;
    k = 0;
    for (size_t i = 0; i < c->nwls; i++) {
        if (c->wls[i].busy || now - c->wls[i].last_ms < FORGET_MS)
            c->wls[k++] = c->wls[i];
        else
            budget_gauge(c, &c->wls[i], 0, true);
    }
    c->nwls = k;
    cnt_ledger_prune(&c->ledger, now / 1000 - CNT_BUDGET_WINDOW_S);
}

/* ---- facts ------------------------------------------------------------------ */

static bool check_file(const char *what, const char *path, char *out,
                       size_t outlen)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        snprintf(out, outlen, "%s profile %s: %s", what, path, strerror(errno));
        return false;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size == 0) {
        snprintf(out, outlen, "%s profile %s is %s", what, path,
                 S_ISREG(sb.st_mode) ? "empty" : "not a file");
        return false;
    }
    return true;
}

static void check_evidence(const cnt_candidate *cand, cnt_facts *f)
{
    const char *s = cand->evidence_suspect, *b = cand->evidence_baseline;
    f->evidence_ok = false;
    if (!s || !*s) {
        if (cand->evidence_error && *cand->evidence_error)
            snprintf(f->evidence, sizeof f->evidence, "no suspect profile "
                     "was kept (%s)", cand->evidence_error);
        else
            snprintf(f->evidence, sizeof f->evidence, "no suspect profile "
                     "was kept (is --evidence-dir set and writable?)");
        return;
    }
    if (!check_file("suspect", s, f->evidence, sizeof f->evidence))
        return;
    if (b && *b && !check_file("baseline", b, f->evidence, sizeof f->evidence))
        return;
    f->evidence_ok = true;
    if (b && *b)
        snprintf(f->evidence, sizeof f->evidence, "%s, %s", s, b);
    else
        snprintf(f->evidence, sizeof f->evidence, "%s (no baseline)", s);
}

static bool supported_kind(const char *kind, bool rollout)
{
    if (!strcmp(kind, "Deployment") || !strcmp(kind, "StatefulSet"))
        return true;
    return !rollout && !strcmp(kind, "ReplicaSet");
}

/* Budgets, cooldown, backoff, stop, leaking replicas.  Under mu. */
static void fill_counts(cnt_containment *c, cnt_facts *f, const cnt_pod_ent *p,
                        cnt_wl_ent *w, int64_t now)
{
    int64_t now_s = now / 1000, since = now_s - CNT_BUDGET_WINDOW_S;
    bool dry = c->cfg.dry_run;
    f->used_global = cnt_ledger_count(&c->ledger, NULL, since, dry);
    f->used_workload = w ? cnt_ledger_count(&c->ledger, w->uid, since, dry) : 0;
    /* Evictions cool down per pod name (a StatefulSet's replacement has
     * the same); a rollout restarted every pod, so per workload. */
    int64_t last = c->cfg.rollout && w
                       ? cnt_ledger_last(&c->ledger, NULL, NULL, w->uid, dry)
                       : cnt_ledger_last(&c->ledger, p->ns, p->name, NULL, dry);
    f->since_pod_restart_s = last >= 0 ? (double)(now_s - last) : -1;
    f->leaking = 0;
    if (w)
        for (size_t i = 0; i < c->npods; i++) {
            const cnt_pod_ent *q = &c->pods[i];
            cnt_rank_item it = {.last_ms = q->last_ms, .prev_ms = q->prev_ms};
            if (!strcmp(q->wl_uid, w->uid) && !q->acted && cnt_rank_fresh(&it, now))
                f->leaking++;
        }
    f->retry_in_s = 0;
    f->stopped = false;
    if (!w)
        return;
    if (w->retry_at_ms > now) {
        f->retry_in_s = (double)(w->retry_at_ms - now) / 1000.0;
        f->retry_kind = w->retry_kind;
        snprintf(f->retry_reason, sizeof f->retry_reason, "%s", w->retry_reason);
    }
    const cnt_seen_event *stop = cnt_seen_stop(c, w->uid, now_s - STOP_S);
    if (w->stopped_until_s > now_s) {
        f->stopped = true;
        snprintf(f->stopped_reason, sizeof f->stopped_reason, "%s", w->stopped_reason);
    } else if (stop) {
        f->stopped = true;
        /* The predecessor's message, minus its own prefix. */
        const char *m = strstr(stop->message, "PodDisruptionBudgets): ");
        snprintf(f->stopped_reason, sizeof f->stopped_reason, "%.500s",
                 m ? m + strlen("PodDisruptionBudgets): ") : stop->message);
    }
    if (c->m_budget) {
        const char *gv[] = {"global", "", ""};
        double gl = (double)(c->cfg.budget_global - f->used_global);
        obs_gauge_set(c->m_budget, gv, gl < 0 ? 0 : gl);
        double wl = (double)(c->cfg.budget_per_workload - f->used_workload);
        budget_gauge(c, w, wl < 0 ? 0 : wl, false);
    }
}

/* The most severe eligible replica of the workload, if not this pod.
 * Under mu. */
static void fill_rank(cnt_containment *c, cnt_facts *f, const cnt_pod_ent *p,
                      int64_t now, char *steeper, size_t steeperlen)
{
    f->steeper = NULL;
    cnt_rank_item best = {0};
    const cnt_pod_ent *bp = NULL;
    for (size_t i = 0; i < c->npods; i++) {
        const cnt_pod_ent *q = &c->pods[i];
        if (strcmp(q->wl_uid, p->wl_uid) || q->acted || !q->eligible)
            continue;
        cnt_rank_item it = {.name = q->name, .eta_s = q->eta_s,
                            .per_minute = q->per_minute, .eligible = true,
                            .last_ms = q->last_ms, .prev_ms = q->prev_ms};
        if (!cnt_rank_fresh(&it, now))
            continue;
        if (!bp || cnt_rank_compare(&it, &best) < 0) {
            best = it;
            bp = q;
        }
    }
    if (bp && bp != p) {
        snprintf(steeper, steeperlen, "%s", bp->name);
        f->steeper = steeper;
        f->steeper_eta_s = bp->eta_s;
        f->steeper_per_minute = bp->per_minute;
    }
}

/* ---- acting ------------------------------------------------------------------ */

typedef struct outcome {
    cnt_kind kind;
    char api[768];
    double retry_s;
    const char *result; /* metric label */
} outcome;

static void evict(cnt_containment *c, const cnt_candidate *cand, outcome *o)
{
    kube_evict_opts eo = {.dry_run = c->cfg.dry_run, .uid = cand->pod_uid};
    kube_evict_outcome out;
    kube_evict_pod(c->kube, cand->ns, cand->pod, &eo, &out);
    snprintf(o->api, sizeof o->api, "%s", out.message);
    o->retry_s = out.retry_after_s > 0 ? (double)out.retry_after_s : 0;
    o->result = kube_evict_result_name(out.result);
    switch (out.result) {
    case KUBE_EVICT_EVICTED:
        o->kind = c->cfg.dry_run ? CNT_WOULD : CNT_EVICTED;
        o->result = c->cfg.dry_run ? "dry-run" : "evicted";
        break;
    case KUBE_EVICT_PDB_BLOCKED:
        o->kind = CNT_DEFERRED_PDB;
        o->result = "deferred-pdb";
        break;
    case KUBE_EVICT_MULTIPLE_PDBS:
        o->kind = CNT_MULTIPLE_PDBS;
        break;
    case KUBE_EVICT_NOT_FOUND:
    case KUBE_EVICT_CONFLICT:
        /* The pod is gone or was replaced meanwhile: nothing to say; the
         * replacement will be judged on its own. */
        o->kind = CNT_SILENT;
        break;
    default:
        o->kind = CNT_FAILED;
        break;
    }
}

static void rollout(cnt_containment *c, const cnt_candidate *cand,
                    int64_t now, outcome *o)
{
    char at[40];
    kube_format_time(now / 1000, at, sizeof at);
    kube_response r;
    int rc = cnt_cluster_rollout_restart(c->kube, cand->ns, cand->owner_kind,
                                         cand->owner_name, at, c->cfg.dry_run, &r);
    if (rc == 0) {
        o->kind = c->cfg.dry_run ? CNT_WOULD : CNT_ROLLED_OUT;
        o->result = c->cfg.dry_run ? "dry-run" : "rolled-out";
    } else {
        o->kind = r.status == 404 ? CNT_SILENT : CNT_FAILED;
        o->result = r.status == 404   ? "not-found"
                    : r.status == 403 ? "forbidden"
                    : r.status == 409 ? "conflict"
                                      : "error";
        snprintf(o->api, sizeof o->api, "%s", r.error);
        o->retry_s = r.retry_after_s > 0 ? (double)r.retry_after_s : 0;
    }
    kube_response_free(&r);
}

/* ---- speaking ------------------------------------------------------------------ */

static void speak(cnt_containment *c, const cnt_candidate *cand,
                  const cnt_decision *d, bool to_workload)
{
    const char *type = cnt_kind_warning(d->kind) ? "Warning" : "Normal";
    obs_log(c->log, cnt_kind_warning(d->kind) ? OBS_WARN : OBS_INFO,
            "containment decision", "namespace", cand->ns, "pod", cand->pod,
            "decision", cnt_kind_name(d->kind), "message", d->msg, "dry_run",
            c->cfg.dry_run ? "true" : "false", (char *)OBS_END);
    if (c->m_decisions) {
        const char *v[] = {cnt_kind_name(d->kind)};
        obs_counter_add(c->m_decisions, v, 1);
    }
    if (!c->rec)
        return;
    kube_object_ref pod = {.api_version = "v1", .kind = "Pod",
                           .namespace = cand->ns, .name = cand->pod,
                           .uid = cand->pod_uid};
    kube_event_record(c->rec, &pod, type, CNT_REASON, d->msg);
    if (!to_workload)
        return;
    char wmsg[sizeof d->msg + 300];
    cnt_workload_message(cand->pod, d->msg, wmsg, sizeof wmsg);
    kube_object_ref wl = {.api_version = cand->owner_api_version && *cand->owner_api_version
                                             ? cand->owner_api_version
                                             : "apps/v1",
                          .kind = cand->owner_kind, .namespace = cand->ns,
                          .name = cand->owner_name, .uid = cand->owner_uid};
    kube_event_record(c->rec, &wl, type, CNT_REASON, wmsg);
}

/* Whether to say kind k to an object last told `spoken`: not when it
 * repeats the last decision other than a restart — this process's or, on
 * first sight (checked false), an earlier leakwatch's as its Events show.
 * Restarts are always said.  Under mu. */
static bool fresh_news(cnt_containment *c, const char *uid, bool on_pod,
                       bool *checked, cnt_kind *spoken, cnt_kind k)
{
    if (k == CNT_SILENT || k == CNT_GATHERING || k == CNT_ACT)
        return false;
    if (!*checked) {
        *checked = true;
        cnt_kind before = cnt_seen_kind(c, uid, on_pod);
        if (before != CNT_SILENT)
            *spoken = before;
    }
    /* Restarts are news every time, and do not reset what was said
     * otherwise: "budget exhausted" said while a restart was in flight is
     * not said again after it. */
    if (k == CNT_EVICTED || k == CNT_ROLLED_OUT || k == CNT_WOULD)
        return true;
    if (*spoken != CNT_SILENT && cnt_kind_class(*spoken) == cnt_kind_class(k))
        return false;
    *spoken = k;
    return true;
}

/* ---- the entry point ------------------------------------------------------------ */

/* Restarts the pod (or rolls out its workload) under a reserved ledger
 * entry, then records how it went: the entry kept or given back, the
 * workload's back-off, the budget gauges, and the outcome in d.  false
 * when the pod was gone or replaced first: nothing to say. */
static bool restart_reserved(cnt_containment *c, const cnt_candidate *cand,
                             const cnt_facts *f, const cnt_action *reserved,
                             int64_t now2, cnt_decision *d)
{
    const cnt_config *cfg = &c->cfg;
    outcome o = {0};
    if (cfg->rollout)
        rollout(c, cand, now2, &o);
    else
        evict(c, cand, &o);
    if (c->m_restarts) {
        const char *v[] = {o.result};
        obs_counter_add(c->m_restarts, v, 1);
    }
    pthread_mutex_lock(&c->mu);
    cnt_pod_ent *p = pod_find(c, cand->pod_uid);
    cnt_wl_ent *w = wl_find(c, cand->owner_uid);
    bool done = o.kind == CNT_EVICTED || o.kind == CNT_ROLLED_OUT ||
                o.kind == CNT_WOULD;
    if (!done)
        cnt_ledger_remove(&c->ledger, reserved);
    if (p && (done || o.kind == CNT_SILENT))
        p->acted = true;
    double retry = 0;
    if (w) {
        if (done) {
            w->backoff_s = 0;
            w->retry_at_ms = 0;
        } else if (o.kind == CNT_DEFERRED_PDB || o.kind == CNT_FAILED) {
            w->backoff_s = w->backoff_s > 0 ? w->backoff_s * 2 : BACKOFF_MIN_S;
            if (w->backoff_s > BACKOFF_MAX_S)
                w->backoff_s = BACKOFF_MAX_S;
            retry = o.retry_s > w->backoff_s ? o.retry_s : w->backoff_s;
            if (retry > BACKOFF_MAX_S)
                retry = BACKOFF_MAX_S;
            w->retry_at_ms = cnt_now_ms(c) + (int64_t)(retry * 1000);
            w->retry_kind = o.kind;
            snprintf(w->retry_reason, sizeof w->retry_reason, "%.500s", o.api);
        } else if (o.kind == CNT_MULTIPLE_PDBS) {
            w->stopped_until_s = cnt_now_ms(c) / 1000 + STOP_S;
        }
        w->busy = false;
    }
    if (o.kind == CNT_SILENT) {
        pthread_mutex_unlock(&c->mu);
        obs_log(c->log, OBS_INFO, "containment: pod gone or replaced "
                "before its restart", "namespace", cand->ns, "pod",
                cand->pod, "result", o.result, "detail", o.api, (char *)OBS_END);
        return false;
    }
    /* f's counts are those before this restart: the message says
     * "restart N+1/B". */
    cnt_describe_outcome(f, o.kind, o.api, retry, d);
    if (w && o.kind == CNT_MULTIPLE_PDBS) {
        const char *m = strstr(d->msg, "PodDisruptionBudgets): ");
        snprintf(w->stopped_reason, sizeof w->stopped_reason, "%.500s",
                 m ? m + strlen("PodDisruptionBudgets): ") : d->msg);
    }
    if (done && c->m_budget && w) {
        long used = cnt_ledger_count(&c->ledger, w->uid,
                                     now2 / 1000 - CNT_BUDGET_WINDOW_S,
                                     cfg->dry_run);
        double left = (double)(cfg->budget_per_workload - used);
        budget_gauge(c, w, left < 0 ? 0 : left, false);
        const char *gv[] = {"global", "", ""};
        double gl = (double)(cfg->budget_global - f->used_global - 1);
        obs_gauge_set(c->m_budget, gv, gl < 0 ? 0 : gl);
    }
    pthread_mutex_unlock(&c->mu);    return true;
}

/* A decision that needs the cluster: the workload's replicas and
 * budgets read from the API, then decided again with them; an action is
 * reserved in the ledger before it is taken, so two threads never restart
 * for one workload at once.  false when there is nothing to say yet. */
static bool decide_with_workload(cnt_containment *c, const cnt_candidate *cand,
                                 cnt_facts *f, cnt_workload_state *st,
                                 char *steeper, size_t steeper_len,
                                 cnt_decision *d)
{
    const cnt_config *cfg = &c->cfg;
    const char *okind = cand->owner_kind ? cand->owner_kind : "";
    bool nf = false;
    char err[768];
    int rc = cnt_cluster_workload(c->kube, cand->ns, okind, cand->owner_name,
                                  cand->owner_uid, cand->pod_uid, st, &nf,
                                  err, sizeof err);
    int64_t now2 = cnt_now_ms(c);
    cnt_action reserved;
    bool act = false;
    pthread_mutex_lock(&c->mu);
    cnt_pod_ent *p = pod_find(c, cand->pod_uid);
    cnt_wl_ent *w = wl_find(c, cand->owner_uid);
    if (rc < 0 || !p || !w) {
        if (w)
            w->busy = false;
        pthread_mutex_unlock(&c->mu);
        obs_log(c->log, nf ? OBS_INFO : OBS_WARN, "containment: cannot read "
                "the workload; deciding at the next interval", "namespace",
                cand->ns, "pod", cand->pod, "error", err, (char *)OBS_END);
        return false;
    }
    fill_counts(c, f, p, w, now2);
    f->have_cluster = true;
    f->wl = st;
    int64_t lastw = cnt_ledger_last(&c->ledger, NULL, NULL, w->uid, cfg->dry_run);
    f->since_workload_restart_s = lastw >= 0 ? (double)(now2 / 1000 - lastw) : -1;
    f->first_sight = p->calls < 2;
    fill_rank(c, f, p, now2, steeper, steeper_len);
    cnt_decide(f, d);
    if (d->kind == CNT_ACT) {
        memset(&reserved, 0, sizeof reserved);
        reserved.t_s = now2 / 1000;
        reserved.dry_run = cfg->dry_run;
        snprintf(reserved.ns, sizeof reserved.ns, "%s", cand->ns);
        snprintf(reserved.workload_uid, sizeof reserved.workload_uid, "%s", w->uid);
        snprintf(reserved.pod, sizeof reserved.pod, "%s", cand->pod);
        act = cnt_ledger_add(&c->ledger, &reserved) == 0;
        if (!act)
            w->busy = false;
    } else {
        w->busy = false;
    }
    pthread_mutex_unlock(&c->mu);
    return !act || restart_reserved(c, cand, f, &reserved, now2, d);
}

void cnt_consider(cnt_containment *c, const cnt_candidate *cand)
{
    if (!c || !cand || !cand->ns || !cand->pod || !cand->pod_uid || !*cand->pod_uid)
        return;
    if (!c->cfg.enabled && !cand->opted_in)
        return; /* nobody asked for containment: not even a lookup */
    int64_t now = cnt_now_ms(c);
    const cnt_config *cfg = &c->cfg;
    const char *okind = cand->owner_kind ? cand->owner_kind : "";
    bool has_wl = okind[0] && cand->owner_uid && *cand->owner_uid &&
                  cand->owner_name && *cand->owner_name;

    cnt_mem_limit lim;
    char lerr[256];
    int lrc = cnt_pod_memory_limit(cand->pod_obj, &lim, lerr, sizeof lerr);
    if (lrc < 0) /* the API server validates quantities: odd input only */
        obs_log(c->log, OBS_DEBUG, "containment: memory limit unreadable; "
                "projecting without it", "namespace", cand->ns, "pod",
                cand->pod, "error", lerr, (char *)OBS_END);
    cnt_urgency urg;
    cnt_urgency_eval(cfg, cand, lrc > 0 ? &lim : NULL, &urg);

    cnt_facts f;
    memset(&f, 0, sizeof f);
    f.cfg = cfg;
    f.cand = cand;
    f.urg = &urg;
    kube_owner ctrl;
    f.has_controller = cand->pod_obj ? kube_controller_ref(cand->pod_obj, &ctrl)
                                     : has_wl;
    check_evidence(cand, &f);
    bool eligible = cfg->enabled && cand->opted_in && has_wl && f.has_controller &&
                    urg.urgent && f.evidence_ok && supported_kind(okind, cfg->rollout);

    pthread_mutex_lock(&c->mu);
    prune(c, now);
    cnt_pod_ent *p = pod_upsert(c, cand, now);
    cnt_wl_ent *w = has_wl ? wl_upsert(c, cand, now) : NULL;
    if (!p || (has_wl && !w)) {
        pthread_mutex_unlock(&c->mu);
        obs_log(c->log, OBS_ERROR, "containment: out of memory", (char *)OBS_END);
        return;
    }
    p->eta_s = urg.eta_s;
    p->per_minute = urg.per_minute;
    p->eligible = eligible && !p->acted;
    bool need_events = !p->checked || eligible;
    bool fresh = cnt_events_fresh(c, cand->ns, now);
    pthread_mutex_unlock(&c->mu);

    if (need_events && !fresh)
        cnt_refresh_events(c, cand->ns);

    cnt_decision d;
    char steeper[254];
    cnt_workload_state st;
    pthread_mutex_lock(&c->mu);
    p = pod_find(c, cand->pod_uid);
    w = wl_find(c, has_wl ? cand->owner_uid : NULL);
    if (!p) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    fill_counts(c, &f, p, w, now);
    cnt_decide(&f, &d);
    bool go = d.need_cluster && w && !w->busy;
    if (d.need_cluster && !go) {
        /* Another thread is deciding for this workload right now. */
        pthread_mutex_unlock(&c->mu);
        return;
    }
    if (go)
        w->busy = true;
    pthread_mutex_unlock(&c->mu);

    if (go && !decide_with_workload(c, cand, &f, &st, steeper, sizeof steeper, &d))
        return;

    /* The pod hears every change of decision; its workload hears the
     * lasting ones, once each however many of its pods share them. */
    pthread_mutex_lock(&c->mu);
    p = pod_find(c, cand->pod_uid);
    w = wl_find(c, has_wl ? cand->owner_uid : NULL);
    bool talk = p && fresh_news(c, p->uid, true, &p->checked, &p->spoken, d.kind);
    bool to_wl = talk && w && cnt_kind_on_workload(d.kind) &&
                 fresh_news(c, w->uid, false, &w->checked, &w->spoken, d.kind);
    pthread_mutex_unlock(&c->mu);
    if (talk)
        speak(c, cand, &d, to_wl);
    else
        obs_log(c->log, OBS_DEBUG, "containment decision (unchanged)", "namespace",
                cand->ns, "pod", cand->pod, "decision", cnt_kind_name(d.kind),
                "message", d.msg, (char *)OBS_END);
}
