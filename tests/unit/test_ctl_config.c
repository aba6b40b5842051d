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

static void test_durations_and_bytes(void **state)
{
    (void)state;
    assert_true(ctl_parse_duration("30s") == 30);
    assert_true(ctl_parse_duration("2m") == 120);
    assert_true(ctl_parse_duration("1h30m") == 5400);
    assert_true(ctl_parse_duration("1.5") == 1.5);
    assert_true(ctl_parse_duration("250ms") == 0.25);
    assert_true(ctl_parse_duration("soon") < 0);
    assert_true(ctl_parse_duration("-3s") < 0);
    assert_true(ctl_parse_duration("") < 0);
    uint64_t b;
    assert_true(ctl_parse_bytes("256Mi", &b) && b == 256ull << 20);
    assert_true(ctl_parse_bytes("1000", &b) && b == 1000);
    assert_false(ctl_parse_bytes("12XB", &b));
    assert_false(ctl_parse_bytes("-1", &b));
    assert_false(ctl_parse_bytes("99999999999999999999Gi", &b));
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

static void test_errors_name_what_and_where(void **state)
{
    (void)state;
    ctl_config c;
    char err[256];

    ctl_config_defaults(&c);
    char *a1[] = {"controller", "--interval", "often"};
    assert_int_equal(ctl_config_parse(&c, 3, a1, stdout, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "--interval"));
    assert_non_null(strstr(err, "often"));
    ctl_config_free(&c);

    ctl_config_defaults(&c);
    char *a2[] = {"controller", "--bogus"};
    assert_int_equal(ctl_config_parse(&c, 2, a2, stdout, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "--bogus"));
    ctl_config_free(&c);

    ctl_config_defaults(&c);
    char *a3[] = {"controller", "--transport=pigeon"};
    assert_int_equal(ctl_config_parse(&c, 2, a3, stdout, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "pigeon"));
    ctl_config_free(&c);

    ctl_config_defaults(&c);
    char *a4[] = {"controller", "--lease-duration=5s"};
    assert_int_equal(ctl_config_parse(&c, 2, a4, stdout, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "renew-deadline"));
    ctl_config_free(&c);

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
    free(buf);
    ctl_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations_and_bytes),
        cmocka_unit_test(test_flags_override_file),
        cmocka_unit_test(test_errors_name_what_and_where),
        cmocka_unit_test(test_help_lists_every_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
