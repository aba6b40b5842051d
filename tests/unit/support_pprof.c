/*
 * support_pprof.c — checks the pkg/pprof unit tests share (see support.h):
 * parsing a recorded input, asserting a clean one-line refusal, comparing
 * LF and CRLF parses, and gzipping a buffer. Built on the header-only
 * readers in test_pprof_util.h; uses cmocka, so unit tests only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <zlib.h>

#include "support.h"
#include "test_pprof_util.h"

pprof_profile *ts_parse_testdata(const char *name)
{
    size_t len;
    unsigned char *data = tp_read(name, &len);
    char err[512];
    pprof_profile *p =
        pprof_parse_buffer(data, len, name, NULL, err, sizeof(err));
    if (!p)
        fprintf(stderr, "%s\n", err);
    free(data);
    assert_non_null(p);
    return p;
}

void ts_assert_refused(const pprof_profile *p, const char *err,
                       const char *want)
{
    if (p || !strstr(err, want))
        fprintf(stderr, "want error containing \"%s\", got \"%s\"\n", want,
                err);
    assert_null(p);
    assert_non_null(strstr(err, want));
    assert_null(strchr(err, '\n'));
}

void ts_expect_parse_error(const char *input, const char *want,
                           const char *prefix)
{
    char err[512];
    pprof_profile *p = tp_parse_str(input, err, sizeof(err));
    ts_assert_refused(p, err, want);
    if (prefix)
        assert_true(strncmp(err, prefix, strlen(prefix)) == 0);
}

void ts_assert_same_and_free(pprof_profile *a, pprof_profile *b)
{
    char *ca = tp_canon(a), *cb = tp_canon(b);
    assert_string_equal(ca, cb);
    free(ca);
    free(cb);
    pprof_profile_free(a);
    pprof_profile_free(b);
}

void ts_assert_crlf_same(const char *name)
{
    size_t len;
    unsigned char *data = tp_read(name, &len);
    unsigned char *crlf = malloc(len * 2);
    assert_non_null(crlf);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n')
            crlf[n++] = '\r';
        crlf[n++] = data[i];
    }
    pprof_profile *a = pprof_parse_buffer(data, len, "x", NULL, NULL, 0);
    pprof_profile *b = pprof_parse_buffer(crlf, n, "x", NULL, NULL, 0);
    assert_non_null(a);
    assert_non_null(b);
    ts_assert_same_and_free(a, b);
    free(crlf);
    free(data);
}

unsigned char *ts_gzip(const void *data, size_t len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
                                  Z_DEFAULT_STRATEGY),
                     Z_OK);
    size_t cap = deflateBound(&zs, (uLong)len) + 64;
    unsigned char *out = malloc(cap);
    assert_non_null(out);
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    return out;
}
