/*
 * pprof_parse.c — the streaming parser object: takes bytes in whatever
 * pieces they arrive, detects the format, gunzips if needed, routes the
 * bytes to the format's parser, and applies the input limits.  Also the
 * file and buffer conveniences.
 *
 *   raw bytes ─ max_input ─┬─ 1f 8b ─ gunzip (max_decompressed) ─┐
 *                          └────────────────────────────────────┴─ detect
 *        ─┬─ debug=1 / debug=2: line splitter ─ format parser ─ builder
 *         └─ protobuf: kept (max_decompressed) and decoded at finish
 *
 * Text is never kept (beyond one line that straddles two chunks and the
 * first 64 KiB while the format is being recognised); protobuf is kept
 * because its string table comes last.
 *
 * Not for: understanding any one format (pprof_debug1.c, pprof_debug2.c,
 * pprof_proto.c).
 */
#include "pprof_internal.h"

#include "lw/lw_text.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Detection never needs more than this (see pprof_detect.c). */
#define DETECT_BUF (64u * 1024u)
#define READ_CHUNK (256u * 1024u)

struct pprof_parser {
    char *name;
    pprof_limits lim;
    pp_err err;
    int finished;
    uint64_t in_bytes;

    /* raw layer: gzip or not */
    unsigned char magic[2];
    size_t magic_len;
    int raw_decided;
    pp_gunzip *gz;

    /* decoded layer */
    unsigned char *det;
    size_t det_len;
    pp_detect_scan det_scan;
    pp_detect fmt;
    pprof_builder *b;
    pp_lines lines;
    pp_debug1 *d1;
    pp_debug2 *d2;
    unsigned char *pbuf;
    size_t pbuf_len, pbuf_cap;
};

pprof_parser *pprof_parser_new(const char *name, const pprof_limits *limits)
{
    pprof_parser *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    pprof_limits_default(&p->lim);
    if (limits) {
        /* Zero fields keep their defaults, as in the builder. */
        if (limits->max_input_bytes)
            p->lim.max_input_bytes = limits->max_input_bytes;
        if (limits->max_decompressed_bytes)
            p->lim.max_decompressed_bytes = limits->max_decompressed_bytes;
        if (limits->max_line_bytes)
            p->lim.max_line_bytes = limits->max_line_bytes;
        if (limits->max_buckets)
            p->lim.max_buckets = limits->max_buckets;
        if (limits->max_frames)
            p->lim.max_frames = limits->max_frames;
        p->lim.goid_cutoff = limits->goid_cutoff;
    }
    p->name = strdup(name ? name : "input");
    p->b = pprof_builder_new(&p->lim);
    if (!p->name || !p->b) {
        pprof_parser_free(p);
        return NULL;
    }
    p->err.name = p->name;
    pp_lines_init(&p->lines, p->lim.max_line_bytes, &p->err);
    return p;
}

void pprof_parser_free(pprof_parser *p)
{
    if (!p)
        return;
    pp_gunzip_free(p->gz);
    pp_debug1_free(p->d1);
    pp_debug2_free(p->d2);
    pp_lines_free(&p->lines);
    pprof_builder_free(p->b);
    free(p->det);
    free(p->pbuf);
    free(p->name);
    free(p);
}

const char *pprof_parser_error(const pprof_parser *p)
{
    return p && p->err.set ? p->err.msg : "";
}

/* ---- decoded layer ------------------------------------------------------- */

static int proto_append(pprof_parser *p, const unsigned char *data, size_t len)
{
    if (len > p->lim.max_decompressed_bytes - p->pbuf_len)
        return pp_fail(&p->err,
                       "protobuf: profile exceeds %" PRIu64
                       " bytes (limit; raise with --max-decompressed)",
                       p->lim.max_decompressed_bytes);
    if (p->pbuf_len + len > p->pbuf_cap) {
        size_t cap = p->pbuf_cap ? p->pbuf_cap : 64 * 1024;
        while (cap < p->pbuf_len + len)
            cap *= 2;
        if (cap > p->lim.max_decompressed_bytes)
            cap = (size_t)p->lim.max_decompressed_bytes;
        unsigned char *nb = realloc(p->pbuf, cap);
        if (!nb)
            return pp_fail(&p->err, "out of memory");
        p->pbuf = nb;
        p->pbuf_cap = cap;
    }
    memcpy(p->pbuf + p->pbuf_len, data, len);
    p->pbuf_len += len;
    return 0;
}

static int dispatch(pprof_parser *p, const unsigned char *data, size_t len)
{
    switch (p->fmt) {
    case PP_DETECT_DEBUG1:
        return pp_lines_feed(&p->lines, (const char *)data, len,
                             pp_debug1_line, p->d1);
    case PP_DETECT_DEBUG2:
        return pp_lines_feed(&p->lines, (const char *)data, len,
                             pp_debug2_line, p->d2);
    case PP_DETECT_PROTO:
        return proto_append(p, data, len);
    default:
        return pp_fail(&p->err, "internal: no format chosen");
    }
}

static int choose(pprof_parser *p, pp_detect d, const char *why)
{
    switch (d) {
    case PP_DETECT_DEBUG1:
        p->d1 = pp_debug1_new(p->b, &p->lim, &p->err);
        if (!p->d1)
            return pp_fail(&p->err, "out of memory");
        break;
    case PP_DETECT_DEBUG2:
        p->d2 = pp_debug2_new(p->b, &p->lim, &p->err);
        if (!p->d2)
            return pp_fail(&p->err, "out of memory");
        break;
    case PP_DETECT_PROTO:
        break;
    case PP_DETECT_GZIP:
        return pp_fail(&p->err, "not a goroutine profile (gzip inside gzip)");
    case PP_DETECT_NONE:
        return pp_fail(&p->err, "not a goroutine profile (%s)",
                       why && why[0] ? why : "unrecognised content at byte 0");
    case PP_DETECT_MORE:
        return 0;
    }
    p->fmt = d;
    return 0;
}

/* The decoded stream: detection first, then the chosen parser. */
static int decoded_feed(void *ctx, const unsigned char *data, size_t len)
{
    pprof_parser *p = ctx;
    if (p->fmt != PP_DETECT_MORE)
        return dispatch(p, data, len);
    char why[128];
    if (p->det_len == 0) {
        /* Usually decided on the first chunk, without copying it. */
        pp_detect d = pp_detect_format(data, len, 0, &p->det_scan, why,
                                       sizeof(why));
        if (d != PP_DETECT_MORE) {
            if (choose(p, d, why) < 0)
                return -1;
            return dispatch(p, data, len);
        }
    }
    if (!p->det) {
        p->det = malloc(DETECT_BUF);
        if (!p->det)
            return pp_fail(&p->err, "out of memory");
    }
    while (len) {
        size_t take = DETECT_BUF - p->det_len;
        if (take > len)
            take = len;
        memcpy(p->det + p->det_len, data, take);
        p->det_len += take;
        data += take;
        len -= take;
        pp_detect d = pp_detect_format(p->det, p->det_len,
                                       p->det_len == DETECT_BUF,
                                       &p->det_scan, why,
                                       sizeof(why));
        if (d == PP_DETECT_MORE)
            continue;
        if (choose(p, d, why) < 0)
            return -1;
        size_t n = p->det_len;
        p->det_len = 0;
        if (dispatch(p, p->det, n) < 0)
            return -1;
        free(p->det);
        p->det = NULL;
        return len ? dispatch(p, data, len) : 0;
    }
    return 0;
}

/* ---- raw layer ---------------------------------------------------------- */

static int raw_route(pprof_parser *p, const unsigned char *data, size_t len)
{
    if (p->gz)
        return pp_gunzip_feed(p->gz, data, len, decoded_feed, p);
    return decoded_feed(p, data, len);
}

static int raw_decide(pprof_parser *p)
{
    p->raw_decided = 1;
    if (p->magic_len == 2 && p->magic[0] == 0x1f && p->magic[1] == 0x8b) {
        p->gz = pp_gunzip_new(p->lim.max_decompressed_bytes, &p->err);
        if (!p->gz)
            return pp_fail(&p->err, "out of memory");
    }
    return raw_route(p, p->magic, p->magic_len);
}

int pprof_parser_feed(pprof_parser *p, const void *data, size_t len)
{
    if (!p)
        return -1;
    if (p->err.set)
        return -1;
    if (p->finished)
        return pp_fail(&p->err, "internal: feed after finish");
    if (len > p->lim.max_input_bytes - p->in_bytes ||
        p->in_bytes > p->lim.max_input_bytes)
        return pp_fail(&p->err,
                       "input exceeds %" PRIu64
                       " bytes (limit; raise with --max-input)",
                       p->lim.max_input_bytes);
    p->in_bytes += len;
    const unsigned char *d = data;
    if (!p->raw_decided) {
        while (len && p->magic_len < 2) {
            p->magic[p->magic_len++] = *d++;
            len--;
        }
        if (p->magic_len < 2)
            return 0;
        if (raw_decide(p) < 0)
            return -1;
    }
    if (!len)
        return 0;
    return raw_route(p, d, len);
}

/* What the text parsers report besides the buckets. */
typedef struct text_result {
    pprof_kind kind;
    uint64_t total;
    int truncated;
    int total_short;
    uint64_t skipped;
    int has_goids;
    uint64_t max_goid;
} text_result;

static int finish_text(pprof_parser *p, text_result *r)
{
    const char *tail;
    size_t tail_len;
    uint64_t tail_lineno;
    int partial = pp_lines_finish(&p->lines, &tail, &tail_len, &tail_lineno);
    memset(r, 0, sizeof(*r));
    if (p->fmt == PP_DETECT_DEBUG1)
        return pp_debug1_finish(p->d1, partial, &r->kind, &r->total,
                                &r->truncated, &r->total_short, &r->skipped);
    r->kind = PPROF_KIND_GOROUTINE;
    pp_debug2_result d2;
    if (pp_debug2_finish(p->d2, tail, tail_len, tail_lineno, &d2) < 0)
        return -1;
    r->truncated = d2.truncated;
    r->skipped = d2.skipped;
    r->has_goids = d2.has_goids != 0;
    r->max_goid = d2.max_goid;
    return 0;
}

pprof_profile *pprof_parser_finish(pprof_parser *p)
{
    if (!p || p->err.set || p->finished)
        return NULL;
    p->finished = 1;
    if (!p->raw_decided && raw_decide(p) < 0)
        return NULL;
    if (p->gz && pp_gunzip_finish(p->gz) < 0)
        return NULL;
    if (p->fmt == PP_DETECT_MORE) {
        char why[128];
        pp_detect d = pp_detect_format(p->det, p->det_len, 1, &p->det_scan,
                                     why, sizeof(why));
        if (choose(p, d, why) < 0)
            return NULL;
        size_t n = p->det_len;
        p->det_len = 0;
        if (n && dispatch(p, p->det, n) < 0)
            return NULL;
    }
    text_result tr;
    memset(&tr, 0, sizeof(tr));
    tr.kind = PPROF_KIND_GOROUTINE;
    int64_t tn = 0;
    pprof_format format;
    if (p->fmt == PP_DETECT_PROTO) {
        format = PPROF_FORMAT_PROTO;
        if (pp_proto_parse(p->b, p->pbuf, p->pbuf_len, p->lim.max_frames,
                           &p->err, &tr.kind, &tn) < 0)
            return NULL;
        free(p->pbuf);
        p->pbuf = NULL;
        p->pbuf_len = p->pbuf_cap = 0;
    } else {
        format = p->fmt == PP_DETECT_DEBUG1 ? PPROF_FORMAT_DEBUG1
                                            : PPROF_FORMAT_DEBUG2;
        if (finish_text(p, &tr) < 0)
            return NULL;
    }
    pprof_profile *prof = pprof_builder_finish(p->b, format, tr.kind, tr.total);
    p->b = NULL;
    if (!prof) {
        pp_fail(&p->err, "out of memory");
        return NULL;
    }
    prof->gzipped = p->gz != NULL;
    prof->truncated = tr.truncated != 0;
    prof->total_short = tr.total_short != 0;
    prof->skipped_lines = tr.skipped;
    prof->has_goids = tr.has_goids != 0;
    prof->max_goid = tr.max_goid;
    prof->time_unix_nanos = tn;
    return prof;
}

static void copy_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen) {
        snprintf(err, errlen, "%s", msg);
    }
}

pprof_profile *pprof_parse_buffer(const void *data, size_t len,
                                  const char *name,
                                  const pprof_limits *limits, char *err,
                                  size_t errlen)
{
    copy_err(err, errlen, "");
    pprof_parser *p = pprof_parser_new(name, limits);
    if (!p) {
        copy_err(err, errlen, "out of memory");
        return NULL;
    }
    pprof_profile *prof = NULL;
    if (pprof_parser_feed(p, data, len) == 0)
        prof = pprof_parser_finish(p);
    if (!prof)
        copy_err(err, errlen, pprof_parser_error(p));
    pprof_parser_free(p);
    return prof;
}

pprof_profile *pprof_parse_file(const char *path, const pprof_limits *limits,
                                char *err, size_t errlen)
{
    copy_err(err, errlen, "");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (err && errlen)
            lw_text_pathf(err, errlen, path, "cannot open: %s", strerror(errno));
        return NULL;
    }
    pprof_parser *p = pprof_parser_new(path, limits);
    unsigned char *buf = malloc(READ_CHUNK);
    pprof_profile *prof = NULL;
    if (!p || !buf) {
        copy_err(err, errlen, "out of memory");
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf, READ_CHUNK);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (err && errlen)
                lw_text_pathf(err, errlen, path, "read error: %s",
                              strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (pprof_parser_feed(p, buf, (size_t)n) < 0) {
            copy_err(err, errlen, pprof_parser_error(p));
            goto out;
        }
    }
    prof = pprof_parser_finish(p);
    if (!prof)
        copy_err(err, errlen, pprof_parser_error(p));
out:
    free(buf);
    pprof_parser_free(p);
    close(fd);
    return prof;
}
