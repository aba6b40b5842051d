/*
 * cnt_units.c — the units containment speaks: Kubernetes memory
 * quantities, sizes and durations written for Event messages, and the
 * memory limit of the container a leak will eventually OOM-kill.
 *
 * Not for: parsing quantities (lw_units.h, the grammar every option shares)
 * or deciding anything (cnt_urgency.c, cnt_decide.c).
 */
#include "contain/cnt_plan.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/kube_pods.h"
#include "lw/lw_units.h"

/* ---- quantities --------------------------------------------------------- */

void cnt_format_quantity(int64_t bytes, char *out, size_t outlen)
{
    static const char *bin[] = {"Ei", "Pi", "Ti", "Gi", "Mi", "Ki"};
    static const char *dec[] = {"E", "P", "T", "G", "M", "k"};
    if (bytes <= 0) {
        snprintf(out, outlen, "%lld", (long long)(bytes < 0 ? 0 : bytes));
        return;
    }
    for (int i = 0; i < 6; i++) {
        int64_t unit = (int64_t)1 << (10 * (6 - i));
        if (bytes % unit == 0) {
            snprintf(out, outlen, "%lld%s", (long long)(bytes / unit), bin[i]);
            return;
        }
    }
    int64_t unit = 1000000000000000000LL;
    for (int i = 0; i < 6; i++, unit /= 1000)
        if (bytes % unit == 0) {
            snprintf(out, outlen, "%lld%s", (long long)(bytes / unit), dec[i]);
            return;
        }
    if (bytes < 1024) {
        snprintf(out, outlen, "%lld", (long long)bytes);
        return;
    }
    int i = 5;
    while (i > 0 && bytes >= ((int64_t)1 << (10 * (6 - i + 1))))
        i--;
    double v = (double)bytes / (double)((int64_t)1 << (10 * (6 - i)));
    snprintf(out, outlen, "%.1f%s", v, bin[i]);
}

void cnt_format_size(double bytes, char *out, size_t outlen)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    if (u == 0 || fabs(bytes - round(bytes)) < 0.05)
        snprintf(out, outlen, "%.0f %s", round(bytes), units[u]);
    else
        snprintf(out, outlen, "%.1f %s", bytes, units[u]);
}

void cnt_format_duration(double seconds, char *out, size_t outlen)
{
    if (!(seconds < 1e15)) { /* also NaN */
        snprintf(out, outlen, "never");
        return;
    }
    if (seconds < 0)
        seconds = 0;
    long long s = (long long)seconds;
    long long d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;
    long long sec = s % 60;
    if (d > 999)
        snprintf(out, outlen, ">999d");
    else if (d)
        snprintf(out, outlen, h ? "%lldd%lldh" : "%lldd", d, h);
    else if (h)
        snprintf(out, outlen, m ? "%lldh%lldm" : "%lldh", h, m);
    else if (m)
        snprintf(out, outlen, sec && m < 10 ? "%lldm%llds" : "%lldm", m, sec);
    else
        snprintf(out, outlen, "%llds", sec);
}

/* ---- text ----------------------------------------------------------------- */

void cnt_utf8_trim(char *s)
{
    size_t n = strlen(s), i = n;
    /* Step back over continuation bytes to the last sequence's lead. */
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && n - i < 3)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (lead >= 0x80 && n - (i - 1) < want)
        s[i - 1] = '\0';
}

/* ---- the pod's memory limit --------------------------------------------- */

/* 1 with the limit, 0 when the container has none, -1 when it does not
 * parse. */
static int container_limit(const json_t *ctr, int64_t *bytes, const char **text,
                           char *err, size_t errlen)
{
    const char *q = kube_json_str(ctr, "resources.limits.memory");
    const json_t *num = kube_json_get(ctr, "resources.limits.memory");
    const char *name = kube_json_str(ctr, "name");
    char buf[64];
    if (!q && json_is_integer(num)) { /* a number where a string belongs */
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(num));
        q = buf;
    }
    if (!q)
        return 0;
    if (lw_quantity_parse(q, bytes)) {
        snprintf(err, errlen, "container %s: resources.limits.memory \"%.40s\" "
                 "is not a quantity", name ? name : "?", q);
        return -1;
    }
    *text = q == buf ? NULL : q;
    return 1;
}

int cnt_pod_memory_limit(const json_t *pod, cnt_mem_limit *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (!pod)
        return 0;
    const json_t *ctrs = kube_json_get(pod, "spec.containers");
    size_t n = json_array_size(ctrs);

    /* The container that serves pprof is the Go process that leaks. */
    const char *target = NULL;
    kube_pod_endpoint ep;
    if (kube_pod_endpoint_resolve(pod, &ep) == 1 && ep.container[0])
        target = ep.container;
    else if (n == 1)
        target = kube_json_str(json_array_get(ctrs, 0), "name");

    int found = 0;
    if (target) {
        for (size_t i = 0; i < n; i++) {
            const json_t *c = json_array_get(ctrs, i);
            const char *name = kube_json_str(c, "name");
            if (!name || strcmp(name, target))
                continue;
            const char *text = NULL;
            int rc = container_limit(c, &out->bytes, &text, err, errlen);
            if (rc < 0)
                return -1;
            if (rc > 0) {
                found = 1;
                snprintf(out->text, sizeof out->text, "%s", text ? text : "");
                snprintf(out->source, sizeof out->source, "container %s", name);
            }
            break;
        }
    } else if (n > 1) {
        /* Which container leaks is unknown: only the sum of every limit
         * bounds the pod, and only when each container has one. */
        int64_t sum = 0;
        size_t with = 0;
        for (size_t i = 0; i < n; i++) {
            int64_t b = 0;
            const char *text = NULL;
            int rc = container_limit(json_array_get(ctrs, i), &b, &text, err,
                                     errlen);
            if (rc < 0)
                return -1;
            if (rc > 0 && b <= INT64_MAX - sum) {
                sum += b;
                with++;
            }
        }
        if (with == n) {
            found = 1;
            out->bytes = sum;
            snprintf(out->source, sizeof out->source, "%zu containers", n);
        }
    }

    const char *pq = kube_json_str(pod, "spec.resources.limits.memory");
    if (pq) {
        int64_t pb;
        if (lw_quantity_parse(pq, &pb)) {
            snprintf(err, errlen, "pod spec.resources.limits.memory \"%.40s\" "
                     "is not a quantity", pq);
            return -1;
        }
        if (!found || pb < out->bytes) {
            found = 1;
            out->bytes = pb;
            snprintf(out->text, sizeof out->text, "%s", pq);
            snprintf(out->source, sizeof out->source, "pod");
        }
    }
    if (found && !out->text[0])
        cnt_format_quantity(out->bytes, out->text, sizeof out->text);
    if (found && out->bytes <= 0) {
        memset(out, 0, sizeof *out);
        return 0;
    }
    return found;
}
