/*
 * test_ctl_evidence.c — evidence files are written whole under their final
 * name, leftovers of interrupted writes are cleaned, and the directory stays
 * under its byte cap by dropping the oldest files but never fresh ones.
 * A write the file system refuses (a full disk, here a file size limit)
 * fails with its reason, leaves nothing behind, and does not stop the next
 * write once there is room again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "controller/ctl_evidence.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/lw-evidence-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            unlinkat(dirfd(d), de->d_name, 0);
    if (d)
        closedir(d);
    rmdir(dir);
    return 0;
}

static int count_files(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void age(const char *path, int seconds)
{
    struct timeval tv[2];
    gettimeofday(&tv[0], NULL);
    tv[0].tv_sec -= seconds;
    tv[1] = tv[0];
    utimes(path, tv);
}

static void test_write_and_name(void **state)
{
    (void)state;
    char err[256], path[4096];
    /* A stale temporary from a killed run is removed at start. */
    char stale[512];
    snprintf(stale, sizeof(stale), "%s/.tmp-1-0", dir);
    FILE *f = fopen(stale, "w");
    fputs("half", f);
    fclose(f);
    ctl_evidence *e = ctl_evidence_new(dir, 1 << 20, 60, err, sizeof(err));
    assert_non_null(e);
    assert_int_not_equal(access(stale, F_OK), 0);

    const char data[] = "profile bytes";
    assert_int_equal(ctl_evidence_write(e, "demo", "web/../x", 7, 1795406706,
                                        "suspect", "pb.gz", data, sizeof(data),
                                        path, sizeof(path), err, sizeof(err)),
                     0);
    /* the revision the pod runs is in the name */
    assert_non_null(strstr(path, "demo_web_.._x_rev7_2026"));
    assert_non_null(strstr(path, "_suspect.pb.gz"));
    assert_null(strstr(strrchr(path, '/'), "/x")); /* no path escape */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, sizeof(data));
    ctl_evidence_free(e);
}

static void test_rotation_keeps_cap_and_fresh_files(void **state)
{
    (void)state;
    char err[256], path[4096];
    char block[1000];
    memset(block, 'x', sizeof(block));
    ctl_evidence *e = ctl_evidence_new(dir, 5000, 60, err, sizeof(err));
    assert_non_null(e);
    char paths[8][4096];
    for (int i = 0; i < 8; i++) {
        assert_int_equal(ctl_evidence_write(e, "ns", "pod", 0, 1795406700 + i,
                                            "suspect", "pb.gz", block,
                                            sizeof(block), paths[i],
                                            sizeof(paths[i]), err, sizeof(err)),
                         0);
        age(paths[i], 1000 - i); /* older files first */
    }
    /* All eight are "fresh" only if protected: aged ones can go.  One more
     * write triggers rotation down to the cap. */
    assert_int_equal(ctl_evidence_write(e, "ns", "pod", 0, 1795406800, "baseline",
                                        "pb.gz", block, sizeof(block), path,
                                        sizeof(path), err, sizeof(err)),
                     0);
    assert_true(ctl_evidence_bytes(e) <= 5000);
    assert_int_equal(count_files(), 5);
    assert_int_equal(access(path, F_OK), 0);     /* newest kept */
    assert_int_not_equal(access(paths[0], F_OK), 0); /* oldest gone */

    /* Fresh files are never dropped, even over the cap. */
    ctl_evidence_free(e);
    e = ctl_evidence_new(dir, 100, 3600, err, sizeof(err));
    assert_int_equal(ctl_evidence_write(e, "ns", "pod2", 0, 1795406900, "suspect",
                                        "txt", block, sizeof(block), path,
                                        sizeof(path), err, sizeof(err)),
                     0);
    assert_int_equal(access(path, F_OK), 0);
    ctl_evidence_free(e);
}

static int count_all(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void test_full_disk_then_room(void **state)
{
    (void)state;
    char err[256] = "", path[1024] = "";
    ctl_evidence *e = ctl_evidence_new(dir, 0, 60, err, sizeof(err));
    assert_non_null(e);
    static char big[64 * 1024];
    memset(big, 'x', sizeof(big));

    /* A write past RLIMIT_FSIZE fails with EFBIG as one past a full disk
     * fails with ENOSPC: short, then refused. */
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = ctl_evidence_write(e, "ns", "pod", 0, 1763870706, "suspect", "pb.gz",
                                big, sizeof(big), path, sizeof(path), err,
                                sizeof(err));
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, -1);
    assert_string_equal(path, "");
    assert_non_null(strstr(err, "File too large"));
    assert_non_null(strstr(err, "ns_pod_20251123T040506Z_suspect.pb.gz"));
    assert_int_equal(count_all(), 0); /* no temporary file left */
    assert_int_equal(ctl_evidence_bytes(e), 0);

    /* Room again: the next write is whole. */
    rc = ctl_evidence_write(e, "ns", "pod", 0, 1763870707, "suspect", "pb.gz",
                            big, sizeof(big), path, sizeof(path), err,
                            sizeof(err));
    assert_int_equal(rc, 0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal((size_t)sb.st_size, sizeof(big));
    assert_int_equal(count_files(), 1);
    ctl_evidence_free(e);
}

static void test_unwritable_dir(void **state)
{
    (void)state;
    char err[256];
    assert_null(ctl_evidence_new("", 0, 0, err, sizeof(err)));
    assert_null(ctl_evidence_new("/proc/1/nope/evidence", 0, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "/proc/1/nope/evidence"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_and_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_keeps_cap_and_fresh_files,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_then_room, setup, teardown),
        cmocka_unit_test(test_unwritable_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
