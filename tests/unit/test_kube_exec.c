/*
 * test_kube_exec.c — exec credential plugins run for real (small shell
 * scripts in a temporary directory): KUBERNETES_EXEC_INFO and env entries,
 * arguments passed without a shell, caching until expirationTimestamp,
 * forced refresh, and the errors for missing commands, failures, timeouts
 * and bad output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kube/kube.h"
#include "kube/kube_internal.h"
#include "lw/lw_clock.h"
#include "support.h"

static int setup(void **state)
{
    ts_dir *f = ts_dir_new("kube_exec");
    if (!f)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    ts_dir_free(*state);
    return 0;
}

static char *slurp(const char *path)
{
    char *buf;
    size_t n;
    return kube_read_file(path, 1 << 20, &buf, &n) == 0 ? buf : NULL;
}

static const char *cred_v1(const char *token, const char *expiry)
{
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"apiVersion\":\"client.authentication.k8s.io/v1\","
             "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"%s%s%s}}",
             token, expiry ? ",\"expirationTimestamp\":\"" : "",
             expiry ? expiry : "", expiry ? "\"" : "");
    return buf;
}

static void test_token_and_exec_info(void **state)
{
    ts_dir *f = *state;
    char path[256], body[2048];
    /* Records its environment and argv, counts its runs. */
    snprintf(body, sizeof body,
             "printf '%%s' \"$KUBERNETES_EXEC_INFO\" > %s/info\n"
             "printf '%%s|%%s|' \"$FOO\" \"$LW_TEST_INHERITED\" > %s/env\n"
             "for a in \"$@\"; do printf '[%%s]' \"$a\"; done > %s/args\n"
             "echo run >> %s/runs\n"
             "cat <<'EOF'\n%s\nEOF\n",
             f->dir, f->dir, f->dir, f->dir, cred_v1("tok-1", NULL));
    ts_dir_script(f, "plugin", body, path, sizeof path);
    setenv("LW_TEST_INHERITED", "yes", 1);
    setenv("FOO", "overridden-by-env-entry", 1);
    kube_exec_config *e = kube_exec_new(path, "kubeconfig /k: user \"u\"");
    char err[1024] = "";
    assert_int_equal(kube_exec_add_arg(e, "--cluster"), 0);
    assert_int_equal(kube_exec_add_arg(e, "a b"), 0);
    char evil[300];
    snprintf(evil, sizeof evil, "$(touch %s/pwned);`touch %s/pwned`", f->dir,
             f->dir);
    assert_int_equal(kube_exec_add_arg(e, evil), 0);
    assert_int_equal(kube_exec_add_env(e, "FOO", "bar"), 0);
    assert_int_equal(kube_exec_set_cluster(e, true, "https://127.0.0.1:6443",
                                           "kubernetes", false, "CA PEM", 6,
                                           NULL),
                     0);
    const kube_exec_cred *cr;
    if (kube_exec_credential(e, false, time(NULL), &cr, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(cr->token, "tok-1");
    assert_int_equal(cr->expires_unix, 0);
    assert_int_equal(kube_exec_runs(e), 1);

    char p[300];
    snprintf(p, sizeof p, "%s/info", f->dir);
    char *info = slurp(p);
    json_t *j = json_loads(info, 0, NULL);
    assert_non_null(j);
    assert_string_equal(kube_json_str(j, "kind"), "ExecCredential");
    assert_string_equal(kube_json_str(j, "apiVersion"),
                        "client.authentication.k8s.io/v1");
    assert_true(json_is_false(kube_json_get(j, "spec.interactive")));
    assert_string_equal(kube_json_str(j, "spec.cluster.server"),
                        "https://127.0.0.1:6443");
    assert_string_equal(kube_json_str(j, "spec.cluster.tls-server-name"),
                        "kubernetes");
    assert_string_equal(
        kube_json_str(j, "spec.cluster.certificate-authority-data"),
        "Q0EgUEVN");
    json_decref(j);
    free(info);
    snprintf(p, sizeof p, "%s/env", f->dir);
    char *env = slurp(p);
    assert_string_equal(env, "bar|yes|");
    free(env);
    snprintf(p, sizeof p, "%s/args", f->dir);
    char *args = slurp(p);
    char want[400];
    snprintf(want, sizeof want, "[--cluster][a b][%s]", evil);
    assert_string_equal(args, want);
    free(args);
    snprintf(p, sizeof p, "%s/pwned", f->dir);
    assert_int_equal(access(p, F_OK), -1); /* no shell ever saw the args */

    /* No expiry: cached until forced. */
    assert_int_equal(kube_exec_credential(e, false, time(NULL), &cr, err,
                                          sizeof err),
                     0);
    assert_int_equal(kube_exec_runs(e), 1);
    assert_int_equal(kube_exec_credential(e, true, time(NULL), &cr, err,
                                          sizeof err),
                     0);
    assert_int_equal(kube_exec_runs(e), 2);

    /* A copy has its own cache. */
    kube_exec_config *d = kube_exec_dup(e);
    assert_int_equal(kube_exec_runs(d), 0);
    assert_int_equal(kube_exec_credential(d, false, time(NULL), &cr, err,
                                          sizeof err),
                     0);
    assert_int_equal(kube_exec_runs(d), 1);
    kube_exec_free(d);
    kube_exec_free(e);
    unsetenv("LW_TEST_INHERITED");
    unsetenv("FOO");
}

static void test_no_cluster_info(void **state)
{
    ts_dir *f = *state;
    char path[256], body[1024];
    snprintf(body, sizeof body,
             "printf '%%s' \"$KUBERNETES_EXEC_INFO\" > %s/info\n"
             "echo '%s'\n",
             f->dir,
             "{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
             "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"b\"}}");
    ts_dir_script(f, "plugin", body, path, sizeof path);
    kube_exec_config *e = kube_exec_new(path, "o");
    char err[512];
    assert_int_equal(kube_exec_set_api_version(
                         e, "client.authentication.k8s.io/v1beta1", err,
                         sizeof err),
                     0);
    assert_int_equal(kube_exec_set_cluster(e, false, "https://h:1", NULL, false,
                                           NULL, 0, NULL),
                     0);
    const kube_exec_cred *cr;
    if (kube_exec_credential(e, false, time(NULL), &cr, err, sizeof err))
        fail_msg("%s", err);
    assert_string_equal(cr->token, "b");
    char p[300];
    snprintf(p, sizeof p, "%s/info", f->dir);
    char *info = slurp(p);
    json_t *j = json_loads(info, 0, NULL);
    assert_string_equal(kube_json_str(j, "apiVersion"),
                        "client.authentication.k8s.io/v1beta1");
    assert_null(kube_json_get(j, "spec.cluster"));
    json_decref(j);
    free(info);
    kube_exec_free(e);
}

static void test_expiry(void **state)
{
    ts_dir *f = *state;
    char path[256], body[1024], ts[64];
    time_t now = time(NULL);
    kube_format_time(now + 3600, ts, sizeof ts);
    snprintf(body, sizeof body, "echo '%s'\n", cred_v1("fresh", ts));
    ts_dir_script(f, "fresh", body, path, sizeof path);
    kube_exec_config *e = kube_exec_new(path, "o");
    char err[512];
    const kube_exec_cred *cr;
    assert_int_equal(kube_exec_credential(e, false, now, &cr, err, sizeof err),
                     0);
    assert_int_equal(cr->expires_unix, now + 3600);
    assert_int_equal(kube_exec_credential(e, false, now + 60, &cr, err,
                                          sizeof err),
                     0);
    assert_int_equal(kube_exec_runs(e), 1);
    /* Past its expiry the plugin runs again. */
    assert_int_equal(kube_exec_credential(e, false, now + 3600, &cr, err,
                                          sizeof err),
                     0);
    assert_int_equal(kube_exec_runs(e), 2);
    kube_exec_free(e);
}

static void test_client_cert(void **state)
{
    ts_dir *f = *state;
    char path[256];
    ts_dir_script(f, "cert",
           "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\","
           "\"kind\":\"ExecCredential\",\"status\":{"
           "\"clientCertificateData\":\"-----BEGIN CERTIFICATE-----\\\\nX\","
           "\"clientKeyData\":\"-----BEGIN PRIVATE KEY-----\\\\nY\"}}'\n",
           path, sizeof path);
    kube_exec_config *e = kube_exec_new(path, "o");
    char err[512];
    const kube_exec_cred *cr;
    if (kube_exec_credential(e, false, time(NULL), &cr, err, sizeof err))
        fail_msg("%s", err);
    assert_null(cr->token);
    assert_string_equal(cr->cert_pem, "-----BEGIN CERTIFICATE-----\nX");
    assert_int_equal(cr->cert_len, strlen("-----BEGIN CERTIFICATE-----\nX"));
    assert_string_equal(cr->key_pem, "-----BEGIN PRIVATE KEY-----\nY");
    kube_exec_free(e);
}

typedef struct bad_case {
    const char *body;
    const char *error; /* after "o: exec plugin \"<path>\" " */
} bad_case;

static void test_failures(void **state)
{
    ts_dir *f = *state;
    static const bad_case cases[] = {
        {"echo 'first line' >&2\necho 'token service: access denied' >&2\n"
         "exit 3\n",
         "exited with status 3: token service: access denied"},
        {"kill -9 $$\n", "was killed by signal 9"},
        {"exit 0\n", ": it printed nothing"},
        {"echo 'not json'\n",
         ": output is not JSON ('[' or '{' expected near 'not' at line 1)"},
        {"echo '{\"kind\":\"Secret\"}'\n",
         ": output is not an ExecCredential (kind \"Secret\")"},
        {"echo '{\"kind\":\"ExecCredential\",\"apiVersion\":"
         "\"client.authentication.k8s.io/v1beta1\",\"status\":{}}'\n",
         ": it returned apiVersion \"client.authentication.k8s.io/v1beta1\" "
         "but is configured for \"client.authentication.k8s.io/v1\""},
        {"echo '{\"kind\":\"ExecCredential\",\"apiVersion\":"
         "\"client.authentication.k8s.io/v1\"}'\n",
         ": its ExecCredential has no status"},
        {"echo '{\"kind\":\"ExecCredential\",\"apiVersion\":"
         "\"client.authentication.k8s.io/v1\",\"status\":{}}'\n",
         ": status has neither a token nor a client certificate"},
        {"echo '{\"kind\":\"ExecCredential\",\"apiVersion\":"
         "\"client.authentication.k8s.io/v1\",\"status\":{"
         "\"clientCertificateData\":\"x\"}}'\n",
         ": status has clientCertificateData without clientKeyData or the "
         "reverse"},
        {"echo '{\"kind\":\"ExecCredential\",\"apiVersion\":"
         "\"client.authentication.k8s.io/v1\",\"status\":{\"token\":\"t\","
         "\"expirationTimestamp\":\"tomorrow\"}}'\n",
         ": status.expirationTimestamp \"tomorrow\" is not RFC 3339"},
        {"head -c 1100000 /dev/zero | tr '\\0' a\n",
         "wrote more than 1048576 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256], want[1024], err[1024] = "";
        ts_dir_script(f, "bad", cases[i].body, path, sizeof path);
        kube_exec_config *e = kube_exec_new(path, "o");
        const kube_exec_cred *cr = (const kube_exec_cred *)1;
        int rc = kube_exec_credential(e, false, time(NULL), &cr, err,
                                      sizeof err);
        snprintf(want, sizeof want, "o: exec plugin \"%s\"%s%s", path,
                 cases[i].error[0] == ':' ? "" : " ", cases[i].error);
        if (rc != -1 || strcmp(err, want) != 0)
            fail_msg("case %zu: rc %d\n  got  \"%s\"\n  want \"%s\"", i, rc,
                     err, want);
        assert_null(cr);
        kube_exec_free(e);
    }
}

static void test_missing_command(void **state)
{
    kube_exec_config *e =
        kube_exec_new("leakwatch-no-such-plugin", "kubeconfig /k: user \"u\"");
    assert_int_equal(kube_exec_set_install_hint(
                         e, "install it with:\n  go install example.com/x"),
                     0);
    char err[1024];
    const kube_exec_cred *cr;
    assert_int_equal(kube_exec_credential(e, false, time(NULL), &cr, err,
                                          sizeof err),
                     -1);
    assert_string_equal(err, "kubeconfig /k: user \"u\": exec plugin: command "
                             "\"leakwatch-no-such-plugin\" not found in PATH "
                             "(install it with: go install example.com/x)");
    assert_int_equal(kube_exec_runs(e), 0);
    kube_exec_free(e);
    e = kube_exec_new("/nonexistent/plugin", "o");
    assert_int_equal(kube_exec_credential(e, false, time(NULL), &cr, err,
                                          sizeof err),
                     -1);
    assert_string_equal(err, "o: exec plugin: command \"/nonexistent/plugin\" "
                             "not found");
    kube_exec_free(e);
    /* There but not executable. */
    ts_dir *f = *state;
    char path[256], want[512];
    ts_dir_script(f, "noexec", "echo hi\n", path, sizeof path);
    chmod(path, 0644);
    e = kube_exec_new(path, "o");
    assert_int_equal(kube_exec_credential(e, false, time(NULL), &cr, err,
                                          sizeof err),
                     -1);
    snprintf(want, sizeof want,
             "o: exec plugin: cannot run \"%s\": Permission denied", path);
    assert_string_equal(err, want);
    kube_exec_free(e);
}

static void test_timeout(void **state)
{
    ts_dir *f = *state;
    char path[256];
    /* exec: the shell becomes sleep, which holds the pipes. */
    ts_dir_script(f, "slow", "exec sleep 10\n", path, sizeof path);
    kube_exec_config *e = kube_exec_new(path, "o");
    kube_exec_set_timeout(e, 300);
    char err[1024], want[512];
    const kube_exec_cred *cr;
    int64_t t0 = lw_mono_ms();
    assert_int_equal(kube_exec_credential(e, false, time(NULL), &cr, err,
                                          sizeof err),
                     -1);
    int64_t took = lw_mono_ms() - t0;
    snprintf(want, sizeof want,
             "o: exec plugin \"%s\" did not finish within 300 ms", path);
    assert_string_equal(err, want);
    assert_true(took >= 290 && took < 3000);
    kube_exec_free(e);
}

static void test_interactive_always(void **state)
{
    (void)state;
    kube_exec_config *e = kube_exec_new("true", "o");
    char err[512];
    assert_int_equal(kube_exec_set_interactive_mode(e, "Sometimes", err,
                                                    sizeof err),
                     -1);
    assert_string_equal(err, "exec.interactiveMode \"Sometimes\" is not Never, "
                             "IfAvailable or Always");
    assert_int_equal(kube_exec_set_interactive_mode(e, "Always", err,
                                                    sizeof err),
                     0);
    const kube_exec_cred *cr;
    assert_int_equal(kube_exec_credential(e, false, time(NULL), &cr, err,
                                          sizeof err),
                     -1);
    assert_string_equal(err, "o: exec plugin \"true\" has interactiveMode "
                             "Always, but leakwatch runs without a terminal");
    kube_exec_free(e);
}

static void test_failed_refresh_drops_cache(void **state)
{
    ts_dir *f = *state;
    char path[256], body[1024], flag[300];
    snprintf(flag, sizeof flag, "%s/fail", f->dir);
    snprintf(body, sizeof body, "[ -e %s ] && exit 1\necho '%s'\n", flag,
             cred_v1("t", NULL));
    ts_dir_script(f, "flaky", body, path, sizeof path);
    kube_exec_config *e = kube_exec_new(path, "o");
    char err[512];
    const kube_exec_cred *cr;
    assert_int_equal(kube_exec_credential(e, false, 0, &cr, err, sizeof err),
                     0);
    FILE *fp = fopen(flag, "w");
    fclose(fp);
    /* Forced (after a 401): the rejected token must not be served again. */
    assert_int_equal(kube_exec_credential(e, true, 0, &cr, err, sizeof err),
                     -1);
    assert_int_equal(kube_exec_credential(e, false, 0, &cr, err, sizeof err),
                     -1);
    assert_int_equal(kube_exec_runs(e), 3);
    kube_exec_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_token_and_exec_info, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_cluster_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_cert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interactive_always, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failed_refresh_drops_cache, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
