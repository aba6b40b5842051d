/*
 * kubecache_watch.c — e2e driver: runs a kube_cache of pods against a real
 * API server and prints what it sees, one line each, for the shell suites
 * (tests/e2e/kubecache_*.sh) to assert on:
 *
 *   SYNCED objects=N                 after every completed list
 *   ADD ns/name phase=P uid=U
 *   UPDATE ns/name phase=P
 *   DELETE ns/name unknown=0|1       1: found by a relist diff
 *   LOG message                      the watch layer's own log lines
 *   OBJ ns/name phase=P              on SIGUSR1: the cache contents...
 *   STATE objects=N                  ...then this
 *   STATS lists=.. relists_expired=.. connects=.. reconnects=.. events=..
 *         invalid=.. deletes_inferred=.. objects=..   on exit
 *
 * Usage: kubecache_watch --kubeconfig FILE [--namespace NS] [--selector S]
 *        [--resume-rv RV] [--timeout-seconds N]
 * Runs until SIGTERM or SIGINT, then frees everything and exits 0.
 *
 * Not for: anything but tests.
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/kube_cache.h"

#include "support/driver.h"

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&out_mu);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&out_mu);
    va_end(ap);
}

static const char *md(const json_t *o, const char *k)
{
    const char *s =
        json_string_value(json_object_get(json_object_get(o, "metadata"), k));
    return s ? s : "";
}

static const char *phase(const json_t *o)
{
    const char *s =
        json_string_value(json_object_get(json_object_get(o, "status"), "phase"));
    return s ? s : "";
}

static void on_add(const json_t *o, void *ud)
{
    (void)ud;
    say("ADD %s/%s phase=%s uid=%s", md(o, "namespace"), md(o, "name"),
        phase(o), md(o, "uid"));
}

static void on_update(const json_t *old, const json_t *o, void *ud)
{
    (void)ud;
    (void)old;
    say("UPDATE %s/%s phase=%s", md(o, "namespace"), md(o, "name"), phase(o));
}

static void on_delete(const json_t *o, bool unknown, void *ud)
{
    (void)ud;
    say("DELETE %s/%s unknown=%d", md(o, "namespace"), md(o, "name"),
        unknown ? 1 : 0);
}

static void on_synced(void *ud)
{
    say("SYNCED objects=%zu", kube_cache_size(*(kube_cache **)ud));
}

static void on_log(const char *msg, void *ud)
{
    (void)ud;
    say("LOG %s", msg);
}

static int dump_one(const json_t *o, void *ud)
{
    (void)ud;
    say("OBJ %s/%s phase=%s", md(o, "namespace"), md(o, "name"), phase(o));
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: kubecache_watch --kubeconfig FILE [--namespace NS]"
                    " [--selector S] [--resume-rv RV] [--timeout-seconds N]\n");
    exit(1);
}

int main(int argc, char **argv)
{
    const char *kubeconfig = NULL, *ns = NULL, *sel = NULL, *rv = NULL;
    int timeout_s = 0;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (!strcmp(argv[i], "--kubeconfig"))
            kubeconfig = argv[++i];
        else if (!strcmp(argv[i], "--namespace"))
            ns = argv[++i];
        else if (!strcmp(argv[i], "--selector"))
            sel = argv[++i];
        else if (!strcmp(argv[i], "--resume-rv"))
            rv = argv[++i];
        else if (!strcmp(argv[i], "--timeout-seconds"))
            timeout_s = atoi(argv[++i]);
        else
            usage();
    }
    if (!kubeconfig)
        usage();

    /* Signals are taken by sigwait below; no thread may get them. */
    sigset_t set;
    drv_sigwait_set(&set, SIGUSR1);

    char err[1024];
    kube_client *c = drv_client("kubecache_watch", kubeconfig);
    if (!c)
        return 2;
    kube_cache *cache = NULL;
    kube_cache_handlers h = {on_add, on_update, on_delete, on_synced, &cache};
    kube_cache_opts o = {.namespace = ns,
                         .label_selector = sel,
                         .resume_resource_version = rv,
                         .timeout_seconds = timeout_s,
                         .backoff_initial_ms = 200,
                         .backoff_max_ms = 2000,
                         .log = on_log};
    cache = kube_cache_new(c, &o, &h, err, sizeof err);
    if (!cache || kube_cache_start(cache, err, sizeof err) != 0) {
        fprintf(stderr, "kubecache_watch: %s\n", err);
        kube_cache_free(cache);
        kube_client_free(c);
        return 2;
    }
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            break;
        if (sig != SIGUSR1)
            break;
        size_t n = kube_cache_foreach(cache, dump_one, NULL);
        say("STATE objects=%zu", n);
    }
    kube_cache_stats st;
    kube_cache_get_stats(cache, &st);
    kube_cache_free(cache);
    kube_client_free(c);
    say("STATS lists=%llu relists_expired=%llu connects=%llu "
        "reconnects=%llu events=%llu invalid=%llu deletes_inferred=%llu "
        "objects=%zu",
        (unsigned long long)st.watch.lists,
        (unsigned long long)st.watch.relists_expired,
        (unsigned long long)st.watch.connects,
        (unsigned long long)st.watch.reconnects,
        (unsigned long long)st.watch.events,
        (unsigned long long)st.watch.invalid_lines,
        (unsigned long long)st.deletes_inferred, st.objects);
    return 0;
}
