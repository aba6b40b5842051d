/*
 * contain_drive.c — drives pkg/contain against a live cluster the way the
 * controller does, without the controller's sampling: every round it lists
 * the Running pods matching a selector, resolves their owners and hands
 * each to cnt_consider as a leak of a given rate.  tests/e2e/contain.sh
 * uses it for what the API server must answer itself (a disruption
 * budget's 429, several budgets' 500, the rollout patch), quickly and
 * deterministically.
 *
 *   contain_drive --kubeconfig F --namespace NS --selector SEL --rate R
 *                 --evidence FILE [--rounds N] [--interval-ms MS]
 *                 [--budget N] [--dry-run] [--rollout] [--metrics]
 *
 * Prints the metrics exposition of leakwatch_restart* at the end with
 * --metrics.  Exit 0 when it ran, 1 on usage, 2 when the cluster is not
 * reachable.  Not for: anything but tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "contain/contain.h"
#include "kube/kube.h"
#include "kube/kube_events.h"
#include "kube/kube_pods.h"
#include "lw/lw_str.h"
#include "obs/obs_log.h"
#include "obs/obs_metrics.h"

typedef struct drive {
    kube_client *kube;
    cnt_containment *cnt;
    const char *ns, *selector, *evidence;
    double rate;
    unsigned seen;      /* pods handed over so far */
} drive;

static int one_pod(json_t *pod, void *ud)
{
    drive *d = ud;
    if (strcmp(kube_pod_phase(pod), "Running") || kube_pod_terminating(pod) ||
        !kube_pod_ready(pod))
        return 0;
    kube_owner o;
    kube_response err;
    if (kube_resolve_owner(d->kube, pod, &o, &err) != 0) {
        fprintf(stderr, "contain_drive: owner: %s\n", err.error);
        kube_response_free(&err);
        return 0;
    }
    kube_pod_endpoint ep;
    kube_pod_endpoint_resolve(pod, &ep);
    const char *name = kube_json_str(pod, "metadata.name");
    const char *uid = kube_json_str(pod, "metadata.uid");
    /* Pods later in the list leak a little faster, so the order is known. */
    cnt_candidate c = {.ns = d->ns, .pod = name, .pod_uid = uid, .pod_obj = pod,
                       .owner_kind = o.kind, .owner_name = o.name,
                       .owner_uid = o.uid, .owner_api_version = o.api_version,
                       .opted_in = ep.containment_restart, .goroutines = 1000,
                       .per_minute = d->rate + (double)(d->seen++ % 7),
                       .pattern = "chan-send", .summary = "e2e",
                       .evidence_suspect = d->evidence,
                       .evidence_baseline = d->evidence};
    cnt_consider(d->cnt, &c);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    const char *kubeconfig = NULL;
    drive d = {.rate = 400};
    long rounds = 3, interval = 1000;
    bool metrics = false;
    cnt_config cfg;
    cnt_config_default(&cfg);
    cfg.enabled = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--dry-run")) {
            cfg.dry_run = true;
            continue;
        }
        if (!strcmp(a, "--rollout")) {
            cfg.rollout = true;
            continue;
        }
        if (!strcmp(a, "--metrics")) {
            metrics = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "contain_drive: %s needs a value\n", a);
            return 1;
        }
        i++;
        if (!strcmp(a, "--kubeconfig"))
            kubeconfig = v;
        else if (!strcmp(a, "--namespace"))
            d.ns = v;
        else if (!strcmp(a, "--selector"))
            d.selector = v;
        else if (!strcmp(a, "--evidence"))
            d.evidence = v;
        else if (!strcmp(a, "--rate"))
            d.rate = atof(v);
        else if (!strcmp(a, "--rounds"))
            rounds = atol(v);
        else if (!strcmp(a, "--interval-ms"))
            interval = atol(v);
        else if (!strcmp(a, "--budget"))
            cfg.budget_per_workload = atol(v);
        else {
            fprintf(stderr, "contain_drive: unknown option %s\n", a);
            return 1;
        }
    }
    if (!d.ns || !d.selector || !d.evidence) {
        fprintf(stderr, "usage: contain_drive --kubeconfig F --namespace NS "
                "--selector SEL --evidence FILE [--rate R] [--rounds N] "
                "[--interval-ms MS] [--budget N] [--dry-run] [--rollout] "
                "[--metrics]\n");
        return 1;
    }
    char err[512];
    kube_config_opts ko = {.kubeconfig = kubeconfig};
    kube_config *kc = NULL;
    if (kube_config_load(&ko, &kc, err, sizeof err) != 0) {
        fprintf(stderr, "contain_drive: %s\n", err);
        return 2;
    }
    d.kube = kube_client_new(kc, NULL, err, sizeof err);
    kube_config_free(kc);
    if (!d.kube) {
        fprintf(stderr, "contain_drive: %s\n", err);
        return 2;
    }
    kube_recorder_opts ro = {.component = "leakwatch", .instance = "contain-drive"};
    kube_recorder *rec = kube_recorder_new(d.kube, &ro, err, sizeof err);
    obs_registry *reg = obs_registry_new();
    obs_logger *log = obs_logger_new(2, OBS_INFO, OBS_LOG_TEXT);
    d.cnt = rec && reg ? cnt_new(d.kube, rec, &cfg, reg, log, err, sizeof err) : NULL;
    int rc = 0;
    if (!d.cnt) {
        fprintf(stderr, "contain_drive: %s\n", err);
        rc = 2;
        goto out;
    }
    char sel[512], path[1024];
    lw_pct_encode(d.selector, sel, sizeof sel);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods?labelSelector=%s",
             d.ns, sel);
    for (long r = 0; r < rounds; r++) {
        kube_response le;
        if (kube_list(d.kube, path, 0, one_pod, &d, NULL, 0, &le) != 0) {
            fprintf(stderr, "contain_drive: %s\n", le.error);
            kube_response_free(&le);
            rc = 2;
            break;
        }
        if (r + 1 < rounds)
            sleep_ms(interval);
    }
    kube_recorder_flush(rec, 10000);
    if (metrics) {
        size_t len = 0;
        char *text = obs_registry_render(reg, &len);
        for (char *line = text ? strtok(text, "\n") : NULL; line;
             line = strtok(NULL, "\n"))
            if (!strncmp(line, "leakwatch_restart", 17))
                printf("%s\n", line);
        free(text);
    }
out:
    cnt_free(d.cnt);
    kube_recorder_free(rec);
    obs_registry_free(reg);
    obs_logger_free(log);
    kube_client_free(d.kube);
    return rc;
}
