/*
 * cnt_decide.c — the order of containment's checks and the sentences that
 * explain each outcome.  Every message starts with a fixed phrase per
 * decision ("evicted: ", "waiting (restart in progress): "...), which is
 * also how a restarted controller reads its predecessor's decisions back
 * from the Events (cnt_kind_parse).
 *
 * Not for: the figures themselves (cnt_urgency.c, cnt_workload.c) or
 * acting (cnt_contain.c).
 */
#include "contain/cnt_plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct kind_info {
    const char *name;
    const char *prefix;   /* the message's first words (pod form)          */
    bool warning;
    bool on_workload;
} kind_info;

static const kind_info kinds[CNT_KIND_COUNT] = {
    [CNT_SILENT] = {"silent", NULL, false, false},
    [CNT_EVICTED] = {"evicted", "evicted: ", false, true},
    [CNT_ROLLED_OUT] = {"rolled-out", "restarted by rollout of ", false, true},
    [CNT_WOULD] = {"dry-run", "would ", false, true},
    [CNT_DEFERRED_PDB] = {"deferred-pdb", "deferred by PodDisruptionBudget: ", true, true},
    [CNT_MULTIPLE_PDBS] = {"multiple-pdbs", "stopped (several PodDisruptionBudgets): ", true, true},
    [CNT_FAILED] = {"failed", "restart failed: ", true, true},
    [CNT_BUDGET_WORKLOAD] = {"budget-workload", "budget exhausted: ", true, true},
    [CNT_BUDGET_GLOBAL] = {"budget-global", "budget exhausted: ", true, true},
    [CNT_MILD] = {"mild", "not restarting (mild leak): ", false, true},
    [CNT_NO_OWNER] = {"no-owner", "not restarting (no controller owner): ", true, false},
    [CNT_NOT_OPTED_IN] = {"not-opted-in", "not restarting (not opted in): ", false, true},
    [CNT_DISABLED] = {"disabled", "not restarting (containment off): ", false, true},
    [CNT_NO_EVIDENCE] = {"no-evidence", "not restarting (evidence missing): ", true, true},
    [CNT_UNSUPPORTED] = {"unsupported", "not restarting (unsupported owner): ", true, true},
    [CNT_FLOOR] = {"floor", "not restarting (ready floor): ", true, true},
    [CNT_IN_PROGRESS] = {"in-progress", "waiting (restart in progress): ", false, false},
    [CNT_QUEUED] = {"queued", "waiting (steeper pod first): ", false, false},
    [CNT_COOLDOWN] = {"cooldown", "waiting (cooldown): ", false, false},
    [CNT_GATHERING] = {"gathering", NULL, false, false},
    [CNT_NOT_READY] = {"not-ready", "replacement not Ready: ", true, true},
    [CNT_ACT] = {"act", NULL, false, false},
};

#define DRY_PREFIX "dry-run: "
#define COMBINED_PREFIX "(combined from similar events): "
#define GLOBAL_MARK "across all workloads"

const char *cnt_kind_name(cnt_kind k)
{
    return k >= 0 && k < CNT_KIND_COUNT ? kinds[k].name : "unknown";
}

bool cnt_kind_warning(cnt_kind k)
{
    return k >= 0 && k < CNT_KIND_COUNT && kinds[k].warning;
}

bool cnt_kind_on_workload(cnt_kind k)
{
    return k >= 0 && k < CNT_KIND_COUNT && kinds[k].on_workload;
}

int cnt_kind_class(cnt_kind k)
{
    /* The waiting forms follow one another as a rolling restart moves on;
     * saying "waiting" once is enough. */
    if (k == CNT_IN_PROGRESS || k == CNT_QUEUED || k == CNT_COOLDOWN ||
        k == CNT_GATHERING)
        return CNT_IN_PROGRESS;
    return (int)k;
}

static bool starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

cnt_kind cnt_kind_parse(const char *msg, char *pod, size_t podlen)
{
    if (pod && podlen)
        pod[0] = '\0';
    if (!msg)
        return CNT_SILENT;
    if (starts(msg, COMBINED_PREFIX))
        msg += strlen(COMBINED_PREFIX);
    if (starts(msg, "pod ")) {
        const char *name = msg + 4, *colon = strstr(name, ": ");
        if (!colon)
            return CNT_SILENT;
        if (pod && podlen) {
            size_t n = (size_t)(colon - name);
            if (n >= podlen)
                n = podlen - 1;
            memcpy(pod, name, n);
            pod[n] = '\0';
        }
        msg = colon + 2;
    }
    bool dry = starts(msg, DRY_PREFIX);
    if (dry)
        msg += strlen(DRY_PREFIX);
    for (int k = 1; k < CNT_KIND_COUNT; k++) {
        const char *p = kinds[k].prefix;
        if (!p || !starts(msg, p))
            continue;
        if (k == CNT_WOULD && !dry)
            continue;
        if (k == CNT_BUDGET_WORKLOAD || k == CNT_BUDGET_GLOBAL)
            return strstr(msg, GLOBAL_MARK) ? CNT_BUDGET_GLOBAL
                                            : CNT_BUDGET_WORKLOAD;
        return (cnt_kind)k;
    }
    return CNT_SILENT;
}

bool cnt_message_dry_run(const char *msg)
{
    if (!msg)
        return false;
    if (starts(msg, COMBINED_PREFIX))
        msg += strlen(COMBINED_PREFIX);
    if (starts(msg, "pod ")) {
        const char *colon = strstr(msg, ": ");
        if (!colon)
            return false;
        msg = colon + 2;
    }
    return starts(msg, DRY_PREFIX);
}

void cnt_workload_message(const char *pod, const char *msg, char *out,
                          size_t outlen)
{
    snprintf(out, outlen, "pod %s: %s", pod ? pod : "?", msg);
    cnt_utf8_trim(out);
}

/* ---- the decision -------------------------------------------------------- */

static void say(cnt_decision *d, cnt_kind k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(cnt_decision *d, cnt_kind k, const char *fmt, ...)
{
    d->kind = k;
    size_t n = 0;
    if (kinds[k].prefix)
        n = (size_t)snprintf(d->msg, sizeof d->msg, "%s", kinds[k].prefix);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg + n, sizeof d->msg - n, fmt, ap);
    va_end(ap);
    cnt_utf8_trim(d->msg);
}

/* "chan-send leak projected to reach its ..." */
static void what(const cnt_facts *f, char *out, size_t outlen)
{
    const char *pat = f->cand->pattern;
    if (pat && *pat)
        snprintf(out, outlen, "%s leak %s", pat, f->urg->phrase);
    else
        snprintf(out, outlen, "leak %s", f->urg->phrase);
    cnt_utf8_trim(out);
}

static void owner_label(const cnt_facts *f, char *out, size_t outlen)
{
    cnt_workload_label(f->cand->owner_kind, f->cand->owner_name, out, outlen);
}

static bool kind_supported(const char *kind, bool rollout)
{
    if (!strcmp(kind, "Deployment") || !strcmp(kind, "StatefulSet"))
        return true;
    return !rollout && !strcmp(kind, "ReplicaSet");
}

static void decide(const cnt_facts *f, cnt_decision *d)
{
    const cnt_config *cfg = f->cfg;
    const cnt_candidate *cand = f->cand;
    const char *okind = cand->owner_kind ? cand->owner_kind : "";
    char w[768], wl[300], dur[32], dur2[32];
    what(f, w, sizeof w);
    owner_label(f, wl, sizeof wl);

    if (!cand->opted_in) {
        if (!cfg->enabled) {
            d->kind = CNT_SILENT; /* nobody asked for containment */
            return;
        }
        say(d, CNT_NOT_OPTED_IN, "annotate the pod template with "
            "leakwatch.dev/containment: \"restart\" to allow restarts; %s", w);
        return;
    }
    if (!cfg->enabled) {
        say(d, CNT_DISABLED, "the pod opts in, but leakwatch runs without "
            "--containment, so it only reports; %s", w);
        return;
    }
    if (!f->has_controller) {
        say(d, CNT_NO_OWNER, "a pod without a controller would not come "
            "back; leakwatch never restarts one; %s", w);
        return;
    }
    if (!okind[0]) {
        /* It has a controller the caller could not resolve (yet): ask
         * again at the next interval rather than call it bare. */
        d->kind = CNT_SILENT;
        snprintf(d->msg, sizeof d->msg, "the pod's owner is not resolved yet");
        return;
    }
    if (!f->urg->urgent) {
        say(d, CNT_MILD, "%s; reporting only", w);
        return;
    }
    if (!kind_supported(okind, cfg->rollout)) {
        say(d, CNT_UNSUPPORTED, "%s; %s", wl, cfg->rollout
            ? "rollout restarts cover Deployments and StatefulSets"
            : "evictions cover pods of Deployments, StatefulSets and ReplicaSets");
        return;
    }
    if (!f->evidence_ok) {
        say(d, CNT_NO_EVIDENCE, "%s; a restart would destroy the only "
            "evidence; %s", f->evidence, w);
        return;
    }
    if (f->stopped) {
        say(d, CNT_MULTIPLE_PDBS, "%s", f->stopped_reason);
        return;
    }
    if (f->used_global >= cfg->budget_global) {
        say(d, CNT_BUDGET_GLOBAL, "%ld/%ld restarts this hour " GLOBAL_MARK
            "; %ld leaking pod%s of %s left; %s", f->used_global,
            cfg->budget_global, f->leaking, f->leaking == 1 ? "" : "s", wl, w);
        return;
    }
    if (f->used_workload >= cfg->budget_per_workload) {
        say(d, CNT_BUDGET_WORKLOAD, "%ld/%ld restarts this hour for %s; %ld "
            "leaking pod%s left; %s", f->used_workload,
            cfg->budget_per_workload, wl, f->leaking, f->leaking == 1 ? "" : "s",
            w);
        return;
    }
    if (f->since_pod_restart_s >= 0 && f->since_pod_restart_s < cfg->pod_cooldown_s) {
        cnt_format_duration(f->since_pod_restart_s, dur, sizeof dur);
        cnt_format_duration(cfg->pod_cooldown_s, dur2, sizeof dur2);
        if (cfg->rollout)
            say(d, CNT_COOLDOWN, "%s was restarted by rollout %s ago; cooldown "
                "%s", wl, dur, dur2);
        else
            say(d, CNT_COOLDOWN, "a pod named %s was restarted %s ago; "
                "cooldown %s", cand->pod, dur, dur2);
        return;
    }
    if (f->retry_in_s > 0) {
        /* The refusal that caused the backoff was said when it happened;
         * the same kind keeps it from being said again. */
        cnt_format_duration(f->retry_in_s, dur, sizeof dur);
        say(d, f->retry_kind == CNT_DEFERRED_PDB ? CNT_DEFERRED_PDB : CNT_FAILED,
            "%s; retrying in %s", f->retry_reason, dur);
        return;
    }
    if (!f->have_cluster) {
        d->kind = CNT_ACT;
        d->need_cluster = true;
        return;
    }
    if (!f->wl->candidate_live) {
        /* Gone or going since the watch cache saw it: its replacement is
         * judged on its own. */
        d->kind = CNT_SILENT;
        snprintf(d->msg, sizeof d->msg, "%s is no longer a live pod of %s",
                 cand->pod, wl);
        return;
    }
    char why[600];
    if (!cnt_workload_settled(f->wl, why, sizeof why)) {
        if (f->since_workload_restart_s >= cfg->ready_timeout_s &&
            f->since_workload_restart_s < CNT_BUDGET_WINDOW_S) {
            cnt_format_duration(f->since_workload_restart_s, dur, sizeof dur);
            cnt_format_duration(cfg->ready_timeout_s, dur2, sizeof dur2);
            say(d, CNT_NOT_READY, "%s, %s after leakwatch's last restart "
                "(--ready-timeout %s); no further restarts until it settles",
                why, dur, dur2);
        } else {
            say(d, CNT_IN_PROGRESS, "%s; one pod at a time", why);
        }
        return;
    }
    if (!cnt_workload_floor_ok(f->wl, cfg->rollout, why, sizeof why)) {
        say(d, CNT_FLOOR, "%s; %s", why, w);
        return;
    }
    if (f->first_sight) {
        d->kind = CNT_GATHERING;
        snprintf(d->msg, sizeof d->msg, "first sight of this finding; ranking "
                 "the leaking replicas of %s at the next interval", wl);
        return;
    }
    if (f->steeper) {
        if (f->steeper_eta_s < 1e15)
            cnt_format_duration(f->steeper_eta_s, dur, sizeof dur);
        say(d, CNT_QUEUED, "%s is nearer its limit%s%s%s and goes first", f->steeper,
            f->steeper_eta_s < 1e15 ? " (" : "",
            f->steeper_eta_s < 1e15 ? dur : "", f->steeper_eta_s < 1e15 ? ")" : "");
        return;
    }
    d->kind = CNT_ACT;
}

/* In dry-run mode everything said is marked, so that a real run later
 * never takes a simulated decision for its own (cnt_message_dry_run). */
static void mark_dry(const cnt_facts *f, cnt_decision *d)
{
    if (!f->cfg->dry_run || !kinds[d->kind].prefix || starts(d->msg, DRY_PREFIX))
        return;
    size_t p = strlen(DRY_PREFIX), n = strlen(d->msg);
    if (n + p >= sizeof d->msg)
        n = sizeof d->msg - p - 1; /* cut the tail, keep the prefix */
    memmove(d->msg + p, d->msg, n);
    memcpy(d->msg, DRY_PREFIX, p);
    d->msg[n + p] = '\0';
    cnt_utf8_trim(d->msg);
}

void cnt_decide(const cnt_facts *f, cnt_decision *d)
{
    memset(d, 0, sizeof *d);
    decide(f, d);
    mark_dry(f, d);
}

void cnt_describe_outcome(const cnt_facts *f, cnt_kind outcome,
                          const char *api, double retry_s, cnt_decision *d)
{
    memset(d, 0, sizeof *d);
    const cnt_config *cfg = f->cfg;
    char w[768], wl[300], dur[32], count[400];
    what(f, w, sizeof w);
    owner_label(f, wl, sizeof wl);
    cnt_format_duration(retry_s, dur, sizeof dur);
    snprintf(count, sizeof count, "restart %ld/%ld this hour for %s (%ld/%ld "
             "overall)", f->used_workload + 1, cfg->budget_per_workload, wl,
             f->used_global + 1, cfg->budget_global);
    switch (outcome) {
    case CNT_EVICTED:
        say(d, CNT_EVICTED, "%s; evidence: %s; %s", w, f->evidence, count);
        break;
    case CNT_ROLLED_OUT:
        say(d, CNT_ROLLED_OUT, "%s: %s; evidence: %s; %s", wl, w, f->evidence,
            count);
        break;
    case CNT_WOULD:
        d->kind = CNT_WOULD;
        if (cfg->rollout)
            snprintf(d->msg, sizeof d->msg, DRY_PREFIX "would restart by "
                     "rollout of %s: %s; evidence: %s; it would be %s", wl, w,
                     f->evidence, count);
        else
            snprintf(d->msg, sizeof d->msg, DRY_PREFIX "would evict: %s; "
                     "evidence: %s; it would be %s", w, f->evidence, count);
        break;
    case CNT_DEFERRED_PDB:
        d->kind = CNT_DEFERRED_PDB;
        snprintf(d->msg, sizeof d->msg, "%s%s; retrying in %s; %s",
                 kinds[CNT_DEFERRED_PDB].prefix, api && *api ? api : "HTTP 429",
                 dur, w);
        break;
    case CNT_MULTIPLE_PDBS:
        d->kind = CNT_MULTIPLE_PDBS;
        snprintf(d->msg, sizeof d->msg, "%s%s; no restarts for %s for the "
                 "next hour: make exactly one PodDisruptionBudget select its "
                 "pods", kinds[CNT_MULTIPLE_PDBS].prefix,
                 api && *api ? api : "HTTP 500", wl);
        break;
    default:
        d->kind = CNT_FAILED;
        snprintf(d->msg, sizeof d->msg, "%s%s of %s: %s; retrying in %s",
                 kinds[CNT_FAILED].prefix,
                 cfg->rollout ? "rollout restart" : "eviction",
                 cfg->rollout ? wl : f->cand->pod, api && *api ? api : "error",
                 dur);
        break;
    }
    cnt_utf8_trim(d->msg);
    mark_dry(f, d);
}
