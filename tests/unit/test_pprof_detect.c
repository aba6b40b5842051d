/*
 * test_pprof_detect.c — format detection and the input that must be
 * refused cleanly: empty files, binary garbage, other profiles, broken
 * and hostile gzip (truncated, corrupt, trailing bytes, bombs), input
 * over the size limits, and the file and buffer entry points.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <unistd.h>
#include <zlib.h>

#include "support.h"
#include "test_pprof_util.h"

static void expect_buf_error(const void *data, size_t len, const char *name,
                             const pprof_limits *lim, const char *want)
{
    char err[512];
    pprof_profile *p = pprof_parse_buffer(data, len, name, lim, err, sizeof(err));
    ts_assert_refused(p, err, want);
}

/* Raw deflate of `in` ending with a full flush: a self-contained piece
 * that may be repeated. */
static unsigned char *deflate_piece(const unsigned char *in, size_t len,
                                    int flush, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 9,
                                  Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)len) + 64;
    unsigned char *out = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, flush);
    assert_true(rc == Z_OK || rc == Z_STREAM_END);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    return out;
}

/*
 * A gzip stream of `prefix` followed by `mib` MiB of zero bytes, built
 * without compressing all of it: one fully flushed deflate piece of a
 * MiB of zeros is repeated, then the trailer gets the CRC of the whole.
 */
static unsigned char *gzip_bomb(const unsigned char *prefix, size_t plen,
                                unsigned mib, size_t *out_len)
{
    const size_t M = 1u << 20;
    unsigned char *zeros = calloc(1, M + plen);
    if (plen)
        memcpy(zeros, prefix, plen);
    size_t la, lb, lf;
    unsigned char *a = deflate_piece(zeros, plen + M, Z_FULL_FLUSH, &la);
    unsigned char *b = deflate_piece(zeros + plen, M, Z_FULL_FLUSH, &lb);
    unsigned char *fin = deflate_piece(NULL, 0, Z_FINISH, &lf);
    uLong crc_m = crc32(0L, zeros + plen, (uInt)M);
    uLong crc = crc32(0L, zeros, (uInt)(plen + M));
    for (unsigned i = 1; i < mib; i++)
        crc = crc32_combine(crc, crc_m, (z_off_t)M);
    size_t total = 10 + la + lb * (mib - 1) + lf + 8;
    unsigned char *out = malloc(total);
    static const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    size_t o = 0;
    memcpy(out, hdr, 10);
    o = 10;
    memcpy(out + o, a, la);
    o += la;
    for (unsigned i = 1; i < mib; i++) {
        memcpy(out + o, b, lb);
        o += lb;
    }
    memcpy(out + o, fin, lf);
    o += lf;
    uint64_t isize = (uint64_t)plen + (uint64_t)mib * M;
    for (int i = 0; i < 4; i++)
        out[o++] = (unsigned char)(crc >> (8 * i));
    for (int i = 0; i < 4; i++)
        out[o++] = (unsigned char)(isize >> (8 * i));
    *out_len = o;
    free(a);
    free(b);
    free(fin);
    free(zeros);
    return out;
}

static void test_not_a_profile(void **state)
{
    (void)state;
    expect_buf_error("", 0, "empty.txt", NULL, "empty.txt: not a goroutine profile (empty input)");
    expect_buf_error("\n\n  \n", 4, "blank.txt", NULL, "blank.txt: not a goroutine profile");
    expect_buf_error("\x7f" "ELF\x02\x01\x01\0\0\0\0\0", 12, "x.bin", NULL,
                     "x.bin: not a goroutine profile (unrecognised content at byte 0)");
    const char *text = "hello\nthis is a README\n";
    expect_buf_error(text, strlen(text), "r.txt", NULL,
                     "r.txt: not a goroutine profile (unrecognised content at byte 0)");
    const char *heap = "heap profile: 3: 1200 [5: 4000] @ heap/1048576\n";
    expect_buf_error(heap, strlen(heap), "h.txt", NULL,
                     "h.txt: not a goroutine profile (a heap profile)");
    const char *tc = "threadcreate profile: total 9\n";
    expect_buf_error(tc, strlen(tc), "t.txt", NULL,
                     "t.txt: not a goroutine profile (a threadcreate profile)");
    /* One byte of gzip magic is not gzip. */
    expect_buf_error("\x1f", 1, "g", NULL, "g: not a goroutine profile");

    /* Random bytes never crash and never parse as a profile. */
    uint64_t s = 42;
    unsigned char *junk = malloc(1 << 16);
    for (int round = 0; round < 200; round++) {
        size_t n = 1 + (size_t)(s % 65535);
        for (size_t i = 0; i < n; i++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            junk[i] = (unsigned char)s;
        }
        if (junk[0] == 0x1f)
            junk[0] = 0;
        char err[512];
        pprof_profile *p = pprof_parse_buffer(junk, n, "junk", NULL, err, sizeof(err));
        assert_null(p);
        assert_true(strncmp(err, "junk: ", 6) == 0);
        assert_null(strchr(err, '\n'));
    }
    free(junk);
}

static void test_text_detection(void **state)
{
    (void)state;
    char err[256];
    /* Leading blank lines before a debug=1 header. */
    pprof_profile *p = tp_parse_str("\n\r\n  goroutine profile: total 1\n1 @ 0x1\n#\t0x1\tmain.f+0x1\t/a.go:1\n\n",
                                    err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(p->format, PPROF_FORMAT_DEBUG1);
    pprof_profile_free(p);
    /* A panic message before the dump. */
    p = tp_parse_str("panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/a.go:3 +0x1d\nexit status 2\n",
                     err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(p->format, PPROF_FORMAT_DEBUG2);
    assert_int_equal(p->counted, 1);
    pprof_profile_free(p);
    /* More than 64 KiB of log before the first goroutine (go test -v):
     * still a dump.  Without any goroutine header it is refused. */
    size_t n = 70000;
    char *big = malloc(n + 64);
    for (size_t i = 0; i < n; i++)
        big[i] = (i % 60 == 59) ? '\n' : 'x';
    strcpy(big + n, "\ngoroutine 1 [running]:\nmain.main()\n\t/a.go:3 +0x1d\n");
    p = tp_parse_str(big, err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(p->format, PPROF_FORMAT_DEBUG2);
    assert_int_equal(p->counted, 1);
    assert_int_equal(p->skipped_lines, 0);
    pprof_profile_free(p);
    big[n] = '\0';
    expect_buf_error(big, strlen(big), "late.txt", NULL,
                     "late.txt: not a goroutine profile (no goroutine header in "
                     "1167 lines of text)");
    free(big);
}

static const size_t piece_sizes[] = {1, 7, 61, 4096};

/* The text, fed in each piece size, is one debug=2 goroutine. */
static void expect_one_goroutine_in_pieces(const char *text, const char *name)
{
    for (size_t k = 0; k < sizeof(piece_sizes) / sizeof(piece_sizes[0]); k++) {
        char err[256];
        pprof_profile *p = tp_parse_chunked(text, strlen(text), piece_sizes[k],
                                            name, NULL, err, sizeof(err));
        assert_non_null(p);
        assert_int_equal(p->format, PPROF_FORMAT_DEBUG2);
        assert_int_equal(p->counted, 1);
        pprof_profile_free(p);
    }
}

/* Detection resumes where the last piece left it (pp_detect_scan) rather
 * than rescanning the buffer: fed a byte at a time, or in odd pieces, text
 * before a header, a control byte deep in a long line and leading blank
 * lines decide exactly as the whole input does. */
static void test_detection_in_pieces(void **state)
{
    (void)state;
    char want[256];
    size_t n = 70000;
    char *big = malloc(n + 64);
    for (size_t i = 0; i < n; i++)
        big[i] = (i % 60 == 59) ? '\n' : 'x';
    strcpy(big + n, "\ngoroutine 1 [running]:\nmain.main()\n\t/a.go:3 +0x1d\n");
    expect_one_goroutine_in_pieces(big, "big.txt");
    /* A line of 3000 text bytes, then a control byte in the same line:
     * binary, so protobuf's turn ('x' reads as a varint field 15), which
     * refuses it at the control byte. */
    memset(big, 'x', 5000);
    big[3000] = 0x01;
    big[5000] = '\0';
    assert_null(tp_parse_chunked(big, 5000, 0, "bin", NULL, want, sizeof(want)));
    assert_string_equal(want, "bin: protobuf: field number 0 at byte 3000");
    /* Blank lines, then a header in an indented line after a long one. */
    size_t off = 0;
    for (; off < 2000; off++)
        big[off] = off % 50 == 49 ? '\n' : ' ';
    memset(big + off, 'y', 3000);
    off += 3000;
    strcpy(big + off, "\n   goroutine 7 [chan receive]:\nmain.main()\n\t/a.go:3 +0x1d\n");
    expect_one_goroutine_in_pieces(big, "pad.txt");
    /* The binary line, byte by byte and in pieces: the same refusal. */
    memset(big, 'x', 5000);
    big[3000] = 0x01;
    for (size_t k = 0; k < sizeof(piece_sizes) / sizeof(piece_sizes[0]); k++) {
        char e2[256];
        assert_null(tp_parse_chunked(big, 5000, piece_sizes[k], "bin", NULL, e2,
                                     sizeof(e2)));
        assert_string_equal(e2, want);
    }
    free(big);
}

static void test_gzip_damage(void **state)
{
    (void)state;
    size_t len, glen;
    unsigned char *data = tp_read("go126_debug2.txt", &len);
    unsigned char *gz = ts_gzip(data, len, &glen);

    /* Cut short. */
    char want[128];
    expect_buf_error(gz, glen - 20, "cut.gz", NULL, "cut.gz: gzip: compressed data ends early (truncated) at byte");
    expect_buf_error(gz, 11, "cut.gz", NULL, "cut.gz: gzip: compressed data ends early");

    /* Corrupted in the middle of the deflate data. */
    unsigned char *bad = malloc(glen);
    memcpy(bad, gz, glen);
    for (size_t i = 40; i < 60; i++)
        bad[i] ^= 0x5a;
    expect_buf_error(bad, glen, "bad.gz", NULL, "bad.gz: gzip: corrupt compressed data");
    /* Wrong CRC in the trailer. */
    memcpy(bad, gz, glen);
    bad[glen - 6] ^= 1;
    expect_buf_error(bad, glen, "crc.gz", NULL, "crc.gz: gzip: corrupt compressed data (incorrect data check)");
    free(bad);

    /* Bytes after the last member that are not another member. */
    unsigned char *trail = malloc(glen + 4);
    memcpy(trail, gz, glen);
    memcpy(trail + glen, "junk", 4);
    snprintf(want, sizeof(want), "t.gz: gzip: unexpected data after the compressed stream at byte %zu", glen);
    expect_buf_error(trail, glen + 4, "t.gz", NULL, want);
    free(trail);

    /* gzip in gzip is refused rather than unwrapped forever. */
    size_t g2len;
    unsigned char *g2 = ts_gzip(gz, glen, &g2len);
    expect_buf_error(g2, g2len, "gg.gz", NULL, "gg.gz: not a goroutine profile (gzip inside gzip)");
    free(g2);

    /* Garbage inside valid gzip. */
    unsigned char noise[300];
    for (int i = 0; i < 300; i++)
        noise[i] = (unsigned char)(i * 37 + 11);
    noise[0] = 0;
    size_t nlen;
    unsigned char *gn = ts_gzip(noise, sizeof(noise), &nlen);
    expect_buf_error(gn, nlen, "n.gz", NULL, "n.gz: not a goroutine profile");
    free(gn);
    free(gz);
    free(data);
}

static void test_gzip_bombs(void **state)
{
    (void)state;
    size_t blen;
    /* 1 GiB of zeros: refused on the first decompressed chunk. */
    unsigned char *bomb = gzip_bomb(NULL, 0, 1024, &blen);
    assert_true(blen < 2u << 20);
    expect_buf_error(bomb, blen, "zeros.gz", NULL,
                     "zeros.gz: not a goroutine profile (unrecognised content at byte 0)");
    free(bomb);

    /* 1 GiB behind a protobuf string-table field that claims it all:
     * stopped at the decompression cap, after reading only part of the
     * compressed input. */
    unsigned char pb[16] = {0x32};
    size_t plen = 1;
    uint64_t v = 1ULL << 30;
    while (v >= 0x80) {
        pb[plen++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    pb[plen++] = (unsigned char)v;
    bomb = gzip_bomb(pb, plen, 1024, &blen);
    pprof_parser *p = pprof_parser_new("prof.pb.gz", NULL);
    size_t fed = 0;
    int rc = 0;
    while (fed < blen && rc == 0) {
        size_t n = blen - fed < 4096 ? blen - fed : 4096;
        rc = pprof_parser_feed(p, bomb + fed, n);
        fed += n;
    }
    assert_int_equal(rc, -1);
    assert_string_equal(pprof_parser_error(p),
                        "prof.pb.gz: gzip: decompressed size exceeds 268435456 bytes "
                        "(limit; raise with --max-decompressed)");
    assert_true(fed < blen / 2);
    assert_null(pprof_parser_finish(p));
    pprof_parser_free(p);
    free(bomb);

    /* The same with a smaller cap set by the caller. */
    pprof_limits lim;
    pprof_limits_default(&lim);
    lim.max_decompressed_bytes = 8u << 20;
    bomb = gzip_bomb(pb, plen, 64, &blen);
    expect_buf_error(bomb, blen, "small.gz", &lim,
                     "small.gz: gzip: decompressed size exceeds 8388608 bytes");
    free(bomb);

    /* Text that never ends its line: stopped at the line limit. */
    const char *hdr = "goroutine 1 [running]:\nmain.main(";
    bomb = gzip_bomb((const unsigned char *)hdr, strlen(hdr), 64, &blen);
    expect_buf_error(bomb, blen, "line.gz", NULL,
                     "line.gz: line 2: line longer than 1048576 bytes (limit; raise with --max-line)");
    free(bomb);
}

static void test_input_limits(void **state)
{
    (void)state;
    pprof_limits lim;
    pprof_limits_default(&lim);
    lim.max_input_bytes = 1000;
    size_t len;
    unsigned char *data = tp_read("go126_debug2.txt", &len);
    expect_buf_error(data, len, "big.txt", &lim,
                     "big.txt: input exceeds 1000 bytes (limit; raise with --max-input)");
    /* The limit applies to the sum of feeds. */
    pprof_parser *p = pprof_parser_new("big.txt", &lim);
    assert_int_equal(pprof_parser_feed(p, data, 600), 0);
    assert_int_equal(pprof_parser_feed(p, data + 600, 600), -1);
    assert_non_null(strstr(pprof_parser_error(p), "input exceeds 1000 bytes"));
    /* After an error the parser stays failed. */
    assert_int_equal(pprof_parser_feed(p, data, 1), -1);
    assert_null(pprof_parser_finish(p));
    pprof_parser_free(p);

    /* Raw protobuf is kept whole, so it is held to max_decompressed. */
    unsigned char *raw = NULL;
    size_t rawlen = 0;
    {
        size_t glen;
        unsigned char *gz = tp_read("go126.pb.gz", &glen);
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        assert_int_equal(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
        raw = malloc(1 << 20);
        zs.next_in = gz;
        zs.avail_in = (uInt)glen;
        zs.next_out = raw;
        zs.avail_out = 1 << 20;
        assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
        rawlen = zs.total_out;
        inflateEnd(&zs);
        free(gz);
    }
    pprof_limits_default(&lim);
    lim.max_decompressed_bytes = 2000;
    expect_buf_error(raw, rawlen, "p.pb", &lim,
                     "p.pb: protobuf: profile exceeds 2000 bytes (limit; raise with --max-decompressed)");
    free(raw);
    free(data);
}

static void test_file_api(void **state)
{
    (void)state;
    char err[512];
    char *path = tp_path("go126.pb.gz", 1);
    pprof_profile *p = pprof_parse_file(path, NULL, err, sizeof(err));
    assert_non_null(p);
    assert_string_equal(err, "");
    assert_int_equal(p->total, 18);
    pprof_profile_free(p);
    free(path);

    p = pprof_parse_file("/nonexistent/dir/prof.txt", NULL, err, sizeof(err));
    assert_null(p);
    assert_string_equal(err, "/nonexistent/dir/prof.txt: cannot open: No such file or directory");

    /* A directory opens but cannot be read. */
    p = pprof_parse_file("/", NULL, err, sizeof(err));
    assert_null(p);
    assert_non_null(strstr(err, "/: read error: "));

    /* Errors fit the caller's buffer and stay terminated. */
    char small[16];
    p = pprof_parse_buffer("junk\n", 5, "a-rather-long-file-name.txt", NULL, small, sizeof(small));
    assert_null(p);
    assert_int_equal(strlen(small), sizeof(small) - 1);

    /* The error of a parser that did not fail is empty. */
    pprof_parser *pp = pprof_parser_new("ok", NULL);
    assert_string_equal(pprof_parser_error(pp), "");
    pprof_parser_free(pp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_a_profile),
        cmocka_unit_test(test_text_detection),
        cmocka_unit_test(test_detection_in_pieces),
        cmocka_unit_test(test_gzip_damage),
        cmocka_unit_test(test_gzip_bombs),
        cmocka_unit_test(test_input_limits),
        cmocka_unit_test(test_file_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
