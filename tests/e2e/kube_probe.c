/*
 * kube_probe.c — e2e driver: loads a configuration the way leakwatch does
 * (kubeconfig, --context, or in-cluster) and makes one kind of request
 * against the real API server, printing one line the shell suites
 * (tests/e2e/kube_*.sh) assert on:
 *
 *   whoami              POST a SelfSubjectReview → "ok user=NAME ns=NS"
 *   get PATH            → "ok status=200 kind=KIND"
 *   list PATH LIMIT     kube_list with that page size
 *                       → "ok items=N rv=RV bytes_max=MAX"
 * On failure: "error status=S reason=R: MESSAGE" (API or transport) or
 * "config: MESSAGE", exit 2.  Usage errors exit 1.
 *
 * Options: --kubeconfig F, --context C, --incluster SA_DIR (in-cluster
 * config from KUBERNETES_SERVICE_HOST/PORT and that directory),
 * --max-body N, --retries N, --timeout-ms N.
 *
 * Not for: anything but tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"

typedef struct list_ud {
    long items;
} list_ud;

static int count_item(json_t *item, void *ud)
{
    (void)item;
    ((list_ud *)ud)->items++;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: kube_probe [--kubeconfig F] [--context C] "
                    "[--incluster SA_DIR] [--max-body N] [--retries N] "
                    "[--timeout-ms N] whoami | get PATH | list PATH LIMIT\n");
    return 1;
}

static int api_error(const kube_response *r)
{
    printf("error status=%ld reason=%s: %s\n", r->status,
           r->reason[0] ? r->reason : "-", r->error);
    return 2;
}

int main(int argc, char **argv)
{
    kube_config_opts co = {.incluster = KUBE_INCLUSTER_NEVER};
    kube_client_opts o;
    kube_client_opts_default(&o);
    int i = 1;
    for (; i < argc && !strncmp(argv[i], "--", 2); i += 2) {
        if (i + 1 >= argc)
            return usage();
        const char *v = argv[i + 1];
        if (!strcmp(argv[i], "--kubeconfig"))
            co.kubeconfig = v;
        else if (!strcmp(argv[i], "--context"))
            co.context = v;
        else if (!strcmp(argv[i], "--incluster")) {
            co.incluster = KUBE_INCLUSTER_ALWAYS;
            co.sa_dir = v;
        } else if (!strcmp(argv[i], "--max-body"))
            o.max_body_bytes = strtoull(v, NULL, 10);
        else if (!strcmp(argv[i], "--retries"))
            o.max_retries = atoi(v);
        else if (!strcmp(argv[i], "--timeout-ms"))
            o.timeout_ms = atol(v);
        else
            return usage();
    }
    if (i >= argc)
        return usage();
    const char *mode = argv[i];
    if ((!strcmp(mode, "get") && i + 2 != argc) ||
        (!strcmp(mode, "list") && i + 3 != argc) ||
        (!strcmp(mode, "whoami") && i + 1 != argc) ||
        (strcmp(mode, "get") && strcmp(mode, "list") && strcmp(mode, "whoami")))
        return usage();

    char err[1024];
    kube_config *cfg = NULL;
    if (kube_config_load(&co, &cfg, err, sizeof err) != 0) {
        printf("config: %s\n", err);
        return 2;
    }
    kube_client *c = kube_client_new(cfg, &o, err, sizeof err);
    if (!c) {
        printf("config: %s\n", err);
        kube_config_free(cfg);
        return 2;
    }
    int rc = 0;
    kube_response r;
    if (!strcmp(mode, "whoami")) {
        json_t *body = json_pack("{s:s,s:s}", "apiVersion",
                                 "authentication.k8s.io/v1", "kind",
                                 "SelfSubjectReview");
        if (kube_request(c, "POST",
                         "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                         body, NULL, &r) == 0) {
            const char *user =
                kube_json_str(r.json, "status.userInfo.username");
            printf("ok user=%s ns=%s\n", user ? user : "?", cfg->namespace);
        } else {
            rc = api_error(&r);
        }
        json_decref(body);
        kube_response_free(&r);
    } else if (!strcmp(mode, "get")) {
        if (kube_get(c, argv[i + 1], &r) == 0) {
            const char *kind = kube_json_str(r.json, "kind");
            printf("ok status=%ld kind=%s\n", r.status, kind ? kind : "?");
        } else {
            rc = api_error(&r);
        }
        kube_response_free(&r);
    } else {
        list_ud u = {0};
        char rv[64];
        int lrc = kube_list(c, argv[i + 1], atoi(argv[i + 2]), count_item, &u,
                            rv, sizeof rv, &r);
        if (lrc == 0)
            printf("ok items=%ld rv=%s bytes_max=%zu\n", u.items, rv,
                   o.max_body_bytes);
        else
            rc = api_error(&r);
        kube_response_free(&r);
    }
    kube_client_free(c);
    kube_config_free(cfg);
    return rc;
}
