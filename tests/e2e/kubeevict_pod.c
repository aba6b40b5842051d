/*
 * kubeevict_pod.c — e2e driver: one kube_evict_pod call against a real API
 * server, printed as one line for tests/e2e/kubeevict_*.sh:
 *
 *   RESULT <evicted|pdb-blocked|multiple-pdbs|not-found|forbidden|conflict|
 *           throttled|error> status=<HTTP> retry_after=<s> message=<text>
 *
 * Usage: kubeevict_pod --kubeconfig FILE --namespace NS --pod NAME
 *        [--dry-run] [--uid UID]
 * Exit status 0 whenever the request was made (whatever the answer).
 * Not for: anything but tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/kube_evict.h"

#include "support/driver.h"

int main(int argc, char **argv)
{
    const char *kubeconfig = NULL, *ns = NULL, *pod = NULL, *uid = NULL;
    bool dry = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dry-run"))
            dry = true;
        else if (i + 1 < argc && !strcmp(argv[i], "--kubeconfig"))
            kubeconfig = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--namespace"))
            ns = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--pod"))
            pod = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--uid"))
            uid = argv[++i];
        else
            kubeconfig = NULL, i = argc;
    }
    if (!kubeconfig || !ns || !pod) {
        fprintf(stderr, "usage: kubeevict_pod --kubeconfig FILE --namespace "
                        "NS --pod NAME [--dry-run] [--uid UID]\n");
        return 1;
    }
    kube_client *c = drv_client("kubeevict_pod", kubeconfig);
    if (!c)
        return 2;
    kube_evict_opts eo = {.dry_run = dry, .uid = uid};
    kube_evict_outcome out;
    kube_evict_pod(c, ns, pod, &eo, &out);
    printf("RESULT %s status=%ld retry_after=%ld message=%s\n",
           kube_evict_result_name(out.result), out.status, out.retry_after_s,
           out.message);
    kube_client_free(c);
    return 0;
}
