/*
 * test_kube_pods.c — DESIGN.md's pod annotations resolved into pprof
 * endpoints (leakwatch.dev and Grafana's), the errors for annotations that
 * cannot be followed, and the pod facts (readiness, phase, start, IP).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"
#include "kube/kube_pods.h"

/* A pod with the given annotations (a JSON object's body) and containers
 * (a JSON array's body). */
static json_t *pod(const char *annotations, const char *containers)
{
    char buf[8192];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\","
             "\"creationTimestamp\":\"2026-01-01T00:00:00Z\","
             "\"annotations\":{%s}},"
             "\"spec\":{\"nodeName\":\"n1\",\"containers\":[%s]},"
             "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.7\"}}",
             annotations, containers);
    json_error_t je;
    json_t *j = json_loads(buf, 0, &je);
    if (!j)
        fail_msg("bad fixture: %s: %s", je.text, buf);
    return j;
}

#define APP_PORTS                                                              \
    "{\"name\":\"app\",\"ports\":[{\"name\":\"http\",\"containerPort\":8080},"  \
    "{\"name\":\"debug\",\"containerPort\":6060}]}"

static void test_not_annotated(void **state)
{
    (void)state;
    kube_pod_endpoint ep;
    json_t *p = pod("", APP_PORTS);
    assert_int_equal(kube_pod_endpoint_resolve(p, &ep), 0);
    assert_int_equal(ep.source, KUBE_SCRAPE_NONE);
    json_decref(p);
    p = pod("\"leakwatch.dev/scrape\":\"false\"", APP_PORTS);
    assert_int_equal(kube_pod_endpoint_resolve(p, &ep), 0);
    json_decref(p);
    /* An explicit leakwatch opt-out wins over Grafana's opt-in. */
    p = pod("\"leakwatch.dev/scrape\":\"false\","
            "\"profiles.grafana.com/goroutine.scrape\":\"true\"",
            APP_PORTS);
    assert_int_equal(kube_pod_endpoint_resolve(p, &ep), 0);
    json_decref(p);
    /* No annotations object at all. */
    p = json_loads("{\"metadata\":{\"name\":\"x\"}}", 0, NULL);
    assert_int_equal(kube_pod_endpoint_resolve(p, &ep), 0);
    json_decref(p);
}

static void test_leakwatch_defaults(void **state)
{
    (void)state;
    kube_pod_endpoint ep;
    json_t *p = pod("\"leakwatch.dev/scrape\":\"true\"", APP_PORTS);
    assert_int_equal(kube_pod_endpoint_resolve(p, &ep), 1);
    assert_int_equal(ep.source, KUBE_SCRAPE_LEAKWATCH);
    assert_int_equal(ep.port, 8080); /* the port named "http" */
    assert_string_equal(ep.port_name, "http");
    assert_string_equal(ep.container, "app");
    assert_string_equal(ep.path, "/debug/pprof");
    assert_string_equal(ep.goroutine_path, "/debug/pprof/goroutine");
    assert_string_equal(ep.scheme, "http");
    assert_false(ep.containment_restart);
    assert_string_equal(ep.error, "");
    char url[256];
    kube_pod_endpoint_url(&ep, kube_pod_ip(p), ep.goroutine_path, "?debug=1",
                          url, sizeof url);
    assert_string_equal(url, "http://10.0.0.7:8080/debug/pprof/goroutine?debug=1");
    kube_pod_endpoint_url(&ep, "fd00::5", NULL, NULL, url, sizeof url);
    assert_string_equal(url, "http://[fd00::5]:8080/debug/pprof");
    kube_pod_endpoint_url(&ep, "", NULL, NULL, url, sizeof url);
    assert_string_equal(url, "");
    json_decref(p);
}

static void test_default_port_priority(void **state)
{
    (void)state;
    kube_pod_endpoint ep;
    /* pprof beats metrics beats http, whatever the order in the spec and
     * across containers. */
    json_t *p = pod("\"leakwatch.dev/scrape\":\"True\"",
                    "{\"name\":\"a\",\"ports\":[{\"name\":\"http\","
                    "\"containerPort\":80},{\"name\":\"metrics\","
                    "\"containerPort\":9090}]},"
                    "{\"name\":\"b\",\"ports\":[{\"name\":\"pprof\","
                    "\"containerPort\":6060}]}");
    assert_int_equal(kube_pod_endpoint_resolve(p, &ep), 1);
    assert_int_equal(ep.port, 6060);
    assert_string_equal(ep.container, "b");
    json_decref(p);
    p = pod("\"leakwatch.dev/scrape\":\"true\"",
            "{\"name\":\"a\",\"ports\":[{\"name\":\"http\","
            "\"containerPort\":80},{\"name\":\"http-pprof\","
            "\"containerPort\":6061},{\"name\":\"metrics\","
            "\"containerPort\":9090}]}");
    assert_int_equal(kube_pod_endpoint_resolve(p, &ep), 1);
    assert_int_equal(ep.port, 6061);
    json_decref(p);
    /* No usable port name: a clear error. */
    p = pod("\"leakwatch.dev/scrape\":\"true\"",
            "{\"name\":\"a\",\"ports\":[{\"name\":\"grpc\","
            "\"containerPort\":9000}]}");
    assert_int_equal(kube_pod_endpoint_resolve(p, &ep), -1);
    assert_string_equal(ep.error,
                        "leakwatch.dev/port is not set and no container port "
                        "is named pprof, http-pprof, metrics or http");
    assert_int_equal(ep.source, KUBE_SCRAPE_LEAKWATCH);
    json_decref(p);
    /* A restartable init container (sidecar) counts. */
    json_t *q = json_loads(
        "{\"metadata\":{\"annotations\":{\"leakwatch.dev/scrape\":\"true\"}},"
        "\"spec\":{\"initContainers\":[{\"name\":\"once\",\"ports\":[{"
        "\"name\":\"pprof\",\"containerPort\":1111}]},{\"name\":\"side\","
        "\"restartPolicy\":\"Always\",\"ports\":[{\"name\":\"pprof\","
        "\"containerPort\":2222}]}],\"containers\":[]}}",
        0, NULL);
    assert_int_equal(kube_pod_endpoint_resolve(q, &ep), 1);
    assert_int_equal(ep.port, 2222);
    assert_string_equal(ep.container, "side");
    json_decref(q);
}

static void test_leakwatch_explicit(void **state)
{
    (void)state;
    kube_pod_endpoint ep;
    json_t *p = pod("\"leakwatch.dev/scrape\":\"true\","
                    "\"leakwatch.dev/port\":\"debug\","
                    "\"leakwatch.dev/path\":\"/internal/pprof/\","
                    "\"leakwatch.dev/scheme\":\"HTTPS\","
                    "\"leakwatch.dev/containment\":\"restart\"",
                    APP_PORTS);
    assert_int_equal(kube_pod_endpoint_resolve(p, &ep), 1);
    assert_int_equal(ep.port, 6060);
    assert_string_equal(ep.port_name, "debug");
    assert_string_equal(ep.path, "/internal/pprof");
    assert_string_equal(ep.goroutine_path, "/internal/pprof/goroutine");
    assert_string_equal(ep.scheme, "https");
    assert_true(ep.containment_restart);
    json_decref(p);
    /* A number needs no declared port; a declared one gets its name. */
    p = pod("\"leakwatch.dev/scrape\":\"true\",\"leakwatch.dev/port\":\"7070\"",
            APP_PORTS);
    assert_int_equal(kube_pod_endpoint_resolve(p, &ep), 1);
    assert_int_equal(ep.port, 7070);
    assert_string_equal(ep.port_name, "");
    json_decref(p);
    p = pod("\"leakwatch.dev/scrape\":\"true\",\"leakwatch.dev/port\":\"6060\"",
            APP_PORTS);
    assert_int_equal(kube_pod_endpoint_resolve(p, &ep), 1);
    assert_string_equal(ep.port_name, "debug");
    json_decref(p);
    p = pod("\"leakwatch.dev/scrape\":\"true\",\"leakwatch.dev/containment\":"
            "\"none\"",
            APP_PORTS);
    assert_int_equal(kube_pod_endpoint_resolve(p, &ep), 1);
    assert_false(ep.containment_restart);
    json_decref(p);
}

typedef struct bad_case {
    const char *annotations;
    const char *error;
} bad_case;

static void test_bad_annotations(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"\"leakwatch.dev/scrape\":\"yes\"",
         "leakwatch.dev/scrape: \"yes\" is not \"true\" or \"false\""},
        {"\"leakwatch.dev/scrape\":\"true\",\"leakwatch.dev/port\":\"pprf\"",
         "leakwatch.dev/port: no container port named \"pprf\""},
        {"\"leakwatch.dev/scrape\":\"true\",\"leakwatch.dev/port\":\"80a!\"",
         "leakwatch.dev/port: \"80a!\" is neither a port number nor a "
         "container port name"},
        {"\"leakwatch.dev/scrape\":\"true\",\"leakwatch.dev/port\":\"70000\"",
         "leakwatch.dev/port: 70000 is out of range (1-65535)"},
        {"\"leakwatch.dev/scrape\":\"true\",\"leakwatch.dev/port\":\"0\"",
         "leakwatch.dev/port: 0 is out of range (1-65535)"},
        {"\"leakwatch.dev/scrape\":\"true\",\"leakwatch.dev/port\":"
         "\"Debug\"",
         "leakwatch.dev/port: \"Debug\" is neither a port number nor a "
         "container port name"},
        {"\"leakwatch.dev/scrape\":\"true\",\"leakwatch.dev/scheme\":\"ftp\"",
         "leakwatch.dev/scheme: \"ftp\" is not http or https"},
        {"\"leakwatch.dev/scrape\":\"true\",\"leakwatch.dev/path\":"
         "\"debug/pprof\"",
         "leakwatch.dev/path: \"debug/pprof\" does not start with /"},
        {"\"leakwatch.dev/scrape\":\"true\",\"leakwatch.dev/path\":"
         "\"/x?y=1\"",
         "leakwatch.dev/path: \"/x?y=1\" is not a plain URL path (no spaces, "
         "?, # or %-escapes)"},
        {"\"leakwatch.dev/scrape\":\"true\",\"leakwatch.dev/containment\":"
         "\"reboot\"",
         "leakwatch.dev/containment: \"reboot\" is not \"restart\" or "
         "\"none\""},
        {"\"profiles.grafana.com/goroutine.scrape\":\"true\","
         "\"profiles.grafana.com/goroutine.port\":\"http\"",
         "profiles.grafana.com/goroutine.port: \"http\" is not a port number"},
        {"\"profiles.grafana.com/goroutine.scrape\":\"true\","
         "\"profiles.grafana.com/goroutine.port_name\":\"nope\"",
         "profiles.grafana.com/goroutine.port_name: no container port named "
         "\"nope\""},
        {"\"profiles.grafana.com/goroutine.scrape\":\"true\","
         "\"profiles.grafana.com/goroutine.scheme\":\"gopher\"",
         "profiles.grafana.com/goroutine.scheme: \"gopher\" is not http or "
         "https"},
        /* Control characters and quotes are shown escaped, one line. */
        {"\"leakwatch.dev/scrape\":\"true\",\"leakwatch.dev/scheme\":"
         "\"a\\nb\\\"c\"",
         "leakwatch.dev/scheme: \"a\\x0ab\\x22c\" is not http or https"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kube_pod_endpoint ep;
        json_t *p = pod(cases[i].annotations, APP_PORTS);
        int rc = kube_pod_endpoint_resolve(p, &ep);
        if (rc != -1 || strcmp(ep.error, cases[i].error) != 0)
            fail_msg("case %zu: rc %d, error \"%s\", want \"%s\"", i, rc,
                     ep.error, cases[i].error);
        assert_int_not_equal(ep.source, KUBE_SCRAPE_NONE);
        json_decref(p);
    }
}

static void test_grafana(void **state)
{
    (void)state;
    kube_pod_endpoint ep;
    json_t *p = pod("\"profiles.grafana.com/goroutine.scrape\":\"true\","
                    "\"profiles.grafana.com/goroutine.port_name\":\"debug\"",
                    APP_PORTS);
    assert_int_equal(kube_pod_endpoint_resolve(p, &ep), 1);
    assert_int_equal(ep.source, KUBE_SCRAPE_GRAFANA);
    assert_int_equal(ep.port, 6060);
    assert_string_equal(ep.path, "/debug/pprof");
    assert_string_equal(ep.goroutine_path, "/debug/pprof/goroutine");
    json_decref(p);
    /* Grafana's path names the profile; port number wins over port_name. */
    p = pod("\"profiles.grafana.com/goroutine.scrape\":\"true\","
            "\"profiles.grafana.com/goroutine.port\":\"9999\","
            "\"profiles.grafana.com/goroutine.port_name\":\"debug\","
            "\"profiles.grafana.com/goroutine.path\":\"/prof/goroutine\","
            "\"profiles.grafana.com/goroutine.scheme\":\"https\"",
            APP_PORTS);
    assert_int_equal(kube_pod_endpoint_resolve(p, &ep), 1);
    assert_int_equal(ep.port, 9999);
    assert_string_equal(ep.path, "/prof");
    assert_string_equal(ep.goroutine_path, "/prof/goroutine");
    assert_string_equal(ep.scheme, "https");
    json_decref(p);
    /* Both annotated: leakwatch's own annotations are used. */
    p = pod("\"profiles.grafana.com/goroutine.scrape\":\"true\","
            "\"profiles.grafana.com/goroutine.port\":\"9999\","
            "\"leakwatch.dev/scrape\":\"true\",\"leakwatch.dev/port\":\"6060\"",
            APP_PORTS);
    assert_int_equal(kube_pod_endpoint_resolve(p, &ep), 1);
    assert_int_equal(ep.source, KUBE_SCRAPE_LEAKWATCH);
    assert_int_equal(ep.port, 6060);
    json_decref(p);
}

static void test_pod_facts(void **state)
{
    (void)state;
    json_t *p = json_loads(
        "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":"
        "\"2026-01-01T00:00:00Z\",\"deletionTimestamp\":"
        "\"2026-01-02T00:00:00Z\"},"
        "\"spec\":{\"nodeName\":\"node-1\",\"containers\":[{\"name\":\"a\"},"
        "{\"name\":\"b\"}]},"
        "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.1.2.3\","
        "\"startTime\":\"2026-01-01T00:00:05Z\","
        "\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"True\"},"
        "{\"type\":\"Ready\",\"status\":\"False\"}],"
        "\"containerStatuses\":[{\"name\":\"a\",\"ready\":true,"
        "\"restartCount\":2},{\"name\":\"b\",\"ready\":false,"
        "\"restartCount\":1}]}}",
        0, NULL);
    assert_non_null(p);
    assert_false(kube_pod_ready(p));
    int r, t;
    kube_pod_container_counts(p, &r, &t);
    assert_int_equal(r, 1);
    assert_int_equal(t, 2);
    assert_string_equal(kube_pod_phase(p), "Running");
    assert_string_equal(kube_pod_ip(p), "10.1.2.3");
    assert_string_equal(kube_pod_node(p), "node-1");
    assert_int_equal(kube_pod_start_time(p), 1767225605);
    assert_true(kube_pod_terminating(p));
    assert_int_equal(kube_pod_restarts(p), 3);
    json_t *cond = json_object_get(json_object_get(p, "status"), "conditions");
    json_object_set_new(json_array_get(cond, 1), "status", json_string("True"));
    assert_true(kube_pod_ready(p));
    /* Without startTime: creation time; without anything: -1. */
    json_object_del(json_object_get(p, "status"), "startTime");
    assert_int_equal(kube_pod_start_time(p), 1767225600);
    json_decref(p);
    json_t *empty = json_object();
    assert_int_equal(kube_pod_start_time(empty), -1);
    assert_string_equal(kube_pod_phase(empty), "");
    assert_string_equal(kube_pod_ip(empty), "");
    assert_false(kube_pod_ready(empty));
    assert_false(kube_pod_terminating(empty));
    kube_pod_container_counts(empty, &r, &t);
    assert_int_equal(r + t, 0);
    json_decref(empty);
    /* Found by fuzzing: statuses out of step with the spec counted as
     * ready containers, "3/1".  Only declared containers count, once. */
    json_t *odd = json_loads(
        "{\"spec\":{\"containers\":[{\"name\":\"a\"}]},"
        "\"status\":{\"containerStatuses\":[{\"name\":\"a\",\"ready\":true},"
        "{\"name\":\"a\",\"ready\":true},{\"name\":\"gone\",\"ready\":true},"
        "{\"ready\":true}]}}", 0, NULL);
    assert_non_null(odd);
    kube_pod_container_counts(odd, &r, &t);
    assert_int_equal(r, 1);
    assert_int_equal(t, 1);
    json_decref(odd);
}

static void test_revision_and_images(void **state)
{
    (void)state;
    json_t *p = json_loads(
        "{\"metadata\":{\"labels\":{\"pod-template-hash\":\"7d9f\"}},"
        "\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":"
        "\"reg.io:5000/team/orders:1.4.2\"},{\"name\":\"proxy\",\"image\":"
        "\"envoy@sha256:ab/cd\"},{\"name\":\"noimage\"}],"
        "\"initContainers\":[{\"name\":\"init\",\"image\":\"busybox\"}]}}",
        0, NULL);
    assert_non_null(p);
    assert_string_equal(kube_pod_revision_hash(p), "7d9f");
    char out[64];
    /* Registry and path cut; a digest's own '/' is not a path. */
    kube_pod_images(p, out, sizeof out);
    assert_string_equal(out, "orders:1.4.2,envoy@sha256:ab/cd");
    /* Cut at a whole image, never mid-name. */
    kube_pod_images(p, out, 16);
    assert_string_equal(out, "orders:1.4.2");
    json_object_set_new(json_object_get(p, "metadata"), "labels",
                        json_pack("{s:s}", "controller-revision-hash", "db-6b8c9"));
    assert_string_equal(kube_pod_revision_hash(p), "db-6b8c9");
    json_decref(p);
    json_t *empty = json_object();
    assert_string_equal(kube_pod_revision_hash(empty), "");
    kube_pod_images(empty, out, sizeof out);
    assert_string_equal(out, "");
    json_decref(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_annotated),
        cmocka_unit_test(test_leakwatch_defaults),
        cmocka_unit_test(test_default_port_priority),
        cmocka_unit_test(test_leakwatch_explicit),
        cmocka_unit_test(test_bad_annotations),
        cmocka_unit_test(test_grafana),
        cmocka_unit_test(test_pod_facts),
        cmocka_unit_test(test_revision_and_images),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
