/*
 * test_pprof_pasted.c — goroutine dumps as engineers paste them, through
 * the real parser: indented, glued to log text, without their last
 * newline, after more than 64 KiB of test output, with the runtime's own
 * diagnostics (unexpected return pc, hex stack dumps, goroutine 0 with an
 * unknown pc, "runtime: gN: frame.sp="), SIGQUIT register dumps, and a
 * debug=1 total below its records.  Inputs are tests/fixtures/pasted/,
 * recorded by hack/record-pasted.sh from real Go processes (or transformed
 * from such a recording the way pasting does); *-handmade.txt are labelled
 * hand-made.  Expected counts are read off the files themselves (goroutine
 * headers, diagnostic lines), not typed in.
 *
 * Not for: the formats' grammar (test_pprof_debug1.c, test_pprof_debug2.c)
 * or format detection on synthetic input (test_pprof_detect.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "support.h"
#include "test_pprof_util.h"

#define PASTED "tests/fixtures/pasted/"

static unsigned char *read_pasted(const char *name, size_t *len)
{
    char *path = tp_path(name, 0);
    unsigned char *d = tp_read_path(path, len);
    if (!d)
        fprintf(stderr, "cannot read %s\n", path);
    free(path);
    assert_non_null(d);
    return d;
}

static pprof_profile *parse_pasted(const char *name)
{
    size_t len;
    unsigned char *d = read_pasted(name, &len);
    char err[512];
    pprof_profile *p = pprof_parse_buffer(d, len, name, NULL, err, sizeof(err));
    if (!p)
        fprintf(stderr, "%s\n", err);
    free(d);
    assert_non_null(p);
    return p;
}

/* Goroutine headers in the text ("goroutine N [" or "goroutine N gp=" at a
 * line start, after any indentation or glued text), goroutine 0 aside. */
static uint64_t count_headers(const unsigned char *d, size_t len)
{
    uint64_t n = 0;
    const char *s = (const char *)d, *end = s + len;
    for (const char *p = s; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *g = memmem(p, (size_t)(le - p), "goroutine ", 10);
        if (g && le - g > 2 && le[-1] == ':' && le[-2] == ']') {
            const char *q = g + 10, *ds = q;
            while (q < le && *q >= '0' && *q <= '9')
                q++;
            if (q > ds && q < le && *q == ' ' && !(q - ds == 1 && *ds == '0'))
                n++;
        }
        p = le + 1;
    }
    return n;
}

static uint64_t headers_in(const char *name)
{
    size_t len;
    unsigned char *d = read_pasted(name, &len);
    uint64_t n = count_headers(d, len);
    free(d);
    return n;
}

static void assert_same_as(const char *name, const char *original)
{
    pprof_profile *a = parse_pasted(name);
    pprof_profile *b = parse_pasted(original);
    assert_int_equal(a->skipped_lines, 0);
    assert_false(a->truncated);
    ts_assert_same_and_free(a, b);
}

static void test_indented(void **state)
{
    (void)state;
    /* Today's regression: read as 0 goroutines, exit 0. */
    pprof_profile *p = parse_pasted(PASTED "indented-spaces.txt");
    assert_int_equal(p->counted, headers_in(PASTED "panic-system.txt"));
    assert_true(p->counted > 0);
    pprof_profile_free(p);
    assert_same_as(PASTED "indented-spaces.txt", PASTED "panic-system.txt");
    assert_same_as(PASTED "indented-tab.txt", PASTED "panic-system.txt");
}

static void test_glued_header(void **state)
{
    (void)state;
    assert_same_as(PASTED "glued.txt", PASTED "panic-system.txt");
}

static void test_no_trailing_newline(void **state)
{
    (void)state;
    assert_same_as(PASTED "no-trailing-newline.txt", PASTED "panic-system.txt");
    /* Cut inside the creator's line number instead: that goroutine may be
     * wrong, so it is left out and the capture is marked cut. */
    size_t len;
    unsigned char *d = read_pasted(PASTED "no-trailing-newline.txt", &len);
    size_t cut = len;
    while (cut > 0 && d[cut - 1] != ':')
        cut--;
    assert_true(cut > 0);
    cut += 1; /* one digit of the line number */
    pprof_profile *whole = parse_pasted(PASTED "panic-system.txt");
    char err[256];
    pprof_profile *p = pprof_parse_buffer(d, cut, "cut", NULL, err, sizeof(err));
    assert_non_null(p);
    assert_true(p->truncated);
    assert_int_equal(p->counted, whole->counted - 1);
    pprof_profile_free(p);
    pprof_profile_free(whole);
    free(d);
}

/* Lines from the first line starting with `marker` after the first
 * goroutine header, up to the next blank line. */
static uint64_t block_lines(const char *name, const char *marker)
{
    size_t len;
    unsigned char *d = read_pasted(name, &len);
    const char *s = (const char *)d, *end = s + len;
    const char *first = memmem(s, len, "\ngoroutine ", 11);
    assert_non_null(first);
    size_t ml = strlen(marker);
    uint64_t n = 0;
    int in = 0;
    for (const char *p = first + 1; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (!in && (size_t)(le - p) >= ml && memcmp(p, marker, ml) == 0)
            in = 1;
        if (in) {
            if (le == p)
                break;
            n++;
        }
        p = le + 1;
    }
    free(d);
    return n;
}

static void test_unexpected_return_pc(void **state)
{
    (void)state;
    const char *name = PASTED "badpc.txt";
    pprof_profile *p = parse_pasted(name);
    assert_int_equal(p->counted, headers_in(name));
    /* The diagnostic and hex dump inside goroutine 1's stack are skipped
     * and counted, nothing else; the stack keeps the frames printed
     * before it, as Go's own traceback does. */
    uint64_t diag = block_lines(name, "runtime: g 1: unexpected return pc");
    assert_true(diag > 10);
    assert_int_equal(p->skipped_lines, diag);
    assert_true(tp_count_with(p, "main.corruptReturn") == 1);
    assert_true(tp_count_with(p, "main.callCorrupt") == 0);
    pprof_profile_free(p);
}

static void test_sigquit_crash(void **state)
{
    (void)state;
    const char *names[] = {PASTED "sigquit-crash.txt",
                           PASTED "cgo-sigquit-crash.txt"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        pprof_profile *p = parse_pasted(names[i]);
        assert_int_equal(p->counted, headers_in(names[i]));
        /* Register dumps, "-----" and the SIGQUIT lines of each thread. */
        assert_true(p->skipped_lines > 0);
        assert_false(p->truncated);
        assert_true(p->has_goids);
        pprof_profile_free(p);
    }
}

static void test_goroutine0_unknown_pc(void **state)
{
    (void)state;
    /* Hand-made (see tests/fixtures/pasted/README.md). */
    const char *name = PASTED "goroutine0-unknown-pc-handmade.txt";
    pprof_profile *p = parse_pasted(name);
    assert_int_equal(p->counted, headers_in(name));
    uint64_t diag = block_lines(name, "runtime: g 0 gp=");
    assert_true(diag >= 6);
    assert_true(p->skipped_lines >= diag);
    for (size_t i = 0; i < p->nbuckets; i++)
        for (uint32_t f = 0; f < p->buckets[i].nframes; f++)
            assert_null(strstr(p->buckets[i].frames[f].func, "unknown pc"));
    pprof_profile_free(p);
}

static void test_frame_sp(void **state)
{
    (void)state;
    /* Hand-made: "\tstack=[" lines before the first goroutine and between
     * two; today the first one alone refuses the file. */
    const char *name = PASTED "frame-sp-handmade.txt";
    pprof_profile *p = parse_pasted(name);
    assert_int_equal(p->counted, headers_in(name));
    assert_int_equal(p->counted, 3);
    assert_int_equal(p->skipped_lines, 2); /* the pair between goroutines */
    const pprof_bucket *b = tp_find(p, "main.worker", "chan receive");
    assert_non_null(b);
    assert_int_equal(b->count, 2);
    pprof_profile_free(p);
}

static void test_go_test_timeout(void **state)
{
    (void)state;
    const char *name = PASTED "gotest-timeout.txt";
    size_t len;
    unsigned char *d = read_pasted(name, &len);
    const unsigned char *first = memmem(d, len, "\ngoroutine ", 11);
    assert_non_null(first);
    assert_true(first - d > 64 * 1024);
    /* "FAIL\tpkg\t4.0s" and "FAIL" after the last goroutine. */
    uint64_t fail_lines = 0;
    for (const unsigned char *q = first; (q = memmem(q, len - (size_t)(q - d), "\nFAIL", 5));
         q++)
        fail_lines++;
    uint64_t headers = count_headers(d, len);
    pprof_profile *whole = NULL;
    /* Detection does not depend on how the bytes arrive. */
    const size_t chunks[] = {0, 1, 1000, 64 * 1024, 64 * 1024 + 1};
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        char err[256];
        pprof_profile *p = tp_parse_chunked(d, len, chunks[i], "t", NULL, err,
                                            sizeof(err));
        if (!p)
            fprintf(stderr, "chunk %zu: %s\n", chunks[i], err);
        assert_non_null(p);
        assert_int_equal(p->format, PPROF_FORMAT_DEBUG2);
        assert_int_equal(p->counted, headers);
        assert_int_equal(p->skipped_lines, fail_lines);
        if (!whole)
            whole = p;
        else
            ts_assert_same_and_free(pprof_parse_buffer(d, len, "t", NULL, NULL, 0), p);
    }
    pprof_profile_free(whole);
    /* The log alone, no dump: an error, never 0 goroutines. */
    char err[256];
    pprof_profile *none = pprof_parse_buffer(d, (size_t)(first - d) + 1, "log.txt",
                                             NULL, err, sizeof(err));
    ts_assert_refused(none, err, "log.txt: not a goroutine profile (no goroutine header in");
    free(d);
}

static void test_debug1_total_short(void **state)
{
    (void)state;
    pprof_profile *p = parse_pasted(PASTED "debug1-total-short.txt");
    char *path = tp_path("tests/fixtures/go1.26.8/steady-pool/01.debug1.txt", 0);
    char err[256];
    pprof_profile *orig = pprof_parse_file(path, NULL, err, sizeof(err));
    free(path);
    assert_non_null(orig);
    assert_false(orig->total_short);
    assert_true(p->total_short);
    assert_int_equal(p->format, PPROF_FORMAT_DEBUG1);
    assert_int_equal(p->counted, orig->counted);
    assert_int_equal(p->total, orig->total - 5);
    assert_true(p->total < p->counted);
    assert_false(p->truncated);
    pprof_profile_free(orig);
    pprof_profile_free(p);
}

static void test_indented_debug1(void **state)
{
    (void)state;
    /* The same transformation on a recorded debug=1 profile. */
    char *path = tp_path("tests/fixtures/go1.26.8/steady-pool/01.debug1.txt", 0);
    size_t len = 0;
    unsigned char *d = tp_read_path(path, &len);
    free(path);
    assert_non_null(d);
    unsigned char *ind = malloc(len * 5 + 4);
    size_t n = 0;
    int bol = 1;
    for (size_t i = 0; i < len; i++) {
        if (bol) {
            memcpy(ind + n, "    ", 4);
            n += 4;
        }
        ind[n++] = d[i];
        bol = d[i] == '\n';
    }
    pprof_profile *a = pprof_parse_buffer(d, len, "a", NULL, NULL, 0);
    pprof_profile *b = pprof_parse_buffer(ind, n, "b", NULL, NULL, 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(b->skipped_lines, 0);
    ts_assert_same_and_free(a, b);
    free(ind);
    free(d);
}

static void test_no_goroutine_is_an_error(void **state)
{
    (void)state;
    ts_expect_parse_error("    some text\n    more text\n",
                          "not a goroutine profile", "t.txt: ");
    /* Headers that cannot be read: an error naming the first bad line. */
    ts_expect_parse_error("goroutine 1 [running]:\nmain.main()\nmain.x()\n",
                          "line 3: expected the file:line of the line before",
                          "t.txt: ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_indented),
        cmocka_unit_test(test_glued_header),
        cmocka_unit_test(test_no_trailing_newline),
        cmocka_unit_test(test_unexpected_return_pc),
        cmocka_unit_test(test_sigquit_crash),
        cmocka_unit_test(test_goroutine0_unknown_pc),
        cmocka_unit_test(test_frame_sp),
        cmocka_unit_test(test_go_test_timeout),
        cmocka_unit_test(test_debug1_total_short),
        cmocka_unit_test(test_indented_debug1),
        cmocka_unit_test(test_no_goroutine_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
