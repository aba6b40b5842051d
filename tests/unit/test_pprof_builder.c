/*
 * test_pprof_builder.c — the model itself: what merges into one bucket and
 * what does not, interning, the blocked-minutes histogram, limits, and
 * the wait reasons inferred from runtime frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_pprof_util.h"

static const pprof_frame leak_frames[] = {
    {"main.(*fetcher).gather.func1", "/src/app/fetch.go", 83},
    {"main.(*fetcher).run", "/src/app/fetch.go", 90},
};

static pprof_sample sample(uint64_t count, const char *wait, uint64_t minutes)
{
    pprof_sample s;
    memset(&s, 0, sizeof(s));
    s.frames = leak_frames;
    s.nframes = 2;
    s.wait_reason = wait;
    s.minutes = minutes;
    s.count = count;
    s.created_by.func = "main.(*fetcher).gather";
    s.created_by.file = "/src/app/fetch.go";
    s.created_by.line = 80;
    return s;
}

static void test_merge_rules(void **state)
{
    (void)state;
    pprof_builder *b = pprof_builder_new(NULL);
    assert_non_null(b);
    /* The caller's strings may be reused at once: the builder copies. */
    char func[64];
    strcpy(func, "main.(*fetcher).gather.func1");
    pprof_frame fr[2] = {{func, "/src/app/fetch.go", 83}, leak_frames[1]};
    pprof_sample s = sample(3, "chan send", 2);
    s.frames = fr;
    assert_int_equal(pprof_builder_add(b, &s), 0);
    strcpy(func, "scribbled over");
    s = sample(4, "chan send", 700);
    assert_int_equal(pprof_builder_add(b, &s), 0);
    /* Different wait reason, flags, labels, creator or line: new bucket. */
    s = sample(1, "chan receive", 0);
    assert_int_equal(pprof_builder_add(b, &s), 0);
    s = sample(1, "chan send", 0);
    s.flags = PPROF_BF_LOCKED;
    assert_int_equal(pprof_builder_add(b, &s), 0);
    s = sample(1, "chan send", 0);
    s.labels = "k=v";
    assert_int_equal(pprof_builder_add(b, &s), 0);
    s = sample(1, "chan send", 0);
    s.created_by.line = 81;
    assert_int_equal(pprof_builder_add(b, &s), 0);
    /* Guessed or seen, the same reason is the same bucket; seen wins. */
    s = sample(2, NULL, 0);
    pprof_frame sel[3] = {{"runtime.gopark", "runtime/proc.go", 1},
                          {"runtime.selectgo", "runtime/select.go", 2},
                          {"main.loop", "/src/app/loop.go", 3}};
    s.frames = sel;
    s.nframes = 3;
    assert_int_equal(pprof_builder_add(b, &s), 0);
    s.wait_reason = "select";
    s.flags = PPROF_BF_WAIT_INFERRED; /* ignored when a reason is given */
    assert_int_equal(pprof_builder_add(b, &s), 0);

    pprof_profile *p = pprof_builder_finish(b, PPROF_FORMAT_DEBUG2, PPROF_KIND_GOROUTINE, 0);
    assert_non_null(p);
    assert_int_equal(p->nbuckets, 6);
    assert_int_equal(p->counted, 15);
    assert_int_equal(p->total, 15);
    const pprof_bucket *bk = &p->buckets[0];
    assert_int_equal(bk->count, 7);
    assert_string_equal(bk->frames[0].func, "main.(*fetcher).gather.func1");
    assert_int_equal(bk->minutes_min, 2);
    assert_int_equal(bk->minutes_max, 700);
    assert_int_equal(bk->minutes_hist[2], 3);
    assert_int_equal(bk->minutes_hist[8], 4);
    /* Interned: one pointer per distinct string. */
    assert_ptr_equal(p->buckets[0].frames[0].file, p->buckets[0].frames[1].file);
    assert_ptr_equal(p->buckets[0].frames[0].file, p->buckets[0].created_by.file);
    assert_ptr_equal(p->buckets[0].wait_reason, p->buckets[2].wait_reason);
    assert_true(p->buckets[2].flags & PPROF_BF_LOCKED);
    bk = &p->buckets[5];
    assert_int_equal(bk->count, 4);
    assert_string_equal(bk->wait_reason, "select");
    assert_false(bk->flags & PPROF_BF_WAIT_INFERRED);
    assert_string_equal(p->buckets[3].labels, "k=v");
    assert_int_equal(p->buckets[4].created_by.line, 81);
    pprof_profile_free(p);

    /* A reported total is kept as reported. */
    b = pprof_builder_new(NULL);
    s = sample(2, "sleep", 0);
    assert_int_equal(pprof_builder_add(b, &s), 0);
    p = pprof_builder_finish(b, PPROF_FORMAT_DEBUG1, PPROF_KIND_GOROUTINELEAK, 10);
    assert_int_equal(p->total, 10);
    assert_int_equal(p->counted, 2);
    assert_int_equal(p->kind, PPROF_KIND_GOROUTINELEAK);
    pprof_profile_free(p);

    /* An empty profile is a profile. */
    b = pprof_builder_new(NULL);
    p = pprof_builder_finish(b, PPROF_FORMAT_PROTO, PPROF_KIND_GOROUTINE, 0);
    assert_non_null(p);
    assert_int_equal(p->nbuckets, 0);
    assert_int_equal(p->total, 0);
    pprof_profile_free(p);
    pprof_builder_free(NULL);
    pprof_profile_free(NULL);
}

static void test_limits(void **state)
{
    (void)state;
    pprof_limits lim;
    memset(&lim, 0, sizeof(lim)); /* zero fields take the defaults */
    lim.max_buckets = 2;
    lim.max_frames = 1;
    pprof_builder *b = pprof_builder_new(&lim);
    pprof_sample s = sample(1, "a", 0);
    assert_int_equal(pprof_builder_add(b, &s), -1);
    assert_string_equal(pprof_builder_error(b),
                        "stack of 2 frames exceeds 1 (limit; raise with --max-frames)");
    s.nframes = 1;
    assert_int_equal(pprof_builder_add(b, &s), 0);
    assert_string_equal(pprof_builder_error(b), "");
    s.wait_reason = "b";
    assert_int_equal(pprof_builder_add(b, &s), 0);
    s.wait_reason = "a";
    assert_int_equal(pprof_builder_add(b, &s), 0); /* existing bucket */
    s.wait_reason = "c";
    assert_int_equal(pprof_builder_add(b, &s), -1);
    assert_string_equal(pprof_builder_error(b),
                        "more than 2 unique stacks (limit; raise with --max-buckets)");
    s.wait_reason = "a";
    s.count = UINT64_MAX;
    assert_int_equal(pprof_builder_add(b, &s), -1);
    assert_string_equal(pprof_builder_error(b), "goroutine count overflows 64 bits");
    pprof_builder_free(b);
}

static void test_minutes_bins(void **state)
{
    (void)state;
    const uint64_t edges[][2] = {
        {0, 0}, {1, 1}, {2, 2}, {4, 2}, {5, 3}, {9, 3}, {10, 4}, {29, 4},
        {30, 5}, {59, 5}, {60, 6}, {179, 6}, {180, 7}, {599, 7}, {600, 8},
        {UINT64_MAX, 8},
    };
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
        assert_int_equal(pprof_minutes_bin(edges[i][0]), edges[i][1]);
    assert_string_equal(pprof_format_name(PPROF_FORMAT_DEBUG1), "debug=1");
    assert_string_equal(pprof_format_name(PPROF_FORMAT_DEBUG2), "debug=2");
    assert_string_equal(pprof_format_name(PPROF_FORMAT_PROTO), "protobuf");
    assert_string_equal(pprof_format_name(PPROF_FORMAT_UNKNOWN), "unknown");
    assert_string_equal(pprof_kind_name(PPROF_KIND_GOROUTINE), "goroutine");
    assert_string_equal(pprof_kind_name(PPROF_KIND_GOROUTINELEAK), "goroutineleak");
    pprof_limits lim;
    pprof_limits_default(&lim);
    assert_int_equal(lim.max_decompressed_bytes, 268435456);
    assert_int_equal(lim.max_input_bytes, 4ULL << 30);
    assert_int_equal(lim.max_line_bytes, 1 << 20);
    assert_int_equal(lim.max_buckets, 2000000);
    assert_int_equal(lim.max_frames, 4096);
}

static const char *infer(const char *const *funcs)
{
    pprof_frame fr[8];
    uint32_t n = 0;
    for (; funcs[n]; n++) {
        fr[n].func = funcs[n];
        fr[n].file = "x.go";
        fr[n].line = 1;
    }
    return pprof_infer_wait_reason(fr, n);
}

static void check_infer(const char *want, const char *const *funcs)
{
    const char *got = infer(funcs);
    if (!want) {
        if (got)
            fprintf(stderr, "%s: want NULL, got %s\n", funcs[0], got);
        assert_null(got);
        return;
    }
    if (!got || strcmp(got, want) != 0)
        fprintf(stderr, "%s: want %s, got %s\n", funcs[0], want, got ? got : "NULL");
    assert_non_null(got);
    assert_string_equal(got, want);
}

#define INFER(want, ...)                          \
    do {                                          \
        const char *f_[] = {__VA_ARGS__, NULL};   \
        check_infer((want), f_);                  \
    } while (0)

static void test_infer(void **state)
{
    (void)state;
    INFER("chan send", "runtime.gopark", "runtime.chansend", "runtime.chansend1", "main.f");
    INFER("chan receive", "runtime.gopark", "runtime.chanrecv", "runtime.chanrecv2", "main.f");
    INFER("select", "runtime.gopark", "runtime.selectgo", "main.f");
    INFER("select (no cases)", "runtime.gopark", "runtime.block", "main.f");
    INFER("sync.WaitGroup.Wait", "sync.runtime_SemacquireWaitGroup", "sync.(*WaitGroup).Wait", "main.f");
    INFER("sync.WaitGroup.Wait", "sync.runtime_Semacquire", "sync.(*WaitGroup).Wait", "main.f");
    INFER("semacquire", "sync.runtime_Semacquire", "golang.org/x/sync/semaphore.f", "main.f");
    INFER("semacquire", "runtime.gopark", "runtime.semacquire1", "main.f");
    INFER("sync.Mutex.Lock", "runtime.semacquire1", "sync.runtime_SemacquireMutex", "sync.(*Mutex).lockSlow", "sync.(*Mutex).Lock", "main.f");
    INFER("sync.Mutex.Lock", "internal/sync.runtime_SemacquireMutex", "internal/sync.(*Mutex).lockSlow", "sync.(*RWMutex).Lock");
    INFER("sync.RWMutex.RLock", "sync.runtime_SemacquireMutex", "sync.(*RWMutex).RLock", "main.f");
    INFER("sync.RWMutex.Lock", "sync.runtime_SemacquireMutex", "sync.(*RWMutex).Lock", "main.f");
    INFER("sync.RWMutex.RLock", "sync.runtime_SemacquireRWMutexR", "sync.(*RWMutex).RLock");
    INFER("sync.RWMutex.Lock", "sync.runtime_SemacquireRWMutex", "sync.(*RWMutex).Lock");
    INFER("sync.Cond.Wait", "sync.runtime_notifyListWait", "sync.(*Cond).Wait", "main.f");
    INFER("IO wait", "internal/poll.runtime_pollWait", "internal/poll.(*pollDesc).wait", "main.f");
    INFER("IO wait", "runtime.gopark", "runtime.netpollblock", "internal/poll.runtime_pollWait");
    INFER("sleep", "time.Sleep", "main.f");
    INFER("syscall", "os/signal.signal_recv", "os/signal.loop");
    INFER("syscall", "syscall.Syscall6", "os.(*File).Read", "main.f");
    INFER("synctest.Wait", "internal/synctest.Wait", "testing/synctest.Wait");
    INFER("running", "runtime/pprof.runtime_goroutineProfileWithLabels", "runtime/pprof.writeRuntimeProfile");
    INFER("GC worker (idle)", "runtime.gopark", "runtime.gcBgMarkWorker");
    /* debug=1 hides the runtime frames of a channel wait. */
    INFER(NULL, "main.(*fetcher).gather.func1");
    INFER(NULL, "runtime.gopark", "main.f");
    assert_null(pprof_infer_wait_reason(NULL, 0));

    /* The builder infers when no reason is given, and says so. */
    pprof_builder *b = pprof_builder_new(NULL);
    pprof_frame fr[] = {{"time.Sleep", "runtime/time.go", 363}, {"main.poll", "/src/p.go", 9}};
    pprof_sample s;
    memset(&s, 0, sizeof(s));
    s.frames = fr;
    s.nframes = 2;
    s.count = 1;
    s.flags = PPROF_BF_LOCKED;
    assert_int_equal(pprof_builder_add(b, &s), 0);
    fr[0].func = "main.idle";
    assert_int_equal(pprof_builder_add(b, &s), 0);
    pprof_profile *p = pprof_builder_finish(b, PPROF_FORMAT_DEBUG1, PPROF_KIND_GOROUTINE, 0);
    assert_string_equal(p->buckets[0].wait_reason, "sleep");
    assert_int_equal(p->buckets[0].flags, PPROF_BF_LOCKED | PPROF_BF_WAIT_INFERRED);
    assert_null(p->buckets[1].wait_reason);
    assert_int_equal(p->buckets[1].flags, PPROF_BF_LOCKED);
    pprof_profile_free(p);
}

static void test_hidden_runtime_frames(void **state)
{
    (void)state;
    /* The same goroutine in protobuf (runtime frames kept) and in a
     * default dump (hidden) ends as the same stack. */
    const char *pb =
        "goroutine 1 gp=0x1 m=nil [chan receive]:\n"
        "runtime.gopark(0x0?)\n\truntime/proc.go:462 +0xce\n"
        "runtime.chanrecv(0x1)\n\truntime/chan.go:667 +0x3c\n"
        "runtime.chanrecv1(0x1)\n\truntime/chan.go:509 +0x12\n"
        "main.consume()\n\t/src/c.go:35 +0x1d\n"
        "runtime.call16(0x0)\n\truntime/asm_amd64.s:775 +0x43\n"
        "main.main()\n\t/src/c.go:50 +0x1d\n"
        "runtime.main()\n\truntime/proc.go:283 +0x28b\n"
        "runtime.goexit({})\n\truntime/asm_amd64.s:1700 +0x1\n"
        "\n"
        "goroutine 2 [chan receive]:\n"
        "main.consume()\n\t/src/c.go:35 +0x1d\n"
        "main.main()\n\t/src/c.go:50 +0x1d\n"
        "\n"
        "goroutine 3 [runnable]:\n"
        "runtime.Gosched()\n\truntime/proc.go:1 +0x1\n"
        "main.spin()\n\t/src/s.go:3 +0x1\n"
        "runtime.Goexit()\n\truntime/panic.go:600 +0x1\n"
        "\n";
    char err[256];
    pprof_profile *p = tp_parse_str(pb, err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(p->nbuckets, 2);
    assert_int_equal(p->buckets[0].count, 2);
    assert_int_equal(p->buckets[0].nframes, 2);
    /* Exported runtime functions below the top stay, as Go shows them. */
    assert_int_equal(p->buckets[1].nframes, 2);
    assert_string_equal(p->buckets[1].frames[0].func, "main.spin");
    assert_string_equal(p->buckets[1].frames[1].func, "runtime.Goexit");
    pprof_profile_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_rules),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_minutes_bins),
        cmocka_unit_test(test_infer),
        cmocka_unit_test(test_hidden_runtime_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
