/*
 * fuzz_kube_pods.c — libFuzzer target for the annotation parser: a pod's
 * leakwatch.dev annotations (or Grafana's profiles.grafana.com/goroutine
 * ones) resolved into a pprof endpoint (kube/kube_pods.h's
 * kube_pod_endpoint_resolve), and the pod facts read next to it.
 *
 * An input starting with '{' is a whole pod as the API returns it.  Any
 * other input is annotation lines "key=value" (value up to the line's end,
 * "\n" escapes a line break), set on a fixed pod whose containers declare
 * the ports pprof, http, metrics (a sidecar) and an unnamed one — so that
 * mutations go to the annotation values rather than to JSON syntax.
 *
 * Asserts: not opted in leaves nothing set; resolved gives a port in
 * 1..65535, http or https, and paths that are plain printable URL paths;
 * refused gives one printable line naming a leakwatch.dev or
 * profiles.grafana.com annotation; the endpoint URL fits and is one line.
 * Built and run by hack/fuzz/run.sh.
 */
#include "fuzz_require.h"
#include "kube/kube.h"
#include "kube/kube_pods.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char base_pod[] =
    "{\"kind\":\"Pod\",\"apiVersion\":\"v1\","
    "\"metadata\":{\"name\":\"svc-a\",\"namespace\":\"default\","
    "\"creationTimestamp\":\"2026-12-05T02:22:31Z\",\"annotations\":{}},"
    "\"spec\":{\"nodeName\":\"kwok-node-0\","
    "\"containers\":[{\"name\":\"app\",\"ports\":["
    "{\"name\":\"http\",\"containerPort\":8080,\"protocol\":\"TCP\"},"
    "{\"name\":\"pprof\",\"containerPort\":6060,\"protocol\":\"TCP\"},"
    "{\"containerPort\":7070,\"protocol\":\"TCP\"}]}],"
    "\"initContainers\":[{\"name\":\"proxy\",\"restartPolicy\":\"Always\","
    "\"ports\":[{\"name\":\"metrics\",\"containerPort\":9090}]}]},"
    "\"status\":{\"phase\":\"Running\",\"podIP\":\"127.1.0.5\","
    "\"startTime\":\"2026-12-05T02:22:31Z\"}}";

/* The fixed pod with the input's annotation lines; NULL when a line is not
 * "key=value" or not UTF-8 (annotations come from JSON, always UTF-8). */
static json_t *pod_from_lines(const uint8_t *data, size_t size)
{
    json_t *pod = json_loads(base_pod, 0, NULL);
    FZ_REQUIRE(pod != NULL);
    json_t *ann = json_object_get(json_object_get(pod, "metadata"),
                                  "annotations");
    char *buf = malloc(size + 1);
    FZ_REQUIRE(buf != NULL);
    size_t i = 0;
    while (i < size) {
        const uint8_t *nl = memchr(data + i, '\n', size - i);
        size_t end = nl ? (size_t)(nl - data) : size;
        const uint8_t *eq = memchr(data + i, '=', end - i);
        if (!eq) {
            i = end + 1;
            continue;
        }
        size_t klen = (size_t)(eq - (data + i));
        size_t o = 0;
        for (size_t k = klen + 1; i + k < end; k++) {
            if (data[i + k] == '\\' && i + k + 1 < end && data[i + k + 1] == 'n') {
                buf[o++] = '\n';
                k++;
            } else {
                buf[o++] = (char)data[i + k];
            }
        }
        char *key = strndup((const char *)data + i, klen);
        FZ_REQUIRE(key != NULL);
        /* NUL bytes cannot be in a JSON string jansson hands out. */
        if (memchr(key, '\0', klen) || memchr(buf, '\0', o) ||
            json_object_setn_new(ann, key, klen, json_stringn(buf, o))) {
            free(key);
            free(buf);
            json_decref(pod);
            return NULL;
        }
        free(key);
        i = end + 1;
    }
    free(buf);
    return pod;
}

static void check_url_path(const char *p, size_t cap)
{
    FZ_REQUIRE(memchr(p, '\0', cap) != NULL);
    for (const unsigned char *c = (const unsigned char *)p; *c; c++)
        FZ_REQUIRE(*c > ' ' && *c < 0x7f && *c != '?' && *c != '#');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *pod = size && data[0] == '{'
                      ? json_loadb((const char *)data, size, 0, NULL)
                      : pod_from_lines(data, size);
    if (!pod)
        return 0;
    kube_pod_endpoint ep;
    memset(&ep, 0x55, sizeof ep);
    int rc = kube_pod_endpoint_resolve(pod, &ep);
    FZ_REQUIRE(rc >= -1 && rc <= 1);
    if (rc == 0) {
        FZ_REQUIRE(ep.source == KUBE_SCRAPE_NONE);
        FZ_REQUIRE(ep.error[0] == '\0' && ep.port == 0);
    } else if (rc == 1) {
        FZ_REQUIRE(ep.source == KUBE_SCRAPE_LEAKWATCH ||
                   ep.source == KUBE_SCRAPE_GRAFANA);
        FZ_REQUIRE(ep.port >= 1 && ep.port <= 65535);
        FZ_REQUIRE(!strcmp(ep.scheme, "http") || !strcmp(ep.scheme, "https"));
        FZ_REQUIRE(ep.error[0] == '\0');
        check_url_path(ep.path, sizeof ep.path);
        check_url_path(ep.goroutine_path, sizeof ep.goroutine_path);
        FZ_REQUIRE(ep.goroutine_path[0] == '/');
        FZ_REQUIRE(memchr(ep.port_name, '\0', sizeof ep.port_name));
        FZ_REQUIRE(memchr(ep.container, '\0', sizeof ep.container));
        char url[1024];
        kube_pod_endpoint_url(&ep, "fd00::1", ep.goroutine_path, NULL, url,
                              sizeof url);
        FZ_REQUIRE(!strncmp(url, ep.scheme, strlen(ep.scheme)));
        FZ_REQUIRE(strlen(url) + 1 < sizeof url);
        check_url_path(url, sizeof url);
    } else {
        FZ_REQUIRE(ep.source != KUBE_SCRAPE_NONE);
        FZ_REQUIRE(!strncmp(ep.error, "leakwatch.dev/", 14) ||
                   !strncmp(ep.error, "profiles.grafana.com/", 21));
        fz_check_message(ep.error, sizeof ep.error);
    }
    /* The facts read from every pod, whatever its shape. */
    int ready, total;
    kube_pod_container_counts(pod, &ready, &total);
    FZ_REQUIRE(ready >= 0 && ready <= total);
    FZ_REQUIRE(kube_pod_phase(pod) != NULL && kube_pod_ip(pod) != NULL &&
               kube_pod_node(pod) != NULL);
    (void)kube_pod_ready(pod);
    (void)kube_pod_start_time(pod);
    (void)kube_pod_terminating(pod);
    (void)kube_pod_restarts(pod);
    json_decref(pod);
    return 0;
}
