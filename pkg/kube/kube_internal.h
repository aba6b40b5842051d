/*
 * kube_internal.h — what the files of pkg/kube share among themselves and do
 * not export: the exec credential plugin (kube_exec.c), deep copies of a
 * config (kube_config.c), small file/base64 helpers and the workers' log
 * line (kube_util.c).
 *
 * Not for: code outside pkg/kube (other than pkg/kube's own unit tests).
 * Everything here may change without notice; kube.h is the contract.
 */
#ifndef KUBE_INTERNAL_H
#define KUBE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube/kube.h"

/* ---- exec credential plugin (kube_exec.c) ----------------------------- */

/* What one successful plugin run returned.  token, or cert+key (PEM), or
 * both; expires_unix is 0 when the credential does not expire. */
typedef struct kube_exec_cred {
    char *token;
    char *cert_pem, *key_pem;
    size_t cert_len, key_len;
    int64_t expires_unix;
} kube_exec_cred;

/* origin names the kubeconfig file and user for error messages
 * ("kubeconfig /x/config: user \"dev\""). */
kube_exec_config *kube_exec_new(const char *command, const char *origin);
void kube_exec_free(kube_exec_config *e);
kube_exec_config *kube_exec_dup(const kube_exec_config *e);
/* The setters return 0, or -1 when out of memory or the value is invalid
 * (err says which). */
int kube_exec_add_arg(kube_exec_config *e, const char *arg);
int kube_exec_add_env(kube_exec_config *e, const char *name,
                      const char *value);
int kube_exec_set_api_version(kube_exec_config *e, const char *v, char *err,
                              size_t errlen);
int kube_exec_set_install_hint(kube_exec_config *e, const char *hint);
int kube_exec_set_interactive_mode(kube_exec_config *e, const char *mode,
                                   char *err, size_t errlen);
/* Cluster information for KUBERNETES_EXEC_INFO; only sent when provide is
 * true (provideClusterInfo).  ca may be NULL.  config is the cluster's
 * client.authentication.k8s.io/exec extension (borrowed, increfed). */
int kube_exec_set_cluster(kube_exec_config *e, bool provide,
                          const char *server, const char *tls_server_name,
                          bool insecure, const char *ca, size_t ca_len,
                          json_t *config);
/* The plugin's whole run (spawn to exit) is bounded by this; default 30 s. */
void kube_exec_set_timeout(kube_exec_config *e, long ms);

/* The current credential: the cached one while it has not expired (and
 * force is false), else the plugin is run again.  *out stays owned by e and
 * is valid until the next call.  Not thread-safe: callers serialise. */
int kube_exec_credential(kube_exec_config *e, bool force, int64_t now_unix,
                         const kube_exec_cred **out, char *err,
                         size_t errlen);
/* How many times the plugin has run (tests and debugging). */
int kube_exec_runs(const kube_exec_config *e);

/* ---- config (kube_config.c) ------------------------------------------- */

kube_config *kube_config_dup(const kube_config *cfg);

/* ---- helpers (kube_util.c) -------------------------------------------- */

/* Reads a whole regular file of at most max bytes into a NUL-terminated
 * buffer.  -1 with errno set (EFBIG when larger than max). */
int kube_read_file(const char *path, size_t max, char **out, size_t *len);
/* Decodes standard base64 (whitespace ignored).  -1 on invalid input. */
int kube_base64_decode(const char *in, size_t inlen, char **out,
                       size_t *outlen);
/* Encodes to standard base64, NUL-terminated; NULL when out of memory. */
char *kube_base64_encode(const void *in, size_t inlen);
/* Copies src into a one-line form (control characters become spaces,
 * runs of whitespace collapse, ends trimmed), always terminated. */
void kube_one_line(const char *src, size_t srclen, char *out, size_t outlen);

/* The log callback of the background workers (cache, watch, lease, event
 * recorder); their public headers name it each in their own words. */
typedef void (*kube_log_fn)(const char *msg, void *ud);
/* One log line of such a worker: fmt and ap make the message, which goes
 * to log when there is one, else to stderr as "WHO: message" with WHO
 * made from who_fmt.  one_line turns line breaks into spaces (for text the
 * server sent).  The message is cut at 1023 bytes. */
void kube_logv(kube_log_fn log, void *ud, bool one_line, const char *fmt,
               va_list ap, const char *who_fmt, ...)
    __attribute__((format(printf, 4, 0), format(printf, 6, 7)));

#endif
