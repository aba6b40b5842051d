/*
 * driver.h — code shared by the e2e C drivers in tests/e2e/ (each .c file
 * in tests/e2e/support/ is linked into every driver). Only what several
 * drivers repeat word for word; no cmocka here, drivers do not link it.
 */
#ifndef LW_TESTS_E2E_DRIVER_H
#define LW_TESTS_E2E_DRIVER_H

#include <signal.h>

#include "kube/kube.h"

/* A client for the cluster in `kubeconfig` (never in-cluster settings),
 * with default options. On failure prints "<prog>: <error>" to stderr and
 * returns NULL. */
kube_client *drv_client(const char *prog, const char *kubeconfig);

/* Puts SIGTERM, SIGINT and `extra` (0: none) in `set` and blocks them in
 * this thread and every thread it starts later, so that only the driver's
 * sigwait(set) takes them. Call before starting any thread. */
void drv_sigwait_set(sigset_t *set, int extra);

#endif
