/*
 * driver.c — the kubeconfig-to-client setup and the sigwait set the e2e
 * drivers share (see driver.h). Not for: anything the controller or the
 * CLI run.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "driver.h"

kube_client *drv_client(const char *prog, const char *kubeconfig)
{
    char err[1024];
    kube_config_opts co = {.kubeconfig = kubeconfig,
                           .incluster = KUBE_INCLUSTER_NEVER};
    kube_config *cfg = NULL;
    if (kube_config_load(&co, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return NULL;
    }
    kube_client_opts copts;
    kube_client_opts_default(&copts);
    kube_client *c = kube_client_new(cfg, &copts, err, sizeof err);
    kube_config_free(cfg);
    if (!c)
        fprintf(stderr, "%s: %s\n", prog, err);
    return c;
}

void drv_sigwait_set(sigset_t *set, int extra)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    if (extra)
        sigaddset(set, extra);
    pthread_sigmask(SIG_BLOCK, set, NULL);
}
