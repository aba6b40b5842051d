/*
 * cmd_scan.c — `leakwatch scan`: the pods leakwatch would watch, as the
 * controller would see them: every opted-in pod (leakwatch.dev or Grafana
 * annotations) with its resolved pprof endpoint or the annotation error,
 * its workload, its peers (the other opted-in pods of that workload),
 * readiness and age.  A dry run of discovery that users run before
 * deploying the controller, and after, to see why a pod is not watched.
 *
 * Not for: capturing profiles (pkg/capture) or deciding anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_args.h"
#include "cmds.h"
#include "kube/kube.h"
#include "kube/kube_pods.h"
#include "kube/kube_objects.h"
#include "lw/lw_grow.h"
#include "lw/lw_str.h"
#include "lw/lw_utf8.h"

typedef struct scan_opts {
    const char *ns, *kubeconfig, *context, *selector;
    bool all, json;
} scan_opts;

typedef struct scan_pod {
    json_t *pod; /* owned reference */
    const char *ns, *name;
    kube_pod_endpoint ep;
    int ep_rc;
    kube_owner owner;
} scan_pod;

typedef struct scan_set {
    scan_pod *pods;
    size_t n, cap;
} scan_set;

/* ReplicaSet lookups are shared by all pods of a revision. */
typedef struct owner_memo {
    char ns[254], rs[254];
    kube_owner owner;
} owner_memo;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: leakwatch scan [-n NAMESPACE | -A] [-l SELECTOR] [--json]\n"
            "                      [--kubeconfig FILE] [--context NAME]\n\n"
            "Lists the pods leakwatch would watch: pods annotated\n"
            "leakwatch.dev/scrape: \"true\" (or profiles.grafana.com/"
            "goroutine.scrape),\n"
            "their pprof endpoint or what is wrong with their annotations, "
            "their\n"
            "workload and peers, readiness and age.\n\n"
            "  -n, --namespace NS   namespace (default: the context's)\n"
            "  -A, --all-namespaces every namespace\n"
            "  -l, --selector SEL   label selector, as kubectl takes it\n"
            "      --json           a JSON array instead of a table\n"
            "      --kubeconfig F   kubeconfig file (default: $KUBECONFIG, "
            "~/.kube/config)\n"
            "      --context NAME   kubeconfig context\n\n"
            "Exit status: 0 listed, 1 usage error, 2 configuration or API "
            "error.\n");
}

enum { OPT_ALL = 1, OPT_NAMESPACE, OPT_SELECTOR, OPT_KUBECONFIG, OPT_CONTEXT };

/* scan's own options; --help and --json come from cli_common_opts. */
static const cli_opt opts[] = {
    {"--all-namespaces", false, OPT_ALL},
    {"-A", false, OPT_ALL},
    {"--namespace", true, OPT_NAMESPACE},
    {"-n", true, OPT_NAMESPACE},
    {"--selector", true, OPT_SELECTOR},
    {"-l", true, OPT_SELECTOR},
    {"--kubeconfig", true, OPT_KUBECONFIG},
    {"--context", true, OPT_CONTEXT},
    {NULL, false, 0},
};

/* An option's long name, from the table, for messages. */
static const char *long_name(int id)
{
    for (const cli_opt *o = opts; o->name; o++)
        if (o->id == id && o->name[1] == '-')
            return o->name;
    return "option";
}

/* 0 after --help, 1 on a usage error, -1 to go on. */
static int parse_args(int argc, char **argv, scan_opts *o)
{
    cli_parser ps;
    cli_parser_init(&ps, "leakwatch scan", argc, argv);
    const char *v;
    int id;
    while ((id = cli_next(&ps, opts, &v)) != CLI_END) {
        const char **dst = NULL;
        switch (id) {
        case CLI_ERROR:
            return 1;
        case CLI_ARG:
            fprintf(stderr, "leakwatch scan: unknown argument '%s'\n", v);
            return 1;
        case CLI_OPT_HELP:
            usage(stdout);
            return 0;
        case CLI_OPT_JSON:
            o->json = true;
            continue;
        case OPT_ALL:
            o->all = true;
            continue;
        case OPT_NAMESPACE:
            dst = &o->ns;
            break;
        case OPT_SELECTOR:
            dst = &o->selector;
            break;
        case OPT_KUBECONFIG:
            dst = &o->kubeconfig;
            break;
        case OPT_CONTEXT:
            dst = &o->context;
            break;
        default:
            /* The offline commands' shared options (parser limits,
             * ignore rules) have nothing to act on in a listing. */
            fprintf(stderr, "leakwatch scan: of the analysis options only "
                    "--json applies to scan (see --help)\n");
            return 1;
        }
        if (!*v) {
            fprintf(stderr, "leakwatch scan: %s needs a non-empty value\n",
                    long_name(id));
            return 1;
        }
        *dst = v;
    }
    if (o->all && o->ns) {
        fprintf(stderr, "leakwatch scan: -n and -A exclude each other\n");
        return 1;
    }
    return -1; /* go on */
}

static int collect(json_t *item, void *ud)
{
    scan_set *s = ud;
    kube_pod_endpoint ep;
    int rc = kube_pod_endpoint_resolve(item, &ep);
    if (rc == 0)
        return 0;
    if (lw_grow(&s->pods, &s->cap, s->n, sizeof *s->pods, 32))
        return 2; /* not -1: that is kube_list's API-error value */
    scan_pod *p = &s->pods[s->n++];
    memset(p, 0, sizeof *p);
    p->pod = json_incref(item);
    p->ns = kube_json_str(item, "metadata.namespace");
    p->name = kube_json_str(item, "metadata.name");
    if (!p->ns)
        p->ns = "";
    if (!p->name)
        p->name = "";
    p->ep = ep;
    p->ep_rc = rc;
    return 0;
}

static int cmp_pod(const void *a, const void *b)
{
    const scan_pod *x = a, *y = b;
    int c = strcmp(x->ns, y->ns);
    return c ? c : strcmp(x->name, y->name);
}

/* Owners for every pod; ReplicaSet lookups memoised.  An RS we may not
 * read leaves the RS as the workload, with one warning. */
static void resolve_owners(kube_client *c, scan_set *s)
{
    owner_memo *memo = NULL;
    size_t nmemo = 0;
    bool warned = false;
    for (size_t i = 0; i < s->n; i++) {
        scan_pod *p = &s->pods[i];
        kube_owner ref;
        kube_controller_ref(p->pod, &ref);
        const char *rs = ref.name;
        bool is_rs = rs[0] && !strcmp(ref.kind, "ReplicaSet");
        size_t m;
        for (m = 0; is_rs && m < nmemo; m++)
            if (!strcmp(memo[m].ns, p->ns) && !strcmp(memo[m].rs, rs))
                break;
        if (is_rs && m < nmemo) {
            p->owner = memo[m].owner;
            continue;
        }
        kube_response r;
        if (kube_resolve_owner(c, p->pod, &p->owner, &r) != 0) {
            if (!warned)
                fprintf(stderr,
                        "leakwatch scan: warning: cannot read ReplicaSet "
                        "%s/%s (%s); its pods are grouped by ReplicaSet\n",
                        p->ns, rs, r.error);
            warned = true;
            kube_response_free(&r);
            /* kube_resolve_owner left the direct controller in owner. */
        }
        if (is_rs) {
            owner_memo *nm = realloc(memo, (nmemo + 1) * sizeof *nm);
            if (nm) {
                memo = nm;
                snprintf(memo[nmemo].ns, sizeof memo[nmemo].ns, "%s", p->ns);
                snprintf(memo[nmemo].rs, sizeof memo[nmemo].rs, "%s", rs);
                memo[nmemo].owner = p->owner;
                nmemo++;
            }
        }
    }
    free(memo);
}

static bool same_workload(const scan_pod *a, const scan_pod *b)
{
    return a != b && a->owner.kind[0] && !strcmp(a->ns, b->ns) &&
           !strcmp(a->owner.kind, b->owner.kind) &&
           !strcmp(a->owner.name, b->owner.name);
}

/* kubectl's HumanDuration, so AGE reads the same as `kubectl get pods`. */
static void human_age(int64_t secs, char *out, size_t outlen)
{
    if (secs < 0) {
        snprintf(out, outlen, "<unknown>");
        return;
    }
    int64_t m = secs / 60, h = secs / 3600, d = secs / 86400;
    if (secs < 120)
        snprintf(out, outlen, "%llds", (long long)secs);
    else if (m < 10)
        snprintf(out, outlen, "%lldm%llds", (long long)m,
                 (long long)(secs % 60));
    else if (m < 180)
        snprintf(out, outlen, "%lldm", (long long)m);
    else if (h < 8)
        snprintf(out, outlen, "%lldh%lldm", (long long)h, (long long)(m % 60));
    else if (h < 48)
        snprintf(out, outlen, "%lldh", (long long)h);
    else if (h < 24 * 8)
        snprintf(out, outlen, "%lldd%lldh", (long long)d, (long long)(h % 24));
    else if (d < 365 * 2)
        snprintf(out, outlen, "%lldd", (long long)d);
    else
        snprintf(out, outlen, "%lldy", (long long)(d / 365));
}

static const char *source_name(kube_scrape_source s)
{
    return s == KUBE_SCRAPE_GRAFANA ? "profiles.grafana.com" : "leakwatch.dev";
}

static void endpoint_text(const scan_pod *p, char *out, size_t outlen)
{
    if (p->ep_rc < 0) {
        snprintf(out, outlen, "error: %s", p->ep.error);
        return;
    }
    const char *ip = kube_pod_ip(p->pod);
    kube_pod_endpoint_url(&p->ep, *ip ? ip : "<no-ip>", p->ep.path, NULL, out,
                          outlen);
}

static json_t *pod_json(const scan_set *s, const scan_pod *p, int64_t now)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    const char *uid = kube_json_str(p->pod, "metadata.uid");
    json_object_set_new(o, "namespace", json_string(p->ns));
    json_object_set_new(o, "name", json_string(p->name));
    json_object_set_new(o, "uid", json_string(uid ? uid : ""));
    json_object_set_new(o, "source", json_string(source_name(p->ep.source)));
    if (p->ep_rc > 0) {
        char url[512];
        const char *ip = kube_pod_ip(p->pod);
        kube_pod_endpoint_url(&p->ep, ip, p->ep.path, NULL, url, sizeof url);
        json_object_set_new(
            o, "endpoint",
            json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s?}", "scheme",
                      p->ep.scheme, "port", p->ep.port, "port_name",
                      p->ep.port_name, "container", p->ep.container, "path",
                      p->ep.path, "goroutine_path", p->ep.goroutine_path, "url",
                      *url ? url : NULL));
        json_object_set_new(o, "error", json_null());
    } else {
        json_object_set_new(o, "endpoint", json_null());
        json_object_set_new(o, "error", lw_json_string(p->ep.error));
    }
    json_object_set_new(o, "containment",
                        json_string(p->ep.containment_restart ? "restart"
                                                              : "none"));
    if (p->owner.kind[0])
        json_object_set_new(o, "workload",
                            json_pack("{s:s, s:s}", "kind", p->owner.kind,
                                      "name", p->owner.name));
    else
        json_object_set_new(o, "workload", json_null());
    json_t *peers = json_array();
    for (size_t j = 0; j < s->n; j++)
        if (same_workload(&s->pods[j], p))
            json_array_append_new(peers, json_string(s->pods[j].name));
    json_object_set_new(o, "peers", peers);
    int rd, tot;
    kube_pod_container_counts(p->pod, &rd, &tot);
    char cr[32];
    snprintf(cr, sizeof cr, "%d/%d", rd, tot);
    json_object_set_new(o, "ready", json_boolean(kube_pod_ready(p->pod)));
    json_object_set_new(o, "containers_ready", json_string(cr));
    json_object_set_new(o, "phase", json_string(kube_pod_phase(p->pod)));
    json_object_set_new(o, "terminating",
                        json_boolean(kube_pod_terminating(p->pod)));
    json_object_set_new(o, "pod_ip", json_string(kube_pod_ip(p->pod)));
    json_object_set_new(o, "node", json_string(kube_pod_node(p->pod)));
    json_object_set_new(o, "restarts",
                        json_integer(kube_pod_restarts(p->pod)));
    int64_t st = kube_pod_start_time(p->pod);
    if (st >= 0) {
        char ts[40];
        kube_format_time(st, ts, sizeof ts);
        json_object_set_new(o, "start_time", json_string(ts));
        json_object_set_new(o, "age_seconds",
                            json_integer(now >= st ? now - st : 0));
    } else {
        json_object_set_new(o, "start_time", json_null());
        json_object_set_new(o, "age_seconds", json_null());
    }
    return o;
}

static int print_json(const scan_set *s, int64_t now)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < s->n; i++) {
        json_t *o = pod_json(s, &s->pods[i], now);
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    char *txt = arr ? json_dumps(arr, JSON_INDENT(2)) : NULL;
    json_decref(arr);
    if (!txt) {
        fprintf(stderr, "leakwatch scan: out of memory\n");
        return 2;
    }
    printf("%s\n", txt);
    free(txt);
    return 0;
}

#define NCOLS 8
#define CELL 640
enum { C_NS, C_NAME, C_READY, C_STATUS, C_AGE, C_WORKLOAD, C_PEERS, C_EP };

static void peers_text(const scan_set *s, const scan_pod *p, char *out,
                       size_t outlen)
{
    size_t n = 0, shownp = 0, o = 0;
    out[0] = '\0';
    for (size_t j = 0; j < s->n; j++) {
        if (!same_workload(&s->pods[j], p))
            continue;
        n++;
        if (shownp < 3) {
            o += (size_t)snprintf(out + o, o < outlen ? outlen - o : 0, "%s%s",
                                  shownp ? "," : "", s->pods[j].name);
            shownp++;
        }
    }
    if (n == 0)
        snprintf(out, outlen, "<none>");
    else if (n > shownp && o < outlen)
        snprintf(out + o, outlen - o, " +%zu more", n - shownp);
}

static int print_table(const scan_set *s, const scan_opts *o, int64_t now)
{
    static const char *const head[NCOLS] = {"NAMESPACE", "NAME",     "READY",
                                            "STATUS",    "AGE",      "WORKLOAD",
                                            "PEERS",     "ENDPOINT"};
    char(*cells)[NCOLS][CELL] = calloc(s->n ? s->n : 1, sizeof *cells);
    if (!cells) {
        fprintf(stderr, "leakwatch scan: out of memory\n");
        return 2;
    }
    size_t w[NCOLS];
    for (int k = 0; k < NCOLS; k++)
        w[k] = strlen(head[k]);
    for (size_t i = 0; i < s->n; i++) {
        const scan_pod *p = &s->pods[i];
        char(*c)[CELL] = cells[i];
        int rd, tot;
        kube_pod_container_counts(p->pod, &rd, &tot);
        snprintf(c[C_NS], CELL, "%s", p->ns);
        snprintf(c[C_NAME], CELL, "%s", p->name);
        snprintf(c[C_READY], CELL, "%d/%d", rd, tot);
        snprintf(c[C_STATUS], CELL, "%s",
                 kube_pod_terminating(p->pod)
                     ? "Terminating"
                     : *kube_pod_phase(p->pod) ? kube_pod_phase(p->pod)
                                               : "Unknown");
        int64_t st = kube_pod_start_time(p->pod);
        human_age(st >= 0 ? (now >= st ? now - st : 0) : -1, c[C_AGE], CELL);
        if (p->owner.kind[0])
            snprintf(c[C_WORKLOAD], CELL, "%s/%.255s", p->owner.kind,
                     p->owner.name);
        else
            snprintf(c[C_WORKLOAD], CELL, "<none>");
        peers_text(s, p, c[C_PEERS], CELL);
        endpoint_text(p, c[C_EP], CELL);
        for (int k = 0; k < NCOLS; k++)
            if (strlen(c[k]) > w[k])
                w[k] = strlen(c[k]);
    }
    int first = o->all ? C_NS : C_NAME;
    for (int k = first; k < NCOLS; k++) {
        if (k == NCOLS - 1)
            printf("%s\n", head[k]);
        else
            printf("%-*s   ", (int)w[k], head[k]);
    }
    for (size_t i = 0; i < s->n; i++)
        for (int k = first; k < NCOLS; k++) {
            if (k == NCOLS - 1)
                printf("%s\n", cells[i][k]);
            else
                printf("%-*s   ", (int)w[k], cells[i][k]);
        }
    free(cells);
    return 0;
}

int cmd_scan(int argc, char **argv)
{
    scan_opts o = {0};
    int prc = parse_args(argc, argv, &o);
    if (prc >= 0)
        return prc; /* errors are one line, as every command's */
    char err[1024];
    kube_config_opts co = {.kubeconfig = o.kubeconfig, .context = o.context};
    kube_config *cfg = NULL;
    if (kube_config_load(&co, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "leakwatch scan: %s\n", err);
        return 2;
    }
    kube_client *c = kube_client_new(cfg, NULL, err, sizeof err);
    if (!c) {
        fprintf(stderr, "leakwatch scan: %s\n", err);
        kube_config_free(cfg);
        return 2;
    }
    const char *ns = o.ns ? o.ns : cfg->namespace;
    char path[2048], ens[CELL], esel[1024] = "";
    lw_pct_encode(ns, ens, sizeof ens);
    if (o.selector)
        lw_pct_encode(o.selector, esel, sizeof esel);
    if (o.all)
        snprintf(path, sizeof path, "/api/v1/pods%s%s",
                 o.selector ? "?labelSelector=" : "", esel);
    else
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods%s%s", ens,
                 o.selector ? "?labelSelector=" : "", esel);
    scan_set s = {0};
    kube_response r;
    int rc = 0;
    int lrc = kube_list(c, path, 500, collect, &s, NULL, 0, &r);
    if (lrc != 0) {
        if (lrc == -1 && r.error[0])
            fprintf(stderr, "leakwatch scan: %s\n", r.error);
        else
            fprintf(stderr, "leakwatch scan: listing pods: out of memory\n");
        kube_response_free(&r);
        rc = 2;
    } else {
        resolve_owners(c, &s);
        if (s.n > 1)
            qsort(s.pods, s.n, sizeof *s.pods, cmp_pod);
        int64_t now = (int64_t)time(NULL);
        if (o.json) {
            rc = print_json(&s, now);
        } else if (s.n == 0) {
            if (o.all)
                fprintf(stderr, "No annotated pods found.\n");
            else
                fprintf(stderr, "No annotated pods found in namespace %s.\n",
                        ns);
        } else {
            rc = print_table(&s, &o, now);
        }
    }
    for (size_t i = 0; i < s.n; i++)
        json_decref(s.pods[i].pod);
    free(s.pods);
    kube_client_free(c);
    kube_config_free(cfg);
    return rc;
}
