/*
 * pprof_gzip.c — streaming gunzip in front of the format parsers, with a
 * hard cap on decompressed bytes.
 *
 * Go's /debug/pprof/goroutine serves its protobuf gzipped, and people
 * gzip text dumps; either way the decompressed bytes are handed on in
 * 64 KiB pieces as they come out of zlib, so a gzip bomb is stopped the
 * moment it passes the cap instead of after filling memory.  Concatenated
 * gzip members (what `cat a.gz b.gz` makes) are read as one stream.
 *
 * Not for: zlib or raw deflate streams (Go never sends them), or
 * deciding what the decompressed bytes are (pprof_detect.c).
 */
#include "pprof_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <zlib.h>

#define GZ_OUT_CHUNK (64u * 1024u)

struct pp_gunzip {
    z_stream zs;
    int inited;
    int member_ended; /* last member complete; more bytes start another */
    uint64_t in_total, out_total, max_out;
    pp_err *err;
    unsigned char out[GZ_OUT_CHUNK];
};

pp_gunzip *pp_gunzip_new(uint64_t max_out, pp_err *err)
{
    pp_gunzip *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->max_out = max_out;
    g->err = err;
    /* 16 + MAX_WBITS: gzip wrapper only, with its CRC checked by zlib. */
    if (inflateInit2(&g->zs, 16 + MAX_WBITS) != Z_OK) {
        free(g);
        return NULL;
    }
    g->inited = 1;
    return g;
}

void pp_gunzip_free(pp_gunzip *g)
{
    if (!g)
        return;
    if (g->inited)
        inflateEnd(&g->zs);
    free(g);
}

int pp_gunzip_feed(pp_gunzip *g, const unsigned char *data, size_t len,
                   pp_sink_fn sink, void *ctx)
{
    g->zs.next_in = (Bytef *)(uintptr_t)data;
    g->zs.avail_in = 0;
    size_t left = len;
    for (;;) {
        /* zlib counts in uInt; feed huge chunks in pieces. */
        if (g->zs.avail_in == 0 && left) {
            uInt piece = left > ((size_t)1 << 30) ? (uInt)1 << 30 : (uInt)left;
            g->zs.avail_in = piece;
            left -= piece;
        }
        if (g->member_ended) {
            if (g->zs.avail_in == 0)
                return 0;
            if (g->zs.next_in[0] != 0x1f)
                return pp_fail(g->err,
                               "gzip: unexpected data after the compressed "
                               "stream at byte %" PRIu64,
                               g->in_total);
            if (inflateReset(&g->zs) != Z_OK)
                return pp_fail(g->err, "gzip: cannot restart inflate");
            g->member_ended = 0;
        }
        uInt before_in = g->zs.avail_in;
        g->zs.next_out = g->out;
        g->zs.avail_out = sizeof(g->out);
        int rc = inflate(&g->zs, Z_NO_FLUSH);
        g->in_total += before_in - g->zs.avail_in;
        size_t produced = sizeof(g->out) - g->zs.avail_out;
        if (produced) {
            g->out_total += produced;
            if (g->out_total > g->max_out)
                return pp_fail(g->err,
                               "gzip: decompressed size exceeds %" PRIu64
                               " bytes (limit; raise with --max-decompressed)",
                               g->max_out);
            if (sink(ctx, g->out, produced) < 0)
                return -1;
        }
        switch (rc) {
        case Z_STREAM_END:
            g->member_ended = 1;
            continue;
        case Z_OK:
            if (g->zs.avail_out == 0)
                continue; /* more output may be waiting */
            if (g->zs.avail_in == 0 && left == 0)
                return 0;
            continue;
        case Z_BUF_ERROR:
            /* No progress: zlib wants input we do not have yet. */
            if (g->zs.avail_in == 0) {
                if (left == 0)
                    return 0;
                continue;
            }
            return pp_fail(g->err, "gzip: inflate made no progress at byte %" PRIu64,
                           g->in_total);
        default:
            return pp_fail(g->err,
                           "gzip: corrupt compressed data (%s) at byte %" PRIu64,
                           g->zs.msg ? g->zs.msg : "inflate failed",
                           g->in_total);
        }
    }
}

int pp_gunzip_finish(pp_gunzip *g)
{
    if (!g->member_ended)
        return pp_fail(g->err,
                       "gzip: compressed data ends early (truncated) at byte %" PRIu64,
                       g->in_total);
    return 0;
}

