/*
 * test_capture_prom.c — finding go_goroutines in Prometheus text exposition
 * as it streams: plain and labelled samples, timestamps, look-alike names,
 * comments, any split of the input, a missing gauge, malformed values and
 * an over-long line; and the request counter summed on the way (first
 * family only, promhttp's scrape count never).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/capture.h"

static const char exposition[] =
    "# HELP go_goroutines_total Not the gauge.\n"
    "# TYPE go_goroutines gauge\n"
    "go_goroutines_total 99\n"
    "go_gc_duration_seconds{quantile=\"0.5\"} 1.2e-05\n"
    "xgo_goroutines 7\n"
    "go_goroutines 1234\n"
    "go_goroutines 5678\n"; /* the first sample wins */

static void test_every_split(void **state)
{
    (void)state;
    size_t n = strlen(exposition);
    for (size_t split = 0; split <= n; split++) {
        cap_prom_scan s;
        cap_prom_scan_init(&s, "go_goroutines");
        assert_int_equal(cap_prom_scan_feed(&s, exposition, split), 0);
        assert_int_equal(cap_prom_scan_feed(&s, exposition + split, n - split),
                         0);
        assert_int_equal(cap_prom_scan_finish(&s), 0);
        assert_true(s.found);
        assert_true(s.value == 1234.0);
    }
}

static double scan_one(const char *text, int *rc)
{
    cap_prom_scan s;
    cap_prom_scan_init(&s, "go_goroutines");
    *rc = cap_prom_scan_feed(&s, text, strlen(text));
    if (*rc == 0)
        *rc = cap_prom_scan_finish(&s);
    return s.found ? s.value : -1;
}

static void test_forms(void **state)
{
    (void)state;
    int rc;
    assert_true(scan_one("go_goroutines{job=\"a\",x=\"}\\\"\"} 42 1700000000000\n",
                         &rc) == 42.0);
    assert_int_equal(rc, 0);
    assert_true(scan_one("go_goroutines 1.5e+03\r\n", &rc) == 1500.0);
    assert_true(scan_one("go_goroutines\t77", &rc) == 77.0); /* no final \n */
    assert_int_equal(rc, 0);
    /* missing */
    assert_true(scan_one("# nothing\nprocess_open_fds 3\n", &rc) == -1);
    assert_int_equal(rc, -1);
    assert_true(scan_one("", &rc) == -1);
}

static void expect_bad(const char *text, const char *needle)
{
    cap_prom_scan s;
    cap_prom_scan_init(&s, "go_goroutines");
    int rc = cap_prom_scan_feed(&s, text, strlen(text));
    if (rc == 0)
        rc = cap_prom_scan_finish(&s);
    assert_int_equal(rc, -1);
    assert_true(s.failed);
    if (!strstr(s.error, needle))
        fail_msg("error \"%s\" lacks \"%s\"", s.error, needle);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_bad("go_goroutines abc\n", "not a number");
    expect_bad("go_goroutines -3\n", "negative");
    expect_bad("go_goroutines NaN\n", "not finite");
    expect_bad("go_goroutines +Inf\n", "not finite");
    expect_bad("go_goroutines 12abc\n", "garbage");
    expect_bad("go_goroutines{a=\"b\" 12\n", "label");
    expect_bad("go_goroutines\n", "no value");
    char *big = malloc(10000);
    memcpy(big, "go_goroutines{a=\"", 17);
    memset(big + 17, 'x', 9000);
    strcpy(big + 9017, "\"} 3\n");
    expect_bad(big, "4 KiB");
    /* A long line of another metric is skipped, not buffered. */
    memcpy(big, "other_metric{a=\"", 16);
    memset(big + 16, 'x', 9000);
    strcpy(big + 9016, "\"} 3\ngo_goroutines 5\n");
    int rc;
    assert_true(scan_one(big, &rc) == 5.0);
    free(big);
}

/* What promhttp and go-grpc-prometheus print, in their order: the gauge
 * early, the scrape counter, then the service's families. */
static const char service_page[] =
    "# TYPE go_goroutines gauge\n"
    "go_goroutines 412\n"
    "# TYPE promhttp_metric_handler_requests_total counter\n"
    "promhttp_metric_handler_requests_total{code=\"200\"} 9000\n"
    "# TYPE grpc_server_handled_total counter\n"
    "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Get\"} 100\n"
    "grpc_server_handled_total{grpc_code=\"NotFound\",grpc_method=\"Get\"} 5\n"
    "garbage_requests_total{a=\"b\" 1\n"
    "http_requests_total{code=\"200\"} 7000\n"
    "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Put\"} 20\n";

static void test_request_counter(void **state)
{
    (void)state;
    size_t n = strlen(service_page);
    for (size_t split = 0; split <= n; split += 7) {
        cap_prom_scan s;
        cap_prom_scan_init(&s, "go_goroutines");
        assert_int_equal(cap_prom_scan_feed(&s, service_page, split), 0);
        assert_int_equal(cap_prom_scan_feed(&s, service_page + split, n - split), 0);
        assert_int_equal(cap_prom_scan_finish(&s), 0);
        assert_true(s.value == 412.0);
        assert_true(s.requests_found);
        /* grpc's three samples; http_requests_total is a second family. */
        assert_true(s.requests == 125.0);
        assert_string_equal(s.requests_family, "grpc_server_handled_total");
    }
    cap_prom_scan s;
    cap_prom_scan_init(&s, "go_goroutines");
    const char *only_scrapes = "go_goroutines 3\n"
                               "promhttp_metric_handler_requests_total 40\n";
    assert_int_equal(cap_prom_scan_feed(&s, only_scrapes, strlen(only_scrapes)), 0);
    assert_int_equal(cap_prom_scan_finish(&s), 0);
    assert_false(s.requests_found);
    assert_true(cap_prom_is_request_counter("targets_requests_total", 22));
    assert_true(cap_prom_is_request_counter("http_server_request_duration_seconds_count", 42));
    assert_false(cap_prom_is_request_counter("_requests_total", 15));
    assert_false(cap_prom_is_request_counter("http_requests_in_flight", 23));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_request_counter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
