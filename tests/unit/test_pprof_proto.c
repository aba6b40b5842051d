/*
 * test_pprof_proto.c — protobuf goroutine profiles: recorded ones from
 * Go 1.19, 1.21 and 1.26 (goroutine and goroutineleak, gzipped as served
 * and raw), and messages built here field by field to reach every
 * encoding the wire format allows and every way it can be broken.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <zlib.h>

#include "support.h"
#include "test_pprof_util.h"

/* ---- a minimal protobuf writer for building test messages ---------- */

typedef struct pbw {
    unsigned char *b;
    size_t n, cap;
} pbw;

static void w_raw(pbw *w, const void *p, size_t n)
{
    if (w->n + n > w->cap) {
        w->cap = (w->n + n) * 2 + 64;
        unsigned char *nb = realloc(w->b, w->cap);
        if (!nb)
            abort();
        w->b = nb;
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void w_varint(pbw *w, uint64_t v)
{
    unsigned char buf[10];
    size_t n = 0;
    do {
        buf[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            buf[n] |= 0x80;
        n++;
    } while (v);
    w_raw(w, buf, n);
}

static void w_uint(pbw *w, unsigned field, uint64_t v)
{
    w_varint(w, (uint64_t)field << 3);
    w_varint(w, v);
}

static void w_bytes(pbw *w, unsigned field, const void *p, size_t n)
{
    w_varint(w, (uint64_t)field << 3 | 2);
    w_varint(w, n);
    w_raw(w, p, n);
}

static void w_str(pbw *w, const char *s)
{
    w_bytes(w, 6, s, strlen(s));
}

static void w_msg(pbw *w, unsigned field, pbw *sub)
{
    w_bytes(w, field, sub->b, sub->n);
    free(sub->b);
    memset(sub, 0, sizeof(*sub));
}

/* String table used by the hand-made profiles. */
enum {
    S_EMPTY, S_GOROUTINE, S_COUNT, S_F, S_FILE, S_GOPARK, S_CHANRECV,
    S_CHANRECV1, S_K, S_V, S_CPU, S_GEN, S_PROC, S_NANOS, S_LEAK, S_NSTR
};
static const char *strs[S_NSTR] = {
    "", "goroutine", "count", "main.f", "/src/f.go", "runtime.gopark",
    "runtime.chanrecv", "runtime.chanrecv1", "k", "v", "cpu",
    "main.G[go.shape.int,go.shape.string]", "runtime/proc.go", "nanoseconds",
    "goroutineleak",
};

static void w_value_type(pbw *w, unsigned field, uint64_t type, uint64_t unit)
{
    pbw vt = {0};
    w_uint(&vt, 1, type);
    w_uint(&vt, 2, unit);
    w_msg(w, field, &vt);
}

static void w_function(pbw *w, uint64_t id, uint64_t name, uint64_t file,
                       uint64_t start)
{
    pbw f = {0};
    w_uint(&f, 1, id);
    w_uint(&f, 2, name);
    w_uint(&f, 3, name);
    w_uint(&f, 4, file);
    w_uint(&f, 5, start);
    w_msg(w, 5, &f);
}

/* A location with one line per (function id, line) pair, innermost
 * first. */
static void w_location(pbw *w, uint64_t id, uint64_t addr, const uint64_t *fl,
                       size_t nlines)
{
    pbw l = {0};
    w_uint(&l, 1, id);
    w_uint(&l, 2, 1);
    w_uint(&l, 3, addr);
    for (size_t i = 0; i < nlines; i++) {
        pbw line = {0};
        w_uint(&line, 1, fl[2 * i]);
        w_uint(&line, 2, fl[2 * i + 1]);
        w_msg(&l, 4, &line);
    }
    w_msg(w, 4, &l);
}

static void w_strings(pbw *w)
{
    for (int i = 0; i < S_NSTR; i++)
        w_str(w, strs[i]);
}

static pprof_profile *parse_pb(const pbw *w, char *err, size_t errlen)
{
    return pprof_parse_buffer(w->b, w->n, "t.pb", NULL, err, errlen);
}

static void expect_pb_error(pbw *w, const char *want)
{
    char err[512];
    pprof_profile *p = parse_pb(w, err, sizeof(err));
    if (p || !strstr(err, want))
        fprintf(stderr, "want error containing \"%s\", got \"%s\"\n", want, err);
    assert_null(p);
    assert_non_null(strstr(err, want));
    assert_true(strncmp(err, "t.pb: ", 6) == 0);
    free(w->b);
    memset(w, 0, sizeof(*w));
}

/* A valid little profile: functions main.f (1), gopark (2), chanrecv
 * (3, start 524), chanrecv1 (4); locations 1 (gopark), 2 (chanrecv at
 * line, chanrecv1 inlined), 3 (main.f). */
static void w_base(pbw *w, uint64_t chanrecv_line)
{
    w_value_type(w, 11, S_GOROUTINE, S_COUNT);
    w_uint(w, 12, 1);
    w_value_type(w, 1, S_GOROUTINE, S_COUNT);
    w_function(w, 1, S_F, S_FILE, 10);
    w_function(w, 2, S_GOPARK, S_PROC, 445);
    w_function(w, 3, S_CHANRECV, S_PROC, 524);
    w_function(w, 4, S_CHANRECV1, S_PROC, 508);
    uint64_t l1[] = {2, 462};
    uint64_t l2[] = {3, chanrecv_line, 4, 509};
    uint64_t l3[] = {1, 12};
    w_location(w, 1, 0x1000, l1, 1);
    w_location(w, 2, 0x2000, l2, 2);
    w_location(w, 3, 0x3000, l3, 1);
    w_uint(w, 9, 1700000000123456789ULL);
}

/* ---- recorded profiles ------------------------------------------------ */

static void test_go126(void **state)
{
    (void)state;
    pprof_profile *p = ts_parse_testdata("go126.pb.gz");
    assert_int_equal(p->format, PPROF_FORMAT_PROTO);
    assert_int_equal(p->kind, PPROF_KIND_GOROUTINE);
    assert_true(p->gzipped);
    assert_false(p->truncated);
    assert_int_equal(p->total, 18);
    assert_int_equal(p->counted, 18);
    assert_true(p->time_unix_nanos > 1600000000000000000LL);

    /* Wait reasons from the runtime frames, which are then hidden. */
    const pprof_bucket *b = tp_find(p, "main.main.func3", NULL);
    assert_non_null(b);
    assert_string_equal(b->wait_reason, "chan receive (nil chan)");
    assert_true(b->flags & PPROF_BF_WAIT_INFERRED);
    assert_int_equal(b->nframes, 1);
    assert_non_null(tp_find(p, "main.main.func4", "chan send (nil chan)"));
    assert_non_null(tp_find(p, "main.main.func6", "select (no cases)"));
    assert_non_null(tp_find(p, "main.main.func17", "chan receive"));
    assert_non_null(tp_find(p, "internal/poll.runtime_pollWait", "IO wait"));
    assert_non_null(tp_find(p, "sync.runtime_SemacquireWaitGroup", "sync.WaitGroup.Wait"));
    assert_int_equal(tp_count_with(p, "runtime.gopark"), 0);

    /* Labels from the sample. */
    b = tp_find(p, "main.main.func18.1", "chan receive");
    assert_non_null(b);
    assert_string_equal(b->labels, "handler=/api/v1,tenant=a\"b\tc");

    /* Generic shapes read as Go prints them. */
    assert_non_null(tp_find(p, "main.Generic[...]", "chan receive"));
    assert_non_null(tp_find(p, "main.(*Box[...]).Wait", "chan receive"));

    /* Inlined calls: one location, several lines, innermost first. */
    b = tp_find(p, "main.Generic[...]", NULL);
    assert_int_equal(b->nframes, 2);
    assert_string_equal(b->frames[1].func, "main.main.func14");
    b = tp_find(p, "internal/sync.runtime_SemacquireMutex", NULL);
    assert_non_null(b);
    assert_string_equal(b->frames[2].func, "internal/sync.(*Mutex).Lock");
    assert_string_equal(b->frames[3].func, "sync.(*Mutex).Lock");
    pprof_profile_free(p);
}

static void test_go119_and_leak(void **state)
{
    (void)state;
    /* Go 1.19 writes no function start lines; the nil-channel park is
     * still told apart by its distance from chanrecv1's line. */
    pprof_profile *p = ts_parse_testdata("go119.pb.gz");
    assert_int_equal(p->total, 18);
    assert_non_null(tp_find(p, "main.main.func3", "chan receive (nil chan)"));
    assert_non_null(tp_find(p, "main.main.func4", "chan send (nil chan)"));
    assert_non_null(tp_find(p, "main.main.func17", "chan receive"));
    assert_non_null(tp_find(p, "sync.runtime_Semacquire", "sync.WaitGroup.Wait"));
    pprof_profile_free(p);

    p = ts_parse_testdata("go121.pb.gz");
    assert_non_null(tp_find(p, "main.main.func3", "chan receive (nil chan)"));
    pprof_profile_free(p);

    p = ts_parse_testdata("go126_leak.pb.gz");
    assert_int_equal(p->kind, PPROF_KIND_GOROUTINELEAK);
    assert_int_equal(p->total, 13);
    pprof_profile_free(p);
}

static void test_raw_equals_gzipped(void **state)
{
    (void)state;
    size_t len;
    unsigned char *gz = tp_read("go126.pb.gz", &len);
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
    unsigned char *raw = malloc(1 << 20);
    zs.next_in = gz;
    zs.avail_in = (uInt)len;
    zs.next_out = raw;
    zs.avail_out = 1 << 20;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t rawlen = zs.total_out;
    inflateEnd(&zs);

    pprof_profile *a = pprof_parse_buffer(gz, len, "x", NULL, NULL, 0);
    pprof_profile *b = pprof_parse_buffer(raw, rawlen, "x", NULL, NULL, 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a->gzipped);
    assert_false(b->gzipped);
    b->gzipped = true;
    ts_assert_same_and_free(a, b);
    free(raw);
    free(gz);
}

/* ---- hand-made ------------------------------------------------------- */

static void test_encodings(void **state)
{
    (void)state;
    pbw w = {0};
    w_base(&w, 536);
    /* Sample 1: packed location ids and values. */
    pbw s = {0}, packed = {0};
    w_varint(&packed, 1);
    w_varint(&packed, 2);
    w_varint(&packed, 3);
    w_bytes(&s, 1, packed.b, packed.n);
    free(packed.b);
    memset(&packed, 0, sizeof(packed));
    w_varint(&packed, 5);
    w_bytes(&s, 2, packed.b, packed.n);
    free(packed.b);
    w_msg(&w, 2, &s);
    /* Sample 2: the same stack, one field per id (unpacked), with a
     * string label and a numeric one. */
    w_uint(&s, 1, 1);
    w_uint(&s, 1, 2);
    w_uint(&s, 1, 3);
    w_uint(&s, 2, 2);
    pbw lab = {0};
    w_uint(&lab, 1, S_K);
    w_uint(&lab, 2, S_V);
    w_msg(&s, 3, &lab);
    w_uint(&lab, 1, S_F);
    w_uint(&lab, 3, (uint64_t)-42);
    w_uint(&lab, 4, S_NANOS);
    w_msg(&s, 3, &lab);
    w_msg(&w, 2, &s);
    /* Sample 3: count 0 adds nothing. */
    w_uint(&s, 1, 3);
    w_uint(&s, 2, 0);
    w_msg(&w, 2, &s);
    w_strings(&w);

    char err[512];
    pprof_profile *p = parse_pb(&w, err, sizeof(err));
    if (!p)
        fprintf(stderr, "%s\n", err);
    assert_non_null(p);
    assert_int_equal(p->time_unix_nanos, 1700000000123456789LL);
    assert_int_equal(p->nbuckets, 2);
    assert_int_equal(p->counted, 7);
    const pprof_bucket *b = &p->buckets[0];
    assert_int_equal(b->count, 5);
    /* chanrecv parked 12 lines into the function: the nil-channel park. */
    assert_string_equal(b->wait_reason, "chan receive (nil chan)");
    assert_int_equal(b->nframes, 1);
    assert_string_equal(b->frames[0].func, "main.f");
    assert_string_equal(b->frames[0].file, "/src/f.go");
    assert_int_equal(b->frames[0].line, 12);
    b = &p->buckets[1];
    assert_int_equal(b->count, 2);
    assert_string_equal(b->labels, "k=v,main.f=-42");
    pprof_profile_free(p);
    free(w.b);
    memset(&w, 0, sizeof(w));

    /* Ids in any order, sample types other than the first, unsymbolised
     * locations, and a generic shape. */
    w_value_type(&w, 1, S_CPU, S_NANOS);
    w_value_type(&w, 1, S_LEAK, S_COUNT);
    w_strings(&w);
    w_function(&w, 70, S_GEN, S_FILE, 1);
    w_function(&w, 9, S_CHANRECV, S_PROC, 524);
    uint64_t la[] = {9, 667};
    uint64_t lb[] = {70, 3};
    w_location(&w, 500, 0x50, la, 1);
    w_location(&w, 30, 0x30, lb, 1);
    w_location(&w, 7, 0x4a5b, NULL, 0);
    w_uint(&s, 1, 500);
    w_uint(&s, 1, 30);
    w_uint(&s, 1, 7);
    w_uint(&s, 2, 1000000);
    w_uint(&s, 2, 3);
    w_msg(&w, 2, &s);
    p = parse_pb(&w, err, sizeof(err));
    if (!p)
        fprintf(stderr, "%s\n", err);
    assert_non_null(p);
    assert_int_equal(p->kind, PPROF_KIND_GOROUTINELEAK);
    assert_int_equal(p->counted, 3);
    b = &p->buckets[0];
    assert_string_equal(b->wait_reason, "chan receive");
    assert_int_equal(b->nframes, 2);
    assert_string_equal(b->frames[0].func, "main.G[...]");
    assert_string_equal(b->frames[1].func, "0x4a5b");
    assert_null(b->frames[1].file);
    pprof_profile_free(p);
    free(w.b);
}

static void test_errors(void **state)
{
    (void)state;
    pbw w = {0}, s = {0};

    /* Not a goroutine profile. */
    w_value_type(&w, 1, S_CPU, S_NANOS);
    w_uint(&w, 12, 1);
    w_strings(&w);
    expect_pb_error(&w, "t.pb: not a goroutine profile (protobuf sample type \"cpu\")");

    w_uint(&w, 12, 1);
    w_uint(&w, 9, 5);
    w_strings(&w);
    expect_pb_error(&w, "not a goroutine profile (protobuf without a sample type)");

    /* Negative count. */
    w_base(&w, 536);
    w_uint(&s, 1, 3);
    w_uint(&s, 2, (uint64_t)-3);
    w_msg(&w, 2, &s);
    w_strings(&w);
    expect_pb_error(&w, "protobuf: negative goroutine count -3 at byte");

    /* Dangling references. */
    w_base(&w, 536);
    w_uint(&s, 1, 44);
    w_uint(&s, 2, 1);
    w_msg(&w, 2, &s);
    w_strings(&w);
    expect_pb_error(&w, "protobuf: sample references unknown location id 44 at byte");

    w_base(&w, 536);
    uint64_t l[] = {99, 1};
    w_location(&w, 4, 0x1, l, 1);
    w_uint(&s, 1, 4);
    w_uint(&s, 2, 1);
    w_msg(&w, 2, &s);
    w_strings(&w);
    expect_pb_error(&w, "protobuf: location 4 references unknown function id 99 at byte");

    w_base(&w, 536);
    w_uint(&s, 1, 3);
    w_uint(&s, 2, 1);
    w_msg(&w, 2, &s);
    for (int i = 0; i < 4; i++)
        w_str(&w, strs[i]);
    expect_pb_error(&w, "protobuf: string index 4 out of range (table has 4) at byte");

    /* Wire-level damage, with the byte where it is. */
    w_base(&w, 536);
    w_strings(&w);
    size_t at = w.n;
    unsigned char bad[] = {0x80};
    w_raw(&w, bad, 1);
    char want[128];
    snprintf(want, sizeof(want), "protobuf: truncated varint at byte %zu", at);
    expect_pb_error(&w, want);

    w_base(&w, 536);
    w_strings(&w);
    at = w.n;
    unsigned char longv[] = {0x48, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    w_raw(&w, longv, sizeof(longv));
    expect_pb_error(&w, "protobuf: varint");

    w_base(&w, 536);
    w_strings(&w);
    at = w.n;
    unsigned char past[] = {0x32, 0x7f, 'a'};
    w_raw(&w, past, sizeof(past));
    snprintf(want, sizeof(want), "runs past the end of its message at byte %zu", at);
    expect_pb_error(&w, want);

    w_base(&w, 536);
    w_strings(&w);
    at = w.n;
    unsigned char group[] = {0x13, 0x14};
    w_raw(&w, group, sizeof(group));
    snprintf(want, sizeof(want), "protobuf: unsupported wire type 3 at byte %zu", at);
    expect_pb_error(&w, want);

    w_base(&w, 536);
    w_uint(&w, 2, 5); /* sample as a varint */
    w_strings(&w);
    expect_pb_error(&w, "protobuf: Profile.sample has wire type 0, not 2");

    w_base(&w, 536);
    unsigned char zero_field[] = {0x02, 0x00};
    w_raw(&w, zero_field, 2);
    expect_pb_error(&w, "protobuf: field number 0 at byte");
}

static void test_amplification(void **state)
{
    (void)state;
    /* One location of 2000 inlined lines, referenced by many small
     * samples: the expansion is capped by the message size. */
    pbw w = {0}, s = {0};
    w_value_type(&w, 1, S_GOROUTINE, S_COUNT);
    w_strings(&w);
    w_function(&w, 1, S_F, S_FILE, 1);
    uint64_t *lines = malloc(2 * 2000 * sizeof(uint64_t));
    for (int i = 0; i < 2000; i++) {
        lines[2 * i] = 1;
        lines[2 * i + 1] = (uint64_t)i + 1;
    }
    w_location(&w, 1, 0x1, lines, 2000);
    free(lines);
    for (int i = 0; i < 20000; i++) {
        w_uint(&s, 1, 1);
        w_uint(&s, 2, 1);
        w_msg(&w, 2, &s);
    }
    expect_pb_error(&w, "protobuf: samples expand to more frames than a");

    /* Many empty locations: the tables may not outgrow the message. */
    w_value_type(&w, 1, S_GOROUTINE, S_COUNT);
    w_strings(&w);
    unsigned char empty_loc[] = {0x22, 0x00};
    for (int i = 0; i < 400000; i++)
        w_raw(&w, empty_loc, 2);
    expect_pb_error(&w, "protobuf: more tables than a");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go126),
        cmocka_unit_test(test_go119_and_leak),
        cmocka_unit_test(test_raw_equals_gzipped),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_amplification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
