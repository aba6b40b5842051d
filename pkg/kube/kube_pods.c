/*
 * kube_pods.c — pod annotations resolved into a pprof endpoint, and the pod
 * facts callers need (see kube_pods.h).
 *
 * The annotation contract is DESIGN.md's.  Resolution is strict: an opted-in
 * pod whose annotations cannot be followed gets an error naming the
 * annotation, so `leakwatch scan` can show the user what to fix instead of
 * silently ignoring the pod.
 *
 * Not for: talking to the API server, owners and peers.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kube/kube.h"
#include "kube/kube_pods.h"
#include "lw/lw_text.h"

#define A_SCRAPE "leakwatch.dev/scrape"
#define A_PORT "leakwatch.dev/port"
#define A_PATH "leakwatch.dev/path"
#define A_SCHEME "leakwatch.dev/scheme"
#define A_CONTAIN "leakwatch.dev/containment"
#define G_SCRAPE "profiles.grafana.com/goroutine.scrape"
#define G_PORT "profiles.grafana.com/goroutine.port"
#define G_PORT_NAME "profiles.grafana.com/goroutine.port_name"
#define G_PATH "profiles.grafana.com/goroutine.path"
#define G_SCHEME "profiles.grafana.com/goroutine.scheme"

static const char *const default_port_names[] = {"pprof", "http-pprof",
                                                 "metrics", "http"};

static const char *annotation(const json_t *pod, const char *key)
{
    const json_t *ann = kube_json_get(pod, "metadata.annotations");
    const json_t *v = json_object_get(ann, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Annotation values go into one-line messages (scan output, JSON, Events):
 * shown as lw_text.h has it (controls, bytes that are not UTF-8, C1 and
 * bidi controls escaped visibly), plus the quote and the backslash as
 * \x22 and \x5c since the value is quoted; cut at a whole character, marked "...". */
static void shown(const char *v, char *out, size_t outlen)
{
    size_t o = 0, n = strlen(v), i = 0;
    size_t room = outlen - 4; /* "..." and the terminator stay free */
    bool cut = false;
    while (i < n && !cut) {
        size_t seg = strcspn(v + i, "\"\\");
        if (seg) {
            size_t want = lw_text_escaped_len(v + i, seg);
            size_t got = lw_text_escape(v + i, seg, out + o, room - o + 1);
            o += got;
            i += seg;
            cut = got < want;
        }
        if (!cut && i < n) { /* a quote or a backslash */
            cut = o + 4 > room;
            if (!cut) {
                snprintf(out + o, 5, "\\x%02x", (unsigned char)v[i]);
                o += 4;
                i++;
            }
        }
    }
    if (cut) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* "<annot>: <before><value, quoted safely><after>" */
static int fail(kube_pod_endpoint *ep, const char *annot, const char *before,
                const char *value, const char *after)
{
    char v[96];
    shown(value ? value : "", v, sizeof v);
    snprintf(ep->error, sizeof ep->error, "%s: %s%s%s", annot, before, v,
             after);
    return -1;
}

/* Kubernetes port names are IANA_SVC_NAMEs: 1-15 of [a-z0-9-], at least one
 * letter, no leading, trailing or doubled hyphen. */
static bool is_port_name(const char *s)
{
    size_t n = strlen(s);
    bool letter = false;
    if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '-' && s[i + 1] == '-')
            return false;
        if (islower((unsigned char)s[i]))
            letter = true;
        else if (!isdigit((unsigned char)s[i]) && s[i] != '-')
            return false;
    }
    return letter;
}

/* -1 when not all digits, 0 when out of range, else the port. */
static int parse_port(const char *s)
{
    if (!*s || strlen(s) > 6)
        return -1;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    long v = strtol(s, NULL, 10);
    return v >= 1 && v <= 65535 ? (int)v : 0;
}

typedef bool (*port_match)(const json_t *port, const void *want);

static bool match_name(const json_t *port, const void *want)
{
    const char *n = kube_json_str(port, "name");
    return n && !strcmp(n, want);
}

static bool match_number(const json_t *port, const void *want)
{
    const json_t *v = json_object_get(port, "containerPort");
    return json_is_integer(v) && json_integer_value(v) == *(const int *)want;
}

/* Searches the pod's containers (and restartable init containers, i.e.
 * sidecars) for a port; fills port, port_name and container. */
static bool find_port(const json_t *pod, port_match m, const void *want,
                      kube_pod_endpoint *ep)
{
    static const char *const lists[] = {"spec.containers",
                                        "spec.initContainers"};
    for (size_t l = 0; l < 2; l++) {
        const json_t *cs = kube_json_get(pod, lists[l]);
        size_t i, j;
        const json_t *c, *p;
        json_array_foreach(cs, i, c)
        {
            if (l == 1) {
                const char *rp = kube_json_str(c, "restartPolicy");
                if (!rp || strcmp(rp, "Always") != 0)
                    continue;
            }
            json_array_foreach(json_object_get(c, "ports"), j, p)
            {
                if (!m(p, want))
                    continue;
                const json_t *cp = json_object_get(p, "containerPort");
                if (!json_is_integer(cp) || json_integer_value(cp) < 1 ||
                    json_integer_value(cp) > 65535)
                    continue;
                const char *pn = kube_json_str(p, "name");
                const char *cn = kube_json_str(c, "name");
                ep->port = (int)json_integer_value(cp);
                snprintf(ep->port_name, sizeof ep->port_name, "%s",
                         pn ? pn : "");
                snprintf(ep->container, sizeof ep->container, "%s",
                         cn ? cn : "");
                return true;
            }
        }
    }
    return false;
}

static int resolve_port_number(const json_t *pod, kube_pod_endpoint *ep,
                               const char *annot, const char *v)
{
    int port = parse_port(v);
    if (port < 0)
        return fail(ep, annot, "\"", v, "\" is not a port number");
    if (port == 0)
        return fail(ep, annot, "", v, " is out of range (1-65535)");
    /* A number needs no declared port; name it when one is declared. */
    if (!find_port(pod, match_number, &port, ep)) {
        ep->port = port;
        ep->port_name[0] = ep->container[0] = '\0';
    }
    return 0;
}

static int resolve_port_name(const json_t *pod, kube_pod_endpoint *ep,
                             const char *annot, const char *v)
{
    if (!is_port_name(v))
        return fail(ep, annot, "\"", v,
                    "\" is neither a port number nor a container port name");
    if (!find_port(pod, match_name, v, ep))
        return fail(ep, annot, "no container port named \"", v, "\"");
    return 0;
}

int kube_pod_named_port(const json_t *pod, const char *name)
{
    kube_pod_endpoint ep;
    return find_port(pod, match_name, name, &ep) ? ep.port : 0;
}

/* The first default name declared; NULL when none is. */
static const char *default_port(const json_t *pod, kube_pod_endpoint *ep)
{
    for (size_t i = 0; i < sizeof default_port_names /
                               sizeof default_port_names[0];
         i++)
        if (find_port(pod, match_name, default_port_names[i], ep))
            return default_port_names[i];
    return NULL;
}

int kube_pod_default_port(const json_t *pod)
{
    kube_pod_endpoint ep;
    return default_port(pod, &ep) ? ep.port : 0;
}

static int resolve_default_port(const json_t *pod, kube_pod_endpoint *ep,
                                const char *annot)
{
    if (default_port(pod, ep))
        return 0;
    snprintf(ep->error, sizeof ep->error,
             "%s is not set and no container port is named pprof, "
             "http-pprof, metrics or http",
             annot);
    return -1;
}

static int resolve_scheme(kube_pod_endpoint *ep, const char *annot,
                          const char *v)
{
    if (!v || !strcasecmp(v, "http"))
        snprintf(ep->scheme, sizeof ep->scheme, "http");
    else if (!strcasecmp(v, "https"))
        snprintf(ep->scheme, sizeof ep->scheme, "https");
    else
        return fail(ep, annot, "\"", v, "\" is not http or https");
    return 0;
}

static int check_path(kube_pod_endpoint *ep, const char *annot, const char *v)
{
    if (v[0] != '/')
        return fail(ep, annot, "\"", v, "\" does not start with /");
    if (strlen(v) >= 200)
        return fail(ep, annot, "\"", v, "\" is longer than 199 characters");
    for (const char *p = v; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= ' ' || ch >= 0x7f || ch == '?' || ch == '#' || ch == '%')
            return fail(ep, annot, "\"", v,
                        "\" is not a plain URL path (no spaces, ?, # or "
                        "%-escapes)");
    }
    return 0;
}

static void set_paths(kube_pod_endpoint *ep, const char *base,
                      const char *goroutine)
{
    snprintf(ep->path, sizeof ep->path, "%s", base);
    size_t n = strlen(ep->path);
    while (n > 0 && ep->path[n - 1] == '/')
        ep->path[--n] = '\0';
    if (goroutine)
        snprintf(ep->goroutine_path, sizeof ep->goroutine_path, "%s",
                 goroutine);
    else
        snprintf(ep->goroutine_path, sizeof ep->goroutine_path, "%s/goroutine",
                 ep->path);
}

static int resolve_leakwatch(const json_t *pod, kube_pod_endpoint *ep)
{
    const char *port = annotation(pod, A_PORT);
    const char *path = annotation(pod, A_PATH);
    int rc;
    if (port && *port)
        rc = parse_port(port) != -1 ? resolve_port_number(pod, ep, A_PORT, port)
                                    : resolve_port_name(pod, ep, A_PORT, port);
    else
        rc = resolve_default_port(pod, ep, A_PORT);
    if (rc)
        return -1;
    if (path && check_path(ep, A_PATH, path))
        return -1;
    set_paths(ep, path ? path : "/debug/pprof", NULL);
    return resolve_scheme(ep, A_SCHEME, annotation(pod, A_SCHEME));
}

static int resolve_grafana(const json_t *pod, kube_pod_endpoint *ep)
{
    const char *port = annotation(pod, G_PORT);
    const char *name = annotation(pod, G_PORT_NAME);
    const char *path = annotation(pod, G_PATH);
    int rc;
    if (port && *port)
        rc = resolve_port_number(pod, ep, G_PORT, port);
    else if (name && *name)
        rc = resolve_port_name(pod, ep, G_PORT_NAME, name);
    else
        rc = resolve_default_port(pod, ep, G_PORT);
    if (rc)
        return -1;
    /* Grafana's path names the profile itself (default
     * /debug/pprof/goroutine); the base is what precedes its last part. */
    const char *full = path ? path : "/debug/pprof/goroutine";
    if (path && check_path(ep, G_PATH, path))
        return -1;
    char base[256];
    snprintf(base, sizeof base, "%s", full);
    size_t n = strlen(base);
    while (n > 1 && base[n - 1] == '/')
        base[--n] = '\0';
    char *slash = strrchr(base, '/');
    if (slash)
        *slash = '\0';
    set_paths(ep, base, full);
    return resolve_scheme(ep, G_SCHEME, annotation(pod, G_SCHEME));
}

/* 1 true, 0 false, -1 neither. */
static int truth(const char *v)
{
    if (!strcasecmp(v, "true"))
        return 1;
    if (!strcasecmp(v, "false"))
        return 0;
    return -1;
}

int kube_pod_endpoint_resolve(const json_t *pod, kube_pod_endpoint *ep)
{
    memset(ep, 0, sizeof *ep);
    const char *lw = annotation(pod, A_SCRAPE);
    const char *gf = annotation(pod, G_SCRAPE);
    const char *key = NULL, *val = NULL;
    if (lw) {
        key = A_SCRAPE;
        val = lw;
    } else if (gf) {
        key = G_SCRAPE;
        val = gf;
    } else {
        return 0;
    }
    int t = truth(val);
    if (t == 0)
        return 0;
    ep->source = lw ? KUBE_SCRAPE_LEAKWATCH : KUBE_SCRAPE_GRAFANA;
    if (t < 0)
        return fail(ep, key, "\"", val, "\" is not \"true\" or \"false\"");
    int rc = ep->source == KUBE_SCRAPE_LEAKWATCH ? resolve_leakwatch(pod, ep)
                                                 : resolve_grafana(pod, ep);
    if (rc)
        return -1;
    const char *cont = annotation(pod, A_CONTAIN);
    if (cont && !strcasecmp(cont, "restart"))
        ep->containment_restart = true;
    else if (cont && *cont && strcasecmp(cont, "none") != 0 &&
             strcasecmp(cont, "report") != 0)
        return fail(ep, A_CONTAIN, "\"", cont,
                    "\" is not \"restart\" or \"none\"");
    return 1;
}

void kube_pod_endpoint_url(const kube_pod_endpoint *ep, const char *ip,
                           const char *path, const char *suffix, char *out,
                           size_t outlen)
{
    if (!outlen)
        return;
    if (!ip || !*ip) {
        out[0] = '\0';
        return;
    }
    bool v6 = strchr(ip, ':') != NULL;
    snprintf(out, outlen, "%s://%s%s%s:%d%s%s", ep->scheme, v6 ? "[" : "", ip,
             v6 ? "]" : "", ep->port, path ? path : ep->path,
             suffix ? suffix : "");
}

bool kube_pod_ready(const json_t *pod)
{
    size_t i;
    const json_t *c;
    json_array_foreach(kube_json_get(pod, "status.conditions"), i, c)
    {
        const char *t = kube_json_str(c, "type");
        const char *s = kube_json_str(c, "status");
        if (t && !strcmp(t, "Ready"))
            return s && !strcmp(s, "True");
    }
    return false;
}

void kube_pod_container_counts(const json_t *pod, int *ready, int *total)
{
    *ready = 0;
    const json_t *spec = kube_json_get(pod, "spec.containers");
    *total = (int)json_array_size(spec);
    size_t i, j;
    const json_t *c, *sc;
    /* Only statuses of containers the spec declares count, each once: a
     * status list out of step with the spec (a server mid-update, or one
     * that lies) must not show "3/1". */
    json_array_foreach(spec, j, sc)
    {
        const char *name = kube_json_str(sc, "name");
        json_array_foreach(kube_json_get(pod, "status.containerStatuses"), i, c)
        {
            const char *sn = kube_json_str(c, "name");
            if (name && sn && !strcmp(name, sn)) {
                if (json_is_true(json_object_get(c, "ready")))
                    (*ready)++;
                break;
            }
        }
    }
}

const char *kube_pod_phase(const json_t *pod)
{
    const char *p = kube_json_str(pod, "status.phase");
    return p ? p : "";
}

int64_t kube_pod_start_time(const json_t *pod)
{
    const char *s = kube_json_str(pod, "status.startTime");
    int64_t t = s ? kube_parse_time(s) : -1;
    if (t < 0) {
        s = kube_json_str(pod, "metadata.creationTimestamp");
        t = s ? kube_parse_time(s) : -1;
    }
    return t;
}

const char *kube_pod_ip(const json_t *pod)
{
    const char *p = kube_json_str(pod, "status.podIP");
    return p ? p : "";
}

const char *kube_pod_node(const json_t *pod)
{
    const char *p = kube_json_str(pod, "spec.nodeName");
    return p ? p : "";
}

bool kube_pod_terminating(const json_t *pod)
{
    return kube_json_str(pod, "metadata.deletionTimestamp") != NULL;
}

int kube_pod_restarts(const json_t *pod)
{
    int n = 0;
    size_t i;
    const json_t *c;
    json_array_foreach(kube_json_get(pod, "status.containerStatuses"), i, c)
    {
        const json_t *r = json_object_get(c, "restartCount");
        if (json_is_integer(r) && json_integer_value(r) > 0 &&
            json_integer_value(r) < 1000000)
            n += (int)json_integer_value(r);
    }
    return n;
}

const char *kube_pod_revision_hash(const json_t *pod)
{
    const char *h = kube_json_str(pod, "metadata.labels.pod-template-hash");
    if (!h || !*h)
        h = kube_json_str(pod, "metadata.labels.controller-revision-hash");
    return h ? h : "";
}

void kube_pod_images(const json_t *pod, char *out, size_t outlen)
{
    size_t len = 0, i;
    const json_t *c;
    if (!outlen)
        return;
    out[0] = '\0';
    json_array_foreach(kube_json_get(pod, "spec.containers"), i, c)
    {
        const char *img = json_string_value(json_object_get(c, "image"));
        if (!img || !*img)
            continue;
        /* The last path element keeps name and tag (or digest); the
         * registry and team path say nothing about the version. */
        const char *slash = strrchr(img, '/');
        const char *at = strchr(img, '@');
        if (slash && (!at || slash < at))
            img = slash + 1;
        int n = snprintf(out + len, outlen - len, "%s%s", len ? "," : "", img);
        if (n < 0 || (size_t)n >= outlen - len) {
            out[len] = '\0';
            return;
        }
        len += (size_t)n;
    }
}
