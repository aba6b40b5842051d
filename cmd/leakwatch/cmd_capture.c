/*
 * cmd_capture.c — `leakwatch capture`: fetch a goroutine profile (or the
 * go_goroutines gauge) from a pod, or from every ready pod of a Deployment
 * with a comparison against its freshest pod, and store the raw bytes the
 * pod served.
 *
 * The pod's endpoint comes from its annotations (kube_pods.h) unless
 * --port/--path/--scheme say otherwise; the fetch is pkg/capture's.
 * --analyze runs `leakwatch inspect` on the stored file, and the Deployment
 * form runs `leakwatch diff` for each pod against the fresh peer, so what
 * is printed is exactly what those commands print.
 *
 * Not for: watching pods over time (the controller) or analysing files
 * already on disk (inspect, diff, analyze).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "cli_args.h"
#include "cmds.h"
#include "kube/kube.h"
#include "kube/kube_objects.h"
#include "kube/kube_pods.h"
#include "lw/lw_units.h"

#define CMD "leakwatch capture"

enum {
    OPT_NS = 1,
    OPT_PORT,
    OPT_PATH,
    OPT_SCHEME,
    OPT_TRANSPORT,
    OPT_KIND,
    OPT_OUT,
    OPT_KUBECONFIG,
    OPT_CONTEXT,
    OPT_ANALYZE,
    OPT_TIMEOUT,
    OPT_MAX_BYTES,
    OPT_TOP,
};

static const cli_opt opts[] = {
    {"-n", true, OPT_NS},
    {"--namespace", true, OPT_NS},
    {"--port", true, OPT_PORT},
    {"--path", true, OPT_PATH},
    {"--scheme", true, OPT_SCHEME},
    {"--transport", true, OPT_TRANSPORT},
    {"--kind", true, OPT_KIND},
    {"-o", true, OPT_OUT},
    {"--output", true, OPT_OUT},
    {"--kubeconfig", true, OPT_KUBECONFIG},
    {"--context", true, OPT_CONTEXT},
    {"--analyze", false, OPT_ANALYZE},
    {"--timeout", true, OPT_TIMEOUT},
    {"--max-bytes", true, OPT_MAX_BYTES},
    {"--top", true, OPT_TOP},
    {NULL, false, 0},
};

static void usage(FILE *out)
{
    fprintf(out,
        "usage: leakwatch capture [-n NS] pod/NAME|deployment/NAME [OPTIONS]\n\n"
        "Fetches a goroutine profile from a pod and stores the raw bytes the\n"
        "pod served.  The endpoint comes from the pod's annotations\n"
        "(leakwatch.dev/port, /path, /scheme, or Grafana's\n"
        "profiles.grafana.com/goroutine.*) unless given below.\n\n"
        "deployment/NAME captures every ready pod of the Deployment, picks\n"
        "the youngest ready pod as the fresh peer, and compares every other\n"
        "pod against it (as `leakwatch diff FRESH POD` would).\n\n"
        "options:\n"
        "  -n, --namespace NS     namespace (default: the context's)\n"
        "  --port P               pprof port, number or container port name\n"
        "  --path P               pprof base path (default /debug/pprof)\n"
        "  --scheme http|https    how the pod serves it\n"
        "  --transport T          auto (default: direct in-cluster, else\n"
        "                         portforward), direct, portforward, proxy\n"
        "  --kind K               goroutine (default: debug=2, or protobuf\n"
        "                         above 50,000 goroutines), goroutine-debug1,\n"
        "                         goroutine-debug2, goroutine-proto,\n"
        "                         goroutineleak, metrics (go_goroutines)\n"
        "  -o, --output F         file to write (- for stdout) or a\n"
        "                         directory (the only form for a\n"
        "                         deployment).  Default name:\n"
        "                         <pod>-<kind>-<time>.<ext>, in the current\n"
        "                         directory.  The path is printed.\n"
        "  --analyze              print what the capture holds at once (as\n"
        "                         `leakwatch inspect` does)\n"
        "  --json                 with --analyze: inspect's JSON\n"
        "  --top N                stacks to show with --analyze or in\n"
        "                         comparisons (default 10)\n"
        "  --timeout D            whole capture: 30s, 2m, or plain seconds\n"
        "                         (default 60s)\n"
        "  --max-bytes N          largest body accepted (default 256Mi)\n"
        "  --max-decompressed N   with --analyze: largest inflated profile\n"
        "                         (default 256Mi; checked while capturing)\n"
        "  --kubeconfig F         kubeconfig file (default: $KUBECONFIG,\n"
        "                         ~/.kube/config, in-cluster)\n"
        "  --context C            kubeconfig context\n"
        "  -h, --help             this help\n\n"
        "sizes are " LW_SIZE_GRAMMAR ",\n"
        "as in Kubernetes: 64M is 64,000,000 bytes, 64Mi is 67,108,864\n\n"
        "exit status: 0 captured, 1 usage error, 2 the capture failed (one\n"
        "line naming the pod, the transport and why)\n");
}

typedef struct cap_cli {
    const char *ns, *port, *path, *scheme, *out, *kubeconfig, *context;
    const char *top;
    const char *max_decompressed_arg; /* forwarded to inspect / diff   */
    uint64_t max_decompressed;
    cap_transport transport;
    cap_kind kind;
    bool analyze, json;
    double timeout_s;
    uint64_t max_bytes;
    kube_client *kc;
    kube_config *cfg;
    cap_capturer *cap;
} cap_cli;

/* ---- endpoint ---------------------------------------------------------- */

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* A container port by name; 0 when absent. */
static int named_port(const json_t *pod, const char *name)
{
    json_t *cs = json_object_get(json_object_get(pod, "spec"), "containers");
    size_t i, j;
    json_t *c, *p;
    json_array_foreach(cs, i, c) {
        json_array_foreach(json_object_get(c, "ports"), j, p) {
            const char *n = json_string_value(json_object_get(p, "name"));
            if (n && !strcmp(n, name))
                return (int)json_integer_value(
                    json_object_get(p, "containerPort"));
        }
    }
    return 0;
}

/* Fills target from the pod and the options; bufs hold its strings. */
typedef struct pod_target {
    cap_target t;
    char ns[254], name[254], uid[64], node[254], ip[64], path[256];
    int64_t start;
} pod_target;

static int resolve_target(const cap_cli *o, const json_t *pod, pod_target *pt,
                          char *err, size_t errlen)
{
    json_t *md = json_object_get(pod, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *uid = json_string_value(json_object_get(md, "uid"));
    memset(pt, 0, sizeof *pt);
    snprintf(pt->name, sizeof pt->name, "%s", name ? name : "?");
    snprintf(pt->ns, sizeof pt->ns, "%s", ns ? ns : o->ns);
    snprintf(pt->uid, sizeof pt->uid, "%s", uid ? uid : "");
    snprintf(pt->node, sizeof pt->node, "%s", kube_pod_node(pod));
    snprintf(pt->ip, sizeof pt->ip, "%s", kube_pod_ip(pod));
    pt->start = kube_pod_start_time(pod);

    kube_pod_endpoint ep;
    int er = kube_pod_endpoint_resolve(pod, &ep);
    int port = 0;
    bool https = false;
    const char *path = "/debug/pprof";
    if (er == 1) {
        port = ep.port;
        https = !strcmp(ep.scheme, "https");
        path = ep.path;
    }
    if (o->port) {
        port = all_digits(o->port) ? atoi(o->port) : named_port(pod, o->port);
        if (port <= 0 || port > 65535) {
            snprintf(err, errlen, "pod %s/%s: no container port named \"%s\"",
                     pt->ns, pt->name, o->port);
            return -1;
        }
    } else if (er == -1) {
        snprintf(err, errlen, "pod %s/%s: %s (or pass --port)", pt->ns,
                 pt->name, ep.error);
        return -1;
    } else if (er == 0) {
        /* Not opted in: the same default as the annotation's. */
        static const char *const names[] = {"pprof", "http-pprof", "metrics",
                                            "http"};
        for (size_t i = 0; i < 4 && !port; i++)
            port = named_port(pod, names[i]);
        if (!port) {
            snprintf(err, errlen, "pod %s/%s has no leakwatch.dev/port "
                     "annotation and no container port named pprof, "
                     "http-pprof, metrics or http: pass --port", pt->ns,
                     pt->name);
            return -1;
        }
    }
    if (o->path)
        path = o->path;
    if (o->scheme)
        https = !strcmp(o->scheme, "https");
    snprintf(pt->path, sizeof pt->path, "%s", path);
    pt->t.namespace = pt->ns;
    pt->t.pod = pt->name;
    pt->t.uid = pt->uid[0] ? pt->uid : NULL;
    pt->t.node = pt->node;
    pt->t.pod_ip = pt->ip;
    pt->t.port = (uint16_t)port;
    pt->t.path = pt->path;
    pt->t.https = https;
    return 0;
}

/* ---- output files ------------------------------------------------------- */

static void utc_stamp(char *out, size_t n)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, n, "%Y%m%dT%H%M%SZ", &tm);
}

/* A temporary file in dir, renamed into place once the capture is whole,
 * so a failed capture never leaves a partial file under the final name. */
typedef struct out_file {
    char tmp[4096];
    FILE *fp;
} out_file;

static int out_open(out_file *of, const char *dir, const char *pod)
{
    snprintf(of->tmp, sizeof of->tmp, "%.3800s/.%.200s.capture.XXXXXX", dir, pod);
    int fd = mkstemp(of->tmp);
    if (fd < 0)
        return -1;
    of->fp = fdopen(fd, "wb");
    if (!of->fp) {
        close(fd);
        unlink(of->tmp);
        return -1;
    }
    return 0;
}

static void out_discard(out_file *of)
{
    if (of->fp) {
        fclose(of->fp);
        unlink(of->tmp);
        of->fp = NULL;
    }
}

static int out_commit(out_file *of, const char *final)
{
    int rc = fclose(of->fp);
    of->fp = NULL;
    if (rc != 0 || chmod(of->tmp, 0644) != 0 || rename(of->tmp, final) != 0) {
        int e = errno;
        unlink(of->tmp);
        errno = e;
        return -1;
    }
    return 0;
}

/* ---- one pod ------------------------------------------------------------ */

typedef struct pod_job {
    cap_cli *o;
    pod_target pt;
    const char *dir;       /* write <pod>-<kind>-<time>.<ext> here, or   */
    const char *file;      /* ... exactly this file ("-": stdout)        */
    cap_scheduler *sched;
    cap_result res;
    char written[4096];
    int rc;
} pod_job;

static void run_job(pod_job *j)
{
    cap_cli *o = j->o;
    /* With --analyze the profile is parsed while it streams in, so a
     * capture that is no profile (or a decompression bomb) fails before
     * anything is stored. */
    cap_request rq = {.kind = o->kind, .transport = o->transport,
                      .ignore_backoff = true, .sched = j->sched,
                      .parse = o->analyze};
    out_file of = {.fp = NULL};
    bool to_stdout = j->file && !strcmp(j->file, "-");
    /* A device or pipe (-o /dev/null, a fifo) is written as it is: there
     * is nothing to rename into place. */
    struct stat st;
    FILE *special = NULL;
    if (!to_stdout && j->file && stat(j->file, &st) == 0 &&
        !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        special = fopen(j->file, "wb");
        if (!special) {
            memset(&j->res, 0, sizeof j->res);
            j->res.status = CAP_ERR_OUTPUT;
            snprintf(j->res.error, sizeof j->res.error, "pod %s/%s: %.300s: "
                     "%s", j->pt.ns, j->pt.name, j->file, strerror(errno));
            j->rc = -1;
            return;
        }
    }
    if (to_stdout || special) {
        rq.out = special ? special : stdout;
        j->rc = cap_capture(o->cap, &j->pt.t, &rq, &j->res);
        if (fflush(rq.out) != 0 && j->rc == 0) {
            j->res.status = CAP_ERR_OUTPUT;
            snprintf(j->res.error, sizeof j->res.error, "writing %.300s: %s",
                     special ? j->file : "stdout", strerror(errno));
            j->rc = -1;
        }
        if (special)
            fclose(special);
        snprintf(j->written, sizeof j->written, "%s", j->file);
        return;
    } else {
        char dir[4096];
        if (j->file) {
            snprintf(dir, sizeof dir, "%s", j->file);
            char *slash = strrchr(dir, '/');
            if (slash == dir)
                dir[1] = '\0';
            else if (slash)
                *slash = '\0';
            else
                snprintf(dir, sizeof dir, ".");
        } else {
            snprintf(dir, sizeof dir, "%s", j->dir);
        }
        if (out_open(&of, dir, j->pt.name)) {
            memset(&j->res, 0, sizeof j->res);
            j->res.status = CAP_ERR_OUTPUT;
            snprintf(j->res.error, sizeof j->res.error,
                     "pod %s/%s: cannot create a file in %.300s: %s", j->pt.ns,
                     j->pt.name, dir, strerror(errno));
            j->rc = -1;
            return;
        }
        rq.out = of.fp;
    }
    j->rc = cap_capture(o->cap, &j->pt.t, &rq, &j->res);
    if (j->rc) {
        out_discard(&of);
        return;
    }
    if (j->file) {
        snprintf(j->written, sizeof j->written, "%s", j->file);
    } else {
        char stamp[32];
        utc_stamp(stamp, sizeof stamp);
        snprintf(j->written, sizeof j->written, "%s%s%s-%s-%s.%s",
                 strcmp(j->dir, ".") ? j->dir : "",
                 strcmp(j->dir, ".") ? "/" : "", j->pt.name,
                 cap_kind_name(j->res.kind), stamp, j->res.ext);
    }
    if (out_commit(&of, j->written)) {
        j->res.status = CAP_ERR_OUTPUT;
        snprintf(j->res.error, sizeof j->res.error, "pod %s/%s: writing %.300s: "
                 "%s", j->pt.ns, j->pt.name, j->written, strerror(errno));
        j->rc = -1;
    }
}

static void *job_thread(void *arg)
{
    run_job(arg);
    return NULL;
}

static void report_job(const pod_job *j)
{
    const cap_result *r = &j->res;
    char extra[200] = "";
    if (r->why_format[0])
        snprintf(extra, sizeof extra, " (%s)", r->why_format);
    if (r->kind == CAP_KIND_METRICS && r->goroutines >= 0)
        snprintf(extra, sizeof extra, " (go_goroutines %lld)",
                 (long long)r->goroutines);
    fprintf(stderr, CMD ": pod %s/%s via %s: %s%s, %llu bytes in %.2f s\n",
            j->pt.ns, j->pt.name, cap_transport_name(r->transport),
            cap_kind_name(r->kind), extra, (unsigned long long)r->bytes,
            r->seconds);
}

static int analyze_file(const cap_cli *o, const pod_job *j)
{
    if (j->res.kind == CAP_KIND_METRICS) {
        printf("go_goroutines %lld\n", (long long)j->res.goroutines);
        return CLI_EXIT_OK;
    }
    char *argv[8];
    int argc = 0;
    argv[argc++] = (char *)"inspect";
    if (o->json)
        argv[argc++] = (char *)"--json";
    if (o->max_decompressed_arg) {
        argv[argc++] = (char *)"--max-decompressed";
        argv[argc++] = (char *)o->max_decompressed_arg;
    }
    if (o->top) {
        argv[argc++] = (char *)"--top";
        argv[argc++] = (char *)o->top;
    }
    argv[argc++] = (char *)j->written;
    argv[argc] = NULL;
    fflush(stdout);
    return cmd_inspect(argc, argv);
}

/* ---- deployments -------------------------------------------------------- */

static void append(char *buf, size_t cap, const char *s)
{
    size_t l = strlen(buf);
    snprintf(buf + l, cap - l, "%s", s);
}

/* spec.selector as a label selector string ("a=b,c in (d,e),!f"). */
static int selector_string(const json_t *sel, char *out, size_t cap)
{
    out[0] = '\0';
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(sel, "matchLabels"), k, v) {
        if (out[0])
            append(out, cap, ",");
        append(out, cap, k);
        append(out, cap, "=");
        append(out, cap, json_string_value(v) ? json_string_value(v) : "");
    }
    size_t i, n;
    json_t *e, *val;
    json_array_foreach(json_object_get(sel, "matchExpressions"), i, e) {
        const char *key = json_string_value(json_object_get(e, "key"));
        const char *op = json_string_value(json_object_get(e, "operator"));
        if (!key || !op)
            return -1;
        if (out[0])
            append(out, cap, ",");
        if (!strcmp(op, "Exists")) {
            append(out, cap, key);
        } else if (!strcmp(op, "DoesNotExist")) {
            append(out, cap, "!");
            append(out, cap, key);
        } else if (!strcmp(op, "In") || !strcmp(op, "NotIn")) {
            append(out, cap, key);
            append(out, cap, !strcmp(op, "In") ? " in (" : " notin (");
            json_array_foreach(json_object_get(e, "values"), n, val) {
                if (n)
                    append(out, cap, ",");
                append(out, cap, json_string_value(val) ? json_string_value(val)
                                                        : "");
            }
            append(out, cap, ")");
        } else {
            return -1;
        }
    }
    return out[0] && strlen(out) + 1 < cap ? 0 : -1;
}

typedef struct uid_set {
    char (*uids)[64];
    size_t n, cap;
    const char *owner_uid;
} uid_set;

static int collect_rs(json_t *rs, void *ud)
{
    uid_set *s = ud;
    kube_owner ctrl;
    const char *uid = kube_json_str(rs, "metadata.uid");
    if (!kube_controller_ref(rs, &ctrl) || !uid ||
        strcmp(ctrl.uid, s->owner_uid))
        return 0;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        void *nu = realloc(s->uids, nc * sizeof *s->uids);
        if (!nu)
            return 2;
        s->uids = nu;
        s->cap = nc;
    }
    snprintf(s->uids[s->n++], 64, "%s", uid);
    return 0;
}

typedef struct pod_list {
    json_t **pods;
    size_t n, cap;
    const uid_set *rs;
} pod_list;

static int collect_pod(json_t *pod, void *ud)
{
    pod_list *l = ud;
    kube_pod kp;
    kube_pod_parse(pod, &kp);
    bool ours = false;
    for (size_t i = 0; kp.has_controller && i < l->rs->n; i++)
        if (!strcmp(kp.controller.uid, l->rs->uids[i]))
            ours = true;
    if (!ours || !kube_serving(kp.ready, kp.terminating, kp.finished))
        return 0;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 8;
        json_t **np = realloc(l->pods, nc * sizeof *np);
        if (!np)
            return 2;
        l->pods = np;
        l->cap = nc;
    }
    l->pods[l->n++] = json_incref(pod);
    return 0;
}

static void fmt_age(char *out, size_t n, int64_t start)
{
    if (start < 0) {
        snprintf(out, n, "?");
        return;
    }
    long s = (long)(time(NULL) - start);
    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(out, n, "%lds", s);
    else if (s < 7200)
        snprintf(out, n, "%ldm", s / 60);
    else if (s < 172800)
        snprintf(out, n, "%ldh%ldm", s / 3600, (s % 3600) / 60);
    else
        snprintf(out, n, "%ldd", s / 86400);
}

static int capture_deployment(cap_cli *o, const char *name)
{
    char ens[600], ename[600], path[8192], sel[2048], esel[6144];
    kube_escape(o->ns, ens, sizeof ens);
    kube_escape(name, ename, sizeof ename);
    snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/deployments/%s",
             ens, ename);
    kube_response r;
    memset(&r, 0, sizeof r);
    if (kube_get(o->kc, path, &r)) {
        fprintf(stderr, CMD ": deployment %s/%s: %s\n", o->ns, name, r.error);
        kube_response_free(&r);
        return CLI_EXIT_INPUT;
    }
    json_t *sel_obj = json_object_get(json_object_get(r.json, "spec"),
                                      "selector");
    const char *duid = json_string_value(
        json_object_get(json_object_get(r.json, "metadata"), "uid"));
    char owner_uid[64];
    snprintf(owner_uid, sizeof owner_uid, "%s", duid ? duid : "");
    int src = selector_string(sel_obj, sel, sizeof sel);
    kube_response_free(&r);
    if (src) {
        fprintf(stderr, CMD ": deployment %s/%s: cannot use its selector\n",
                o->ns, name);
        return CLI_EXIT_INPUT;
    }
    kube_escape(sel, esel, sizeof esel);

    uid_set rs = {.owner_uid = owner_uid};
    pod_list pl = {.rs = &rs};
    int rc = CLI_EXIT_INPUT;
    pod_job *jobs = NULL;
    pthread_t *th = NULL;
    cap_scheduler *sched = NULL;
    snprintf(path, sizeof path,
             "/apis/apps/v1/namespaces/%s/replicasets?labelSelector=%s", ens,
             esel);
    memset(&r, 0, sizeof r);
    int lr = kube_list(o->kc, path, 500, collect_rs, &rs, NULL, 0, &r);
    if (lr) {
        fprintf(stderr, CMD ": deployment %s/%s: listing replicasets: %s\n",
                o->ns, name, lr == -1 ? r.error : "out of memory");
        kube_response_free(&r);
        goto out;
    }
    snprintf(path, sizeof path,
             "/api/v1/namespaces/%s/pods?labelSelector=%s", ens, esel);
    lr = kube_list(o->kc, path, 500, collect_pod, &pl, NULL, 0, &r);
    if (lr) {
        fprintf(stderr, CMD ": deployment %s/%s: listing pods: %s\n", o->ns,
                name, lr == -1 ? r.error : "out of memory");
        kube_response_free(&r);
        goto out;
    }
    if (pl.n == 0) {
        fprintf(stderr, CMD ": deployment %s/%s has no ready pods\n", o->ns,
                name);
        goto out;
    }
    jobs = calloc(pl.n, sizeof *jobs);
    th = calloc(pl.n, sizeof *th);
    sched = cap_scheduler_new(8, 4);
    if (!jobs || !th || !sched) {
        fprintf(stderr, CMD ": out of memory\n");
        goto out;
    }
    const char *dir = o->out ? o->out : ".";
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, CMD ": -o %s: for a deployment, -o names an existing "
                "directory\n", dir);
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    size_t fresh = 0;
    for (size_t i = 0; i < pl.n; i++) {
        char err[2048];
        jobs[i].o = o;
        jobs[i].dir = dir;
        jobs[i].sched = sched;
        if (resolve_target(o, pl.pods[i], &jobs[i].pt, err, sizeof err)) {
            fprintf(stderr, CMD ": %s\n", err);
            goto out;
        }
        /* Every pod here is serving: the freshest is the peer. */
        if (kube_fresher(jobs[i].pt.start, jobs[i].pt.name,
                         jobs[fresh].pt.start, jobs[fresh].pt.name))
            fresh = i;
    }
    for (size_t i = 0; i < pl.n; i++)
        if (pthread_create(&th[i], NULL, job_thread, &jobs[i])) {
            run_job(&jobs[i]);
            th[i] = 0;
        }
    for (size_t i = 0; i < pl.n; i++)
        if (th[i])
            pthread_join(th[i], NULL);
    int failed = 0;
    for (size_t i = 0; i < pl.n; i++) {
        if (jobs[i].rc) {
            fprintf(stderr, CMD ": %s\n", jobs[i].res.error);
            failed++;
            continue;
        }
        report_job(&jobs[i]);
        printf("%s\n", jobs[i].written);
    }
    char age[32], fage[32];
    fmt_age(fage, sizeof fage, jobs[fresh].pt.start);
    if (jobs[fresh].rc) {
        fprintf(stderr, CMD ": fresh peer %s could not be captured: no "
                "comparison\n", jobs[fresh].pt.name);
    } else if (pl.n == 1) {
        printf("\nonly one ready pod (%s): nothing to compare against\n",
               jobs[fresh].pt.name);
    } else {
        for (size_t i = 0; i < pl.n; i++) {
            if (i == fresh || jobs[i].rc)
                continue;
            fmt_age(age, sizeof age, jobs[i].pt.start);
            printf("\n== %s (age %s) vs fresh peer %s (age %s) ==\n",
                   jobs[i].pt.name, age, jobs[fresh].pt.name, fage);
            if (o->kind == CAP_KIND_METRICS) {
                long long a = jobs[i].res.goroutines;
                long long b = jobs[fresh].res.goroutines;
                printf("go_goroutines %lld vs %lld (%+lld)\n", a, b, a - b);
                continue;
            }
            char *argv[10];
            int argc = 0;
            argv[argc++] = (char *)"diff";
            if (o->json)
                argv[argc++] = (char *)"--json";
            if (o->max_decompressed_arg) {
                argv[argc++] = (char *)"--max-decompressed";
                argv[argc++] = (char *)o->max_decompressed_arg;
            }
            argv[argc++] = (char *)"--top";
            argv[argc++] = (char *)(o->top ? o->top : "10");
            argv[argc++] = jobs[fresh].written;
            argv[argc++] = jobs[i].written;
            argv[argc] = NULL;
            fflush(stdout);
            if (cmd_diff(argc, argv) != CLI_EXIT_OK)
                failed++;
            fflush(stdout);
        }
    }
    rc = failed ? CLI_EXIT_INPUT : CLI_EXIT_OK;
out:
    for (size_t i = 0; jobs && i < pl.n; i++)
        cap_result_free(&jobs[i].res);
    for (size_t i = 0; i < pl.n; i++)
        json_decref(pl.pods[i]);
    free(pl.pods);
    free(rs.uids);
    free(jobs);
    free(th);
    cap_scheduler_free(sched);
    return rc;
}

static int capture_pod(cap_cli *o, const char *name)
{
    char ens[600], ename[600], path[2048], err[2048];
    kube_escape(o->ns, ens, sizeof ens);
    kube_escape(name, ename, sizeof ename);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", ens, ename);
    kube_response r;
    memset(&r, 0, sizeof r);
    if (kube_get(o->kc, path, &r)) {
        fprintf(stderr, CMD ": pod %s/%s: %s\n", o->ns, name, r.error);
        kube_response_free(&r);
        return CLI_EXIT_INPUT;
    }
    pod_job j;
    memset(&j, 0, sizeof j);
    j.o = o;
    j.dir = ".";
    j.file = o->out;
    struct stat st;
    if (o->out && strcmp(o->out, "-") && stat(o->out, &st) == 0 &&
        S_ISDIR(st.st_mode)) {
        j.dir = o->out; /* -o DIR: the default name, in DIR */
        j.file = NULL;
    }
    if (resolve_target(o, r.json, &j.pt, err, sizeof err)) {
        fprintf(stderr, CMD ": %s\n", err);
        kube_response_free(&r);
        return CLI_EXIT_INPUT;
    }
    kube_response_free(&r);
    run_job(&j);
    int rc = CLI_EXIT_OK;
    if (j.rc) {
        fprintf(stderr, CMD ": %s\n", j.res.error);
        rc = CLI_EXIT_INPUT;
    } else {
        report_job(&j);
        if (strcmp(j.written, "-"))
            printf("%s\n", j.written);
        if (o->analyze)
            rc = analyze_file(o, &j);
    }
    cap_result_free(&j.res);
    return rc;
}

/* ---- main --------------------------------------------------------------- */

static int parse_args(cap_cli *o, int argc, char **argv, const char **what)
{
    cli_parser ps;
    cli_parser_init(&ps, CMD, argc, argv);
    const char *v;
    int id;
    while ((id = cli_next(&ps, opts, &v)) != CLI_END) {
        uint64_t u;
        switch (id) {
        case CLI_ERROR:
            return CLI_EXIT_USAGE;
        case CLI_ARG:
            if (*what) {
                fprintf(stderr, CMD ": takes one pod/NAME or deployment/NAME "
                        "(see --help)\n");
                return CLI_EXIT_USAGE;
            }
            *what = v;
            break;
        case CLI_OPT_HELP:
            usage(stdout);
            return -1;
        case CLI_OPT_JSON:
            o->json = true;
            break;
        case CLI_OPT_MAX_DECOMPRESSED:
            if (!cli_size(CMD, "--max-decompressed", v,
                          &o->max_decompressed))
                return CLI_EXIT_USAGE;
            if (!o->max_decompressed) {
                fprintf(stderr, CMD ": --max-decompressed: must be more "
                        "than 0\n");
                return CLI_EXIT_USAGE;
            }
            o->max_decompressed_arg = v;
            break;
        case OPT_NS: o->ns = v; break;
        case OPT_PORT:
            if (!all_digits(v) ? !*v : (atoi(v) < 1 || atoi(v) > 65535 ||
                                        strlen(v) > 5)) {
                fprintf(stderr, CMD ": --port: '%s' is not a port\n", v);
                return CLI_EXIT_USAGE;
            }
            o->port = v;
            break;
        case OPT_PATH:
            if (v[0] != '/' || strpbrk(v, " ?#\r\n\t")) {
                fprintf(stderr, CMD ": --path: '%s' must be an absolute path "
                        "without query\n", v);
                return CLI_EXIT_USAGE;
            }
            o->path = v;
            break;
        case OPT_SCHEME:
            if (strcmp(v, "http") && strcmp(v, "https")) {
                fprintf(stderr, CMD ": --scheme: '%s' is not http or https\n",
                        v);
                return CLI_EXIT_USAGE;
            }
            o->scheme = v;
            break;
        case OPT_TRANSPORT:
            if (cap_transport_parse(v, &o->transport)) {
                fprintf(stderr, CMD ": --transport: '%s' is not auto, direct, "
                        "portforward or proxy\n", v);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_KIND:
            if (cap_kind_parse(v, &o->kind)) {
                fprintf(stderr, CMD ": --kind: '%s' is not goroutine, "
                        "goroutine-debug1, goroutine-debug2, goroutine-proto, "
                        "goroutineleak or metrics\n", v);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_OUT: o->out = v; break;
        case OPT_KUBECONFIG: o->kubeconfig = v; break;
        case OPT_CONTEXT: o->context = v; break;
        case OPT_ANALYZE: o->analyze = true; break;
        case OPT_TIMEOUT:
            if (!cli_duration(CMD, "--timeout", v, &o->timeout_s))
                return CLI_EXIT_USAGE;
            if (o->timeout_s <= 0 || o->timeout_s > 86400) {
                fprintf(stderr, CMD ": --timeout: '%s' is out of range "
                        "(more than 0, at most 24h)\n", v);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_MAX_BYTES:
            if (!cli_size(CMD, "--max-bytes", v, &o->max_bytes))
                return CLI_EXIT_USAGE;
            if (!o->max_bytes) {
                fprintf(stderr, CMD ": --max-bytes: must be more than 0\n");
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_TOP:
            if (!cli_count(CMD, "--top", v, 1000000, &u))
                return CLI_EXIT_USAGE;
            o->top = v;
            break;
        default:
            /* The offline commands' shared options (ignore rules, parser
             * limits) are inspect's and diff's business. */
            fprintf(stderr, CMD ": of the analysis options only --json and "
                    "--max-decompressed apply to capture (see --help)\n");
            return CLI_EXIT_USAGE;
        }
    }
    return CLI_EXIT_OK;
}

int cmd_capture(int argc, char **argv)
{
    cap_cli o;
    memset(&o, 0, sizeof o);
    o.kind = CAP_KIND_GOROUTINE;
    const char *what = NULL;
    int rc = parse_args(&o, argc, argv, &what);
    if (rc == -1)
        return CLI_EXIT_OK;
    if (rc != CLI_EXIT_OK)
        return rc;
    if (!what) {
        fprintf(stderr, CMD ": missing pod/NAME or deployment/NAME\n");
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    bool deployment = false;
    const char *name = what;
    const char *slash = strchr(what, '/');
    if (slash) {
        size_t tl = (size_t)(slash - what);
        name = slash + 1;
        if ((tl == 3 && !strncmp(what, "pod", 3)) ||
            (tl == 4 && !strncmp(what, "pods", 4)) ||
            (tl == 2 && !strncmp(what, "po", 2))) {
            deployment = false;
        } else if ((tl == 10 && !strncmp(what, "deployment", 10)) ||
                   (tl == 11 && !strncmp(what, "deployments", 11)) ||
                   (tl == 6 && !strncmp(what, "deploy", 6))) {
            deployment = true;
        } else {
            fprintf(stderr, CMD ": '%s': only pod/NAME and deployment/NAME "
                    "are supported\n", what);
            return CLI_EXIT_USAGE;
        }
    }
    if (!*name || strchr(name, '/')) {
        fprintf(stderr, CMD ": '%s' does not name a pod or deployment\n",
                what);
        return CLI_EXIT_USAGE;
    }
    if (deployment && o.out && !strcmp(o.out, "-")) {
        fprintf(stderr, CMD ": -o - writes one capture; a deployment has one "
                "per pod (give a directory)\n");
        return CLI_EXIT_USAGE;
    }
    if (o.analyze && o.out && !strcmp(o.out, "-")) {
        fprintf(stderr, CMD ": --analyze needs a file (not -o -)\n");
        return CLI_EXIT_USAGE;
    }

    char err[1024];
    kube_config_opts co = {.kubeconfig = o.kubeconfig, .context = o.context};
    if (kube_config_load(&co, &o.cfg, err, sizeof err)) {
        fprintf(stderr, CMD ": %s\n", err);
        return CLI_EXIT_INPUT;
    }
    if (!o.ns)
        o.ns = o.cfg->namespace ? o.cfg->namespace : "default";
    kube_client_opts ko;
    kube_client_opts_default(&ko);
    o.kc = kube_client_new(o.cfg, &ko, err, sizeof err);
    if (!o.kc) {
        fprintf(stderr, CMD ": %s\n", err);
        kube_config_free(o.cfg);
        return CLI_EXIT_INPUT;
    }
    cap_options copts;
    cap_options_default(&copts);
    if (o.timeout_s > 0) {
        copts.timeout_ms = (long)(o.timeout_s * 1000);
        if (copts.timeout_ms < 1)
            copts.timeout_ms = 1;
        if (copts.stall_timeout_ms > copts.timeout_ms)
            copts.stall_timeout_ms = copts.timeout_ms;
        if (copts.connect_timeout_ms > copts.timeout_ms)
            copts.connect_timeout_ms = copts.timeout_ms;
    }
    if (o.max_bytes)
        copts.max_body_bytes = o.max_bytes;
    if (o.max_decompressed)
        copts.parse_limits.max_decompressed_bytes = o.max_decompressed;
    o.cap = cap_capturer_new(o.kc, &copts, err, sizeof err);
    if (!o.cap) {
        fprintf(stderr, CMD ": %s\n", err);
        rc = CLI_EXIT_INPUT;
    } else {
        rc = deployment ? capture_deployment(&o, name) : capture_pod(&o, name);
    }
    cap_capturer_free(o.cap);
    kube_client_free(o.kc);
    kube_config_free(o.cfg);
    return rc;
}
