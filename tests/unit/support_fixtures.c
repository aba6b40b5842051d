/*
 * support_fixtures.c — runs a test once per recorded behaviour under
 * tests/fixtures/<version>/<behaviour>/ (each with its MANIFEST.json), for
 * the tests that judge every recording (analysis fixtures and catalog).
 * Not for: what a test checks in a recording, nor the Kubernetes objects
 * under tests/fixtures/kube/ (support_kube.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>

#include "lw/lw_grow.h"
#include "support.h"

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of a directory but "." ones, sorted; the caller frees each
 * and the array.  0 when it cannot be read. */
static size_t list_dirs(const char *path, char ***out)
{
    DIR *d = opendir(path);
    size_t n = 0, cap = 0;
    char **names = NULL;
    *out = NULL;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (lw_grow(&names, &cap, n, sizeof *names, 16) ||
            !(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_names);
    *out = names;
    return n;
}

int ts_run_fixtures(const char *group, const char *prefix,
                    void (*test)(void **state))
{
    const char *env = getenv("LW_ROOT");
    char root[512];
    snprintf(root, sizeof(root), "%s/tests/fixtures",
             env && *env ? env : ".");
    char **versions;
    size_t nv = list_dirs(root, &versions);
    ts_fixture *fx = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < nv; i++) {
        char vdir[768];
        snprintf(vdir, sizeof(vdir), "%s/%s", root, versions[i]);
        char **b = NULL;
        size_t nb = strncmp(versions[i], prefix, strlen(prefix))
                        ? 0
                        : list_dirs(vdir, &b);
        for (size_t j = 0; j < nb; j++) {
            char mpath[1024];
            snprintf(mpath, sizeof(mpath), "%s/%s/MANIFEST.json", vdir, b[j]);
            json_error_t jerr;
            json_t *m = json_load_file(mpath, 0, &jerr);
            if (m && lw_grow(&fx, &cap, n, sizeof *fx, 64)) {
                fprintf(stdout, "[  FAILED  ] %s: out of memory\n", group);
                return 1;
            }
            if (m) {
                snprintf(fx[n].dir, sizeof(fx[n].dir), "%s/%s", vdir, b[j]);
                fx[n].manifest = m;
                n++;
            }
            free(b[j]);
        }
        free(b);
        free(versions[i]);
    }
    free(versions);
    if (!n) {
        /* The fixtures are part of the repository: their absence is a
         * failure, not a skip. */
        fprintf(stdout, "[  FAILED  ] 1 test(s): no fixtures under %s/%s*\n",
                root, prefix);
        free(fx);
        return 1;
    }
    /* fx no longer moves: point the tests at it */
    struct CMUnitTest *tests = calloc(n, sizeof(*tests));
    if (!tests) {
        fprintf(stdout, "[  FAILED  ] %s: out of memory\n", group);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        tests[i].name = fx[i].dir;
        tests[i].test_func = test;
        tests[i].initial_state = &fx[i];
    }
    int rc = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        json_decref(fx[i].manifest);
    free(fx);
    free(tests);
    return rc;
}
