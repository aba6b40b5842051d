/*
 * test_pprof_debug1.c — runtime/pprof's debug=1 text ("goroutine profile:
 * total N", "N @ 0x...", "# labels:", "#\t0x...\tfunc+0x..\tfile:line")
 * as recorded from Go 1.19, 1.21 and 1.26 (goroutine and goroutineleak),
 * and hand-made variants: unsymbolised frames, CRLF, truncation,
 * overflowing counts and malformed lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "support.h"
#include "test_pprof_util.h"

static void expect_error(const char *input, const char *want)
{
    ts_expect_parse_error(input, want, NULL);
}

static void test_go126_profile(void **state)
{
    (void)state;
    pprof_profile *p = ts_parse_testdata("go126_debug1.txt");
    assert_int_equal(p->format, PPROF_FORMAT_DEBUG1);
    assert_int_equal(p->kind, PPROF_KIND_GOROUTINE);
    assert_int_equal(p->total, 18);
    assert_int_equal(p->counted, 18);
    assert_false(p->truncated);

    /* Labels, as "%q:%q" pairs, sorted and unquoted. */
    const pprof_bucket *b = tp_find(p, "main.main.func18.1", NULL);
    assert_non_null(b);
    assert_string_equal(b->labels, "handler=/api/v1,tenant=a\"b\tc");
    assert_null(b->created_by.func);

    /* No wait reason in the format: inferred from the frames when the
     * frames say it, flagged as inferred. */
    b = tp_find(p, "internal/poll.runtime_pollWait", NULL);
    assert_non_null(b);
    assert_string_equal(b->wait_reason, "IO wait");
    assert_true(b->flags & PPROF_BF_WAIT_INFERRED);
    assert_int_equal(b->nframes, 8);
    assert_string_equal(b->frames[7].func, "main.main.func12");
    assert_string_equal(b->frames[7].file, "example.com/app/main.go");
    assert_int_equal(b->frames[7].line, 69);
    assert_non_null(tp_find(p, "sync.runtime_SemacquireWaitGroup", "sync.WaitGroup.Wait"));
    assert_non_null(tp_find(p, "sync.runtime_notifyListWait", "sync.Cond.Wait"));
    assert_non_null(tp_find(p, "sync.runtime_SemacquireRWMutexR", "sync.RWMutex.RLock"));
    assert_non_null(tp_find(p, "time.Sleep", "sleep"));
    assert_non_null(tp_find(p, "os/signal.signal_recv", "syscall"));
    assert_non_null(tp_find(p, "runtime/pprof.writeRuntimeProfile", "running"));
    /* runtime/pprof already hid the runtime frames of a channel wait, so
     * nothing can be said about it. */
    b = tp_find(p, "main.main.func4", NULL);
    assert_non_null(b);
    assert_null(b->wait_reason);
    assert_false(b->flags & PPROF_BF_WAIT_INFERRED);

    /* Offsets are gone; generics read "[...]". */
    assert_non_null(tp_find(p, "main.Generic[...]", NULL));
    assert_non_null(tp_find(p, "main.(*Box[...]).Wait", NULL));
    /* Deep stacks are kept whole (debug=1 does not elide). */
    b = tp_find(p, "main.recurse", NULL);
    assert_non_null(b);
    assert_int_equal(b->nframes, 122);
    /* The main goroutine's runtime.main is hidden, as debug=2 hides it. */
    b = tp_find(p, "runtime/pprof.writeRuntimeProfile", NULL);
    assert_string_equal(b->frames[b->nframes - 1].func, "main.main");
    pprof_profile_free(p);
}

static void test_goroutineleak_and_old(void **state)
{
    (void)state;
    pprof_profile *p = ts_parse_testdata("go126_leak_debug1.txt");
    assert_int_equal(p->kind, PPROF_KIND_GOROUTINELEAK);
    assert_int_equal(p->total, 13);
    assert_int_equal(p->counted, 13);
    pprof_profile_free(p);

    p = ts_parse_testdata("go119_debug1.txt");
    assert_int_equal(p->total, 18);
    /* Go 1.19 parks WaitGroup.Wait on the plain semaphore and RWMutex
     * on the Mutex one; the callers still tell which. */
    assert_non_null(tp_find(p, "sync.runtime_Semacquire", "sync.WaitGroup.Wait"));
    assert_non_null(tp_find(p, "sync.runtime_SemacquireMutex", "sync.RWMutex.RLock"));
    assert_non_null(tp_find(p, "sync.runtime_SemacquireMutex", "sync.Mutex.Lock"));
    pprof_profile_free(p);

    p = ts_parse_testdata("go121_debug1.txt");
    assert_int_equal(p->total, 18);
    assert_int_equal(p->nbuckets, 18);
    pprof_profile_free(p);
}

static void test_hand_made(void **state)
{
    (void)state;
    const char *prof =
        "\n"
        "goroutine profile: total 7\n"
        "4 @ 0x43e8ce 0x4096ad 0x409258 0x4b6e5d 0x471c41\n"
        "#\t0x4b6e5c\tmain.worker+0x1c\t\t/src/app/w.go:10\n"
        "#\t0x4b6e5d\tmain.start.func1+0x1d\t/src/app/w.go:3\n"
        "\n"
        "2 @ 0x43e8ce 0x4b6e5d\n"
        "# labels: {\"k\":\"\\xff\\u00e9\\U0001F600\\101\", \"a\":\"1\"}\n"
        "#\t0x4b6e5c\tmain.worker+0x1c\t\t/src/app/w.go:10\n"
        "#\t0x4b6e5d\tmain.start.func1+0x1d\t/src/app/w.go:3\n"
        "\n"
        "1 @ 0x43e8ce 0x7f00aa\n"
        "#\t0x7f00aa\n"
        "#\t0x4b6e5d\tmain.start.func1+0x1d\t/src/app/w.go:3\n"
        "\n";
    char err[256];
    pprof_profile *p = tp_parse_str(prof, err, sizeof(err));
    if (!p)
        fprintf(stderr, "%s\n", err);
    assert_non_null(p);
    assert_int_equal(p->total, 7);
    assert_int_equal(p->nbuckets, 3);
    assert_int_equal(p->buckets[0].count, 4);
    assert_null(p->buckets[0].labels);
    assert_string_equal(p->buckets[1].labels, "a=1,k=\xff\xc3\xa9\xf0\x9f\x98\x80" "A");
    /* Unsymbolised: the address is the name, there is no file. */
    assert_string_equal(p->buckets[2].frames[0].func, "0x7f00aa");
    assert_null(p->buckets[2].frames[0].file);
    assert_int_equal(p->buckets[2].frames[0].line, 0);
    pprof_profile_free(p);

    /* Found by fuzzing: NUL bytes (never in Go's output) read as '?'
     * rather than cutting the C strings short, and a record of zero
     * goroutines adds no bucket. */
    static const char nul[] = "goroutine profile: total 1\n"
                              "0 @ 0x1\n#\t0x1\tmain.g+0x1\t/a.go:2\n\n"
                              "1 @ 0x1\n# labels: {\"\0k\":\"v\0\"}\n"
                              "#\t0x1\tmain.\0f+0x1\t/a.go:1\n\n";
    p = pprof_parse_buffer(nul, sizeof(nul) - 1, "nul.txt", NULL, err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(p->nbuckets, 1);
    assert_string_equal(p->buckets[0].labels, "?k=v?");
    assert_string_equal(p->buckets[0].frames[0].func, "main.?f");
    pprof_profile_free(p);

    /* Records without the closing blank line still count. */
    p = tp_parse_str("goroutine profile: total 2\n2 @ 0x1\n#\t0x1\tmain.f+0x1\t/a.go:1\n",
                     err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(p->counted, 2);
    assert_false(p->truncated);
    pprof_profile_free(p);
}

static void test_truncated(void **state)
{
    (void)state;
    size_t len;
    unsigned char *data = tp_read("go126_debug1.txt", &len);
    size_t first = (size_t)((unsigned char *)memchr(data, '\n', len) - data) + 1;
    for (size_t cut = first; cut < len; cut += 5) {
        char err[256];
        pprof_profile *p = pprof_parse_buffer(data, cut, "x", NULL, err, sizeof(err));
        if (!p)
            fprintf(stderr, "cut %zu: %s\n", cut, err);
        assert_non_null(p);
        assert_int_equal(p->total, 18);
        assert_true(p->counted <= 18);
        /* Fewer goroutines than the header promised: a floor. */
        if (p->counted < 18 || data[cut - 1] != '\n')
            assert_true(p->truncated);
        pprof_profile_free(p);
    }
    free(data);
}

static void test_crlf(void **state)
{
    (void)state;
    ts_assert_crlf_same("go126_debug1.txt");
}

static void test_malformed(void **state)
{
    (void)state;
    expect_error("goroutine profile: total 18446744073709551616\n",
                 "t.txt: line 1: total overflows 64 bits");
    expect_error("goroutine profile: total 1\n18446744073709551616 @ 0x1\n",
                 "t.txt: line 2: count overflows 64 bits");
    /* Counts that fit alone but not together. */
    expect_error("goroutine profile: total 1\n"
                 "18446744073709551615 @ 0x1\n#\t0x1\ta.a+0x1\tx.go:1\n\n"
                 "1 @ 0x2\n#\t0x2\tb.b+0x1\tx.go:2\n\n",
                 "t.txt: line 7: goroutine count overflows 64 bits");
    /* A frame line outside a record and an unknown line are skipped and
     * counted: one line does not cost the capture. */
    char err[256];
    pprof_profile *p = tp_parse_str("goroutine profile: total 1\n"
                                    "#\t0x1\tmain.f+0x1\t/a.go:1\n"
                                    "1 @ 0x1\nhello\n#\t0x1\tmain.f+0x1\t/a.go:1\n\n",
                                    err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(p->skipped_lines, 2);
    assert_int_equal(p->counted, 1);
    assert_int_equal(p->buckets[0].nframes, 1);
    pprof_profile_free(p);
    expect_error("goroutine profile: total 1\n1 0x1\n", "t.txt: line 2: malformed record header");
    expect_error("goroutine profile: total 1\n1x @ 0x1\n", "t.txt: line 2: malformed record count");
    expect_error("goroutine profile: total 1\n1 @ 0x1\n#\t0x1\tmain.f+0x1\t/a.go\n",
                 "t.txt: line 3: malformed frame line");
    expect_error("goroutine profile: total 1\n1 @ 0x1\n#\t0x1\tmain.f+0x1\t/a.go:x\n",
                 "t.txt: line 3: malformed frame line");
    expect_error("goroutine profile: total 1\n1 @ 0x1\n# labels: {\"a\":}\n",
                 "t.txt: line 3: malformed labels");
    expect_error("goroutine profile: total 1\n1 @ 0x1\n# labels: {\"a\":\"\\q\"}\n",
                 "t.txt: line 3: malformed labels");
    /* A record that cannot be read whole is left out and its lines
     * counted; the others are read. */
    p = tp_parse_str("goroutine profile: total 3\n"
                     "1 @ 0x1\n#\t0x1\tmain.f+0x1\t/a.go\n#\t0x2\tmain.g+0x1\t/a.go:2\n\n"
                     "2 @ 0x3\n#\t0x3\tmain.h+0x1\t/a.go:3\n\n",
                     err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(p->counted, 2);
    assert_int_equal(p->skipped_lines, 3);
    assert_true(p->truncated); /* fewer than "total 3" */
    pprof_profile_free(p);
    expect_error("goroutine profile: total x\n", "t.txt: line 1: malformed total");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go126_profile),
        cmocka_unit_test(test_goroutineleak_and_old),
        cmocka_unit_test(test_hand_made),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
