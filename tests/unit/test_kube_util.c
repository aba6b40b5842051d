/*
 * test_kube_util.c — pkg/kube's pure helpers: RFC 3339 times, base64, one-line messages, dotted JSON getters and API Status
 * bodies decoded into sentences.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube/kube.h"
#include "kube/kube_internal.h"

static void test_parse_time(void **state)
{
    (void)state;
    assert_int_equal(kube_parse_time("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(kube_parse_time("2026-11-23T04:05:06Z"), 1795406706);
    assert_int_equal(kube_parse_time("2026-11-23T04:05:06.123456Z"),
                     1795406706);
    assert_int_equal(kube_parse_time("2026-11-23T06:05:06+02:00"),
                     1795406706);
    assert_int_equal(kube_parse_time("2026-11-23T00:05:06-04:00"),
                     1795406706);
    assert_int_equal(kube_parse_time("2024-02-29T00:00:00Z"), 1709164800);
    static const char *const bad[] = {
        "",
        "2026-11-23",
        "2026-11-23T04:05:06",     /* no zone */
        "2026-11-23 04:05:06Z",    /* space */
        "2026-13-01T00:00:00Z",    /* month */
        "2026-02-30T00:00:00Z",    /* day */
        "2025-02-29T00:00:00Z",    /* not a leap year */
        "2026-11-23T24:00:00Z",    /* hour */
        "2026-11-23T04:05:06.Z",   /* empty fraction */
        "2026-11-23T04:05:06Zjunk",
        "2026-11-23T04:05:06+0200",
        "20261123T040506Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (kube_parse_time(bad[i]) != -1)
            fail_msg("accepted bad time \"%s\"", bad[i]);
    }
    assert_int_equal(kube_parse_time(NULL), -1);
}

static void test_format_time(void **state)
{
    (void)state;
    char out[64];
    kube_format_time(1795406706, out, sizeof out);
    assert_string_equal(out, "2026-11-23T04:05:06Z");
    assert_int_equal(kube_parse_time(out), 1795406706);
    kube_format_micro_time(1795406706123456LL, out, sizeof out);
    assert_string_equal(out, "2026-11-23T04:05:06.123456Z");
    kube_format_micro_time(7, out, sizeof out);
    assert_string_equal(out, "1970-01-01T00:00:00.000007Z");
    kube_format_micro_time(-1, out, sizeof out);
    assert_string_equal(out, "1969-12-31T23:59:59.999999Z");
    char small[8];
    kube_format_time(0, small, sizeof small);
    assert_string_equal(small, "");
}

/* Retry-After as the API server (APF, eviction) and proxies send it. */
static void test_retry_after(void **state)
{
    (void)state;
    /* Sun, 06 Nov 1994 08:49:37 GMT is 784111777 (RFC 9110's example). */
    const int64_t now = 784111777 - 30;
    static const struct {
        const char *v;
        long want;
    } cases[] = {
        {"5", 5},
        {" 1\r\n", 1},
        {"0", 0},
        {"Sun, 06 Nov 1994 08:49:37 GMT", 30},
        {"Sun, 06 Nov 1994 08:48:37 GMT\r\n", 0}, /* in the past */
        {"", -1},
        {"-3", -1},
        {"5s", -1},
        {"99999999999999999999999", -1},
        {"soon", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(kube_retry_after(cases[i].v, strlen(cases[i].v), now),
                         cases[i].want);
    /* A NUL inside the value is not a number that ends early. */
    assert_int_equal(kube_retry_after("5\0" "0", 3, now), -1);
    const char *l = "retry-after: 7\r\n";
    assert_int_equal(kube_retry_after_line(l, strlen(l)), 7);
    l = "Retry-After:12";
    assert_int_equal(kube_retry_after_line(l, strlen(l)), 12);
    l = "Retry-Afterward: 3\r\n";
    assert_int_equal(kube_retry_after_line(l, strlen(l)), -1);
    l = "Content-Length: 5\r\n";
    assert_int_equal(kube_retry_after_line(l, strlen(l)), -1);
    assert_int_equal(kube_retry_after_line("Retry", 5), -1);
}

static void test_base64(void **state)
{
    (void)state;
    char *out;
    size_t n;
    assert_int_equal(kube_base64_decode("aGVsbG8=", 8, &out, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "hello", 5);
    free(out);
    const char *wrapped = "aGVs\n bG8g\td29y bGQ=\n";
    assert_int_equal(kube_base64_decode(wrapped, strlen(wrapped), &out, &n), 0);
    assert_int_equal(n, 11);
    assert_string_equal(out, "hello world");
    free(out);
    assert_int_equal(kube_base64_decode("", 0, &out, &n), 0);
    assert_int_equal(n, 0);
    free(out);
    assert_int_equal(kube_base64_decode("aGVsbG8", 7, &out, &n), -1);
    assert_null(out);
    assert_int_equal(kube_base64_decode("aG=sbG8=", 8, &out, &n), -1);
    assert_int_equal(kube_base64_decode("aGVs*G8=", 8, &out, &n), -1);
    char *enc = kube_base64_encode("hello", 5);
    assert_string_equal(enc, "aGVsbG8=");
    assert_int_equal(kube_base64_decode(enc, strlen(enc), &out, &n), 0);
    assert_int_equal(n, 5);
    free(out);
    free(enc);
    /* Binary round trip, including NULs. */
    unsigned char bin[256];
    for (int i = 0; i < 256; i++)
        bin[i] = (unsigned char)i;
    enc = kube_base64_encode(bin, sizeof bin);
    assert_int_equal(kube_base64_decode(enc, strlen(enc), &out, &n), 0);
    assert_int_equal(n, 256);
    assert_memory_equal(out, bin, 256);
    free(out);
    free(enc);
}

static void test_one_line(void **state)
{
    (void)state;
    char out[32];
    kube_one_line("  a\n\tb  \r\n c  ", 15, out, sizeof out);
    assert_string_equal(out, "a b c");
    kube_one_line("", 0, out, sizeof out);
    assert_string_equal(out, "");
    /* Truncation does not split a UTF-8 sequence. */
    char small[5];
    kube_one_line("abcé", 5, small, sizeof small);
    assert_string_equal(small, "abc");
    char fits[6];
    kube_one_line("abcé", 5, fits, sizeof fits);
    assert_string_equal(fits, "abcé");
}

static void test_json_get(void **state)
{
    (void)state;
    json_t *o = json_loads("{\"metadata\":{\"name\":\"p\",\"labels\":{\"a\":\"b\"},"
                           "\"n\":3},\"list\":[1]}",
                           0, NULL);
    assert_non_null(o);
    assert_string_equal(kube_json_str(o, "metadata.name"), "p");
    assert_string_equal(kube_json_str(o, "metadata.labels.a"), "b");
    assert_null(kube_json_str(o, "metadata.n"));
    assert_non_null(kube_json_get(o, "metadata.n"));
    assert_null(kube_json_get(o, "metadata.missing.deeper"));
    assert_null(kube_json_get(o, "list.0"));
    assert_null(kube_json_get(o, "metadata..name"));
    assert_null(kube_json_get(NULL, "a"));
    json_decref(o);
}

static void decode(long code, const char *body, char *err, size_t errlen,
                   char *reason, size_t reasonlen)
{
    json_t *j = body ? json_loads(body, 0, NULL) : NULL;
    kube_status_decode(code, j, body, body ? strlen(body) : 0, err, errlen,
                       reason, reasonlen);
    json_decref(j);
}

static void test_status_decode(void **state)
{
    (void)state;
    char err[768], reason[64];
    decode(403,
           "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
           "\"message\":\"pods \\\"x\\\" is forbidden: User "
           "\\\"system:serviceaccount:a:b\\\" cannot get resource "
           "\\\"pods\\\" in API group \\\"\\\" in the namespace \\\"a\\\"\","
           "\"reason\":\"Forbidden\",\"details\":{\"name\":\"x\","
           "\"kind\":\"pods\"},\"code\":403}",
           err, sizeof err, reason, sizeof reason);
    assert_string_equal(err,
                        "pods \"x\" is forbidden: User "
                        "\"system:serviceaccount:a:b\" cannot get resource "
                        "\"pods\" in API group \"\" in the namespace \"a\"");
    assert_string_equal(reason, "Forbidden");

    decode(410,
           "{\"kind\":\"Status\",\"message\":\"too old resource version: 1 "
           "(5)\",\"reason\":\"Expired\",\"code\":410}",
           err, sizeof err, reason, sizeof reason);
    assert_string_equal(err, "too old resource version: 1 (5)");
    assert_string_equal(reason, "Expired");

    /* Multi-line messages become one line. */
    decode(422,
           "{\"kind\":\"Status\",\"message\":\"bad\\nthing\",\"reason\":"
           "\"Invalid\"}",
           err, sizeof err, reason, sizeof reason);
    assert_string_equal(err, "bad thing");

    /* Found by fuzzing: the reason passed through raw, control bytes and
     * all, into the reason and into the message built from it. */
    decode(409, "{\"kind\":\"Status\",\"reason\":\"Al\\nready\\u001b\"}",
           err, sizeof err, reason, sizeof reason);
    assert_string_equal(reason, "Al\\x0aready\\x1b");
    assert_string_equal(err, "HTTP 409 Conflict (Al\\x0aready\\x1b)");

    /* Found by fuzzing: a message of white space alone left the error
     * empty; the code and phrase stand in for it. */
    decode(404, "{\"kind\":\"Status\",\"message\":\" \"}", err,
           sizeof err, reason, sizeof reason);
    assert_string_equal(err, "HTTP 404 Not Found");

    /* Status without message: code, phrase and reason. */
    decode(404, "{\"kind\":\"Status\",\"reason\":\"NotFound\"}", err,
           sizeof err, reason, sizeof reason);
    assert_string_equal(err, "HTTP 404 Not Found (NotFound)");
    assert_string_equal(reason, "NotFound");

    /* A proxy's HTML: first line only; reason from the code. */
    decode(502, "<html>\nBad gateway from proxy\n</html>", err, sizeof err,
           reason, sizeof reason);
    assert_string_equal(err, "HTTP 502 Bad Gateway: <html>");
    assert_string_equal(reason, "");
    decode(429, "slow down", err, sizeof err, reason, sizeof reason);
    assert_string_equal(err, "HTTP 429 Too Many Requests: slow down");
    assert_string_equal(reason, "TooManyRequests");
    decode(418, NULL, err, sizeof err, reason, sizeof reason);
    assert_string_equal(err, "HTTP 418");
    assert_string_equal(reason, "");
    /* JSON that is not a Status is treated as text. */
    decode(500, "{\"error\":\"boom\"}", err, sizeof err, reason,
           sizeof reason);
    assert_string_equal(err, "HTTP 500 Internal Server Error: {\"error\":\"boom\"}");
    assert_string_equal(reason, "InternalError");
    /* Small buffers stay terminated. */
    char tiny[8], tr[4];
    decode(403, "{\"kind\":\"Status\",\"message\":\"forbidden thing\",\"reason\":"
                "\"Forbidden\"}",
           tiny, sizeof tiny, tr, sizeof tr);
    assert_string_equal(tiny, "forbidd");
    assert_string_equal(tr, "For");
}

static void test_read_file(void **state)
{
    (void)state;
    char path[] = "/tmp/kube_util_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    close(fd);
    char *buf;
    size_t n;
    assert_int_equal(kube_read_file(path, 10, &buf, &n), 0);
    assert_int_equal(n, 10);
    assert_string_equal(buf, "0123456789");
    free(buf);
    assert_int_equal(kube_read_file(path, 9, &buf, &n), -1);
    assert_int_equal(errno, EFBIG);
    assert_null(buf);
    unlink(path);
    assert_int_equal(kube_read_file(path, 10, &buf, &n), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(kube_read_file("/tmp", 10, &buf, &n), -1);
    assert_int_equal(errno, EISDIR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_format_time), cmocka_unit_test(test_base64),
        cmocka_unit_test(test_one_line),    cmocka_unit_test(test_json_get),
        cmocka_unit_test(test_status_decode),
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_retry_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
