/*
 * capture_bench.c — drives pkg/capture against live pods for
 * hack/bench/capture.sh: one worker thread per pod, each capturing in a loop
 * for a fixed time, while a sampler watches this process's RSS.
 *
 *   capture_bench [--kubeconfig F] -n NS --transport direct|portforward
 *                 [--kind K] [--seconds S] [--check] POD...
 *
 * Prints one line of key=value pairs: captures, errors, seconds, rate
 * (captures/s), mbytes_per_s, p50_ms, p99_ms, rss_idle_kb, rss_peak_kb,
 * per_inflight_kb ((peak - idle) / pods: what one capture in flight costs,
 * its thread's touched stack included).  --check captures once per pod
 * (retrying for up to 30 s) and exits non-zero if any pod never answers.
 *
 * Not for: correctness (the e2e suites) or anything outside tests/bench.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "kube/kube.h"

typedef struct worker {
    pthread_t th;
    cap_capturer *cap;
    cap_target t;
    char ns[128], pod[254], ip[64], node[254];
    cap_request rq;
    const atomic_bool *stop;
    uint64_t captures, errors, bytes;
    double *lat;     /* seconds per successful capture */
    size_t nlat, caplat;
    char last_error[1024];
} worker;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void *work(void *arg)
{
    worker *w = arg;
    while (!atomic_load(w->stop)) {
        cap_result r;
        double t0 = now_s();
        int rc = cap_capture(w->cap, &w->t, &w->rq, &r);
        double dt = now_s() - t0;
        if (rc == 0) {
            w->captures++;
            w->bytes += r.bytes;
            if (w->nlat == w->caplat) {
                size_t nc = w->caplat ? w->caplat * 2 : 1024;
                double *nl = realloc(w->lat, nc * sizeof *nl);
                if (nl) {
                    w->lat = nl;
                    w->caplat = nc;
                }
            }
            if (w->nlat < w->caplat)
                w->lat[w->nlat++] = dt;
        } else {
            w->errors++;
            snprintf(w->last_error, sizeof w->last_error, "%s", r.error);
            usleep(10000); /* a failing pod must not spin */
        }
        cap_result_free(&r);
    }
    return NULL;
}

typedef struct sampler {
    pthread_t th;
    atomic_bool stop;
    long peak;
} sampler;

static void *sample(void *arg)
{
    sampler *s = arg;
    while (!atomic_load(&s->stop)) {
        long r = rss_kb();
        if (r > s->peak)
            s->peak = r;
        usleep(20000);
    }
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int resolve(kube_client *kc, worker *w, char *err, size_t errlen)
{
    char path[700];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", w->ns,
             w->pod);
    kube_response r;
    memset(&r, 0, sizeof r);
    if (kube_get(kc, path, &r)) {
        snprintf(err, errlen, "pod %.200s: %.700s", w->pod, r.error);
        kube_response_free(&r);
        return -1;
    }
    json_t *st = json_object_get(r.json, "status");
    json_t *sp = json_object_get(r.json, "spec");
    const char *ip = json_string_value(json_object_get(st, "podIP"));
    const char *node = json_string_value(json_object_get(sp, "nodeName"));
    const char *port = json_string_value(json_object_get(
        json_object_get(json_object_get(r.json, "metadata"), "annotations"),
        "leakwatch.dev/port"));
    snprintf(w->ip, sizeof w->ip, "%s", ip ? ip : "");
    snprintf(w->node, sizeof w->node, "%s", node ? node : "");
    w->t.namespace = w->ns;
    w->t.pod = w->pod;
    w->t.pod_ip = w->ip;
    w->t.node = w->node;
    w->t.port = (uint16_t)(port ? atoi(port) : 6060);
    kube_response_free(&r);
    return 0;
}

int main(int argc, char **argv)
{
    const char *kubeconfig = NULL, *ns = "default", *kind = "goroutine-debug2";
    cap_transport tr = CAP_TRANSPORT_PORTFORWARD;
    double seconds = 5;
    bool check = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--kubeconfig") && i + 1 < argc)
            kubeconfig = argv[++i];
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            ns = argv[++i];
        else if (!strcmp(argv[i], "--kind") && i + 1 < argc)
            kind = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--check"))
            check = true;
        else if (!strcmp(argv[i], "--transport") && i + 1 < argc) {
            if (cap_transport_parse(argv[++i], &tr)) {
                fprintf(stderr, "capture_bench: bad transport %s\n", argv[i]);
                return 1;
            }
        } else {
            fprintf(stderr, "capture_bench: bad option %s\n", argv[i]);
            return 1;
        }
    }
    int npods = argc - i;
    cap_kind k;
    if (npods <= 0 || cap_kind_parse(kind, &k)) {
        fprintf(stderr, "usage: capture_bench [--kubeconfig F] -n NS "
                "--transport T [--kind K] [--seconds S] [--check] POD...\n");
        return 1;
    }
    char err[1024];
    kube_config *cfg;
    kube_config_opts co = {.kubeconfig = kubeconfig};
    if (kube_config_load(&co, &cfg, err, sizeof err)) {
        fprintf(stderr, "capture_bench: %s\n", err);
        return 1;
    }
    kube_client_opts ko;
    kube_client_opts_default(&ko);
    kube_client *kc = kube_client_new(cfg, &ko, err, sizeof err);
    cap_options o;
    cap_options_default(&o);
    o.timeout_ms = 20000;
    cap_capturer *cap = kc ? cap_capturer_new(kc, &o, err, sizeof err) : NULL;
    worker *w = calloc((size_t)npods, sizeof *w);
    if (!kc || !cap || !w) {
        fprintf(stderr, "capture_bench: %s\n", err);
        return 1;
    }
    atomic_bool stop = false;
    int rc = 0;
    for (int p = 0; p < npods; p++) {
        snprintf(w[p].ns, sizeof w[p].ns, "%s", ns);
        snprintf(w[p].pod, sizeof w[p].pod, "%s", argv[i + p]);
        if (resolve(kc, &w[p], err, sizeof err)) {
            fprintf(stderr, "capture_bench: %s\n", err);
            return 1;
        }
        w[p].cap = cap;
        w[p].stop = &stop;
        /* Bytes are counted, not kept: the bench measures the transport. */
        w[p].rq = (cap_request){.kind = k, .transport = tr,
                                .ignore_backoff = true};
    }
    if (check) {
        for (int p = 0; p < npods; p++) {
            double until = now_s() + 30;
            cap_result r;
            int ok;
            while ((ok = cap_capture(cap, &w[p].t, &w[p].rq, &r)) != 0 &&
                   now_s() < until) {
                cap_result_free(&r);
                usleep(300000);
            }
            if (ok) {
                fprintf(stderr, "capture_bench: %s\n", r.error);
                rc = 1;
            }
            cap_result_free(&r);
        }
        goto out;
    }
    sampler s = {.peak = 0};
    long idle = rss_kb();
    s.peak = idle;
    pthread_create(&s.th, NULL, sample, &s);
    double t0 = now_s();
    for (int p = 0; p < npods; p++)
        pthread_create(&w[p].th, NULL, work, &w[p]);
    usleep((useconds_t)(seconds * 1e6));
    atomic_store(&stop, true);
    for (int p = 0; p < npods; p++)
        pthread_join(w[p].th, NULL);
    double dt = now_s() - t0;
    atomic_store(&s.stop, true);
    pthread_join(s.th, NULL);

    uint64_t caps = 0, errs = 0, bytes = 0;
    size_t nl = 0;
    for (int p = 0; p < npods; p++) {
        caps += w[p].captures;
        errs += w[p].errors;
        bytes += w[p].bytes;
        nl += w[p].nlat;
    }
    double *all = malloc((nl ? nl : 1) * sizeof *all);
    size_t o2 = 0;
    for (int p = 0; p < npods; p++) {
        memcpy(all + o2, w[p].lat, w[p].nlat * sizeof *all);
        o2 += w[p].nlat;
    }
    qsort(all, nl, sizeof *all, cmp_d);
    double p50 = nl ? all[nl / 2] * 1000 : 0;
    double p99 = nl ? all[(nl * 99) / 100 < nl ? (nl * 99) / 100 : nl - 1] * 1000
                    : 0;
    free(all);
    printf("captures=%llu errors=%llu seconds=%.2f rate=%.1f "
           "mbytes_per_s=%.2f p50_ms=%.1f p99_ms=%.1f rss_idle_kb=%ld "
           "rss_peak_kb=%ld per_inflight_kb=%ld\n",
           (unsigned long long)caps, (unsigned long long)errs, dt,
           (double)caps / dt, (double)bytes / dt / 1e6, p50, p99, idle,
           s.peak, (s.peak - idle) / npods);
    for (int p = 0; p < npods; p++)
        if (w[p].errors) {
            fprintf(stderr, "capture_bench: %llu errors on %s, last: %s\n",
                    (unsigned long long)w[p].errors, w[p].pod,
                    w[p].last_error);
            break;
        }
out:
    for (int p = 0; p < npods; p++)
        free(w[p].lat);
    free(w);
    cap_capturer_free(cap);
    kube_client_free(kc);
    kube_config_free(cfg);
    return rc;
}
