/*
 * kubeevents_record.c — e2e driver: a kube_recorder against a real API
 * server, driven by commands on stdin so a shell suite can interleave them
 * with kubectl (tests/e2e/kubeevents_*.sh).  One answer line per command:
 *
 *   record NS POD TYPE REASON MESSAGE...  -> QUEUED | SPAM | QUEUE_FULL |
 *                                            INVALID | ERROR text
 *   flush                                 -> FLUSHED ok | FLUSHED timeout
 *   stats                                 -> STATS created=.. patched=..
 *                                            recreated=.. aggregated=..
 *                                            failed=.. spam=.. queue=..
 *   (end of input)                        -> BYE after freeing everything
 *
 * The pod's uid is read from the API so the Event's involvedObject matches
 * what `kubectl describe pod` selects on.
 *
 * Usage: kubeevents_record --kubeconfig FILE [--spam-burst N]
 *        [--instance NAME]
 * Not for: anything but tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/kube_events.h"

#include "support/driver.h"

static void on_log(const char *msg, void *ud)
{
    (void)ud;
    printf("LOG %s\n", msg);
    fflush(stdout);
}

static void record(kube_client *c, kube_recorder *r, char *args)
{
    char *save = NULL;
    char *ns = strtok_r(args, " ", &save);
    char *pod = strtok_r(NULL, " ", &save);
    char *type = strtok_r(NULL, " ", &save);
    char *reason = strtok_r(NULL, " ", &save);
    char *msg = strtok_r(NULL, "", &save);
    if (!ns || !pod || !type || !reason || !msg) {
        printf("ERROR usage: record NS POD TYPE REASON MESSAGE...\n");
        return;
    }
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", ns, pod);
    kube_response resp;
    memset(&resp, 0, sizeof resp);
    if (kube_get(c, path, &resp) != 0) {
        printf("ERROR %s\n", resp.error);
        kube_response_free(&resp);
        return;
    }
    kube_object_ref ref;
    kube_object_ref_from(resp.json, "v1", "Pod", &ref);
    kube_event_status st = kube_event_record(r, &ref, type, reason, msg);
    kube_response_free(&resp);
    switch (st) {
    case KUBE_EVENT_QUEUED: printf("QUEUED\n"); break;
    case KUBE_EVENT_SPAM: printf("SPAM\n"); break;
    case KUBE_EVENT_QUEUE_FULL: printf("QUEUE_FULL\n"); break;
    case KUBE_EVENT_INVALID: printf("INVALID\n"); break;
    }
}

int main(int argc, char **argv)
{
    const char *kubeconfig = NULL, *instance = "e2e-recorder";
    int burst = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--kubeconfig"))
            kubeconfig = argv[i + 1];
        else if (!strcmp(argv[i], "--spam-burst"))
            burst = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--instance"))
            instance = argv[i + 1];
    }
    if (!kubeconfig) {
        fprintf(stderr, "usage: kubeevents_record --kubeconfig FILE "
                        "[--spam-burst N] [--instance NAME]\n");
        return 1;
    }
    char err[1024];
    kube_client *c = drv_client("kubeevents_record", kubeconfig);
    if (!c)
        return 2;
    kube_recorder_opts ro = {.instance = instance,
                             .spam_burst = burst,
                             .log = on_log};
    kube_recorder *r = kube_recorder_new(c, &ro, err, sizeof err);
    if (!r) {
        fprintf(stderr, "kubeevents_record: %s\n", err);
        kube_client_free(c);
        return 2;
    }
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!strncmp(line, "record ", 7)) {
            record(c, r, line + 7);
        } else if (!strcmp(line, "flush")) {
            printf("FLUSHED %s\n",
                   kube_recorder_flush(r, 20000) == 0 ? "ok" : "timeout");
        } else if (!strcmp(line, "stats")) {
            kube_recorder_stats st;
            kube_recorder_get_stats(r, &st);
            printf("STATS created=%llu patched=%llu recreated=%llu "
                   "aggregated=%llu failed=%llu spam=%llu queue=%llu\n",
                   (unsigned long long)st.created,
                   (unsigned long long)st.patched,
                   (unsigned long long)st.recreated,
                   (unsigned long long)st.aggregated,
                   (unsigned long long)st.failed,
                   (unsigned long long)st.dropped_spam,
                   (unsigned long long)st.dropped_queue);
        } else if (line[0]) {
            printf("ERROR unknown command: %.60s\n", line);
        }
        fflush(stdout);
    }
    kube_recorder_free(r);
    kube_client_free(c);
    printf("BYE\n");
    return 0;
}
