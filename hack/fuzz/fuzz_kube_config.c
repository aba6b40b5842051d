/*
 * fuzz_kube_config.c — libFuzzer target for the kubeconfig reader
 * (kube/kube.h's kube_config_load): the input is written to a kubeconfig
 * file and loaded as --kubeconfig; when it holds a line "#8<", what
 * follows goes to a second file and both are loaded through KUBECONFIG,
 * merged as kubectl merges them.
 *
 * Asserts: success gives a server URL, a namespace and a source; failure
 * gives one printable line that starts "kubeconfig"; a loaded config
 * copies (kube_config_dup) to an equal one; nothing leaks.  Files a
 * config names are only checked (opened, never executed): exec plugins run
 * at request time, which this target never reaches.  Built and run by
 * hack/fuzz/run.sh.
 */
#include <stdbool.h>
#include <unistd.h>

#include "fuzz_require.h"
#include "kube/kube.h"
#include "kube/kube_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer's entry points take no context: the scratch directory the
 * input files go to is made once, here. */
static char dir[64];
static char path1[96], path2[96], both[200];

static void remove_dir(void)
{
    unlink(path1);
    unlink(path2);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* The input is written to a file once or twice per execution, millions
     * of times a run: on a disk-backed /tmp that took three quarters of
     * the target's time, so memory-backed /dev/shm comes first. */
    const char *t = getenv("TMPDIR");
    const char *bases[] = {"/dev/shm", t && *t ? t : "/tmp"};
    bool made = false;
    for (size_t i = 0; i < 2 && !made; i++) {
        snprintf(dir, sizeof dir, "%s/lw-fuzz-kc-XXXXXX", bases[i]);
        made = mkdtemp(dir) != NULL;
    }
    FZ_REQUIRE(made);
    snprintf(path1, sizeof path1, "%s/config", dir);
    snprintf(path2, sizeof path2, "%s/config2", dir);
    snprintf(both, sizeof both, "%s:%s", path1, path2);
    atexit(remove_dir);
    /* Only files: never the in-cluster service account of this machine. */
    unsetenv("KUBERNETES_SERVICE_HOST");
    return 0;
}

static void write_file(const char *p, const uint8_t *d, size_t n)
{
    FILE *f = fopen(p, "wb");
    FZ_REQUIRE(f != NULL);
    FZ_REQUIRE(n == 0 || fwrite(d, 1, n, f) == n);
    FZ_REQUIRE(fclose(f) == 0);
}

static int same_str(const char *a, const char *b)
{
    return (a == NULL) == (b == NULL) && (!a || !strcmp(a, b));
}

static int same_mem(const char *a, size_t an, const char *b, size_t bn)
{
    return (a == NULL) == (b == NULL) && an == bn && (!a || !memcmp(a, b, an));
}

static void check_config(const kube_config *c)
{
    FZ_REQUIRE(c->server != NULL);
    FZ_REQUIRE(!strncmp(c->server, "https://", 8) ||
               !strncmp(c->server, "http://", 7));
    FZ_REQUIRE(c->server[strlen(c->server) - 1] != '/');
    FZ_REQUIRE(c->namespace != NULL && c->namespace[0] != '\0');
    FZ_REQUIRE(c->source != NULL);
    FZ_REQUIRE(!c->insecure_skip_tls_verify || (!c->ca_file && !c->ca_data));
    kube_config *d = kube_config_dup(c);
    FZ_REQUIRE(d != NULL);
    FZ_REQUIRE(same_str(c->server, d->server));
    FZ_REQUIRE(same_str(c->ca_file, d->ca_file));
    FZ_REQUIRE(same_mem(c->ca_data, c->ca_data_len, d->ca_data, d->ca_data_len));
    FZ_REQUIRE(same_str(c->cert_file, d->cert_file));
    FZ_REQUIRE(same_mem(c->key_data, c->key_data_len, d->key_data,
                        d->key_data_len));
    FZ_REQUIRE(same_str(c->token, d->token));
    FZ_REQUIRE(same_str(c->token_file, d->token_file));
    FZ_REQUIRE((c->exec == NULL) == (d->exec == NULL));
    FZ_REQUIRE(same_str(c->username, d->username));
    FZ_REQUIRE(same_str(c->impersonate_user, d->impersonate_user));
    FZ_REQUIRE(same_str(c->namespace, d->namespace));
    FZ_REQUIRE(same_str(c->proxy_url, d->proxy_url));
    kube_config_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char cut[] = "\n#8<\n";
    const uint8_t *split = memmem(data, size, cut, sizeof cut - 1);
    kube_config_opts opts = {.incluster = KUBE_INCLUSTER_NEVER};
    if (split) {
        size_t n1 = (size_t)(split - data) + 1;
        size_t off2 = n1 + sizeof cut - 2;
        write_file(path1, data, n1);
        write_file(path2, data + off2, size - off2);
        setenv("KUBECONFIG", both, 1);
    } else {
        write_file(path1, data, size);
        opts.kubeconfig = path1;
    }
    kube_config *cfg = (kube_config *)1;
    char err[1024];
    memset(err, 0x55, sizeof err);
    int rc = kube_config_load(&opts, &cfg, err, sizeof err);
    if (rc == 0) {
        FZ_REQUIRE(cfg != NULL);
        check_config(cfg);
        kube_config_free(cfg);
    } else {
        FZ_REQUIRE(rc == -1 && cfg == NULL);
        FZ_REQUIRE(!strncmp(err, "kubeconfig", 10));
        fz_check_message(err, sizeof err);
    }
    unsetenv("KUBECONFIG");
    return 0;
}
