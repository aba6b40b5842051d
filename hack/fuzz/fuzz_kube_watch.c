/*
 * fuzz_kube_watch.c — libFuzzer target for the watch stream the API server
 * sends: the stream framed into lines (kube_line_framer) and each line
 * decoded into an event (kube_watch_parse_line).  The whole input is the
 * stream; its last byte also picks the size of the pieces.
 *
 * Asserts: watch events carry a terminated resourceVersion, refused lines
 * say why in one printable line, and the stream framed in pieces gives the
 * same lines, byte for byte, as framed whole.  Status bodies are
 * fuzz_kube_status's.  Built and run by hack/fuzz/run.sh.
 */
#include "fuzz_rec.h"
#include <stdbool.h>
#include "kube/kube.h"
#include "kube/kube_watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A framing pass: the lines it gave, in order, and whether each is also
 * decoded.  The pass in pieces only records its lines: the decoder is a
 * function of the line, so equal lines are equal events, and decoding
 * them twice halved the executions per second. */
typedef struct pass {
    fz_rec lines;
    bool decode;
} pass;

static void decode_line(const char *line, size_t len)
{
    kube_watch_event ev;
    char err[256];
    err[0] = '\0';
    kube_watch_line_kind k = kube_watch_parse_line(line, len, &ev, err,
                                                   sizeof err);
    if (k == KUBE_WLINE_EVENT) {
        FZ_REQUIRE(ev.object != NULL);
        size_t n = strnlen(ev.resource_version, sizeof ev.resource_version);
        FZ_REQUIRE(n > 0 && n < sizeof ev.resource_version);
        FZ_REQUIRE(kube_watch_event_type_name(ev.type) != NULL);
    } else {
        FZ_REQUIRE(ev.object == NULL);
        FZ_REQUIRE(err[0] != '\0');
        fz_check_message(err, sizeof err);
    }
    kube_watch_event_clear(&ev);
}

static int on_line(const char *line, size_t len, void *ud)
{
    pass *p = ud;
    FZ_REQUIRE(line[len] == '\0');
    FZ_REQUIRE(len > 0 && memchr(line, '\n', len) == NULL);
    uint32_t n = (uint32_t)len;
    fz_rec_add(&p->lines, &n, sizeof n);
    fz_rec_add(&p->lines, line, len);
    if (p->decode)
        decode_line(line, len);
    return 0;
}

/* Frames data in pieces of step bytes (0: whole), then ends the stream. */
static int frame(pass *p, const uint8_t *data, size_t size, size_t step)
{
    kube_line_framer *f = kube_line_framer_new(4096);
    FZ_REQUIRE(f != NULL);
    char err[200] = "";
    if (!step)
        step = size ? size : 1;
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += step)
        rc = kube_line_framer_feed(f, (const char *)data + off,
                                   size - off < step ? size - off : step,
                                   on_line, p, err, sizeof err);
    FZ_REQUIRE(rc == 0 || rc == -1);
    if (rc == -1) {
        FZ_REQUIRE(err[0] != '\0');
        fz_check_message(err, sizeof err);
    } else {
        FZ_REQUIRE(kube_line_framer_pending(f) <= 4096);
    }
    kube_line_framer_free(f);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pass a = {.decode = true}, b = {.decode = false};
    int ra = frame(&a, data, size, 0);
    int rb = frame(&b, data, size, fz_step(data, size));
    FZ_REQUIRE(ra == rb);
    if (ra == 0)
        FZ_REQUIRE(fz_rec_same(&a.lines, &b.lines));
    else
        FZ_REQUIRE(fz_rec_prefix(&a.lines, &b.lines));
    fz_rec_free(&a.lines);
    fz_rec_free(&b.lines);
    return 0;
}
