/*
 * test_kube_config.c — kubeconfig resolution like kubectl: one file, merged
 * $KUBECONFIG paths (first definition wins), --context, relative paths,
 * base64 data, every credential kind, impersonation, exec plugin entries,
 * in-cluster service accounts, and one-line errors naming file and field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/kube.h"
#include "kube/kube_internal.h"
#include "support.h"

static int setup(void **state)
{
    ts_dir *f = ts_dir_new("kube_cfg");
    if (!f)
        return -1;
    unsetenv("KUBECONFIG");
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    setenv("HOME", f->dir, 1); /* no ~/.kube/config unless a test writes one */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    ts_dir_free(*state);
    return 0;
}

static kube_config *load_ok(const kube_config_opts *o)
{
    kube_config *cfg = NULL;
    char err[1024] = "";
    if (kube_config_load(o, &cfg, err, sizeof err) != 0)
        fail_msg("load failed: %s", err);
    return cfg;
}

static void load_err(const kube_config_opts *o, const char *want)
{
    kube_config *cfg = NULL;
    char err[1024] = "";
    if (kube_config_load(o, &cfg, err, sizeof err) == 0) {
        kube_config_free(cfg);
        fail_msg("load succeeded, want error \"%s\"", want);
    }
    assert_null(cfg);
    if (strcmp(err, want) != 0)
        fail_msg("error\n  got  \"%s\"\n  want \"%s\"", err, want);
    assert_null(strchr(err, '\n'));
}

static const char *BASIC =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: dev\n"
    "clusters:\n"
    "- name: c1\n"
    "  cluster:\n"
    "    server: https://127.0.0.1:6443/\n"
    "    certificate-authority: pki/ca.crt\n"
    "    tls-server-name: kubernetes\n"
    "- name: c2\n"
    "  cluster:\n"
    "    server: 127.0.0.2:7443\n"
    "    insecure-skip-tls-verify: true\n"
    "    proxy-url: http://127.0.0.1:3128\n"
    "users:\n"
    "- name: u1\n"
    "  user:\n"
    "    token: abc.def\n"
    "    as: alice\n"
    "    as-groups: [devs, \"system:authenticated\"]\n"
    "- name: u2\n"
    "  user:\n"
    "    username: bob\n"
    "    password: s3cret\n"
    "contexts:\n"
    "- name: dev\n"
    "  context: {cluster: c1, user: u1, namespace: team-a}\n"
    "- name: other\n"
    "  context:\n"
    "    cluster: c2\n"
    "    user: u2\n";

static void test_basic(void **state)
{
    ts_dir *f = *state;
    char path[512], ca[512];
    ts_dir_put(f, "pki/ca.crt", "-----BEGIN CERTIFICATE-----\n", ca, sizeof ca);
    ts_dir_put(f, "config", BASIC, path, sizeof path);
    kube_config_opts o = {.kubeconfig = path, .incluster = KUBE_INCLUSTER_NEVER};
    kube_config *c = load_ok(&o);
    assert_string_equal(c->server, "https://127.0.0.1:6443");
    assert_string_equal(c->ca_file, ca); /* relative to the kubeconfig */
    assert_string_equal(c->tls_server_name, "kubernetes");
    assert_false(c->insecure_skip_tls_verify);
    assert_string_equal(c->token, "abc.def");
    assert_string_equal(c->impersonate_user, "alice");
    assert_string_equal(c->impersonate_groups[0], "devs");
    assert_string_equal(c->impersonate_groups[1], "system:authenticated");
    assert_null(c->impersonate_groups[2]);
    assert_string_equal(c->namespace, "team-a");
    assert_string_equal(c->context_name, "dev");
    assert_string_equal(c->cluster_name, "c1");
    assert_string_equal(c->user_name, "u1");
    assert_string_equal(c->source, path);
    assert_null(c->exec);
    assert_false(c->in_cluster);

    /* The copy the client keeps is deep and equal. */
    kube_config *d = kube_config_dup(c);
    assert_ptr_not_equal(d->server, c->server);
    assert_string_equal(d->server, c->server);
    assert_string_equal(d->impersonate_groups[1], "system:authenticated");
    kube_config_free(d);
    kube_config_free(c);

    o.context = "other";
    c = load_ok(&o);
    assert_string_equal(c->server, "https://127.0.0.2:7443"); /* no scheme */
    assert_true(c->insecure_skip_tls_verify);
    assert_string_equal(c->proxy_url, "http://127.0.0.1:3128");
    assert_string_equal(c->username, "bob");
    assert_string_equal(c->password, "s3cret");
    assert_null(c->token);
    assert_string_equal(c->namespace, "default");
    kube_config_free(c);
}

static void test_data_fields(void **state)
{
    ts_dir *f = *state;
    char path[512];
    /* "CA PEM", "CERT PEM", "KEY PEM" in base64, the CA wrapped. */
    ts_dir_put(f, "config",
        "current-context: x\n"
        "clusters:\n"
        "- name: c\n"
        "  cluster:\n"
        "    server: https://localhost:1\n"
        "    certificate-authority-data: |\n"
        "      Q0Eg\n"
        "      UEVN\n"
        "users:\n"
        "- name: u\n"
        "  user:\n"
        "    client-certificate-data: Q0VSVCBQRU0=\n"
        "    client-key-data: S0VZIFBFTQ==\n"
        "contexts:\n"
        "- name: x\n"
        "  context: {cluster: c, user: u}\n",
        path, sizeof path);
    kube_config_opts o = {.kubeconfig = path};
    kube_config *c = load_ok(&o);
    assert_int_equal(c->ca_data_len, 6);
    assert_memory_equal(c->ca_data, "CA PEM", 6);
    assert_int_equal(c->cert_data_len, 8);
    assert_memory_equal(c->cert_data, "CERT PEM", 8);
    assert_int_equal(c->key_data_len, 7);
    assert_memory_equal(c->key_data, "KEY PEM", 7);
    assert_null(c->ca_file);
    kube_config_free(c);
}

static void test_merge(void **state)
{
    ts_dir *f = *state;
    char a[512], b[512], env[2048];
    ts_dir_put(f, "a/config",
        "current-context: ctx-a\n"
        "clusters:\n"
        "- name: shared\n"
        "  cluster: {server: \"https://first:1\"}\n"
        "users:\n"
        "- name: ua\n"
        "  user: {token: from-a}\n"
        "contexts:\n"
        "- name: ctx-a\n"
        "  context: {cluster: shared, user: ua}\n",
        a, sizeof a);
    ts_dir_put(f, "b/config",
        "current-context: ctx-b\n"
        "clusters:\n"
        "- name: shared\n"
        "  cluster: {server: \"https://second:2\"}\n"
        "- name: only-b\n"
        "  cluster: {server: \"https://bee:3\"}\n"
        "users:\n"
        "- name: ua\n"
        "  user: {token: from-b}\n"
        "- name: ub\n"
        "  user: {tokenFile: tok}\n"
        "contexts:\n"
        "- name: ctx-b\n"
        "  context: {cluster: shared, user: ub, namespace: bns}\n"
        "- name: ctx-b2\n"
        "  context: {cluster: only-b, user: ua}\n",
        b, sizeof b);
    char tok[512];
    ts_dir_put(f, "b/tok", "  file-token \n", tok, sizeof tok);
    /* A missing path in the list is skipped, as kubectl does. */
    snprintf(env, sizeof env, "%s/missing:%s:%s", f->dir, a, b);
    setenv("KUBECONFIG", env, 1);

    kube_config_opts o = {0};
    kube_config *c = load_ok(&o);
    assert_string_equal(c->context_name, "ctx-a"); /* first current-context */
    assert_string_equal(c->server, "https://first:1");
    assert_string_equal(c->token, "from-a");
    kube_config_free(c);

    o.context = "ctx-b";
    c = load_ok(&o);
    /* ctx-b comes from b, but cluster "shared" was first defined in a. */
    assert_string_equal(c->server, "https://first:1");
    assert_string_equal(c->token_file, tok);
    assert_null(c->token);
    assert_string_equal(c->namespace, "bns");
    char src[1200];
    snprintf(src, sizeof src, "%s:%s", b, a);
    assert_string_equal(c->source, src);
    kube_config_free(c);

    o.context = "ctx-b2";
    c = load_ok(&o);
    assert_string_equal(c->server, "https://bee:3");
    assert_string_equal(c->token, "from-a"); /* user ua from a */
    kube_config_free(c);

    /* --kubeconfig replaces $KUBECONFIG entirely. */
    kube_config_opts ob = {.kubeconfig = b};
    c = load_ok(&ob);
    assert_string_equal(c->context_name, "ctx-b");
    assert_string_equal(c->server, "https://second:2");
    kube_config_free(c);

    snprintf(env, sizeof env, "%s:%s", a, b);
    setenv("KUBECONFIG", env, 1);
    o.context = "nope";
    snprintf(src, sizeof src, "kubeconfig %s:%s: context \"nope\" not found", a,
             b);
    load_err(&o, src);
}

static void test_home_default(void **state)
{
    ts_dir *f = *state;
    kube_config_opts o = {0};
    char want[512];
    snprintf(want, sizeof want,
             "kubeconfig: %s/.kube/config does not exist (set KUBECONFIG or "
             "pass --kubeconfig)",
             f->dir);
    load_err(&o, want);
    char path[512];
    ts_dir_put(f, ".kube/config", BASIC, path, sizeof path);
    char ca[512];
    ts_dir_put(f, ".kube/pki/ca.crt", "x", ca, sizeof ca);
    kube_config *c = load_ok(&o);
    assert_string_equal(c->source, path);
    assert_string_equal(c->ca_file, ca);
    kube_config_free(c);
}

static void test_exec_entry(void **state)
{
    ts_dir *f = *state;
    char path[512];
    ts_dir_put(f, "config",
        "current-context: x\n"
        "clusters:\n"
        "- name: c\n"
        "  cluster:\n"
        "    server: https://localhost:1\n"
        "users:\n"
        "- name: u\n"
        "  user:\n"
        "    exec:\n"
        "      apiVersion: client.authentication.k8s.io/v1beta1\n"
        "      command: bin/get-token\n"
        "      args: [--cluster, x]\n"
        "      env: [{name: FOO, value: bar}]\n"
        "      provideClusterInfo: true\n"
        "      interactiveMode: Never\n"
        "contexts:\n"
        "- name: x\n"
        "  context: {cluster: c, user: u}\n",
        path, sizeof path);
    kube_config_opts o = {.kubeconfig = path};
    kube_config *c = load_ok(&o);
    assert_non_null(c->exec);
    assert_int_equal(kube_exec_runs(c->exec), 0);
    kube_config *d = kube_config_dup(c);
    assert_non_null(d->exec);
    assert_ptr_not_equal(d->exec, c->exec);
    kube_config_free(d);
    kube_config_free(c);
}

typedef struct err_case {
    const char *yaml;
    const char *error; /* after "kubeconfig <path>: " */
} err_case;

static void test_errors(void **state)
{
    ts_dir *f = *state;
    static const err_case cases[] = {
        {"clusters: [\n  - name: x\n", "line 2 column 3: did not find "
                                       "expected node content while parsing "
                                       "a flow node"},
        {"- just\n- a list\n",
         "not a kubeconfig (the top level is not a mapping)"},
        {"clusters: {a: b}\n", "clusters: expected a list"},
        {"clusters:\n- cluster: {server: x}\n", "clusters[0]: has no name"},
        {"contexts: [{name: a, context: {cluster: c}}]\n",
         "current-context is not set (pass --context)"},
        {"current-context: a\n", "context \"a\" not found"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n",
         "context \"a\": cluster \"c\" not found"},
        {"current-context: a\ncontexts: [{name: a, context: {user: u}}]\n",
         "context \"a\": cluster is not set"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c, "
         "user: u}}]\nclusters: [{name: c, cluster: {server: "
         "'https://h'}}]\n",
         "context \"a\": user \"u\" not found"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
         "clusters: [{name: c, cluster: {insecure-skip-tls-verify: true}}]\n",
         "cluster \"c\": server is not set"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
         "clusters: [{name: c, cluster: {server: 'ftp://h'}}]\n",
         "cluster \"c\": server \"ftp://h\" is not an http or https URL"},
        /* Found by fuzzing: a scheme alone lost its "://" with its trailing
         * slashes, and the host was looked for past a NULL. */
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
         "clusters: [{name: c, cluster: {server: 'https://'}}]\n",
         "cluster \"c\": server \"https://\" has no host"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
         "clusters: [{name: c, cluster: {server: 'https://h', "
         "certificate-authority: /nonexistent/ca.crt}}]\n",
         "cluster \"c\": certificate-authority /nonexistent/ca.crt: No such "
         "file or directory"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
         "clusters: [{name: c, cluster: {server: 'https://h', "
         "certificate-authority-data: 'not base64!'}}]\n",
         "cluster \"c\": certificate-authority-data: not valid base64"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
         "clusters: [{name: c, cluster: {server: 'https://h', "
         "insecure-skip-tls-verify: maybe}}]\n",
         "cluster \"c\": insecure-skip-tls-verify: \"maybe\" is not true or "
         "false"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
         "clusters: [{name: c, cluster: {server: [x]}}]\n",
         "cluster \"c\": server: expected a string"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c, "
         "user: u}}]\nclusters: [{name: c, cluster: {server: 'https://h'}}]\n"
         "users: [{name: u, user: {client-certificate-data: QQ==}}]\n",
         "user \"u\": a client certificate is set without a client key"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c, "
         "user: u}}]\nclusters: [{name: c, cluster: {server: 'https://h'}}]\n"
         "users: [{name: u, user: {client-certificate: /nonexistent/c.crt, "
         "client-key: /nonexistent/c.key}}]\n",
         "user \"u\": client-certificate /nonexistent/c.crt: No such file or "
         "directory"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c, "
         "user: u}}]\nclusters: [{name: c, cluster: {server: 'https://h'}}]\n"
         "users: [{name: u, user: {tokenFile: /nonexistent/token}}]\n",
         "user \"u\": tokenFile /nonexistent/token: No such file or "
         "directory"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c, "
         "user: u}}]\nclusters: [{name: c, cluster: {server: 'https://h'}}]\n"
         "users: [{name: u, user: {auth-provider: {name: gcp}}}]\n",
         "user \"u\": auth-provider \"gcp\" is not supported (use an exec "
         "credential plugin)"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c, "
         "user: u}}]\nclusters: [{name: c, cluster: {server: 'https://h'}}]\n"
         "users: [{name: u, user: {exec: {command: x, apiVersion: "
         "client.authentication.k8s.io/v1alpha1}}}]\n",
         "user \"u\": exec.apiVersion \"client.authentication.k8s.io/v1alpha1\" "
         "is not supported (use client.authentication.k8s.io/v1 or v1beta1)"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c, "
         "user: u}}]\nclusters: [{name: c, cluster: {server: 'https://h'}}]\n"
         "users: [{name: u, user: {exec: {command: x, apiVersion: "
         "client.authentication.k8s.io/v1, args: oops}}}]\n",
         "user \"u\": exec.args: expected a list"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c, "
         "user: u}}]\nclusters: [{name: c, cluster: {server: 'https://h'}}]\n"
         "users: [{name: u, user: {exec: {apiVersion: "
         "client.authentication.k8s.io/v1}}}]\n",
         "user \"u\": exec.command is not set"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c, "
         "user: u}}]\nclusters: [{name: c, cluster: {server: 'https://h'}}]\n"
         "users: [{name: u, user: {exec: {command: x, apiVersion: "
         "client.authentication.k8s.io/v1, provideClusterInfo: [1]}}}]\n",
         "user \"u\": exec.provideClusterInfo: expected a string"},
        {"current-context: a\ncontexts: [{name: a, context: {cluster: c, "
         "user: u}}]\nclusters: [{name: c, cluster: {server: 'https://h'}}]\n"
         "users: [{name: u, user: {exec: {command: x, apiVersion: "
         "client.authentication.k8s.io/v1, env: [{value: v}]}}}]\n",
         "user \"u\": exec.env[0]: needs a name (without '=') and a string "
         "value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512], want[1024];
        ts_dir_put(f, "bad", cases[i].yaml, path, sizeof path);
        snprintf(want, sizeof want, "kubeconfig %s: %s", path, cases[i].error);
        kube_config_opts o = {.kubeconfig = path};
        load_err(&o, want);
    }
    /* Files that are not there, or not files. */
    char want[1024];
    snprintf(want, sizeof want, "kubeconfig %s/none: No such file or directory",
             f->dir);
    char p[512];
    snprintf(p, sizeof p, "%s/none", f->dir);
    kube_config_opts o = {.kubeconfig = p};
    load_err(&o, want);
    o.kubeconfig = f->dir;
    snprintf(want, sizeof want, "kubeconfig %s: Is a directory", f->dir);
    load_err(&o, want);
    setenv("KUBECONFIG", "/nonexistent/a:/nonexistent/b", 1);
    kube_config_opts none = {0};
    load_err(&none, "kubeconfig: none of the files in "
                    "KUBECONFIG=/nonexistent/a:/nonexistent/b exists");
    /* An empty tokenFile is an error, not an anonymous user. */
    char tok[128], path[128];
    ts_dir_put(f, "empty-token", "\n", tok, sizeof tok);
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "current-context: a\ncontexts: [{name: a, context: {cluster: c, "
             "user: u}}]\nclusters: [{name: c, cluster: {server: "
             "'https://h'}}]\nusers: [{name: u, user: {tokenFile: %s}}]\n",
             tok);
    ts_dir_put(f, "cfg-empty-token", yaml, path, sizeof path);
    snprintf(want, sizeof want, "kubeconfig %s: user \"u\": tokenFile %s is empty",
             path, tok);
    o.kubeconfig = path;
    load_err(&o, want);
}

/* Found by fuzzing: names and values from the file reached the message
 * raw, so a quoted "\n" or ESC broke the one line or drove the terminal. */
static void test_error_escapes_file_bytes(void **state)
{
    ts_dir *f = *state;
    char path[512], want[1024];
    ts_dir_put(f, "cfg-ctl", "current-context: \"a\\nb\\x1b[31m\"\n", path,
               sizeof path);
    kube_config_opts o = {.kubeconfig = path};
    snprintf(want, sizeof want,
             "kubeconfig %s: context \"a\\x0ab\\x1b[31m\" not found", path);
    load_err(&o, want);
    ts_dir_put(f, "cfg-ctl2",
               "current-context: k\ncontexts: [{name: k, context: {cluster: "
               "\"c\\r\\x07\"}}]\n", path, sizeof path);
    snprintf(want, sizeof want,
             "kubeconfig %s: context \"k\": cluster \"c\\x0d\\x07\" not found",
             path);
    load_err(&o, want);
}

/* Found by fuzzing: anchors and aliases in the exec extension expanded
 * into 10^9 nodes (gigabytes, minutes).  Now refused at a node budget. */
static void test_exec_extension_alias_bomb(void **state)
{
    ts_dir *f = *state;
    char yaml[4096], path[512], want[1024];
    size_t o = (size_t)snprintf(yaml, sizeof yaml,
        "current-context: k\n"
        "contexts: [{name: k, context: {cluster: c}}]\n"
        "clusters:\n"
        "- name: c\n"
        "  cluster:\n"
        "    server: https://h\n"
        "    extensions:\n"
        "    - name: client.authentication.k8s.io/exec\n"
        "      extension:\n"
        "        l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 9; i++)
        o += (size_t)snprintf(yaml + o, sizeof yaml - o,
                              "        l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, "
                              "*l%d, *l%d, *l%d, *l%d, *l%d]\n",
                              i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
                              i - 1, i - 1, i - 1, i - 1);
    ts_dir_put(f, "cfg-bomb", yaml, path, sizeof path);
    kube_config_opts opts = {.kubeconfig = path};
    snprintf(want, sizeof want,
             "kubeconfig %s: cluster \"c\": extensions: "
             "client.authentication.k8s.io/exec: more than 10000 nodes "
             "(aliases expanding?)", path);
    load_err(&opts, want);
    /* Aliases that stay small are still followed. */
    ts_dir_put(f, "cfg-alias",
               "current-context: k\n"
               "contexts: [{name: k, context: {cluster: c}}]\n"
               "clusters:\n"
               "- name: c\n"
               "  cluster:\n"
               "    server: https://h\n"
               "    extensions:\n"
               "    - name: client.authentication.k8s.io/exec\n"
               "      extension: {a: &a [1, 2], b: *a}\n",
               path, sizeof path);
    kube_config *c = load_ok(&opts);
    kube_config_free(c);
}

static void test_empty_file_merges(void **state)
{
    ts_dir *f = *state;
    char a[512], b[512], env[1100];
    ts_dir_put(f, "empty", "", a, sizeof a);
    ts_dir_put(f, "config", BASIC, b, sizeof b);
    char ca[512];
    ts_dir_put(f, "pki/ca.crt", "x", ca, sizeof ca);
    snprintf(env, sizeof env, "%s:%s", a, b);
    setenv("KUBECONFIG", env, 1);
    kube_config_opts o = {0};
    kube_config *c = load_ok(&o);
    assert_string_equal(c->context_name, "dev");
    kube_config_free(c);
}

static void test_incluster(void **state)
{
    ts_dir *f = *state;
    char p[512], sa[512];
    ts_dir_put(f, "sa/token", "sa-token\n", p, sizeof p);
    ts_dir_put(f, "sa/ca.crt", "-----BEGIN CERTIFICATE-----\n", p, sizeof p);
    ts_dir_put(f, "sa/namespace", "kube-apps\n", p, sizeof p);
    snprintf(sa, sizeof sa, "%s/sa", f->dir);
    kube_config_opts o = {.incluster = KUBE_INCLUSTER_ALWAYS, .sa_dir = sa};
    load_err(&o, "in-cluster config: KUBERNETES_SERVICE_HOST and "
                 "KUBERNETES_SERVICE_PORT are not set (not running in a pod?)");
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    kube_config *c = load_ok(&o);
    assert_true(c->in_cluster);
    assert_string_equal(c->server, "https://10.96.0.1:443");
    char want[600];
    snprintf(want, sizeof want, "%s/token", sa);
    assert_string_equal(c->token_file, want);
    snprintf(want, sizeof want, "%s/ca.crt", sa);
    assert_string_equal(c->ca_file, want);
    assert_string_equal(c->namespace, "kube-apps");
    assert_null(c->token);
    kube_config_free(c);

    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    c = load_ok(&o);
    assert_string_equal(c->server, "https://[fd00::1]:443");
    kube_config_free(c);

    /* AUTO: no kubeconfig anywhere and in a pod → in-cluster. */
    kube_config_opts a = {.sa_dir = sa};
    c = load_ok(&a);
    assert_true(c->in_cluster);
    kube_config_free(c);
    /* NEVER: the missing kubeconfig is the error. */
    kube_config_opts n = {.sa_dir = sa, .incluster = KUBE_INCLUSTER_NEVER};
    snprintf(want, sizeof want,
             "kubeconfig: %s/.kube/config does not exist (set KUBECONFIG or "
             "pass --kubeconfig)",
             f->dir);
    load_err(&n, want);

    setenv("KUBERNETES_SERVICE_PORT", "https", 1);
    load_err(&o, "in-cluster config: KUBERNETES_SERVICE_PORT \"https\" is not "
                 "a port number");
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    snprintf(p, sizeof p, "%s/sa/token", f->dir);
    unlink(p);
    snprintf(want, sizeof want,
             "in-cluster config: service account token %s: No such file or "
             "directory",
             p);
    load_err(&o, want);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_home_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_escapes_file_bytes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_exec_extension_alias_bomb, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_empty_file_merges, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_incluster, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
