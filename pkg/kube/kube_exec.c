/*
 * kube_exec.c — exec credential plugins (client.authentication.k8s.io v1 and
 * v1beta1), as kubectl runs them: the command is spawned directly with an
 * argv array (never through a shell), KUBERNETES_EXEC_INFO carries the
 * ExecCredential spec (interactive: false, the cluster when
 * provideClusterInfo), the `env` entries are added to the environment, the
 * returned credential is cached until its expirationTimestamp, and callers
 * force a new run after a 401.
 *
 * The process is started with posix_spawn: the client is multi-threaded
 * and fork() + setenv() in the child is not async-signal-safe.
 *
 * Not for: deciding when to refresh (kube_client.c owns that) or parsing
 * kubeconfig (kube_config.c builds the kube_exec_config).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kube/kube.h"
#include "kube/kube_internal.h"
#include "lw/lw_clock.h"
#include "lw/lw_grow.h"
#include "lw/lw_str.h"

extern char **environ;

#define EXEC_MAX_STDOUT (1u << 20)
#define EXEC_MAX_STDERR 8192
#define EXEC_DEFAULT_TIMEOUT_MS 30000

struct kube_exec_config {
    char *command;
    char **args;
    size_t nargs;
    char **env_names, **env_values;
    size_t nenv;
    char *api_version;
    char *install_hint;
    char *interactive_mode;
    bool provide_cluster_info;
    char *server, *tls_server_name;
    bool insecure;
    char *ca;
    size_t ca_len;
    json_t *cluster_config;
    char *origin;
    long timeout_ms;
    /* cache */
    kube_exec_cred cred;
    bool have_cred;
    int runs;
};

static void cred_clear(kube_exec_cred *c)
{
    free(c->token);
    free(c->cert_pem);
    free(c->key_pem);
    memset(c, 0, sizeof *c);
}

kube_exec_config *kube_exec_new(const char *command, const char *origin)
{
    kube_exec_config *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->command = strdup(command);
    e->origin = strdup(origin ? origin : "kubeconfig");
    e->api_version = strdup("client.authentication.k8s.io/v1");
    e->interactive_mode = strdup("IfAvailable");
    e->timeout_ms = EXEC_DEFAULT_TIMEOUT_MS;
    if (!e->command || !e->origin || !e->api_version || !e->interactive_mode) {
        kube_exec_free(e);
        return NULL;
    }
    return e;
}

void kube_exec_free(kube_exec_config *e)
{
    if (!e)
        return;
    free(e->command);
    for (size_t i = 0; i < e->nargs; i++)
        free(e->args[i]);
    free(e->args);
    for (size_t i = 0; i < e->nenv; i++) {
        free(e->env_names[i]);
        free(e->env_values[i]);
    }
    free(e->env_names);
    free(e->env_values);
    free(e->api_version);
    free(e->install_hint);
    free(e->interactive_mode);
    free(e->server);
    free(e->tls_server_name);
    free(e->ca);
    json_decref(e->cluster_config);
    free(e->origin);
    cred_clear(&e->cred);
    free(e);
}

static int set_str(char **dst, const char *v)
{
    char *d = v ? strdup(v) : NULL;
    if (v && !d)
        return -1;
    free(*dst);
    *dst = d;
    return 0;
}

int kube_exec_add_arg(kube_exec_config *e, const char *arg)
{
    char **na = realloc(e->args, (e->nargs + 1) * sizeof *na);
    if (!na)
        return -1;
    e->args = na;
    if (!(e->args[e->nargs] = strdup(arg)))
        return -1;
    e->nargs++;
    return 0;
}

int kube_exec_add_env(kube_exec_config *e, const char *name,
                      const char *value)
{
    char **nn = realloc(e->env_names, (e->nenv + 1) * sizeof *nn);
    if (!nn)
        return -1;
    e->env_names = nn;
    char **nv = realloc(e->env_values, (e->nenv + 1) * sizeof *nv);
    if (!nv)
        return -1;
    e->env_values = nv;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -1;
    }
    e->env_names[e->nenv] = n;
    e->env_values[e->nenv] = v;
    e->nenv++;
    return 0;
}

int kube_exec_set_api_version(kube_exec_config *e, const char *v, char *err,
                              size_t errlen)
{
    if (!v || (strcmp(v, "client.authentication.k8s.io/v1") != 0 &&
               strcmp(v, "client.authentication.k8s.io/v1beta1") != 0)) {
        snprintf(err, errlen,
                 "exec.apiVersion \"%s\" is not supported (use "
                 "client.authentication.k8s.io/v1 or v1beta1)",
                 v ? v : "");
        return -1;
    }
    return set_str(&e->api_version, v);
}

int kube_exec_set_install_hint(kube_exec_config *e, const char *hint)
{
    return set_str(&e->install_hint, hint);
}

int kube_exec_set_interactive_mode(kube_exec_config *e, const char *mode,
                                   char *err, size_t errlen)
{
    if (strcmp(mode, "Never") != 0 && strcmp(mode, "IfAvailable") != 0 &&
        strcmp(mode, "Always") != 0) {
        snprintf(err, errlen,
                 "exec.interactiveMode \"%s\" is not Never, IfAvailable or "
                 "Always",
                 mode);
        return -1;
    }
    return set_str(&e->interactive_mode, mode);
}

int kube_exec_set_cluster(kube_exec_config *e, bool provide,
                          const char *server, const char *tls_server_name,
                          bool insecure, const char *ca, size_t ca_len,
                          json_t *config)
{
    e->provide_cluster_info = provide;
    e->insecure = insecure;
    if (set_str(&e->server, server) || set_str(&e->tls_server_name,
                                               tls_server_name))
        return -1;
    free(e->ca);
    e->ca = NULL;
    e->ca_len = 0;
    if (ca) {
        if (!(e->ca = lw_memdup(ca, ca_len)))
            return -1;
        e->ca_len = ca_len;
    }
    json_decref(e->cluster_config);
    e->cluster_config = json_incref(config);
    return 0;
}

void kube_exec_set_timeout(kube_exec_config *e, long ms)
{
    e->timeout_ms = ms > 0 ? ms : EXEC_DEFAULT_TIMEOUT_MS;
}

int kube_exec_runs(const kube_exec_config *e)
{
    return e->runs;
}

kube_exec_config *kube_exec_dup(const kube_exec_config *e)
{
    if (!e)
        return NULL;
    kube_exec_config *d = kube_exec_new(e->command, e->origin);
    if (!d)
        return NULL;
    bool ok = set_str(&d->api_version, e->api_version) == 0 &&
              set_str(&d->install_hint, e->install_hint) == 0 &&
              set_str(&d->interactive_mode, e->interactive_mode) == 0 &&
              kube_exec_set_cluster(d, e->provide_cluster_info, e->server,
                                    e->tls_server_name, e->insecure, e->ca,
                                    e->ca_len, e->cluster_config) == 0;
    for (size_t i = 0; ok && i < e->nargs; i++)
        ok = kube_exec_add_arg(d, e->args[i]) == 0;
    for (size_t i = 0; ok && i < e->nenv; i++)
        ok = kube_exec_add_env(d, e->env_names[i], e->env_values[i]) == 0;
    d->timeout_ms = e->timeout_ms;
    if (!ok) {
        kube_exec_free(d);
        return NULL;
    }
    return d;
}

/* The ExecCredential the plugin reads from KUBERNETES_EXEC_INFO. */
static char *exec_info(const kube_exec_config *e)
{
    json_t *spec = json_pack("{s:b}", "interactive", 0);
    json_t *root = json_pack("{s:s, s:s, s:o}", "kind", "ExecCredential",
                             "apiVersion", e->api_version, "spec", spec);
    if (!root)
        return NULL;
    if (e->provide_cluster_info) {
        json_t *cl = json_pack("{s:s}", "server", e->server ? e->server : "");
        if (!cl) {
            json_decref(root);
            return NULL;
        }
        if (e->tls_server_name)
            json_object_set_new(cl, "tls-server-name",
                                json_string(e->tls_server_name));
        if (e->insecure)
            json_object_set_new(cl, "insecure-skip-tls-verify", json_true());
        if (e->ca) {
            char *b64 = kube_base64_encode(e->ca, e->ca_len);
            if (b64)
                json_object_set_new(cl, "certificate-authority-data",
                                    json_string(b64));
            free(b64);
        }
        if (e->cluster_config)
            json_object_set(cl, "config", e->cluster_config);
        json_object_set_new(spec, "cluster", cl);
    }
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

static bool env_overridden(const kube_exec_config *e, const char *entry)
{
    const char *eq = strchr(entry, '=');
    size_t n = eq ? (size_t)(eq - entry) : strlen(entry);
    if (n == strlen("KUBERNETES_EXEC_INFO") &&
        !strncmp(entry, "KUBERNETES_EXEC_INFO", n))
        return true;
    for (size_t i = 0; i < e->nenv; i++)
        if (strlen(e->env_names[i]) == n && !strncmp(entry, e->env_names[i], n))
            return true;
    return false;
}

/* environ, minus what we override, plus KUBERNETES_EXEC_INFO and env[]. */
static char **build_env(const kube_exec_config *e, const char *info)
{
    size_t n = 0;
    for (char **p = environ; p && *p; p++)
        n++;
    char **env = calloc(n + e->nenv + 2, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (char **p = environ; p && *p; p++)
        if (!env_overridden(e, *p))
            env[k++] = *p; /* borrowed */
    size_t own_from = k;
    bool ok = true;
    for (size_t i = 0; ok && i < e->nenv; i++) {
        size_t len = strlen(e->env_names[i]) + strlen(e->env_values[i]) + 2;
        if ((env[k] = malloc(len)))
            snprintf(env[k++], len, "%s=%s", e->env_names[i],
                     e->env_values[i]);
        else
            ok = false;
    }
    if (ok) {
        size_t len = strlen(info) + sizeof "KUBERNETES_EXEC_INFO=";
        if ((env[k] = malloc(len)))
            snprintf(env[k++], len, "KUBERNETES_EXEC_INFO=%s", info);
        else
            ok = false;
    }
    if (!ok) {
        for (size_t i = own_from; i < k; i++)
            free(env[i]);
        free(env);
        return NULL;
    }
    return env; /* calloc'd: already NULL-terminated */
}

static void free_env(char **env, const kube_exec_config *e)
{
    if (!env)
        return;
    size_t n = 0;
    while (env[n])
        n++;
    /* The last nenv+1 entries are ours (see build_env). */
    for (size_t i = n - (e->nenv + 1); i < n; i++)
        free(env[i]);
    free(env);
}

typedef struct outbuf {
    char *data;
    size_t len, cap, max;
    bool overflow;
} outbuf;

static int outbuf_add(outbuf *b, const char *p, size_t n)
{
    if (b->len + n > b->max) {
        b->overflow = true;
        n = b->max - b->len;
    }
    /* + NUL */
    if (lw_grow(&b->data, &b->cap, b->len + n, 1, 4096))
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* The last non-empty line of the plugin's stderr, one line, for errors. */
static void stderr_tail(const outbuf *b, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!b->data)
        return;
    size_t end = b->len;
    while (end > 0 && (b->data[end - 1] == '\n' || b->data[end - 1] == '\r' ||
                       b->data[end - 1] == ' '))
        end--;
    size_t start = end;
    while (start > 0 && b->data[start - 1] != '\n')
        start--;
    kube_one_line(b->data + start, end - start, out, outlen);
}

/* The executable for e->command: as given when it has a slash, else the
 * first executable regular file of that name in PATH (what kubectl's
 * exec.LookPath does).  Looking it up ourselves gives "not found" a clear
 * message, where a failed exec in the child would only be exit status 127. */
static char *look_path(const char *cmd, int *err_no)
{
    struct stat st;
    if (strchr(cmd, '/')) {
        if (stat(cmd, &st) != 0) {
            *err_no = errno;
            return NULL;
        }
        if (!S_ISREG(st.st_mode) || access(cmd, X_OK) != 0) {
            *err_no = EACCES;
            return NULL;
        }
        return strdup(cmd);
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    *err_no = ENOENT;
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        size_t len = n + strlen(cmd) + 3;
        char *cand = malloc(len);
        if (!cand) {
            *err_no = ENOMEM;
            return NULL;
        }
        /* An empty PATH element means the current directory. */
        snprintf(cand, len, "%.*s/%s", (int)(n ? n : 1), n ? p : ".", cmd);
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(cand, X_OK) == 0)
                return cand;
            *err_no = EACCES;
        }
        free(cand);
        if (!end)
            break;
        p = end;
    }
    return NULL;
}

static void kill_and_reap(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* Why the plugin could not be started, with the kubeconfig's install
 * hint when it has one. */
static void spawn_error(const kube_exec_config *e, int serr, char *err,
                        size_t errlen)
{
    char hint[300] = "";
    if (e->install_hint) {
        char h[256];
        kube_one_line(e->install_hint, strlen(e->install_hint), h, sizeof h);
        snprintf(hint, sizeof hint, " (%s)", h);
    }
    if (serr == ENOENT)
        snprintf(err, errlen, "%s: exec plugin: command \"%s\" not found%s%s",
                 e->origin, e->command,
                 strchr(e->command, '/') ? "" : " in PATH", hint);
    else
        snprintf(err, errlen, "%s: exec plugin: cannot run \"%s\": %s%s",
                 e->origin, e->command, strerror(serr), hint);
}

/* Reads the plugin's stdout and stderr until it closes both, within the
 * deadline and the output cap.  0, or -1 with err set. */
static int read_until_closed(const kube_exec_config *e, int fd_out, int fd_err,
                             int64_t deadline, outbuf *out, outbuf *errb,
                             char *err, size_t errlen)
{
    bool open_o = true, open_e = true;
    while (open_o || open_e) {
        int64_t left = deadline - lw_mono_ms();
        if (left <= 0) {
            snprintf(err, errlen,
                     "%s: exec plugin \"%s\" did not finish within %ld ms",
                     e->origin, e->command, e->timeout_ms);
            return -1;
        }
        struct pollfd pf[2] = {{open_o ? fd_out : -1, POLLIN, 0},
                               {open_e ? fd_err : -1, POLLIN, 0}};
        int n = poll(pf, 2, (int)(left > 1000 ? 1000 : left));
        if (n < 0 && errno != EINTR) {
            snprintf(err, errlen, "%s: exec plugin \"%s\": poll: %s", e->origin,
                     e->command, strerror(errno));
            return -1;
        }
        for (int i = 0; n > 0 && i < 2; i++) {
            if (!pf[i].revents)
                continue;
            char buf[8192];
            ssize_t r = read(pf[i].fd, buf, sizeof buf);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                if (i == 0)
                    open_o = false;
                else
                    open_e = false;
                continue;
            }
            outbuf *b = i == 0 ? out : errb;
            if (outbuf_add(b, buf, (size_t)r) != 0) {
                snprintf(err, errlen, "%s: exec plugin \"%s\": out of memory",
                         e->origin, e->command);
                return -1;
            }
            if (out->overflow) {
                snprintf(err, errlen,
                         "%s: exec plugin \"%s\" wrote more than %u bytes",
                         e->origin, e->command, EXEC_MAX_STDOUT);
                return -1;
            }
        }
    }
    return 0;
}

/* Both pipes closed: the plugin is exiting; it has until the deadline.
 * 0 once reaped, or -1 with err set (the caller kills it). */
static int wait_exit(const kube_exec_config *e, pid_t pid, int64_t deadline,
                     int *status, char *err, size_t errlen)
{
    for (;;) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            *status = 0; /* SIGCHLD ignored by the host: judge by output */
            break;
        }
        if (lw_mono_ms() >= deadline) {
            snprintf(err, errlen,
                     "%s: exec plugin \"%s\" did not exit within %ld ms",
                     e->origin, e->command, e->timeout_ms);
            return -1;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* Runs the plugin; fills out/errb; sets *status (waitpid status).  Returns
 * 0, or -1 with err set (spawn failure, timeout, output too large). */
static int run_plugin(kube_exec_config *e, outbuf *out, outbuf *errb,
                      int *status, char *err, size_t errlen)
{
    char *info = exec_info(e);
    char **env = info ? build_env(e, info) : NULL;
    char **argv = calloc(e->nargs + 2, sizeof *argv);
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    int rc = -1;
    pid_t pid = -1;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    bool fa_init = false, attr_init = false;

    if (!info || !env || !argv) {
        snprintf(err, errlen, "%s: exec plugin \"%s\": out of memory",
                 e->origin, e->command);
        goto out;
    }
    argv[0] = e->command;
    for (size_t i = 0; i < e->nargs; i++)
        argv[i + 1] = e->args[i];
    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "%s: exec plugin \"%s\": pipe: %s", e->origin,
                 e->command, strerror(errno));
        goto out;
    }
    if (posix_spawn_file_actions_init(&fa) != 0)
        goto out;
    fa_init = true;
    if (posix_spawnattr_init(&attr) != 0)
        goto out;
    attr_init = true;
    /* The plugin is never interactive: stdin is /dev/null.  Only the two
     * pipes and the standard descriptors reach it (no client sockets). */
    sigset_t none, dflt;
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    sigaddset(&dflt, SIGCHLD);
    sigaddset(&dflt, SIGTERM);
    sigaddset(&dflt, SIGINT);
    if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) ||
        posix_spawn_file_actions_adddup2(&fa, po[1], 1) ||
        posix_spawn_file_actions_adddup2(&fa, pe[1], 2) ||
        posix_spawn_file_actions_addclosefrom_np(&fa, 3) ||
        posix_spawnattr_setsigmask(&attr, &none) ||
        posix_spawnattr_setsigdefault(&attr, &dflt) ||
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
                                            POSIX_SPAWN_SETSIGDEF)) {
        snprintf(err, errlen, "%s: exec plugin \"%s\": cannot prepare spawn",
                 e->origin, e->command);
        goto out;
    }
    int serr = 0;
    char *exe = look_path(e->command, &serr);
    if (exe) {
        serr = posix_spawn(&pid, exe, &fa, &attr, argv, env);
        free(exe);
    }
    if (serr != 0) {
        pid = -1;
        spawn_error(e, serr, err, errlen);
        goto out;
    }
    e->runs++;
    close(po[1]);
    close(pe[1]);
    po[1] = pe[1] = -1;

    int64_t deadline = lw_mono_ms() + e->timeout_ms;
    if (read_until_closed(e, po[0], pe[0], deadline, out, errb, err, errlen) < 0 ||
        wait_exit(e, pid, deadline, status, err, errlen) < 0)
        goto out;
    pid = -1;
    rc = 0;
out:
    /* Every failure after the spawn comes here with the plugin still
     * running: it is killed and reaped once, here. */
    if (pid > 0)
        kill_and_reap(pid);
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0)
            close(po[i]);
        if (pe[i] >= 0)
            close(pe[i]);
    }
    if (fa_init)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_init)
        posix_spawnattr_destroy(&attr);
    free(argv);
    free_env(env, e);
    free(info);
    return rc;
}

/* Checks the plugin's ExecCredential and fills e->cred. */
static int parse_cred(kube_exec_config *e, const outbuf *out, char *err,
                      size_t errlen)
{
    json_error_t je;
    json_t *root = out->len ? json_loadb(out->data, out->len, 0, &je) : NULL;
    char why[256] = "";
    const char *av = NULL, *kind = NULL;
    if (!out->len)
        snprintf(why, sizeof why, "it printed nothing");
    else if (!root)
        snprintf(why, sizeof why, "output is not JSON (%s at line %d)",
                 je.text, je.line);
    else if (!(kind = kube_json_str(root, "kind")) ||
             strcmp(kind, "ExecCredential") != 0)
        snprintf(why, sizeof why, "output is not an ExecCredential (kind \"%s\")",
                 kind ? kind : "");
    else if (!(av = kube_json_str(root, "apiVersion")) ||
             strcmp(av, e->api_version) != 0)
        snprintf(why, sizeof why,
                 "it returned apiVersion \"%s\" but is configured for \"%s\"",
                 av ? av : "", e->api_version);
    else if (!json_is_object(json_object_get(root, "status")))
        snprintf(why, sizeof why, "its ExecCredential has no status");
    if (why[0]) {
        snprintf(err, errlen, "%s: exec plugin \"%s\": %s", e->origin,
                 e->command, why);
        json_decref(root);
        return -1;
    }
    const char *token = kube_json_str(root, "status.token");
    const char *cert = kube_json_str(root, "status.clientCertificateData");
    const char *key = kube_json_str(root, "status.clientKeyData");
    const char *exp = kube_json_str(root, "status.expirationTimestamp");
    if (token && !*token)
        token = NULL;
    if ((cert && *cert) != (key && *key))
        snprintf(why, sizeof why,
                 "status has clientCertificateData without clientKeyData or "
                 "the reverse");
    else if (!token && !(cert && *cert))
        snprintf(why, sizeof why,
                 "status has neither a token nor a client certificate");
    int64_t expires = 0;
    if (!why[0] && exp && *exp && (expires = kube_parse_time(exp)) < 0)
        snprintf(why, sizeof why,
                 "status.expirationTimestamp \"%.64s\" is not RFC 3339", exp);
    if (why[0]) {
        snprintf(err, errlen, "%s: exec plugin \"%s\": %s", e->origin,
                 e->command, why);
        json_decref(root);
        return -1;
    }
    kube_exec_cred c = {0};
    c.expires_unix = expires;
    bool ok = true;
    if (token)
        ok = (c.token = strdup(token)) != NULL;
    if (ok && cert && *cert) {
        c.cert_len = strlen(cert);
        c.key_len = strlen(key);
        c.cert_pem = lw_memdup(cert, c.cert_len);
        c.key_pem = lw_memdup(key, c.key_len);
        ok = c.cert_pem && c.key_pem;
    }
    json_decref(root);
    if (!ok) {
        cred_clear(&c);
        snprintf(err, errlen, "%s: exec plugin \"%s\": out of memory",
                 e->origin, e->command);
        return -1;
    }
    cred_clear(&e->cred);
    e->cred = c;
    e->have_cred = true;
    return 0;
}

int kube_exec_credential(kube_exec_config *e, bool force, int64_t now_unix,
                         const kube_exec_cred **out, char *err,
                         size_t errlen)
{
    *out = NULL;
    if (!force && e->have_cred &&
        (e->cred.expires_unix == 0 || now_unix < e->cred.expires_unix)) {
        *out = &e->cred;
        return 0;
    }
    if (!strcmp(e->interactive_mode, "Always")) {
        snprintf(err, errlen,
                 "%s: exec plugin \"%s\" has interactiveMode Always, but "
                 "leakwatch runs without a terminal",
                 e->origin, e->command);
        return -1;
    }
    outbuf o = {.max = EXEC_MAX_STDOUT}, eb = {.max = EXEC_MAX_STDERR};
    int status = 0;
    int rc = run_plugin(e, &o, &eb, &status, err, errlen);
    if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        char tail[300];
        stderr_tail(&eb, tail, sizeof tail);
        char how[64];
        if (WIFEXITED(status))
            snprintf(how, sizeof how, "exited with status %d",
                     WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
            snprintf(how, sizeof how, "was killed by signal %d",
                     WTERMSIG(status));
        else
            snprintf(how, sizeof how, "failed");
        snprintf(err, errlen, "%s: exec plugin \"%s\" %s%s%s", e->origin,
                 e->command, how, tail[0] ? ": " : "", tail);
        rc = -1;
    }
    if (rc == 0)
        rc = parse_cred(e, &o, err, errlen);
    free(o.data);
    free(eb.data);
    if (rc != 0) {
        /* A failed refresh must not keep serving a credential the server
         * has just rejected. */
        if (force) {
            cred_clear(&e->cred);
            e->have_cred = false;
        }
        return -1;
    }
    *out = &e->cred;
    return 0;
}
