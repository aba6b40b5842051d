/*
 * fuzz_capture_ws.c — libFuzzer target for the WebSocket frame decoder of
 * the port-forward transport (capture/cap_ws.h): the input is the byte
 * stream a server sends after the handshake.
 *
 * Asserts: the callbacks follow the documented message protocol (`first`
 * once per message before its bytes, `last` ends it, zero-length calls
 * only to signal either), control payloads fit in 125 bytes, a size limit
 * holds, CLOSE reasons decode to printable text, errors are one printable
 * line, and the same bytes fed in pieces give the same callbacks and the
 * same outcome.  Built and run by hack/fuzz/run.sh.
 */
#include "capture/cap_ws.h"
#include "fuzz_rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct ws_run {
    fz_rec rec;
    bool in_msg;
    uint64_t msg_bytes;
    uint64_t limit;
} ws_run;

static int on_data(void *ud, const uint8_t *d, size_t len, bool first,
                   bool last)
{
    ws_run *r = ud;
    FZ_REQUIRE(len > 0 || first || last);
    if (first) {
        FZ_REQUIRE(!r->in_msg);
        r->in_msg = true;
        r->msg_bytes = 0;
        fz_rec_byte(&r->rec, 'M');
    }
    FZ_REQUIRE(r->in_msg);
    r->msg_bytes += len;
    FZ_REQUIRE(r->limit == 0 || r->msg_bytes <= r->limit);
    fz_rec_add(&r->rec, d, len);
    if (last) {
        r->in_msg = false;
        fz_rec_byte(&r->rec, 'E');
    }
    return 0;
}

static int on_control(void *ud, unsigned opcode, const uint8_t *p, size_t len)
{
    ws_run *r = ud;
    FZ_REQUIRE(opcode == CAP_WS_OP_CLOSE || opcode == CAP_WS_OP_PING ||
               opcode == CAP_WS_OP_PONG);
    FZ_REQUIRE(len <= 125);
    fz_rec_byte(&r->rec, 'C');
    fz_rec_byte(&r->rec, (uint8_t)opcode);
    fz_rec_byte(&r->rec, (uint8_t)len);
    fz_rec_add(&r->rec, p, len);
    if (opcode == CAP_WS_OP_CLOSE) {
        unsigned status;
        char reason[64];
        cap_ws_close_reason(p, len, &status, reason, sizeof reason);
        FZ_REQUIRE(status <= 0xFFFF);
        FZ_REQUIRE(strlen(reason) < sizeof reason);
        for (const unsigned char *c = (const unsigned char *)reason; *c; c++)
            FZ_REQUIRE(*c >= 0x20 && *c != 0x7F);
    }
    return 0;
}

/* Feeds data in pieces of step bytes (0: whole); returns feed's result. */
static int ws_feed(ws_run *r, cap_ws_decoder *d, const uint8_t *data,
                   size_t size, size_t step)
{
    cap_ws_callbacks cb = {on_data, on_control, r};
    cap_ws_decoder_init(d, r->limit);
    if (!step)
        step = size ? size : 1;
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += step)
        rc = cap_ws_decoder_feed(d, data + off,
                                 size - off < step ? size - off : step, &cb);
    if (size == 0)
        rc = cap_ws_decoder_feed(d, data, 0, &cb);
    if (rc != 0) {
        FZ_REQUIRE(d->failed);
        FZ_REQUIRE(strncmp(d->error, "websocket protocol error: ", 26) == 0);
        fz_check_message(d->error, sizeof d->error);
        /* a failed decoder refuses what follows */
        FZ_REQUIRE(cap_ws_decoder_feed(d, data, size, &cb) == -1);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Unlimited as the transport runs it, then with a small message limit
     * so that the limit path is reached. */
    static const uint64_t limits[] = {0, 300};
    for (size_t li = 0; li < sizeof limits / sizeof limits[0]; li++) {
        ws_run a = {.limit = limits[li]}, b = {.limit = limits[li]};
        cap_ws_decoder da, db;
        int ra = ws_feed(&a, &da, data, size, 0);
        int rb = ws_feed(&b, &db, data, size, fz_step(data, size));
        FZ_REQUIRE(ra == rb);
        FZ_REQUIRE(fz_rec_same(&a.rec, &b.rec));
        FZ_REQUIRE(strcmp(da.error, db.error) == 0);
        FZ_REQUIRE(da.in_message == db.in_message);
        if (size <= 256) {
            ws_run c = {.limit = limits[li]};
            cap_ws_decoder dc;
            FZ_REQUIRE(ws_feed(&c, &dc, data, size, 1) == ra);
            FZ_REQUIRE(fz_rec_same(&a.rec, &c.rec));
            fz_rec_free(&c.rec);
        }
        fz_rec_free(&a.rec);
        fz_rec_free(&b.rec);
    }
    return 0;
}
