/*
 * test_pprof_consistency.c — one capture, three formats, one model: the
 * debug=1, debug=2 and protobuf profiles written by the same process
 * (Go 1.19, 1.21, 1.26) give the same totals, the same stacks with the
 * same counts, and wait reasons that agree; and every recorded fixture
 * under tests/fixtures parses, with the stacks its manifest says grow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <sys/stat.h>

#include "test_pprof_util.h"

/* The leading frames that identify a stack in every format (debug=2
 * elides deep stacks, old debug=1 caps them at 32 PCs). */
#define SIG_FRAMES 8

static void signature(const pprof_bucket *b, char *out, size_t n)
{
    size_t o = 0;
    out[0] = '\0';
    for (uint32_t f = 0; f < b->nframes && f < SIG_FRAMES && o < n; f++) {
        int w = snprintf(out + o, n - o, "%s:%u;", b->frames[f].func, b->frames[f].line);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

/* The goroutine writing the profile differs per format by design. */
static int is_writer(const pprof_bucket *b)
{
    return b->wait_reason && strcmp(b->wait_reason, "running") == 0;
}

static const pprof_bucket *by_signature(const pprof_profile *p, const char *sig)
{
    char s[4096];
    for (size_t i = 0; i < p->nbuckets; i++) {
        if (is_writer(&p->buckets[i]))
            continue;
        signature(&p->buckets[i], s, sizeof(s));
        if (strcmp(s, sig) == 0)
            return &p->buckets[i];
    }
    return NULL;
}

static uint64_t count_by_signature(const pprof_profile *p, const char *sig)
{
    char s[4096];
    uint64_t n = 0;
    for (size_t i = 0; i < p->nbuckets; i++) {
        signature(&p->buckets[i], s, sizeof(s));
        if (!is_writer(&p->buckets[i]) && strcmp(s, sig) == 0)
            n += p->buckets[i].count;
    }
    return n;
}

/* Go before 1.25 (WaitGroup) and 1.20 (Mutex, RWMutex) parked these on
 * the plain semaphore; the frames still name the primitive. */
static int reasons_agree(const char *printed, const char *inferred)
{
    if (!printed || !inferred)
        return printed == inferred;
    if (strcmp(printed, inferred) == 0)
        return 1;
    if (strcmp(printed, "semacquire") == 0)
        return strcmp(inferred, "sync.WaitGroup.Wait") == 0 ||
               strcmp(inferred, "sync.Mutex.Lock") == 0 ||
               strcmp(inferred, "sync.RWMutex.RLock") == 0 ||
               strcmp(inferred, "sync.RWMutex.Lock") == 0;
    return 0;
}

static pprof_profile *parse_path(const char *path)
{
    char err[512];
    pprof_profile *p = pprof_parse_file(path, NULL, err, sizeof(err));
    if (!p)
        fprintf(stderr, "%s\n", err);
    assert_non_null(p);
    return p;
}

static void check_trio(const char *d1name, const char *d2name, const char *pbname)
{
    char *a = tp_path(d1name, 1), *b = tp_path(d2name, 1), *c = tp_path(pbname, 1);
    pprof_profile *d1 = parse_path(a), *d2 = parse_path(b), *pb = parse_path(c);
    free(a);
    free(b);
    free(c);
    assert_int_equal(d1->total, d2->total);
    assert_int_equal(d2->total, pb->total);
    assert_int_equal(d1->counted, d1->total);

    char sig[4096];
    size_t compared = 0;
    for (size_t i = 0; i < d2->nbuckets; i++) {
        const pprof_bucket *bk = &d2->buckets[i];
        if (is_writer(bk))
            continue;
        signature(bk, sig, sizeof(sig));
        uint64_t n2 = count_by_signature(d2, sig);
        uint64_t n1 = count_by_signature(d1, sig);
        uint64_t np = count_by_signature(pb, sig);
        if (n1 != n2 || np != n2)
            fprintf(stderr, "%s: %s: debug=1 %" PRIu64 ", debug=2 %" PRIu64
                            ", protobuf %" PRIu64 "\n",
                    d2name, sig, n1, n2, np);
        assert_int_equal(n1, n2);
        assert_int_equal(np, n2);
        /* Reasons: protobuf infers from the full stack; debug=1 only
         * from what runtime/pprof left visible, or nothing. */
        const pprof_bucket *pbk = by_signature(pb, sig);
        const pprof_bucket *d1k = by_signature(d1, sig);
        assert_non_null(pbk);
        assert_non_null(d1k);
        if (!reasons_agree(bk->wait_reason, pbk->wait_reason))
            fprintf(stderr, "%s: %s: debug=2 [%s] protobuf [%s]\n", d2name, sig,
                    bk->wait_reason, pbk->wait_reason ? pbk->wait_reason : "-");
        assert_true(reasons_agree(bk->wait_reason, pbk->wait_reason));
        if (d1k->wait_reason)
            assert_string_equal(d1k->wait_reason, pbk->wait_reason);
        /* Labels agree between the two formats that carry them. */
        if (d1k->labels || pbk->labels)
            assert_string_equal(d1k->labels, pbk->labels);
        compared++;
    }
    assert_true(compared >= 15);
    pprof_profile_free(d1);
    pprof_profile_free(d2);
    pprof_profile_free(pb);
}

static void test_same_capture_three_formats(void **state)
{
    (void)state;
    check_trio("go126_debug1.txt", "go126_debug2.txt", "go126.pb.gz");
    check_trio("go121_debug1.txt", "go121_debug2.txt", "go121.pb.gz");
    check_trio("go119_debug1.txt", "go119_debug2.txt", "go119.pb.gz");
}

static void test_goroutineleak_formats(void **state)
{
    (void)state;
    char *a = tp_path("go126_leak_debug1.txt", 1), *b = tp_path("go126_leak.pb.gz", 1),
         *c = tp_path("go126_leak_debug2.txt", 1);
    pprof_profile *d1 = parse_path(a), *pb = parse_path(b), *d2 = parse_path(c);
    free(a);
    free(b);
    free(c);
    assert_int_equal(d1->kind, PPROF_KIND_GOROUTINELEAK);
    assert_int_equal(pb->kind, PPROF_KIND_GOROUTINELEAK);
    assert_int_equal(d1->total, pb->total);
    /* The leak profile holds exactly the goroutines the dump marks. */
    uint64_t leaked = 0;
    for (size_t i = 0; i < d2->nbuckets; i++)
        if (d2->buckets[i].flags & PPROF_BF_LEAKED)
            leaked += d2->buckets[i].count;
    assert_int_equal(leaked, d1->total);
    pprof_profile_free(d1);
    pprof_profile_free(d2);
    pprof_profile_free(pb);
}

/* ---- recorded fixtures --------------------------------------------------- */

typedef struct fx_stats {
    size_t files, dirs;
} fx_stats;

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static pprof_profile *parse_fixture(const char *dir, const char *file)
{
    char *path = join(dir, file);
    pprof_profile *p = parse_path(path);
    if (p->truncated)
        fprintf(stderr, "%s: truncated\n", path);
    free(path);
    assert_false(p->truncated);
    return p;
}

static int has_function(const pprof_profile *p, const char *func, const char *wait)
{
    for (size_t i = 0; i < p->nbuckets; i++) {
        const pprof_bucket *b = &p->buckets[i];
        if (wait && (!b->wait_reason || strcmp(b->wait_reason, wait) != 0))
            continue;
        for (uint32_t f = 0; f < b->nframes; f++)
            if (strcmp(b->frames[f].func, func) == 0)
                return 1;
    }
    return 0;
}

static void check_fixture_dir(const char *dir, fx_stats *st)
{
    char *mpath = join(dir, "MANIFEST.json");
    json_error_t jerr;
    json_t *m = json_load_file(mpath, 0, &jerr);
    if (!m)
        fprintf(stderr, "%s: %s\n", mpath, jerr.text);
    free(mpath);
    assert_non_null(m);
    st->dirs++;
    const char *verdict = json_string_value(json_object_get(m, "expected_verdict"));
    json_t *growing = json_object_get(m, "expected_growing_stacks");
    json_t *snaps = json_object_get(m, "snapshots");
    assert_true(json_is_array(snaps));
    size_t i;
    json_t *snap;
    json_array_foreach(snaps, i, snap) {
        json_t *files = json_object_get(snap, "files");
        const char *key;
        json_t *fv;
        json_object_foreach(files, key, fv) {
            if (strcmp(key, "metrics") == 0)
                continue;
            pprof_profile *p = parse_fixture(dir, json_string_value(fv));
            st->files++;
            int leakprof = strncmp(key, "goroutineleak_", 14) == 0;
            if (leakprof && strcmp(key, "goroutineleak_debug2") != 0)
                assert_int_equal(p->kind, PPROF_KIND_GOROUTINELEAK);
            else
                assert_int_equal(p->kind, PPROF_KIND_GOROUTINE);
            json_t *lt = json_object_get(snap, "goroutineleak_total");
            if (lt && strcmp(key, "goroutineleak_debug1") == 0)
                assert_int_equal(p->total, (uint64_t)json_integer_value(lt));
            /* In the last snapshot of a leak, every growing stack is
             * there in every format (debug=2 with its printed reason). */
            if (verdict && strcmp(verdict, "leak") == 0 && i + 1 == json_array_size(snaps) &&
                !leakprof) {
                size_t g;
                json_t *gs;
                json_array_foreach(growing, g, gs) {
                    const char *fn = json_string_value(json_object_get(gs, "function"));
                    const char *wr = json_string_value(json_object_get(gs, "wait_reason"));
                    int ok = has_function(p, fn, strcmp(key, "debug2") == 0 ? wr : NULL);
                    if (!ok)
                        fprintf(stderr, "%s/%s: no %s [%s]\n", dir,
                                json_string_value(fv), fn, wr);
                    assert_true(ok);
                }
            }
            pprof_profile_free(p);
        }
    }
    json_decref(m);
}

/* The fixtures belong to the repository: a trimmed checkout may lack
 * them (a counted skip, with the reason in the log), but under CI=true
 * their absence is a failure. */
static void skip_missing(const char *what)
{
    const char *ci = getenv("CI");
    if (ci && (!strcmp(ci, "true") || !strcmp(ci, "1")))
        fail_msg("%s missing, and CI=true", what);
    printf("skipped: %s missing\n", what);
    skip();
}

static void test_recorded_fixtures(void **state)
{
    (void)state;
    char *root = tp_path("tests/fixtures", 0);
    DIR *top = opendir(root);
    if (!top) {
        free(root);
        skip_missing("tests/fixtures");
        return;
    }
    fx_stats st = {0, 0};
    struct dirent *v;
    while ((v = readdir(top))) {
        if (strncmp(v->d_name, "go", 2) != 0)
            continue;
        char *vdir = join(root, v->d_name);
        DIR *vd = opendir(vdir);
        if (!vd) {
            free(vdir);
            continue;
        }
        struct dirent *bdir;
        while ((bdir = readdir(vd))) {
            if (bdir->d_name[0] == '.')
                continue;
            char *dir = join(vdir, bdir->d_name);
            char *mpath = join(dir, "MANIFEST.json");
            struct stat sb;
            if (stat(mpath, &sb) == 0)
                check_fixture_dir(dir, &st);
            free(mpath);
            free(dir);
        }
        closedir(vd);
        free(vdir);
    }
    closedir(top);
    free(root);
    fprintf(stderr, "fixtures: %zu files in %zu recordings\n", st.files, st.dirs);
    if (st.dirs == 0)
        skip_missing("recordings under tests/fixtures");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_capture_three_formats),
        cmocka_unit_test(test_goroutineleak_formats),
        cmocka_unit_test(test_recorded_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
