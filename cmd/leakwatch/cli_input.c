/*
 * cli_input.c — reading capture files for the offline commands.  See
 * cli_input.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_input.h"

/* Messages may quote input bytes; keep them on one printable line. */
static void print_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "%s: ", cmd);
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
        fputc(*p < 0x20 || *p == 0x7f ? ' ' : *p, stderr);
    fputc('\n', stderr);
}

pprof_profile *cli_load_profile(const char *cmd, const char *path,
                                const pprof_limits *limits)
{
    char err[512];
    struct stat st;
    /* The parser reports these too, but in its own words; the checks here
     * make the common mistakes read the same everywhere. */
    if (stat(path, &st) < 0) {
        snprintf(err, sizeof(err), "%s: %s", path, strerror(errno));
        print_error(cmd, err);
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, sizeof(err), "%s: is a directory, not a capture",
                 path);
        print_error(cmd, err);
        return NULL;
    }
    err[0] = '\0';
    pprof_profile *p = pprof_parse_file(path, limits, err, sizeof(err));
    if (!p) {
        if (!err[0])
            snprintf(err, sizeof(err), "%s: cannot be parsed", path);
        print_error(cmd, err);
    }
    return p;
}

lwa_snapshot *cli_load_snapshot(const char *cmd, lwa_sigtab *t,
                                const char *path, const pprof_limits *limits)
{
    pprof_profile *p = cli_load_profile(cmd, path, limits);
    if (!p)
        return NULL;
    lwa_snapshot *s = lwa_snapshot_take(t, p, path);
    pprof_profile_free(p);
    if (!s)
        fprintf(stderr, "%s: %s: out of memory\n", cmd, path);
    return s;
}

bool cli_file_mtime_ms(const char *path, int64_t *out)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return false;
    *out = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    return true;
}
