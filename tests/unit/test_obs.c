/*
 * test_obs.c — the metrics registry's exposition text and the /metrics,
 * /healthz, /readyz endpoints served for real on 127.0.0.1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/obs_http.h"
#include "obs/obs_log.h"
#include "obs/obs_metrics.h"

static void test_counter_gauge_render(void **state)
{
    (void)state;
    obs_registry *r = obs_registry_new();
    const char *labels[] = {"transport", "result", NULL};
    obs_metric *c = obs_counter(r, "leakwatch_captures_total", "Captures.", labels);
    const char *v1[] = {"portforward", "ok"};
    const char *v2[] = {"direct", "error"};
    obs_counter_add(c, v1, 1);
    obs_counter_add(c, v1, 2);
    obs_counter_add(c, v2, 1);
    obs_counter_add(c, v2, -5); /* counters never go down */
    assert_true(obs_metric_value(c, v1) == 3);
    assert_true(obs_metric_value(c, v2) == 1);
    /* Same name and type: the same metric; another type: refused. */
    assert_ptr_equal(obs_counter(r, "leakwatch_captures_total", "x", labels), c);
    assert_null(obs_gauge(r, "leakwatch_captures_total", "x", labels));

    const char *pl[] = {"namespace", "pod", NULL};
    obs_metric *g = obs_gauge(r, "leakwatch_pod_goroutines", "Goroutines.", pl);
    const char *pv[] = {"de\"mo", "web\n1"};
    obs_gauge_set(g, pv, 1234);
    size_t len;
    char *text = obs_registry_render(r, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    assert_non_null(strstr(text, "# TYPE leakwatch_captures_total counter\n"));
    assert_non_null(strstr(text, "leakwatch_captures_total{transport=\"portforward\",result=\"ok\"} 3\n"));
    assert_non_null(strstr(text, "leakwatch_pod_goroutines{namespace=\"de\\\"mo\",pod=\"web\\n1\"} 1234\n"));
    free(text);

    obs_metric_remove(g, pv);
    text = obs_registry_render(r, NULL);
    assert_null(strstr(text, "web\\n1"));
    free(text);
    obs_registry_free(r);
}

static void test_histogram_and_churn(void **state)
{
    (void)state;
    obs_registry *r = obs_registry_new();
    const double bounds[] = {0.1, 1, 10};
    obs_metric *h = obs_histogram(r, "leakwatch_capture_seconds", "Latency.", NULL, bounds, 3);
    obs_histogram_observe(h, NULL, 0.05);
    obs_histogram_observe(h, NULL, 0.5);
    obs_histogram_observe(h, NULL, 50);
    char *text = obs_registry_render(r, NULL);
    assert_non_null(strstr(text, "leakwatch_capture_seconds_bucket{le=\"0.1\"} 1\n"));
    assert_non_null(strstr(text, "leakwatch_capture_seconds_bucket{le=\"1\"} 2\n"));
    assert_non_null(strstr(text, "leakwatch_capture_seconds_bucket{le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(text, "leakwatch_capture_seconds_count 3\n"));
    free(text);

    /* Pods come and go: many adds and removes must keep exactly the live
     * series, whatever the table does with tombstones. */
    const char *pl[] = {"pod", NULL};
    obs_metric *g = obs_gauge(r, "g", "churn", pl);
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "pod-%d", i);
        const char *v[] = {name};
        obs_gauge_set(g, v, i);
        if (i >= 10) {
            snprintf(name, sizeof(name), "pod-%d", i - 10);
            obs_metric_remove(g, v);
        }
    }
    text = obs_registry_render(r, NULL);
    int lines = 0;
    for (char *p = text; (p = strstr(p, "\ng{")); p++)
        lines++;
    assert_int_equal(lines, 10);
    assert_non_null(strstr(text, "g{pod=\"pod-4999\"} 4999\n"));
    free(text);
    obs_registry_free(r);
}

typedef struct fetched {
    char buf[8192];
    size_t len;
} fetched;

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    fetched *f = ud;
    size_t k = sz * n;
    if (f->len + k >= sizeof(f->buf))
        k = sizeof(f->buf) - f->len - 1;
    memcpy(f->buf + f->len, p, k);
    f->len += k;
    f->buf[f->len] = '\0';
    return sz * n;
}

static long fetch(unsigned port, const char *path, fetched *f)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
    memset(f, 0, sizeof(*f));
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 5L);
    long code = 0;
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(e);
    return code;
}

static bool not_ready(void *ud, char *why, size_t whylen)
{
    (void)ud;
    snprintf(why, whylen, "pod cache not synced");
    return false;
}

static void test_http_endpoints(void **state)
{
    (void)state;
    obs_registry *r = obs_registry_new();
    obs_metric *leader = obs_gauge(r, "leakwatch_is_leader", "1 when leading.", NULL);
    obs_gauge_set(leader, NULL, 1);
    char err[256];
    obs_http_opts o = {.listen = "127.0.0.1:0", .registry = r, .readyz = not_ready};
    obs_http *h = obs_http_start(&o, err, sizeof(err));
    assert_non_null(h);
    unsigned port = obs_http_port(h);
    assert_true(port > 0);
    fetched f;
    assert_int_equal(fetch(port, "/metrics", &f), 200);
    assert_non_null(strstr(f.buf, "leakwatch_is_leader 1\n"));
    assert_int_equal(fetch(port, "/healthz", &f), 200);
    assert_int_equal(fetch(port, "/readyz", &f), 503);
    assert_non_null(strstr(f.buf, "pod cache not synced"));
    assert_int_equal(fetch(port, "/nope", &f), 404);
    obs_http_stop(h);

    obs_http_opts bad = {.listen = "nonsense", .registry = r};
    assert_null(obs_http_start(&bad, err, sizeof(err)));
    assert_non_null(strstr(err, "nonsense"));
    obs_registry_free(r);
}

static void test_log_levels(void **state)
{
    (void)state;
    obs_level lv;
    assert_int_equal(obs_level_parse("warn", &lv), 0);
    assert_int_equal(lv, OBS_WARN);
    assert_int_equal(obs_level_parse("loud", &lv), -1);
    FILE *tmp = tmpfile();
    obs_logger *l = obs_logger_new(fileno(tmp), OBS_INFO, OBS_LOG_JSON);
    obs_log(l, OBS_DEBUG, "hidden", OBS_END);
    obs_log(l, OBS_INFO, "capture failed", "pod", "ns/\"web\"", OBS_END);
    obs_logger_free(l);
    char line[512] = "";
    rewind(tmp);
    assert_non_null(fgets(line, sizeof(line), tmp));
    assert_non_null(strstr(line, "\"msg\":\"capture failed\""));
    assert_non_null(strstr(line, "\"pod\":\"ns/\\\"web\\\"\""));
    assert_null(fgets(line, sizeof(line), tmp)); /* debug line filtered */
    fclose(tmp);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_gauge_render),
        cmocka_unit_test(test_histogram_and_churn),
        cmocka_unit_test(test_http_endpoints),
        cmocka_unit_test(test_log_levels),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
