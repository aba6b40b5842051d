/*
 * kubelease_elect.c — e2e driver: one leader-election candidate against a
 * real API server, for tests/e2e/kubelease_*.sh.  Prints, with a
 * millisecond wall-clock stamp so the suite can measure takeover times:
 *
 *   <ms> LEADING <identity>        we became the leader
 *   <ms> STOPPED <identity>        we stopped being the leader
 *   <ms> LEADER <holder>           the observed holder changed ("" = none)
 *   <ms> EXIT                      after a graceful stop (SIGTERM/SIGINT)
 *
 * Usage: kubelease_elect --kubeconfig FILE --namespace NS --name LEASE
 *        --identity ID [--lease-ms N] [--renew-ms N] [--retry-ms N]
 * Not for: anything but tests.
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/kube.h"
#include "kube/kube_lease.h"

#include "support/driver.h"

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&out_mu);
    printf("%lld ", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&out_mu);
    va_end(ap);
}

static void started(void *ud) { say("LEADING %s", (const char *)ud); }
static void stopped(void *ud) { say("STOPPED %s", (const char *)ud); }
static void leader(const char *id, void *ud)
{
    (void)ud;
    say("LEADER %s", id);
}
static void on_log(const char *msg, void *ud)
{
    (void)ud;
    say("LOG %s", msg);
}

int main(int argc, char **argv)
{
    const char *kubeconfig = NULL, *ns = NULL, *name = NULL, *id = NULL;
    long lease = 0, renew = 0, retry = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--kubeconfig"))
            kubeconfig = argv[i + 1];
        else if (!strcmp(argv[i], "--namespace"))
            ns = argv[i + 1];
        else if (!strcmp(argv[i], "--name"))
            name = argv[i + 1];
        else if (!strcmp(argv[i], "--identity"))
            id = argv[i + 1];
        else if (!strcmp(argv[i], "--lease-ms"))
            lease = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--renew-ms"))
            renew = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--retry-ms"))
            retry = atol(argv[i + 1]);
    }
    if (!kubeconfig || !ns || !name || !id) {
        fprintf(stderr, "usage: kubelease_elect --kubeconfig FILE --namespace "
                        "NS --name LEASE --identity ID [--lease-ms N] "
                        "[--renew-ms N] [--retry-ms N]\n");
        return 1;
    }
    sigset_t set;
    drv_sigwait_set(&set, 0);

    char err[1024];
    kube_client *c = drv_client("kubelease_elect", kubeconfig);
    if (!c)
        return 2;
    kube_lease_opts lo = {.namespace = ns,
                          .name = name,
                          .identity = id,
                          .lease_duration_ms = lease,
                          .renew_deadline_ms = renew,
                          .retry_period_ms = retry,
                          .on_started_leading = started,
                          .on_stopped_leading = stopped,
                          .on_new_leader = leader,
                          .ud = (void *)id,
                          .log = on_log};
    kube_lease *l = kube_lease_start(c, &lo, err, sizeof err);
    if (!l) {
        fprintf(stderr, "kubelease_elect: %s\n", err);
        kube_client_free(c);
        return 2;
    }
    say("IDENTITY %s", kube_lease_identity(l));
    int sig = 0;
    sigwait(&set, &sig);
    kube_lease_stop(l);
    kube_client_free(c);
    say("EXIT");
    return 0;
}
