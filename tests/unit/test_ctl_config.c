/*
 * test_ctl_config.c — flags, the YAML config file and their precedence;
 * bad values and bad files name the option, the file and the line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/ctl_config.h"

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/lw-config-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    ssize_t w = write(fd, text, strlen(text));
    (void)w;
    close(fd);
    return path;
}

static void test_flags_override_file(void **state)
{
    (void)state;
    char *path = write_tmp("interval: 10s\ntransport: direct\nwindow: \"12\"\n"
                           "dry-run: true\nnamespaces: a,b\n");
    ctl_config c;
    ctl_config_defaults(&c);
    char cfgflag[128];
    snprintf(cfgflag, sizeof(cfgflag), "--config=%s", path);
    char *argv[] = {"controller", "--interval", "5s", cfgflag, "--no-dry-run",
                    "--evidence-max-bytes=64Mi"};
    char err[256] = "";
    assert_int_equal(ctl_config_parse(&c, 6, argv, stdout, err, sizeof(err)), 0);
    assert_true(c.interval_s == 5);           /* flag wins over file   */
    assert_string_equal(c.transport, "direct"); /* file over default    */
    assert_int_equal(c.window, 12);
    assert_false(c.dry_run);
    assert_string_equal(c.namespaces, "a,b");
    assert_true(c.evidence_max_bytes == 64ull << 20);
    ctl_config_free(&c);
    unlink(path);
}

/* Sizes and durations mean what they mean for every other option
 * (lw_units.h): the capture command's --max-bytes 64M is the controller's
 * --max-capture-bytes 64M. */
/* ctl_config_parse refuses argv (returns 1) with an error naming `what`
 * and, when not NULL, `why`. */
static void expect_refused(int argc, char **argv, const char *what,
                           const char *why)
{
    ctl_config c;
    ctl_config_defaults(&c);
    char err[256] = "";
    assert_int_equal(ctl_config_parse(&c, argc, argv, stdout, err, sizeof err),
                     1);
    if (!strstr(err, what) || (why && !strstr(err, why)))
        fail_msg("%s: \"%s\" lacks %s or %s", argv[argc - 1], err, what,
                 why ? why : "");
    ctl_config_free(&c);
}

static void test_sizes_and_durations_share_one_grammar(void **state)
{
    (void)state;
    struct {
        const char *flag;
        uint64_t bytes;
        double seconds;
    } ok[] = {
        {"--max-capture-bytes=64M", 64000000, 0},
        {"--max-capture-bytes=64MB", 64000000, 0},
        {"--max-capture-bytes=64Mi", 64ull << 20, 0},
        {"--max-capture-bytes=1.5Gi", 1610612736, 0},
        {"--capture-timeout=1m30s", 0, 90},
        {"--capture-timeout=45", 0, 45},
        {"--capture-timeout=500ms", 0, 0.5},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ctl_config c;
        ctl_config_defaults(&c);
        char *argv[] = {"controller", (char *)ok[i].flag};
        char err[256] = "";
        if (ctl_config_parse(&c, 2, argv, stdout, err, sizeof(err)))
            fail_msg("%s: %s", ok[i].flag, err);
        if (ok[i].bytes)
            assert_true(c.max_capture_bytes == ok[i].bytes);
        else
            assert_true(c.capture_timeout_s == ok[i].seconds);
        ctl_config_free(&c);
    }
    const char *bad[][2] = {
        {"--max-capture-bytes=64m", "\"64m\" is not a size"},
        {"--max-capture-bytes=-1", "negative"},
        {"--evidence-max-bytes=12XB", "unknown unit"},
        {"--capture-timeout=1h30", "missing unit"},
        {"--interval=5d", "unknown unit"},
        {"--window=+5", "not a whole number"},
        {"--qps=fast", "not a number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[] = {"controller", (char *)bad[i][0]};
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(bad[i][0], "="),
                 bad[i][0]);
        expect_refused(2, argv, name, bad[i][1]);
    }
}

static void test_errors_name_what_and_where(void **state)
{
    (void)state;
    ctl_config c;
    char err[256];

    char *a1[] = {"controller", "--interval", "often"};
    expect_refused(3, a1, "--interval", "often");
    char *a2[] = {"controller", "--bogus"};
    expect_refused(2, a2, "--bogus", NULL);
    char *a3[] = {"controller", "--transport=pigeon"};
    expect_refused(2, a3, "pigeon", NULL);
    char *a4[] = {"controller", "--lease-duration=5s"};
    expect_refused(2, a4, "renew-deadline", NULL);
    /* Sharding needs the Leases. */
    char *a5[] = {"controller", "--shard", "--leader-elect=false"};
    expect_refused(3, a5, "--shard needs --leader-elect", NULL);
    char lease[200];
    memset(lease, 'l', sizeof(lease) - 1);
    lease[sizeof(lease) - 1] = '\0';
    char lease_arg[220];
    snprintf(lease_arg, sizeof(lease_arg), "--lease-name=%s", lease);
    char *a6[] = {"controller", "--shard", lease_arg};
    expect_refused(3, a6, "member Leases' names", NULL);

    char *path = write_tmp("interval: 30s\nwindow: many\n");
    ctl_config_defaults(&c);
    assert_int_equal(ctl_config_load_file(&c, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "line 2"));
    assert_non_null(strstr(err, "window"));
    ctl_config_free(&c);
    unlink(path);

    path = write_tmp("interval: [30s\n");
    ctl_config_defaults(&c);
    assert_int_equal(ctl_config_load_file(&c, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    ctl_config_free(&c);
    unlink(path);

    path = write_tmp("intervall: 30s\n");
    ctl_config_defaults(&c);
    assert_int_equal(ctl_config_load_file(&c, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown option \"intervall\""));
    ctl_config_free(&c);
    unlink(path);

    ctl_config_defaults(&c);
    assert_int_equal(ctl_config_load_file(&c, "/nonexistent/x.yaml", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/x.yaml"));
    ctl_config_free(&c);
}

static void test_help_lists_every_option(void **state)
{
    (void)state;
    ctl_config c;
    ctl_config_defaults(&c);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    char *argv[] = {"controller", "--help"};
    char err[64];
    assert_int_equal(ctl_config_parse(&c, 2, argv, out, err, sizeof(err)), 2);
    fclose(out);
    assert_non_null(strstr(buf, "--interval"));
    assert_non_null(strstr(buf, "--evidence-dir"));
    assert_non_null(strstr(buf, "(default 30s)"));
    assert_non_null(strstr(buf, "(default 256Mi)"));
    assert_non_null(strstr(buf, "64M is 64,000,000 bytes, 64Mi is 67,108,864"));
    free(buf);
    ctl_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags_override_file),
        cmocka_unit_test(test_sizes_and_durations_share_one_grammar),
        cmocka_unit_test(test_errors_name_what_and_where),
        cmocka_unit_test(test_help_lists_every_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
