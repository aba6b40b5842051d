/*
 * test_capture_http.c — the HTTP/1.1 response parser used inside the
 * port-forward tunnel: Content-Length, chunked (with extensions and
 * trailers), close-delimited, interim 1xx, every split point of the input,
 * truncation, the body-size cap, and garbage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/cap_http.h"

typedef struct body {
    char data[8192];
    size_t len;
    int calls;
    size_t stop_at; /* >0: stop once this many bytes arrived */
} body;

static int on_body(void *ud, const uint8_t *d, size_t n)
{
    body *b = ud;
    assert_true(b->len + n < sizeof b->data);
    memcpy(b->data + b->len, d, n);
    b->len += n;
    b->calls++;
    return b->stop_at && b->len >= b->stop_at;
}

/* Feeds s split at `split` (0: whole); returns feed's result. */
static int parse(cap_http_parser *p, body *b, const char *s, size_t split,
                 uint64_t max)
{
    memset(b, 0, sizeof *b);
    cap_http_parser_init(p, max, on_body, b);
    size_t n = strlen(s);
    if (split && split < n) {
        if (cap_http_parser_feed(p, (const uint8_t *)s, split))
            return -1;
        return cap_http_parser_feed(p, (const uint8_t *)s + split, n - split);
    }
    return cap_http_parser_feed(p, (const uint8_t *)s, n);
}

static const char cl_resp[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 27\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "\r\n"
    "goroutine profile: total 4\n"
    "TRAILING GARBAGE IGNORED";

static void test_content_length_every_split(void **state)
{
    (void)state;
    cap_http_parser p;
    body b;
    for (size_t split = 0; split < strlen(cl_resp); split++) {
        assert_int_equal(parse(&p, &b, cl_resp, split, 0), 0);
        assert_true(cap_http_parser_done(&p));
        assert_int_equal(p.status, 200);
        assert_string_equal(p.reason, "OK");
        assert_string_equal(p.content_type, "text/plain; charset=utf-8");
        assert_int_equal(b.len, 27);
        assert_memory_equal(b.data, "goroutine profile: total 4\n", 27);
        assert_int_equal(cap_http_parser_eof(&p), 0);
    }
}

static const char chunked_resp[] =
    "HTTP/1.1 200 OK\r\n"
    "Transfer-Encoding: chunked\r\n"
    "Content-Length: 999\r\n" /* chunked wins (RFC 9112 6.3) */
    "\r\n"
    "5\r\nhello\r\n"
    "1;ext=val\r\n \r\n"
    "A  \r\n0123456789\r\n"
    "0\r\n"
    "X-Trailer: yes\r\n"
    "\r\n";

static void test_chunked_every_split(void **state)
{
    (void)state;
    cap_http_parser p;
    body b;
    for (size_t split = 0; split < strlen(chunked_resp); split++) {
        assert_int_equal(parse(&p, &b, chunked_resp, split, 0), 0);
        assert_true(cap_http_parser_done(&p));
        assert_true(p.chunked);
        assert_int_equal(b.len, 16);
        assert_memory_equal(b.data, "hello 0123456789", 16);
    }
}

static void test_close_delimited(void **state)
{
    (void)state;
    cap_http_parser p;
    body b;
    const char *r = "HTTP/1.0 200 OK\nContent-Type: text/plain\n\nabc";
    assert_int_equal(parse(&p, &b, r, 0, 0), 0);
    assert_false(cap_http_parser_done(&p));
    assert_int_equal(p.state, CAP_HTTP_BODY_CLOSE);
    assert_int_equal(cap_http_parser_feed(&p, (const uint8_t *)"def", 3), 0);
    assert_int_equal(cap_http_parser_eof(&p), 0);
    assert_true(cap_http_parser_done(&p));
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "abcdef", 6);
}

static void test_interim_and_no_body(void **state)
{
    (void)state;
    cap_http_parser p;
    body b;
    const char *r = "HTTP/1.1 100 Continue\r\n\r\n"
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 15\r\n\r\n"
                    "Unknown profile";
    assert_int_equal(parse(&p, &b, r, 0, 0), 0);
    assert_true(cap_http_parser_done(&p));
    assert_int_equal(p.status, 404);
    assert_string_equal(p.reason, "Not Found");
    assert_int_equal(b.len, 15);

    assert_int_equal(parse(&p, &b, "HTTP/1.1 204 No Content\r\n\r\n", 0, 0),
                     0);
    assert_true(cap_http_parser_done(&p));
    assert_int_equal(b.len, 0);

    assert_int_equal(parse(&p, &b, "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
                           0, 0), 0);
    assert_true(cap_http_parser_done(&p));
    assert_string_equal(p.reason, "");
}

static void test_truncation(void **state)
{
    (void)state;
    cap_http_parser p;
    body b;
    assert_int_equal(parse(&p, &b, "", 0, 0), 0);
    assert_int_equal(cap_http_parser_eof(&p), -1);
    assert_non_null(strstr(p.error, "before any response"));

    assert_int_equal(parse(&p, &b, "HTTP/1.1 200 OK\r\nContent-Le", 0, 0), 0);
    assert_int_equal(cap_http_parser_eof(&p), -1);
    assert_non_null(strstr(p.error, "headers"));

    assert_int_equal(parse(&p, &b,
                           "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
                           "12345", 0, 0), 0);
    assert_int_equal(cap_http_parser_eof(&p), -1);
    assert_non_null(strstr(p.error, "5 of 10"));

    assert_int_equal(parse(&p, &b,
                           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                           "\r\n5\r\nhello\r\n", 0, 0), 0);
    assert_int_equal(cap_http_parser_eof(&p), -1);
    assert_non_null(strstr(p.error, "chunked"));
}

static void test_size_cap(void **state)
{
    (void)state;
    cap_http_parser p;
    body b;
    /* Declared too big: refused before any body byte. */
    assert_int_equal(parse(&p, &b,
                           "HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\nx",
                           0, 100), -1);
    assert_non_null(strstr(p.error, "size limit"));
    assert_int_equal(b.len, 0);
    /* Chunked: cut off at the cap. */
    assert_int_equal(parse(&p, &b,
                           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                           "\r\n8\r\n12345678\r\n8\r\n12345678\r\n", 0, 10),
                     -1);
    assert_non_null(strstr(p.error, "size limit of 10 bytes"));
    assert_int_equal(b.len, 8);
    /* Close-delimited: same. */
    assert_int_equal(parse(&p, &b, "HTTP/1.1 200 OK\r\n\r\n12345678901", 0,
                           10), -1);
    /* Exactly at the cap is fine. */
    assert_int_equal(parse(&p, &b,
                           "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
                           "1234567890", 0, 10), 0);
    assert_true(cap_http_parser_done(&p));
}

static void test_callback_stop(void **state)
{
    (void)state;
    cap_http_parser p;
    body b;
    memset(&b, 0, sizeof b);
    b.stop_at = 3;
    cap_http_parser_init(&p, 0, on_body, &b);
    const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabcdef";
    assert_int_equal(cap_http_parser_feed(&p, (const uint8_t *)r, strlen(r)),
                     -1);
    assert_string_equal(p.error, "");
}

static void expect_garbage(const char *r, const char *needle)
{
    cap_http_parser p;
    body b;
    if (parse(&p, &b, r, 0, 0) != -1)
        fail_msg("accepted: %.60s", r);
    if (!strstr(p.error, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", p.error, needle);
}

static void test_garbage(void **state)
{
    (void)state;
    expect_garbage("SSH-2.0-OpenSSH_9.2\r\n", "not an HTTP response");
    expect_garbage("HTTP/1.1 2x0 OK\r\n", "not an HTTP response");
    expect_garbage("HTTP/1.1 200 OK\r\nno colon here\r\n", "malformed header");
    expect_garbage("HTTP/1.1 200 OK\r\n folded\r\n", "folded");
    expect_garbage("HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n", "Content-Length");
    expect_garbage("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
                   "Content-Length: 2\r\n", "conflicting");
    expect_garbage("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n",
                   "Transfer-Encoding");
    expect_garbage("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "zz\r\n", "chunk size");
    expect_garbage("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "3\r\nabcX\r\n", "CRLF");
    expect_garbage("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "fffffffffffffffffff\r\n", "overflows");
    /* Header values are quoted in errors without their control bytes (a
     * tab inside the value once reached the message, and from there logs
     * and Events). */
    {
        static const char *const bad[] = {
            "HTTP/1.1 200 OK\r\nContent-Length: 22 \t3\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gz\x1b[31m\tip\r\n",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            cap_http_parser p;
            body b;
            assert_int_equal(parse(&p, &b, bad[i], 0, 0), -1);
            for (const char *c = p.error; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                    fail_msg("control byte 0x%02x in \"%s\"",
                             (unsigned char)*c, p.error);
        }
        cap_http_parser p;
        body b;
        assert_int_equal(parse(&p, &b, bad[0], 0, 0), -1);
        assert_string_equal(p.error, "bad Content-Length \"22 ?3\"");
    }
    /* A NUL inside the head. */
    {
        static const char nul[] = "HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n";
        cap_http_parser p;
        body b;
        memset(&b, 0, sizeof b);
        cap_http_parser_init(&p, 0, on_body, &b);
        assert_int_equal(cap_http_parser_feed(&p, (const uint8_t *)nul,
                                              sizeof nul - 1), -1);
        assert_non_null(strstr(p.error, "control byte"));
    }
    /* An endless header line is bounded. */
    char *big = malloc(80000);
    strcpy(big, "HTTP/1.1 200 OK\r\nX: ");
    memset(big + strlen(big), 'a', 19000);
    big[19000] = '\0';
    expect_garbage(big, "8 KiB");
    /* So are endless headers. */
    size_t o = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\n");
    while (o < 70000)
        o += (size_t)sprintf(big + o, "X-Pad: %0100d\r\n", 1);
    expect_garbage(big, "64 KiB");
    free(big);
}

static void test_format_get(void **state)
{
    (void)state;
    char out[512];
    size_t n = cap_http_format_get(out, sizeof out, "localhost:6060",
                                   "/debug/pprof/goroutine?debug=2", "lw/1");
    assert_int_equal(n, strlen(out));
    assert_string_equal(out, "GET /debug/pprof/goroutine?debug=2 HTTP/1.1\r\n"
                             "Host: localhost:6060\r\n"
                             "User-Agent: lw/1\r\n"
                             "Accept: */*\r\n"
                             "Connection: close\r\n\r\n");
    /* Header injection through the path is refused. */
    assert_int_equal(cap_http_format_get(out, sizeof out, "h", "/a\r\nX: y",
                                         NULL), 0);
    assert_int_equal(cap_http_format_get(out, sizeof out, "h", "/a b", NULL),
                     0);
    assert_int_equal(cap_http_format_get(out, sizeof out, "h", "noslash",
                                         NULL), 0);
    assert_int_equal(cap_http_format_get(out, 20, "h", "/x", NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length_every_split),
        cmocka_unit_test(test_chunked_every_split),
        cmocka_unit_test(test_close_delimited),
        cmocka_unit_test(test_interim_and_no_body),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_callback_stop),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_format_get),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
