/*
 * cmd_capture.c — `leakwatch capture`: fetch a goroutine profile (or the
 * go_goroutines gauge) from a pod, or from every ready pod of a Deployment
 * with a comparison against its freshest pod, and store the raw bytes the
 * pod served.
 *
 * Whom to capture — a pod's endpoint with --port/--path/--scheme on top,
 * a Deployment's serving pods and its fresh peer — is pkg/capture's
 * cap_pod.h, the fetch is capture.h's; this file parses options, writes
 * the files and prints.
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

#include "capture/cap_pod.h"
#include "capture/capture.h"
#include "cli_args.h"
#include "cmds.h"
#include "kube/kube.h"
#include "lw/lw_str.h"
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
    const cap_pod_target *pt;  /* whom to capture (borrowed)        */
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
                     "%s", j->pt->ns, j->pt->name, j->file, strerror(errno));
            j->rc = -1;
            return;
        }
    }
    if (to_stdout || special) {
        rq.out = special ? special : stdout;
        j->rc = cap_capture(o->cap, &j->pt->t, &rq, &j->res);
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
        if (out_open(&of, dir, j->pt->name)) {
            memset(&j->res, 0, sizeof j->res);
            j->res.status = CAP_ERR_OUTPUT;
            snprintf(j->res.error, sizeof j->res.error,
                     "pod %s/%s: cannot create a file in %.300s: %s", j->pt->ns,
                     j->pt->name, dir, strerror(errno));
            j->rc = -1;
            return;
        }
        rq.out = of.fp;
    }
    j->rc = cap_capture(o->cap, &j->pt->t, &rq, &j->res);
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
                 strcmp(j->dir, ".") ? "/" : "", j->pt->name,
                 cap_kind_name(j->res.kind), stamp, j->res.ext);
    }
    if (out_commit(&of, j->written)) {
        j->res.status = CAP_ERR_OUTPUT;
        snprintf(j->res.error, sizeof j->res.error, "pod %s/%s: writing %.300s: "
                 "%s", j->pt->ns, j->pt->name, j->written, strerror(errno));
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
            j->pt->ns, j->pt->name, cap_transport_name(r->transport),
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

/* Captures every target at once, one thread each (the scheduler keeps
 * per-node politeness); a thread that cannot start runs inline. */
static void run_jobs(pod_job *jobs, size_t n)
{
    pthread_t *th = calloc(n, sizeof *th);
    for (size_t i = 0; i < n; i++)
        if (!th || pthread_create(&th[i], NULL, job_thread, &jobs[i])) {
            run_job(&jobs[i]);
            if (th)
                th[i] = 0;
        }
    for (size_t i = 0; th && i < n; i++)
        if (th[i])
            pthread_join(th[i], NULL);
    free(th);
}

/* Every captured pod against the fresh peer, as `leakwatch diff FRESH POD`
 * prints it (or the go_goroutines figures); the number of failed diffs. */
static int compare_with_peer(const cap_cli *o, pod_job *jobs, size_t n,
                             size_t fresh)
{
    char age[32], fage[32];
    int failed = 0;
    fmt_age(fage, sizeof fage, jobs[fresh].pt->start_s);
    for (size_t i = 0; i < n; i++) {
        if (i == fresh || jobs[i].rc)
            continue;
        fmt_age(age, sizeof age, jobs[i].pt->start_s);
        printf("\n== %s (age %s) vs fresh peer %s (age %s) ==\n",
               jobs[i].pt->name, age, jobs[fresh].pt->name, fage);
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
    return failed;
}

static int capture_deployment(cap_cli *o, const char *name)
{
    const char *dir = o->out ? o->out : ".";
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, CMD ": -o %s: for a deployment, -o names an existing "
                "directory\n", dir);
        return CLI_EXIT_USAGE;
    }
    cap_overrides ov = {.port = o->port, .path = o->path, .scheme = o->scheme};
    cap_workload_targets tg;
    char err[2048];
    if (cap_workload_targets_get(o->kc, o->ns, "Deployment", name, &ov, &tg,
                                 err, sizeof err)) {
        fprintf(stderr, CMD ": %s\n", err);
        return CLI_EXIT_INPUT;
    }
    if (tg.n == 0) {
        fprintf(stderr, CMD ": deployment %s/%s has no ready pods\n", o->ns,
                name);
        cap_workload_targets_clear(&tg);
        return CLI_EXIT_INPUT;
    }
    int rc = CLI_EXIT_INPUT;
    pod_job *jobs = calloc(tg.n, sizeof *jobs);
    cap_scheduler *sched = cap_scheduler_new(8, 4);
    if (!jobs || !sched) {
        fprintf(stderr, CMD ": out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < tg.n; i++) {
        jobs[i].o = o;
        jobs[i].dir = dir;
        jobs[i].sched = sched;
        jobs[i].pt = &tg.v[i];
    }
    run_jobs(jobs, tg.n);
    int failed = 0;
    for (size_t i = 0; i < tg.n; i++) {
        if (jobs[i].rc) {
            fprintf(stderr, CMD ": %s\n", jobs[i].res.error);
            failed++;
            continue;
        }
        report_job(&jobs[i]);
        printf("%s\n", jobs[i].written);
    }
    size_t fresh = (size_t)tg.fresh;
    if (jobs[fresh].rc)
        fprintf(stderr, CMD ": fresh peer %s could not be captured: no "
                "comparison\n", jobs[fresh].pt->name);
    else if (tg.n == 1)
        printf("\nonly one ready pod (%s): nothing to compare against\n",
               jobs[fresh].pt->name);
    else
        failed += compare_with_peer(o, jobs, tg.n, fresh);
    rc = failed ? CLI_EXIT_INPUT : CLI_EXIT_OK;
out:
    for (size_t i = 0; jobs && i < tg.n; i++)
        cap_result_free(&jobs[i].res);
    free(jobs);
    cap_scheduler_free(sched);
    cap_workload_targets_clear(&tg);
    return rc;
}

static int capture_pod(cap_cli *o, const char *name)
{
    char ens[600], ename[600], path[2048], err[2048];
    lw_pct_encode(o->ns, ens, sizeof ens);
    lw_pct_encode(name, ename, sizeof ename);
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
    cap_overrides ov = {.port = o->port, .path = o->path, .scheme = o->scheme};
    cap_pod_target pt;
    j.pt = &pt;
    if (cap_pod_target_resolve(r.json, &ov, &pt, err, sizeof err)) {
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

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

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
