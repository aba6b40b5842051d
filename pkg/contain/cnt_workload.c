/*
 * cnt_workload.c — what a workload (Deployment, StatefulSet, ReplicaSet)
 * and its pods say about restarting one more pod: is a restart still in
 * progress (a replacement not Ready, a pod terminating, a rollout not
 * finished), and would one pod fewer go below the ready floor.
 *
 * The rules read the cluster only, never this process's memory, so a
 * controller that restarts mid-rollout sees the rollout.
 *
 * Not for: fetching the objects (cnt_cluster.c).
 */
#include "contain/cnt_plan.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/kube_workload.h"

void cnt_workload_label(const char *kind, const char *name, char *out,
                        size_t outlen)
{
    char lk[32];
    size_t i = 0;
    for (; kind && kind[i] && i < sizeof lk - 1; i++)
        lk[i] = (char)tolower((unsigned char)kind[i]);
    lk[i] = '\0';
    snprintf(out, outlen, "%s/%s", i ? lk : "pod", name ? name : "?");
}

long cnt_int_or_percent(const json_t *v, long total, bool round_up, long dflt)
{
    if (json_is_integer(v))
        return json_integer_value(v) < 0 ? 0 : (long)json_integer_value(v);
    const char *s = json_string_value(v);
    if (!s)
        return dflt;
    char *end;
    long pct = strtol(s, &end, 10);
    if (end == s || strcmp(end, "%") || pct < 0)
        return dflt;
    double x = (double)total * (double)pct / 100.0;
    return (long)(round_up ? ceil(x - 1e-9) : floor(x + 1e-9));
}

static long int_at(const json_t *obj, const char *path, long dflt)
{
    const json_t *v = kube_json_get(obj, path);
    return json_is_integer(v) ? (long)json_integer_value(v) : dflt;
}

int cnt_workload_parse(const json_t *obj, cnt_workload_state *out, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *kind = kube_json_str(obj, "kind");
    const char *name = kube_json_str(obj, "metadata.name");
    const char *uid = kube_json_str(obj, "metadata.uid");
    if (!kind || !name || !uid) {
        snprintf(err, errlen, "workload object without kind, name or uid");
        return -1;
    }
    snprintf(out->kind, sizeof out->kind, "%s", kind);
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->uid, sizeof out->uid, "%s", uid);
    out->replicas = int_at(obj, "spec.replicas", 1);
    out->ready_status = int_at(obj, "status.readyReplicas", 0);
    out->updated = int_at(obj, "status.updatedReplicas", -1);
    long gen = int_at(obj, "metadata.generation", -1);
    long observed = int_at(obj, "status.observedGeneration", -1);
    out->generation_observed = gen < 0 || observed >= gen;

    if (!strcmp(kind, "Deployment")) {
        const char *type = kube_json_str(obj, "spec.strategy.type");
        out->recreate = type && !strcmp(type, "Recreate");
        const json_t *ru = kube_json_get(obj, "spec.strategy.rollingUpdate");
        /* As the Deployment controller resolves them: unavailable rounds
         * down, surge up, and both zero means one unavailable. */
        out->max_unavailable = cnt_int_or_percent(
            json_object_get(ru, "maxUnavailable"), out->replicas, false,
            out->replicas / 4);
        out->max_surge = cnt_int_or_percent(json_object_get(ru, "maxSurge"),
                                            out->replicas, true,
                                            (out->replicas + 3) / 4);
        if (out->max_unavailable == 0 && out->max_surge == 0)
            out->max_unavailable = 1;
        if (out->recreate)
            out->max_unavailable = out->replicas;
    } else if (!strcmp(kind, "StatefulSet")) {
        const char *type = kube_json_str(obj, "spec.updateStrategy.type");
        out->on_delete = type && !strcmp(type, "OnDelete");
        out->max_unavailable = cnt_int_or_percent(
            kube_json_get(obj, "spec.updateStrategy.rollingUpdate.maxUnavailable"),
            out->replicas, true, 1);
        if (out->max_unavailable < 1)
            out->max_unavailable = 1;
    } else if (!strcmp(kind, "ReplicaSet")) {
        out->max_unavailable = 1; /* no strategy: one pod at a time */
    } else {
        snprintf(err, errlen, "%s is not a workload leakwatch restarts", kind);
        return -1;
    }
    return kube_selector_string(kube_json_get(obj, "spec.selector"),
                                out->selector, sizeof out->selector, err,
                                errlen);
}

void cnt_workload_count_pod(cnt_workload_state *st, const kube_pod *pod)
{
    if (pod->finished)
        return;
    if (pod->terminating) {
        if (!st->pods_terminating++)
            snprintf(st->terminating, sizeof st->terminating, "%s",
                     pod->name[0] ? pod->name : "?");
    } else if (kube_serving(pod->ready, pod->terminating, pod->finished)) {
        st->pods_ready++;
    } else {
        if (!st->pods_not_ready++)
            snprintf(st->not_ready, sizeof st->not_ready, "%s",
                     pod->name[0] ? pod->name : "?");
    }
}

bool cnt_workload_settled(const cnt_workload_state *st, char *why,
                          size_t whylen)
{
    char wl[300];
    cnt_workload_label(st->kind, st->name, wl, sizeof wl);
    if (st->replicas <= 0) {
        snprintf(why, whylen, "%s is scaled to 0", wl);
        return false;
    }
    if (st->pods_terminating) {
        snprintf(why, whylen, "%s has %ld/%ld ready; %s terminating%s", wl,
                 st->pods_ready, st->replicas, st->terminating,
                 st->pods_terminating > 1 ? " (and more)" : "");
        return false;
    }
    if (st->pods_ready < st->replicas) {
        if (st->pods_not_ready)
            snprintf(why, whylen, "%s has %ld/%ld ready; %s not Ready", wl,
                     st->pods_ready, st->replicas, st->not_ready);
        else
            snprintf(why, whylen, "%s has %ld/%ld ready; a replacement is not "
                     "created yet", wl, st->pods_ready, st->replicas);
        return false;
    }
    if (st->ready_status < st->replicas) {
        snprintf(why, whylen, "%s reports %ld/%ld ready replicas", wl,
                 st->ready_status, st->replicas);
        return false;
    }
    if (!st->generation_observed) {
        snprintf(why, whylen, "%s has a change its controller has not "
                 "observed yet", wl);
        return false;
    }
    if (st->updated >= 0 && st->updated < st->replicas) {
        snprintf(why, whylen, "%s is rolling out: %ld/%ld replicas updated", wl,
                 st->updated, st->replicas);
        return false;
    }
    if (why && whylen)
        snprintf(why, whylen, "%s has %ld/%ld ready", wl, st->pods_ready,
                 st->replicas);
    return true;
}

bool cnt_workload_floor_ok(const cnt_workload_state *st, bool rollout,
                           char *why, size_t whylen)
{
    char wl[300];
    cnt_workload_label(st->kind, st->name, wl, sizeof wl);
    if (rollout) {
        if (st->recreate) {
            snprintf(why, whylen, "%s uses the Recreate strategy: a rollout "
                     "would stop every replica at once", wl);
            return false;
        }
        if (st->on_delete) {
            snprintf(why, whylen, "%s updates OnDelete: a rollout restarts "
                     "nothing (use --containment-mode evict)", wl);
            return false;
        }
        if (st->replicas - st->max_unavailable < 1) {
            snprintf(why, whylen, "%s has %ld replica%s and maxUnavailable %ld: "
                     "its rollout may take every replica down", wl,
                     st->replicas, st->replicas == 1 ? "" : "s",
                     st->max_unavailable);
            return false;
        }
        return true;
    }
    long mu = st->max_unavailable < 1 ? 1 : st->max_unavailable;
    long floor = st->replicas - mu;
    if (floor < 1)
        floor = 1;
    long ready = st->pods_ready < st->ready_status ? st->pods_ready
                                                   : st->ready_status;
    if (ready - 1 < floor) {
        snprintf(why, whylen, "%s has %ld/%ld ready; evicting one would leave "
                 "%ld, below its floor of %ld ready", wl, ready, st->replicas,
                 ready - 1, floor);
        return false;
    }
    return true;
}
