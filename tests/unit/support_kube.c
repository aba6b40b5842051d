/*
 * support_kube.c — loads the Kubernetes objects recorded from a real
 * kube-apiserver (tests/fixtures/kube/, written by
 * hack/record-kube-objects.sh) for the unit tests of pkg/kube and its users.
 * Not for: building objects by hand; a test that needs an odd object
 * edits a recorded one so the rest of it stays real.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "support.h"

json_t *ts_kube_object(const char *name)
{
    const char *root = getenv("LW_ROOT");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/kube/%s",
             root && *root ? root : ".", name);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j)
        fail_msg("fixture %s: %s", path, e.text);
    return j;
}
