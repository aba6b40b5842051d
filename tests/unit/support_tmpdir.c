/*
 * support_tmpdir.c — scratch directories for unit tests that read files
 * (kubeconfigs, service-account tokens, exec plugins; see support.h).
 * Uses cmocka assertions, so it belongs to the unit tests only.
 */
#define _XOPEN_SOURCE_EXTENDED 1
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support.h"

ts_dir *ts_dir_new(const char *prefix)
{
    ts_dir *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    snprintf(d->dir, sizeof d->dir, "/tmp/%s_XXXXXX", prefix);
    if (!mkdtemp(d->dir)) {
        free(d);
        return NULL;
    }
    return d;
}

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void ts_dir_free(ts_dir *d)
{
    if (!d)
        return;
    nftw(d->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
}

static void write_file(const ts_dir *d, const char *name, const char *head,
                       const char *content, char *path, size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s", d->dir, name);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdir(path, 0700); /* already there for names without a '/' */
    *slash = '/';
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(head, fp);
    fputs(content, fp);
    fclose(fp);
}

void ts_dir_put(const ts_dir *d, const char *name, const char *content,
                char *path, size_t pathlen)
{
    write_file(d, name, "", content, path, pathlen);
}

void ts_dir_script(const ts_dir *d, const char *name, const char *body,
                   char *path, size_t pathlen)
{
    write_file(d, name, "#!/bin/sh\n", body, path, pathlen);
    assert_int_equal(chmod(path, 0755), 0);
}
