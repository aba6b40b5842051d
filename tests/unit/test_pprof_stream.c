/*
 * test_pprof_stream.c — the streaming contract: the same bytes give the
 * same profile however they are cut into feeds (whole, one byte at a
 * time, random pieces — lines and gzip members split anywhere), and a
 * long input costs memory for its unique stacks only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <zlib.h>

#include "lw/lw_arena.h"
#include "support.h"
#include "test_pprof_util.h"

static const char *inputs[] = {
    "go126_debug1.txt", "go126_debug2.txt", "go126.pb.gz",
    "go126_leak_debug1.txt", "go126_leak_debug2.txt", "go126_leak.pb.gz",
    "go121_debug1.txt", "go121_debug2.txt", "go121.pb.gz",
    "go119_debug1.txt", "go119_debug2.txt", "go119.pb.gz",
    "go126_system_panic.txt", "go126_ancestors_labels_debug2.txt",
    "go126_minutes_debug2.txt", "go119_minutes_debug2.txt",
    "go126_synctest_debug2.txt", "go125_synctest_debug2.txt",
    "go124_synctest_debug2.txt", "go126_sigquit_crash.txt",
    "go126_fatal_error.txt", "edge_old_elided_debug2.txt",
    "edge_crash_sections_debug2.txt",
};

static void check_chunkings(const unsigned char *data, size_t len,
                            const char *name)
{
    char err[512];
    pprof_profile *whole = tp_parse_chunked(data, len, 0, name, NULL, err, sizeof(err));
    if (!whole)
        fprintf(stderr, "%s: %s\n", name, err);
    assert_non_null(whole);
    char *want = tp_canon(whole);
    pprof_profile_free(whole);

    pprof_profile *p = tp_parse_chunked(data, len, 1, name, NULL, err, sizeof(err));
    assert_non_null(p);
    char *got = tp_canon(p);
    if (strcmp(want, got) != 0)
        fprintf(stderr, "%s: byte-by-byte differs\n", name);
    assert_string_equal(want, got);
    free(got);
    pprof_profile_free(p);

    for (unsigned seed = 1; seed <= 6; seed++) {
        size_t max = seed & 1 ? 7 : 4099;
        p = tp_parse_random(data, len, seed, max, name, err, sizeof(err));
        assert_non_null(p);
        got = tp_canon(p);
        if (strcmp(want, got) != 0)
            fprintf(stderr, "%s: random chunks (seed %u) differ\n", name, seed);
        assert_string_equal(want, got);
        free(got);
        pprof_profile_free(p);
    }
    free(want);
}

static void test_chunk_independence(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        size_t len;
        unsigned char *data = tp_read(inputs[i], &len);
        check_chunkings(data, len, inputs[i]);
        free(data);
    }
}

static void test_failure_is_chunk_independent(void **state)
{
    (void)state;
    /* Found by fuzzing: a goroutine header on a line that later holds a
     * NUL byte was a dump when seen in pieces but binary when seen
     * whole.  Whatever the outcome, it must not depend on the pieces. */
    size_t len;
    unsigned char *data = tp_read("fuzz_detect_prefix.bin", &len);
    char err[512];
    pprof_profile *whole = tp_parse_chunked(data, len, 0, "f", NULL, err, sizeof(err));
    char *want = whole ? tp_canon(whole) : NULL;
    for (size_t step = 1; step < 80; step++) {
        pprof_profile *p = tp_parse_chunked(data, len, step, "f", NULL, err, sizeof(err));
        assert_int_equal(p != NULL, whole != NULL);
        if (p) {
            char *got = tp_canon(p);
            assert_string_equal(want, got);
            free(got);
            pprof_profile_free(p);
        }
    }
    free(want);
    pprof_profile_free(whole);
    free(data);
}

static void test_gzipped_text_and_members(void **state)
{
    (void)state;
    /* Text profiles gzipped by hand, and gzip made of several members
     * (`cat a.gz b.gz`), read like the plain text. */
    size_t len;
    unsigned char *data = tp_read("go126_debug2.txt", &len);
    size_t half = len / 2;
    size_t l1, l2;
    unsigned char *g1 = ts_gzip(data, half, &l1);
    unsigned char *g2 = ts_gzip(data + half, len - half, &l2);
    unsigned char *both = malloc(l1 + l2);
    memcpy(both, g1, l1);
    memcpy(both + l1, g2, l2);
    check_chunkings(both, l1 + l2, "two-members.gz");

    pprof_profile *plain = pprof_parse_buffer(data, len, "x", NULL, NULL, 0);
    pprof_profile *gz = pprof_parse_buffer(both, l1 + l2, "x", NULL, NULL, 0);
    assert_non_null(plain);
    assert_non_null(gz);
    assert_true(gz->gzipped);
    gz->gzipped = false;
    char *a = tp_canon(plain), *b = tp_canon(gz);
    assert_string_equal(a, b);
    free(a);
    free(b);
    pprof_profile_free(plain);
    pprof_profile_free(gz);
    free(both);
    free(g1);
    free(g2);
    free(data);
}

/* Writes goroutine i of a synthetic dump with `kinds` distinct stacks. */
static size_t synth_goroutine(char *buf, size_t cap, uint64_t i, unsigned kinds)
{
    unsigned k = (unsigned)(i % kinds);
    return (size_t)snprintf(buf, cap,
                            "goroutine %" PRIu64 " [chan send, %u minutes]:\n"
                            "main.(*fetcher).gather.func%u({0xc000%06" PRIx64 ", 0x5})\n"
                            "\t/src/app/fetch.go:%u +0x1d\n"
                            "main.(*fetcher).run(...)\n"
                            "\t/src/app/fetch.go:90\n"
                            "created by main.(*fetcher).gather in goroutine %u\n"
                            "\t/src/app/fetch.go:80 +0x95\n\n",
                            i + 2, (unsigned)(i % 100), k, i & 0xffffff, 40 + k,
                            (unsigned)(i % 7) + 1);
}

static void test_memory_follows_buckets(void **state)
{
    (void)state;
    /* 300,000 goroutines (about 60 MB) fed in 64 KiB pieces, never held
     * whole: the profile's memory is a few chunks for 8 stacks. */
    pprof_parser *p = pprof_parser_new("synth.txt", NULL);
    char *chunk = malloc(65536 + 512);
    size_t used = 0;
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < 300000; i++) {
        used += synth_goroutine(chunk + used, 512, i, 8);
        if (used >= 65536) {
            assert_int_equal(pprof_parser_feed(p, chunk, used), 0);
            bytes += used;
            used = 0;
        }
    }
    assert_int_equal(pprof_parser_feed(p, chunk, used), 0);
    bytes += used;
    pprof_profile *prof = pprof_parser_finish(p);
    assert_non_null(prof);
    assert_true(bytes > 50u << 20);
    assert_int_equal(prof->counted, 300000);
    assert_int_equal(prof->nbuckets, 8);
    assert_int_equal(prof->buckets[3].count, 37500);
    assert_int_equal(prof->buckets[3].minutes_max, 99);
    assert_int_equal(prof->buckets[3].minutes_min, 3);
    assert_string_equal(prof->buckets[3].frames[0].func, "main.(*fetcher).gather.func3");
    assert_int_equal(prof->buckets[3].frames[0].line, 43);
    assert_true(lw_arena_footprint(prof->arena) < (1u << 20));
    pprof_profile_free(prof);
    pprof_parser_free(p);
    free(chunk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_independence),
        cmocka_unit_test(test_failure_is_chunk_independent),
        cmocka_unit_test(test_gzipped_text_and_members),
        cmocka_unit_test(test_memory_follows_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
