/*
 * cli_input.c — reading capture files for the offline commands.  See
 * cli_input.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_input.h"
#include "cli_print.h"
#include "lw/lw_text.h"

/* Messages may quote input bytes; keep them on one printable line. */
static void print_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "%s: ", cmd);
    lw_text_fputs(msg, stderr);
    fputc('\n', stderr);
}

/* Standard input, streamed through the parser as it arrives (a pipe from
 * kubectl or curl, or a paste ended with ^D). */
static pprof_profile *load_stdin(const char *cmd, const pprof_limits *limits)
{
    const char *name = "stdin";
    pprof_parser *ps = pprof_parser_new(name, limits);
    enum { CHUNK = 256 * 1024 };
    unsigned char *buf = malloc(CHUNK);
    pprof_profile *p = NULL;
    char err[512];
    err[0] = '\0';
    if (!ps || !buf) {
        snprintf(err, sizeof(err), "%s: out of memory", name);
        goto out;
    }
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, sizeof(err), "%s: read error: %s", name,
                     strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (pprof_parser_feed(ps, buf, (size_t)n) < 0)
            break;
    }
    p = pprof_parser_finish(ps);
    if (!p)
        snprintf(err, sizeof(err), "%s", pprof_parser_error(ps));
out:
    if (!p)
        print_error(cmd, err[0] ? err : "stdin: cannot be parsed");
    free(buf);
    pprof_parser_free(ps);
    return p;
}

pprof_profile *cli_load_profile(const char *cmd, const char *path,
                                const pprof_limits *limits)
{
    if (strcmp(path, CLI_STDIN_PATH) == 0)
        return load_stdin(cmd, limits);
    char err[512];
    struct stat st;
    /* The parser reports these too, but in its own words; the checks here
     * make the common mistakes read the same everywhere. */
    if (stat(path, &st) < 0) {
        lw_text_pathf(err, sizeof(err), path, "%s", strerror(errno));
        print_error(cmd, err);
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        lw_text_pathf(err, sizeof(err), path, "is a directory, not a capture");
        print_error(cmd, err);
        return NULL;
    }
    err[0] = '\0';
    pprof_profile *p = pprof_parse_file(path, limits, err, sizeof(err));
    if (!p) {
        if (!err[0])
            lw_text_pathf(err, sizeof(err), path, "cannot be parsed");
        print_error(cmd, err);
    }
    return p;
}

void cli_capture_notes_of(cli_capture_notes *n, const pprof_profile *p)
{
    n->skipped_lines = p->skipped_lines;
    n->total_short = p->total_short;
    n->total = p->total;
    n->counted = p->counted;
}

lwa_snapshot *cli_load_snapshot(const char *cmd, lwa_sigtab *t,
                                const char *path, const pprof_limits *limits,
                                cli_capture_notes *notes)
{
    return cli_load_snapshot_chained(cmd, t, path, limits, notes, NULL);
}

lwa_snapshot *cli_load_snapshot_chained(const char *cmd, lwa_sigtab *t,
                                        const char *path,
                                        const pprof_limits *limits,
                                        cli_capture_notes *notes,
                                        uint64_t *goid_chain)
{
    pprof_limits lim = *limits;
    lim.goid_cutoff = goid_chain ? *goid_chain : 0;
    pprof_profile *p = cli_load_profile(cmd, path, &lim);
    if (!p)
        return NULL;
    if (notes)
        cli_capture_notes_of(notes, p);
    lwa_snapshot *s = lwa_snapshot_take_after(t, p, path, lim.goid_cutoff);
    if (goid_chain)
        *goid_chain = p->has_goids ? p->max_goid : 0;
    pprof_profile_free(p);
    if (!s) {
        char err[512];
        lw_text_pathf(err, sizeof(err), path, "out of memory");
        print_error(cmd, err);
    }
    return s;
}

bool cli_stdin_once(const char *cmd, const char *const *paths, size_t n,
                    const char *extra)
{
    size_t seen = extra && strcmp(extra, CLI_STDIN_PATH) == 0;
    for (size_t i = 0; i < n; i++)
        seen += paths[i] && strcmp(paths[i], CLI_STDIN_PATH) == 0;
    if (seen > 1) {
        fprintf(stderr, "%s: standard input (-) can be read only once\n", cmd);
        return false;
    }
    return true;
}

bool cli_json_capture_notes(json_t *o, const cli_capture_notes *n)
{
    return cli_json_set(o, "skipped_lines",
                        json_integer((json_int_t)n->skipped_lines)) &&
           cli_json_set(o, "total_short", json_boolean(n->total_short));
}

json_t *cli_json_attach_notes(json_t *report, const char *key, size_t index,
                              const cli_capture_notes *n)
{
    if (!report)
        return NULL;
    json_t *v = json_object_get(report, key);
    if (json_is_array(v))
        v = json_array_get(v, index);
    if (json_is_object(v) && !cli_json_capture_notes(v, n)) {
        json_decref(report);
        return NULL;
    }
    return report;
}

/* A file name on one printable line. */
static void put_name(FILE *out, const char *name)
{
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
}

void cli_print_capture_notes(FILE *out, const char *name,
                             const cli_capture_notes *n)
{
    if (n->skipped_lines) {
        fputs("note: ", out);
        put_name(out, name);
        fprintf(out, ": %" PRIu64 " line%s could not be read and %s skipped\n",
                n->skipped_lines, n->skipped_lines == 1 ? "" : "s",
                n->skipped_lines == 1 ? "was" : "were");
    }
    if (n->total_short) {
        fputs("note: ", out);
        put_name(out, name);
        fprintf(out, ": says total %" PRIu64 " but its records hold %" PRIu64
                     " goroutines (edited or stitched together?)\n",
                n->total, n->counted);
    }
}

bool cli_file_mtime_ms(const char *path, int64_t *out)
{
    if (strcmp(path, CLI_STDIN_PATH) == 0)
        return false;
    struct stat st;
    if (stat(path, &st) < 0)
        return false;
    *out = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    return true;
}

long cli_revision_of(const char *path)
{
    if (!path)
        return -1;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    /* Pod and namespace names are DNS labels, never holding '_': the
     * first "_rev<digits>_" is the controller's. */
    for (const char *p = strstr(base, "_rev"); p; p = strstr(p + 1, "_rev")) {
        const char *d = p + 4;
        long n = 0;
        const char *q = d;
        while (*q >= '0' && *q <= '9' && n < 100000000)
            n = n * 10 + (*q++ - '0');
        if (q > d && *q == '_' && n > 0)
            return n;
    }
    return -1;
}
