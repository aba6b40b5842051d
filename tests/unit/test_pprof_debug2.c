/*
 * test_pprof_debug2.c — full goroutine dumps (debug=2, runtime.Stack,
 * panics, SIGQUIT) as recorded from Go 1.19, 1.21, 1.24, 1.25 and 1.26,
 * and hand-made variants of them: every header suffix, frame form and
 * crash section, truncation, and malformed input.
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
    ts_expect_parse_error(input, want, "t.txt: ");
}

static void test_go126_dump(void **state)
{
    (void)state;
    pprof_profile *p = ts_parse_testdata("go126_debug2.txt");
    assert_int_equal(p->format, PPROF_FORMAT_DEBUG2);
    assert_int_equal(p->kind, PPROF_KIND_GOROUTINE);
    assert_false(p->truncated);
    assert_false(p->gzipped);
    assert_int_equal(p->total, 18);
    assert_int_equal(p->counted, 18);
    assert_int_equal(p->nbuckets, 18);

    const pprof_bucket *b = tp_find(p, "main.main.func3", NULL);
    assert_non_null(b);
    assert_string_equal(b->wait_reason, "chan receive (nil chan)");
    assert_false(b->flags & PPROF_BF_WAIT_INFERRED);
    assert_string_equal(b->created_by.func, "main.main");
    assert_string_equal(b->created_by.file, "example.com/app/main.go");
    assert_int_equal(b->created_by.line, 43);
    assert_string_equal(b->frames[0].file, "example.com/app/main.go");
    assert_int_equal(b->frames[0].line, 43);

    assert_non_null(tp_find(p, "main.main.func4", "chan send (nil chan)"));
    assert_non_null(tp_find(p, "main.main.func6", "select (no cases)"));
    assert_non_null(tp_find(p, "sync.runtime_SemacquireWaitGroup", "sync.WaitGroup.Wait"));
    assert_non_null(tp_find(p, "sync.runtime_SemacquireRWMutexR", "sync.RWMutex.RLock"));
    assert_non_null(tp_find(p, "sync.runtime_notifyListWait", "sync.Cond.Wait"));
    assert_non_null(tp_find(p, "internal/poll.runtime_pollWait", "IO wait"));
    assert_non_null(tp_find(p, "time.Sleep", "sleep"));
    assert_non_null(tp_find(p, "os/signal.signal_recv", "syscall"));
    assert_int_equal(tp_count_with(p, "internal/sync.runtime_SemacquireMutex"), 3);

    /* Generic functions and methods keep Go's "[...]". */
    b = tp_find(p, "main.Generic[...]", "chan receive");
    assert_non_null(b);
    assert_int_equal(b->nframes, 2);
    assert_string_equal(b->frames[1].func, "main.main.func14");
    assert_non_null(tp_find(p, "main.(*Box[...]).Wait", "chan receive"));

    /* ", locked to thread" */
    b = tp_find(p, "main.main.func17", NULL);
    assert_non_null(b);
    assert_true(b->flags & PPROF_BF_LOCKED);
    assert_string_equal(b->wait_reason, "chan receive");

    /* Go 1.21+ elides the middle of deep stacks: "...22 frames elided..." */
    b = tp_find(p, "main.recurse", NULL);
    assert_non_null(b);
    assert_true(b->flags & PPROF_BF_ELIDED);
    assert_int_equal(b->nframes, 100);
    assert_string_equal(b->frames[99].func, "main.main.func16");

    /* The running goroutine: no creator (goroutine 1). */
    b = tp_find(p, "runtime/pprof.writeGoroutineStacks", "running");
    assert_non_null(b);
    assert_null(b->created_by.func);

    /* Interned: equal strings are one pointer. */
    const pprof_bucket *x = tp_find(p, "main.main.func3", NULL);
    const pprof_bucket *y = tp_find(p, "main.main.func4", NULL);
    assert_ptr_equal(x->frames[0].file, y->frames[0].file);
    assert_ptr_equal(x->created_by.func, y->created_by.func);
    pprof_profile_free(p);
}

static void test_go121_and_go119_dialects(void **state)
{
    (void)state;
    pprof_profile *p = ts_parse_testdata("go121_debug2.txt");
    assert_int_equal(p->total, 18);
    const pprof_bucket *b = tp_find(p, "main.main.func3", "chan receive (nil chan)");
    assert_non_null(b);
    assert_string_equal(b->created_by.func, "main.main");
    /* Go 1.21 still parks WaitGroup.Wait as a plain semaphore. */
    assert_non_null(tp_find(p, "sync.runtime_Semacquire", "semacquire"));
    pprof_profile_free(p);

    /* Go 1.19: "created by main.main" without "in goroutine N", and a
     * deep stack cut without a marker (100 frames, 3 of them runtime
     * frames the traceback hid). */
    p = ts_parse_testdata("go119_debug2.txt");
    assert_int_equal(p->total, 18);
    b = tp_find(p, "main.main.func3", "chan receive (nil chan)");
    assert_non_null(b);
    assert_string_equal(b->created_by.func, "main.main");
    assert_int_equal(b->created_by.line, 43);
    b = tp_find(p, "main.recurse", NULL);
    assert_non_null(b);
    assert_int_equal(b->nframes, 97);
    assert_false(b->flags & PPROF_BF_ELIDED);
    assert_string_equal(b->created_by.func, "main.main");
    b = tp_find(p, "os/signal.signal_recv", "syscall");
    assert_non_null(b);
    assert_string_equal(b->created_by.func, "os/signal.Notify.func1.1");
    pprof_profile_free(p);
}

static void test_minutes(void **state)
{
    (void)state;
    const char *files[] = {"go126_minutes_debug2.txt", "go119_minutes_debug2.txt"};
    for (int i = 0; i < 2; i++) {
        pprof_profile *p = ts_parse_testdata(files[i]);
        const pprof_bucket *b = tp_find(p, "main.main.func1", "chan receive");
        assert_non_null(b);
        assert_int_equal(b->count, 3);
        assert_int_equal(b->minutes_min, 1);
        assert_int_equal(b->minutes_max, 1);
        assert_int_equal(b->minutes_hist[1], 3);
        assert_int_equal(b->minutes_hist[0], 0);
        /* A goroutine blocked for under a minute shows none. */
        b = tp_find(p, "main.main.func2", "chan receive");
        assert_non_null(b);
        assert_int_equal(b->minutes_max, 0);
        assert_int_equal(b->minutes_hist[0], 1);
        pprof_profile_free(p);
    }

    /* Old "...additional frames elided..." and minutes spread over bins. */
    pprof_profile *p = ts_parse_testdata("edge_old_elided_debug2.txt");
    assert_int_equal(p->nbuckets, 1);
    const pprof_bucket *b = &p->buckets[0];
    assert_int_equal(b->count, 2);
    assert_true(b->flags & PPROF_BF_ELIDED);
    assert_int_equal(b->minutes_min, 3);
    assert_int_equal(b->minutes_max, 12);
    assert_int_equal(b->minutes_hist[pprof_minutes_bin(3)], 1);
    assert_int_equal(b->minutes_hist[pprof_minutes_bin(12)], 1);
    assert_string_equal(b->created_by.func, "main.main");
    pprof_profile_free(p);
}

static void test_system_traceback(void **state)
{
    (void)state;
    /* GOTRACEBACK=system: "gp=0x.. m=N mp=0x.." headers, "fp= sp= pc="
     * tails, runtime frames and runtime.goexit printed. */
    pprof_profile *p = ts_parse_testdata("go126_system_panic.txt");
    assert_int_equal(p->total, 24);
    assert_false(p->truncated);
    /* Runtime frames are hidden as Go's default traceback hides them, so
     * stacks match the other formats. */
    const pprof_bucket *b = tp_find(p, "time.Sleep", "sleep");
    assert_non_null(b);
    assert_int_equal(b->nframes, 2);
    assert_string_equal(b->frames[1].func, "main.main.func13");
    for (size_t i = 0; i < p->nbuckets; i++)
        for (uint32_t f = 0; f < p->buckets[i].nframes; f++)
            assert_string_not_equal(p->buckets[i].frames[f].func, "runtime.goexit");
    /* A stack of nothing but runtime frames stays whole. */
    b = tp_find(p, "runtime.gopark", "force gc (idle)");
    assert_non_null(b);
    assert_string_equal(b->frames[b->nframes - 1].func, "runtime.forcegchelper");
    /* The panicking goroutine keeps its "panic" frame. */
    b = tp_find(p, "panic", "running");
    assert_non_null(b);
    assert_string_equal(b->frames[1].func, "main.main");
    /* Same goroutines as the plain dump of that program. */
    pprof_profile *q = ts_parse_testdata("go126_debug2.txt");
    const pprof_bucket *c = tp_find(q, "internal/poll.runtime_pollWait", "IO wait");
    b = tp_find(p, "internal/poll.runtime_pollWait", "IO wait");
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(b->nframes, c->nframes);
    for (uint32_t f = 0; f < b->nframes; f++)
        assert_string_equal(b->frames[f].func, c->frames[f].func);
    pprof_profile_free(q);
    pprof_profile_free(p);
}

static void test_ancestors_and_labels(void **state)
{
    (void)state;
    /* GODEBUG=tracebackancestors=2,tracebacklabels=1 */
    pprof_profile *p = ts_parse_testdata("go126_ancestors_labels_debug2.txt");
    assert_int_equal(p->total, 18);
    const pprof_bucket *b = tp_find(p, "main.main.func18.1", "chan receive");
    assert_non_null(b);
    assert_non_null(b->labels);
    assert_string_equal(b->labels, "handler=/api/v1,tenant=a\"b\tc");
    /* Ancestor stacks describe other goroutines and are not frames. */
    assert_int_equal(b->nframes, 1);
    assert_string_equal(b->created_by.func, "main.main.func18");
    assert_int_equal(b->created_by.line, 80);
    b = tp_find(p, "os/signal.signal_recv", NULL);
    assert_non_null(b);
    assert_int_equal(b->nframes, 2);
    assert_null(b->labels);
    pprof_profile_free(p);
}

static void test_synctest(void **state)
{
    (void)state;
    /* Go 1.25/1.26: "(durable)" and ", synctest bubble N". */
    const char *files[] = {"go126_synctest_debug2.txt", "go125_synctest_debug2.txt"};
    for (int i = 0; i < 2; i++) {
        pprof_profile *p = ts_parse_testdata(files[i]);
        const pprof_bucket *b = tp_find(p, "example.com/app.TestDump.func1.3", NULL);
        assert_non_null(b);
        assert_string_equal(b->wait_reason, "select");
        assert_true(b->flags & PPROF_BF_DURABLE);
        assert_true(b->flags & PPROF_BF_SYNCTEST);
        b = tp_find(p, "internal/synctest.Run", NULL);
        assert_non_null(b);
        assert_string_equal(b->wait_reason, "synctest.Run");
        assert_true(b->flags & PPROF_BF_SYNCTEST);
        b = tp_find(p, "sync.runtime_SemacquireWaitGroup", NULL);
        assert_non_null(b);
        assert_string_equal(b->wait_reason, "sync.WaitGroup.Wait");
        assert_true(b->flags & PPROF_BF_DURABLE);
        /* Outside the bubble: no marks. */
        b = tp_find(p, "testing.(*T).Run", "chan receive");
        assert_non_null(b);
        assert_int_equal(b->flags, 0);
        /* In the bubble but running: bubble mark only. */
        b = tp_find(p, "runtime/pprof.writeGoroutineStacks", "running");
        assert_non_null(b);
        assert_int_equal(b->flags, PPROF_BF_SYNCTEST);
        pprof_profile_free(p);
    }
    /* Go 1.24 (GOEXPERIMENT=synctest): "(synctest)" and "synctest group". */
    pprof_profile *p = ts_parse_testdata("go124_synctest_debug2.txt");
    const pprof_bucket *b = tp_find(p, "example.com/app.TestDump.func1.1", NULL);
    assert_non_null(b);
    assert_string_equal(b->wait_reason, "chan receive");
    assert_true(b->flags & PPROF_BF_DURABLE);
    assert_true(b->flags & PPROF_BF_SYNCTEST);
    pprof_profile_free(p);
}

static void test_goroutineleak_marks(void **state)
{
    (void)state;
    /* goroutineleak?debug=2 is a full dump with "(leaked)" marks. */
    pprof_profile *p = ts_parse_testdata("go126_leak_debug2.txt");
    assert_int_equal(p->total, 18);
    uint64_t leaked = 0;
    for (size_t i = 0; i < p->nbuckets; i++)
        if (p->buckets[i].flags & PPROF_BF_LEAKED)
            leaked += p->buckets[i].count;
    assert_int_equal(leaked, 13);
    const pprof_bucket *b = tp_find(p, "main.main.func3", NULL);
    assert_non_null(b);
    assert_string_equal(b->wait_reason, "chan receive (nil chan)");
    assert_true(b->flags & PPROF_BF_LEAKED);
    b = tp_find(p, "main.main.func17", NULL);
    assert_non_null(b);
    assert_int_equal(b->flags, PPROF_BF_LEAKED | PPROF_BF_LOCKED);
    b = tp_find(p, "internal/poll.runtime_pollWait", "IO wait");
    assert_non_null(b);
    assert_false(b->flags & PPROF_BF_LEAKED);
    pprof_profile_free(p);
}

static void test_crash_output(void **state)
{
    (void)state;
    /* SIGQUIT with GOTRACEBACK=crash: "SIGQUIT: quit" preamble, register
     * dumps right after stacks, "-----" separators, and "goroutine 0"
     * system stacks of each M, which are not goroutines. */
    pprof_profile *p = ts_parse_testdata("go126_sigquit_crash.txt");
    assert_int_equal(p->total, 7);
    assert_non_null(tp_find(p, "main.main.func1", "chan receive"));
    assert_non_null(tp_find(p, "main.spin", "runnable"));
    assert_null(tp_find(p, "runtime.usleep", NULL));
    pprof_profile_free(p);

    /* "fatal error: concurrent map writes" */
    p = ts_parse_testdata("go126_fatal_error.txt");
    assert_int_equal(p->total, 5);
    const pprof_bucket *b = tp_find(p, "main.main.func2", "running");
    assert_non_null(b);
    assert_int_equal(b->nframes, 1); /* internal/runtime/maps.fatal hidden */
    pprof_profile_free(p);

    /* "runtime stack:" sections, "goroutine running on other thread;
     * stack unavailable", "(scan)", cgo "non-Go function" frames, and
     * "exit status 2" right after the last stack. */
    p = ts_parse_testdata("edge_crash_sections_debug2.txt");
    assert_int_equal(p->total, 4);
    b = tp_find(p, "panic", "running");
    assert_non_null(b);
    assert_int_equal(b->nframes, 3);
    assert_string_equal(b->frames[1].func, "main.(*store).get");
    assert_int_equal(b->frames[1].line, 41);
    b = tp_find(p, "main.worker", "chan receive");
    assert_non_null(b);
    b = tp_find(p, "non-Go function", "syscall");
    assert_non_null(b);
    assert_null(b->frames[0].file);
    assert_string_equal(b->frames[1].func, "main._Cfunc_poll_device");
    int unavailable = 0;
    for (size_t i = 0; i < p->nbuckets; i++)
        if (p->buckets[i].nframes == 0) {
            unavailable++;
            assert_string_equal(p->buckets[i].wait_reason, "running");
            assert_string_equal(p->buckets[i].created_by.func, "main.startWorkers");
        }
    assert_int_equal(unavailable, 1);
    pprof_profile_free(p);
}

static void test_truncated_everywhere(void **state)
{
    (void)state;
    /* A dump cut at any byte parses: complete goroutines are kept, the
     * cut one is dropped, and the profile says it was cut. */
    size_t len;
    unsigned char *data = tp_read("go126_debug2.txt", &len);
    pprof_profile *full = pprof_parse_buffer(data, len, "x", NULL, NULL, 0);
    assert_non_null(full);
    size_t first = (size_t)((unsigned char *)memchr(data, '\n', len) - data) + 1;
    for (size_t cut = first; cut < len; cut += 7) {
        /* Goroutines whose closing blank line came before the cut. */
        uint64_t closed = 0;
        for (size_t i = 1; i < cut; i++)
            if (data[i] == '\n' && data[i - 1] == '\n')
                closed++;
        char err[512];
        pprof_profile *p = pprof_parse_buffer(data, cut, "x", NULL, err, sizeof(err));
        if (!p)
            fprintf(stderr, "cut %zu: %s\n", cut, err);
        assert_non_null(p);
        assert_true(p->counted <= full->counted);
        assert_true(p->counted >= closed); /* keeps what was complete */
        int mid_line = data[cut - 1] != '\n';
        /* Except a last line that visibly closes its goroutine: the
         * creator's file:line up to its " +0x" offset. */
        int closes = 0;
        if (mid_line) {
            size_t ls = cut;
            while (ls > 0 && data[ls - 1] != '\n')
                ls--;
            size_t ps = ls ? ls - 1 : 0;
            while (ps > 0 && data[ps - 1] != '\n')
                ps--;
            closes = ls > 0 && memcmp(data + ps, "created by ", 11) == 0 &&
                     memmem(data + ls, cut - ls, " +0x", 4) != NULL;
        }
        if (mid_line && !closes)
            assert_true(p->truncated);
        pprof_profile_free(p);
    }
    /* Cut inside the last goroutine's frames, at a line end. */
    const char *cut_dump =
        "goroutine 7 [chan receive]:\n"
        "main.a()\n"
        "\tx.go:1 +0x1\n"
        "created by main.main in goroutine 1\n"
        "\tx.go:9 +0x2\n"
        "\n"
        "goroutine 8 [chan receive]:\n"
        "main.b(...)\n";
    char err[256];
    pprof_profile *p = tp_parse_str(cut_dump, err, sizeof(err));
    assert_non_null(p);
    assert_true(p->truncated);
    assert_int_equal(p->counted, 1);
    assert_int_equal(p->nbuckets, 1);
    pprof_profile_free(p);
    /* A header and nothing else. */
    p = tp_parse_str("goroutine 8 [chan receive]:\n", err, sizeof(err));
    assert_non_null(p);
    assert_true(p->truncated);
    assert_int_equal(p->counted, 0);
    pprof_profile_free(p);
    pprof_profile_free(full);
    free(data);
}

static void test_crlf_and_bytes(void **state)
{
    (void)state;
    ts_assert_crlf_same("go121_debug2.txt");

    /* Function names and paths are bytes: invalid UTF-8 passes through. */
    const char *bad =
        "goroutine 5 [chan send]:\n"
        "main.\xff\xfe(0x1)\n"
        "\t/src/\xc3(/a b:c/m.go:12 +0x1d\n"
        "created by main.\x80 in goroutine 1\n"
        "\t/src/m.go:3 +0x5\n";
    char err[256];
    pprof_profile *p = tp_parse_str(bad, err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(p->nbuckets, 1);
    assert_string_equal(p->buckets[0].frames[0].func, "main.\xff\xfe");
    assert_string_equal(p->buckets[0].frames[0].file, "/src/\xc3(/a b:c/m.go");
    assert_int_equal(p->buckets[0].frames[0].line, 12);
    assert_string_equal(p->buckets[0].created_by.func, "main.\x80");
    pprof_profile_free(p);
}

static void test_merge_and_key(void **state)
{
    (void)state;
    const char *dump =
        "goroutine 10 [chan send, 2 minutes]:\n"
        "main.leak.func1({0xc000010000, 0x5})\n"
        "\t/src/app/leak.go:40 +0x1d\n"
        "created by main.leak in goroutine 1\n"
        "\t/src/app/leak.go:38 +0x95\n"
        "\n"
        "goroutine 11 [chan send, 700 minutes]:\n"
        "main.leak.func1({0xc000010001, 0x6})\n"
        "\t/src/app/leak.go:40 +0x1d\n"
        "created by main.leak in goroutine 7\n"
        "\t/src/app/leak.go:38 +0x95\n"
        "\n"
        "goroutine 12 [chan send]:\n"
        "main.leak.func1(...)\n"
        "\t/src/app/leak.go:40\n"
        "created by main.leak in goroutine 7\n"
        "\t/src/app/leak.go:38 +0x95\n"
        "\n"
        "goroutine 13 [chan send, locked to thread]:\n"
        "main.leak.func1({0xc000010001, 0x6})\n"
        "\t/src/app/leak.go:40 +0x1d\n"
        "created by main.leak in goroutine 7\n"
        "\t/src/app/leak.go:38 +0x95\n"
        "\n"
        "goroutine 14 [chan receive]:\n"
        "main.leak.func1({0xc000010001, 0x6})\n"
        "\t/src/app/leak.go:40 +0x1d\n"
        "created by main.leak in goroutine 7\n"
        "\t/src/app/leak.go:38 +0x95\n";
    char err[256];
    pprof_profile *p = tp_parse_str(dump, err, sizeof(err));
    assert_non_null(p);
    /* Ids, arguments, offsets and minutes do not split a bucket; the
     * wait reason and "locked to thread" do. */
    assert_int_equal(p->nbuckets, 3);
    assert_int_equal(p->buckets[0].count, 3);
    assert_int_equal(p->buckets[0].minutes_min, 0);
    assert_int_equal(p->buckets[0].minutes_max, 700);
    assert_int_equal(p->buckets[0].minutes_hist[0], 1);
    assert_int_equal(p->buckets[0].minutes_hist[2], 1);
    assert_int_equal(p->buckets[0].minutes_hist[8], 1);
    assert_string_equal(p->buckets[0].frames[0].func, "main.leak.func1");
    assert_int_equal(p->buckets[1].count, 1);
    assert_true(p->buckets[1].flags & PPROF_BF_LOCKED);
    assert_string_equal(p->buckets[2].wait_reason, "chan receive");
    pprof_profile_free(p);
}

/* Hand-made edge case (no Go process prints these): blocked minutes at and
 * beyond 2^63 saturate at INT64_MAX instead of failing the capture or
 * turning negative where minutes are signed (JSON). */
static void test_minutes_saturate(void **state)
{
    (void)state;
    const char *dump =
        "goroutine 1 [chan send, 9223372036854775807 minutes]:\n"
        "main.a()\n\t/x.go:1 +0x1\n\n"
        "goroutine 2 [chan send, 9223372036854775808 minutes]:\n"
        "main.b()\n\t/x.go:2 +0x1\n\n"
        "goroutine 3 [chan send, 18446744073709551615 minutes]:\n"
        "main.c()\n\t/x.go:3 +0x1\n\n"
        "goroutine 4 [chan send, 99999999999999999999999 minutes]:\n"
        "main.d()\n\t/x.go:4 +0x1\n";
    char err[256];
    pprof_profile *p = tp_parse_str(dump, err, sizeof(err));
    if (!p)
        fprintf(stderr, "%s\n", err);
    assert_non_null(p);
    assert_int_equal(p->nbuckets, 4);
    for (size_t i = 0; i < p->nbuckets; i++) {
        assert_true(p->buckets[i].minutes_max == (uint64_t)INT64_MAX);
        assert_true(p->buckets[i].minutes_min == (uint64_t)INT64_MAX);
    }
    pprof_profile_free(p);
}

static void test_header_forms(void **state)
{
    (void)state;
    const char *dump =
        "goroutine 3 gp=0xc000007a40 m=nil [GC worker (idle), 5 minutes]:\n"
        "runtime.gopark(0x0?, 0x0?, 0x0?, 0x0?, 0x0?)\n"
        "\truntime/proc.go:435 +0xce fp=0xc0000b7f38 sp=0xc0000b7f18 pc=0x43f5ae\n"
        "runtime.gcBgMarkWorker(0xc000024230)\n"
        "\truntime/mgc.go:1423 +0xe9 fp=0xc0000b7fc8 sp=0xc0000b7f38 pc=0x421b69\n"
        "created by runtime.gcBgMarkStartWorkers in goroutine 1\n"
        "\truntime/mgc.go:1339 +0x105\n"
        "\n"
        "goroutine 4 gp=0xc000007c00 m=2 mp=0xc000080008 [chan receive (nil chan) (leaked) (scan), 61 minutes, locked to thread, synctest bubble 3 labels:{\"a\": \"x]:y\", \"b\": \"\\u00e9\\x01\"}]:\n"
        "main.f[...](...)\n"
        "\t/src/f.go:7\n"
        "main.(*T[...]).g(0x1)\n"
        "\t/src/f.go:9 +0x1\n"
        "created by main.h in goroutine 1\n"
        "\t/src/f.go:12 +0x2\n"
        "\n"
        "goroutine 5 []:\n"
        "main.z()\n"
        "\t/src/z.go:1 +0x1\n";
    char err[256];
    pprof_profile *p = tp_parse_str(dump, err, sizeof(err));
    if (!p)
        fprintf(stderr, "%s\n", err);
    assert_non_null(p);
    assert_int_equal(p->nbuckets, 3);
    const pprof_bucket *b = &p->buckets[0];
    assert_string_equal(b->wait_reason, "GC worker (idle)");
    assert_int_equal(b->minutes_max, 5);
    assert_int_equal(b->nframes, 2); /* all runtime: kept */
    b = &p->buckets[1];
    assert_string_equal(b->wait_reason, "chan receive (nil chan)");
    assert_int_equal(b->flags, PPROF_BF_LEAKED | PPROF_BF_LOCKED | PPROF_BF_SYNCTEST);
    assert_int_equal(b->minutes_max, 61);
    assert_int_equal(b->minutes_hist[pprof_minutes_bin(61)], 1);
    assert_string_equal(b->labels, "a=x]:y,b=\xc3\xa9\x01");
    assert_string_equal(b->frames[0].func, "main.f[...]");
    assert_string_equal(b->frames[1].func, "main.(*T[...]).g");
    assert_int_equal(b->frames[0].line, 7);
    b = &p->buckets[2];
    assert_null(b->wait_reason);
    pprof_profile_free(p);
}

/* Parses, and checks goroutines read, lines skipped and whether the
 * input counts as cut off. */
static void expect_read(const char *input, uint64_t counted, uint64_t skipped,
                        int truncated)
{
    char err[256];
    pprof_profile *p = tp_parse_str(input, err, sizeof(err));
    if (!p)
        fprintf(stderr, "%s\n", err);
    assert_non_null(p);
    assert_int_equal(p->counted, counted);
    assert_int_equal(p->skipped_lines, skipped);
    assert_int_equal(p->truncated, truncated);
    pprof_profile_free(p);
}

static void test_malformed(void **state)
{
    (void)state;
    /* What cannot be read is skipped and counted; a goroutine that
     * cannot be read whole is left out.  Only a dump in which no
     * goroutine at all can be read is refused, naming its first
     * unreadable line. */
    expect_read("goroutine 1 [running]:\nmain.main()\n\t/x.go:1 +0x1\n\n\t/x.go:2 +0x1\n",
                1, 1, 0);
    expect_read("\t/x.go:2 +0x1\ngoroutine 1 [running]:\n", 0, 0, 1);
    expect_error("goroutine 1 [running]:\nmain.main()\n\t/x.go +0x1\n",
                 "t.txt: line 3: malformed file:line \"\\x09/x.go +0x1\"");
    expect_error("goroutine 1 [running]:\nmain.main()\n\t/x.go:99999999999 +0x1\n",
                 "line 3: malformed file:line");
    expect_read("goroutine 1 [running]:\n\t/x.go:1 +0x1\n", 0, 1, 1);
    expect_error("goroutine 1 [running]:\nmain.main()\nmain.other()\n",
                 "line 3: expected the file:line of the line before \"main.other()\"");
    expect_read("goroutine 1 [running]:\nmain.main()\n\ngoroutine 2 [running]:\n",
                0, 2, 1);
    expect_read("goroutine 1 [running]:\nthis is not a frame\n", 0, 1, 1);
    expect_error("goroutine 1 [running:\n",
                 "t.txt: line 1: malformed goroutine header \"goroutine 1 [running:\"");
    expect_read("goroutine 1 [running]:\nmain.main()\n\t/x.go:1\n\ngoroutine 2 running]:\n",
                1, 1, 0);
    expect_error("goroutine 99999999999999999999999 [running]:\n",
                 "line 1: goroutine id overflows 64 bits");
    expect_error("goroutine 1 [chan send labels:{\"a\" \"b\"}]:\nmain.main()\n\t/x.go:1\n",
                 "t.txt: line 1: malformed goroutine labels");
    expect_error("goroutine 1 [running]:\ncreated by \n\t/x.go:1\n",
                 "line 2: \"created by\" without a function");
}

static void test_limits(void **state)
{
    (void)state;
    /* A line longer than max_line_bytes is an error, not a buffer. */
    pprof_limits lim;
    pprof_limits_default(&lim);
    lim.max_line_bytes = 4096;
    size_t n = 10000;
    char *big = malloc(n + 64);
    strcpy(big, "goroutine 1 [running]:\nmain.");
    size_t off = strlen(big);
    memset(big + off, 'a', n);
    strcpy(big + off + n, "()\n");
    char err[512];
    pprof_profile *p = pprof_parse_buffer(big, strlen(big), "big.txt", &lim, err, sizeof(err));
    assert_null(p);
    assert_non_null(strstr(err, "big.txt: line 2: line longer than 4096 bytes"));
    /* Same when the line arrives in pieces. */
    p = tp_parse_chunked(big, strlen(big), 100, "big.txt", &lim, err, sizeof(err));
    assert_null(p);
    assert_non_null(strstr(err, "line 2: line longer than 4096 bytes"));
    free(big);

    /* Frames per goroutine. */
    lim.max_frames = 3;
    const char *deep = "goroutine 1 [running]:\n"
                       "a.a()\n\tx.go:1\nb.b()\n\tx.go:2\nc.c()\n\tx.go:3\nd.d()\n\tx.go:4\n";
    p = pprof_parse_buffer(deep, strlen(deep), "d.txt", &lim, err, sizeof(err));
    assert_null(p);
    assert_non_null(strstr(err, "d.txt: line 9: goroutine 1 has more than 3 frames"));

    /* Unique stacks. */
    pprof_limits_default(&lim);
    lim.max_buckets = 2;
    const char *many = "goroutine 1 [a]:\na.a()\n\tx.go:1\n\n"
                       "goroutine 2 [b]:\na.a()\n\tx.go:1\n\n"
                       "goroutine 3 [c]:\na.a()\n\tx.go:1\n\n";
    p = pprof_parse_buffer(many, strlen(many), "m.txt", &lim, err, sizeof(err));
    assert_null(p);
    assert_non_null(strstr(err, "m.txt: line 12: more than 2 unique stacks"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go126_dump),
        cmocka_unit_test(test_go121_and_go119_dialects),
        cmocka_unit_test(test_minutes),
        cmocka_unit_test(test_system_traceback),
        cmocka_unit_test(test_ancestors_and_labels),
        cmocka_unit_test(test_synctest),
        cmocka_unit_test(test_goroutineleak_marks),
        cmocka_unit_test(test_crash_output),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_crlf_and_bytes),
        cmocka_unit_test(test_merge_and_key),
        cmocka_unit_test(test_minutes_saturate),
        cmocka_unit_test(test_header_forms),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
