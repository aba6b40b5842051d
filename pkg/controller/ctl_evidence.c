/*
 * ctl_evidence.c — atomic writes and size-bounded rotation for evidence
 * files (see ctl_evidence.h).
 */
#include "ctl_evidence.h"
#include "lw/lw_grow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct ctl_evidence {
    char *dir;
    uint64_t max_bytes;
    int protect_seconds;
    uint64_t bytes;
    unsigned seq;
};

static int mkdir_p(const char *path)
{
    char tmp[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, path, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0750) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0750) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

typedef struct ev_file {
    char name[256];
    time_t mtime;
    uint64_t size;
} ev_file;

static int by_age(const void *a, const void *b)
{
    const ev_file *x = a, *y = b;
    if (x->mtime != y->mtime)
        return x->mtime < y->mtime ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Scans the directory, removes leftovers of interrupted writes and, when
 * over the cap, the oldest unprotected files. */
static void rotate(ctl_evidence *e, int drop_tmp)
{
    DIR *d = opendir(e->dir);
    if (!d)
        return;
    ev_file *files = NULL;
    size_t n = 0, cap = 0;
    uint64_t total = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') {
            if (drop_tmp && !strncmp(de->d_name, ".tmp-", 5))
                unlinkat(dirfd(d), de->d_name, 0);
            continue;
        }
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(st.st_mode) || strlen(de->d_name) >= sizeof(files->name))
            continue;
        if (lw_grow(&files, &cap, n, sizeof *files, 64))
            break;
        snprintf(files[n].name, sizeof(files[n].name), "%s", de->d_name);
        files[n].mtime = st.st_mtime;
        files[n].size = (uint64_t)st.st_size;
        total += (uint64_t)st.st_size;
        n++;
    }
    if (n)
        qsort(files, n, sizeof(*files), by_age);
    time_t now = time(NULL);
    for (size_t i = 0; i < n && total > e->max_bytes; i++) {
        if (now - files[i].mtime < e->protect_seconds)
            break; /* everything after is younger still */
        if (unlinkat(dirfd(d), files[i].name, 0) == 0)
            total -= files[i].size;
    }
    closedir(d);
    free(files);
    e->bytes = total;
}

ctl_evidence *ctl_evidence_new(const char *dir, uint64_t max_bytes,
                               int protect_seconds, char *err, size_t errlen)
{
    if (!dir || !*dir) {
        snprintf(err, errlen, "evidence directory: empty path");
        return NULL;
    }
    if (mkdir_p(dir) < 0) {
        snprintf(err, errlen, "evidence directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    if (access(dir, W_OK) < 0) {
        snprintf(err, errlen, "evidence directory %s: not writable: %s", dir,
                 strerror(errno));
        return NULL;
    }
    ctl_evidence *e = calloc(1, sizeof(*e));
    if (!e || !(e->dir = strdup(dir))) {
        free(e);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->max_bytes = max_bytes ? max_bytes : 256ull << 20;
    e->protect_seconds = protect_seconds;
    rotate(e, 1);
    return e;
}

void ctl_evidence_free(ctl_evidence *e)
{
    if (!e)
        return;
    free(e->dir);
    free(e);
}

uint64_t ctl_evidence_bytes(const ctl_evidence *e)
{
    return e->bytes;
}

const char *ctl_evidence_dir(const ctl_evidence *e)
{
    return e->dir;
}

static void sanitize(char *out, size_t outlen, const char *in)
{
    size_t j = 0;
    for (; in && *in && j + 1 < outlen; in++) {
        char c = *in;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '-' || c == '.';
        out[j++] = ok ? c : '_';
    }
    out[j] = '\0';
}

int ctl_evidence_write(ctl_evidence *e, const char *ns, const char *pod,
                       long revision, int64_t unix_s, const char *role, const char *ext,
                       const void *data, size_t len, char *path_out,
                       size_t pathlen, char *err, size_t errlen)
{
    char sns[64], spod[128], srole[32], sext[16], stamp[32];
    sanitize(sns, sizeof(sns), ns);
    sanitize(spod, sizeof(spod), pod);
    sanitize(srole, sizeof(srole), role);
    sanitize(sext, sizeof(sext), ext);
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);

    char rev[32] = "";
    if (revision > 0)
        snprintf(rev, sizeof(rev), "_rev%ld", revision);
    char final[4096], tmp[4096];
    int n = snprintf(final, sizeof(final), "%s/%s_%s%s_%s_%s.%s", e->dir, sns,
                     spod, rev, stamp, srole, sext);
    if (n < 0 || (size_t)n >= sizeof(final) || (path_out && (size_t)n >= pathlen)) {
        snprintf(err, errlen, "evidence path too long");
        return -1;
    }
    snprintf(tmp, sizeof(tmp), "%s/.tmp-%ld-%u", e->dir, (long)getpid(), e->seq++);

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "evidence %s: %s", tmp, strerror(errno));
        return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "evidence %s: write: %s", final,
                     strerror(errno));
            close(fd);
            unlink(tmp);
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        snprintf(err, errlen, "evidence %s: %s", final, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, final) < 0) {
        snprintf(err, errlen, "evidence %s: rename: %s", final, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (path_out)
        snprintf(path_out, pathlen, "%s", final);
    rotate(e, 0);
    return 0;
}
