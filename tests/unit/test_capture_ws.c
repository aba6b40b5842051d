/*
 * test_capture_ws.c — RFC 6455 client framing: the handshake accept value,
 * masked client frames of every length class, and the streaming decoder on
 * server frames (fragmented, 126/127 lengths, control frames between
 * fragments, byte-at-a-time delivery, and each kind of bogus frame).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/cap_ws.h"

#include "support.h"

/* ---- a recording consumer ---------------------------------------------- */

typedef struct rec {
    uint8_t data[300000];
    size_t len;
    int firsts, lasts, messages;
    uint8_t first_byte[16];   /* first byte of each message               */
    int controls;
    unsigned ctl_op[8];
    uint8_t ctl_payload[8][126];
    size_t ctl_len[8];
    int stop_after_bytes;     /* >0: ask the decoder to stop             */
} rec;

static int on_data(void *ud, const uint8_t *d, size_t len, bool first,
                   bool last)
{
    rec *r = ud;
    if (first) {
        r->firsts++;
        if (len && r->messages < 16)
            r->first_byte[r->messages] = d[0];
    }
    if (len) {
        assert_true(r->len + len <= sizeof r->data);
        memcpy(r->data + r->len, d, len);
        r->len += len;
    }
    if (last) {
        r->lasts++;
        r->messages++;
    }
    if (r->stop_after_bytes && (int)r->len >= r->stop_after_bytes)
        return 1;
    return 0;
}

static int on_control(void *ud, unsigned op, const uint8_t *p, size_t len)
{
    rec *r = ud;
    if (r->controls < 8) {
        r->ctl_op[r->controls] = op;
        memcpy(r->ctl_payload[r->controls], p, len);
        r->ctl_len[r->controls] = len;
    }
    r->controls++;
    return 0;
}

/* Server frame (unmasked) into out; returns its size. */
static size_t server_frame(uint8_t *out, unsigned op, bool fin,
                           const void *payload, size_t len)
{
    size_t i = ts_ws_server_head(out, op, fin, len);
    if (len)
        memcpy(out + i, payload, len);
    return i + len;
}

static int feed(cap_ws_decoder *d, rec *r, const uint8_t *b, size_t n)
{
    cap_ws_callbacks cb = {on_data, on_control, r};
    return cap_ws_decoder_feed(d, b, n, &cb);
}

/* ---- handshake ---------------------------------------------------------- */

static void test_accept_rfc_example(void **state)
{
    (void)state;
    /* RFC 6455 section 1.3's worked example. */
    char out[29];
    cap_ws_accept_for_key("dGhlIHNhbXBsZSBub25jZQ==", out);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_make_key(void **state)
{
    (void)state;
    char a[25], b[25];
    assert_int_equal(cap_ws_make_key(a), 0);
    assert_int_equal(cap_ws_make_key(b), 0);
    assert_int_equal(strlen(a), 24);
    assert_string_equal(a + 22, "==");
    assert_string_not_equal(a, b);
}

/* ---- encoding ----------------------------------------------------------- */

static void unmask_check(const uint8_t *frame, size_t hlen, const uint8_t *p,
                         size_t len)
{
    const uint8_t *mask = frame + hlen - 4;
    for (size_t i = 0; i < len; i++)
        assert_int_equal(frame[hlen + i] ^ mask[i & 3], p[i]);
}

static void test_encode_small(void **state)
{
    (void)state;
    uint8_t out[64];
    const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    /* RFC 6455 5.7: masked "Hello". */
    size_t n = cap_ws_encode(out, sizeof out, CAP_WS_OP_TEXT, true, "Hello", 5,
                             mask);
    const uint8_t want[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                            0x7f, 0x9f, 0x4d, 0x51, 0x58};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);
}

static void test_encode_lengths(void **state)
{
    (void)state;
    static uint8_t payload[70000], out[70000 + 14];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    uint8_t mask[4];
    assert_int_equal(cap_ws_random_mask(mask), 0);

    size_t n = cap_ws_encode(out, sizeof out, CAP_WS_OP_BINARY, true, payload,
                             125, mask);
    assert_int_equal(n, 2 + 4 + 125);
    assert_int_equal(out[0], 0x82);
    assert_int_equal(out[1], 0x80 | 125);
    unmask_check(out, 6, payload, 125);

    n = cap_ws_encode(out, sizeof out, CAP_WS_OP_BINARY, true, payload, 126,
                      mask);
    assert_int_equal(n, 2 + 2 + 4 + 126);
    assert_int_equal(out[1], 0x80 | 126);
    assert_int_equal(out[2], 0);
    assert_int_equal(out[3], 126);
    unmask_check(out, 8, payload, 126);

    n = cap_ws_encode(out, sizeof out, CAP_WS_OP_BINARY, false, payload, 65535,
                      mask);
    assert_int_equal(n, 8 + 65535);
    assert_int_equal(out[0], 0x02); /* no FIN */
    assert_int_equal(out[2], 0xFF);
    assert_int_equal(out[3], 0xFF);

    n = cap_ws_encode(out, sizeof out, CAP_WS_OP_BINARY, true, payload, 70000,
                      mask);
    assert_int_equal(n, 14 + 70000);
    assert_int_equal(out[1], 0x80 | 127);
    uint64_t l = 0;
    for (int k = 0; k < 8; k++)
        l = (l << 8) | out[2 + k];
    assert_int_equal(l, 70000);
    unmask_check(out, 14, payload, 70000);

    /* Too small a buffer, oversized control frames, bad opcodes. */
    assert_int_equal(cap_ws_encode(out, 10, CAP_WS_OP_BINARY, true, payload,
                                   5, mask), 0);
    assert_int_equal(cap_ws_encode(out, sizeof out, CAP_WS_OP_PING, true,
                                   payload, 126, mask), 0);
    assert_int_equal(cap_ws_encode(out, sizeof out, CAP_WS_OP_CLOSE, false,
                                   payload, 2, mask), 0);
    assert_int_equal(cap_ws_encode(out, sizeof out, 0x3, true, payload, 2,
                                   mask), 0);
}

/* ---- decoding ----------------------------------------------------------- */

static void test_decode_simple_and_port_prefix(void **state)
{
    (void)state;
    uint8_t buf[64];
    /* kubelet's first message on the data channel: channel 0 + port 6060
     * little-endian. */
    const uint8_t msg[] = {0x00, 0xAC, 0x17};
    size_t n = server_frame(buf, CAP_WS_OP_BINARY, true, msg, sizeof msg);
    cap_ws_decoder d;
    cap_ws_decoder_init(&d, 0);
    rec *r = calloc(1, sizeof *r);
    assert_int_equal(feed(&d, r, buf, n), 0);
    assert_int_equal(r->messages, 1);
    assert_int_equal(r->firsts, 1);
    assert_int_equal(r->len, 3);
    assert_int_equal(r->first_byte[0], 0);
    assert_int_equal(r->data[1] | r->data[2] << 8, 6060);
    free(r);
}

static void test_decode_lengths_bytewise(void **state)
{
    (void)state;
    static uint8_t p1[126], p2[70000], buf[80000];
    for (size_t i = 0; i < sizeof p1; i++)
        p1[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof p2; i++)
        p2[i] = (uint8_t)(i * 13);
    size_t n = server_frame(buf, CAP_WS_OP_BINARY, true, p1, sizeof p1);
    n += server_frame(buf + n, CAP_WS_OP_BINARY, true, p2, sizeof p2);
    n += server_frame(buf + n, CAP_WS_OP_BINARY, true, NULL, 0);
    cap_ws_decoder d;
    cap_ws_decoder_init(&d, 0);
    rec *r = calloc(1, sizeof *r);
    /* One byte at a time: header assembly must survive every split. */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(feed(&d, r, buf + i, 1), 0);
    assert_int_equal(r->messages, 3);
    assert_int_equal(r->len, sizeof p1 + sizeof p2);
    assert_memory_equal(r->data, p1, sizeof p1);
    assert_memory_equal(r->data + sizeof p1, p2, sizeof p2);
    free(r);
}

static void test_decode_fragmented_with_ping(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = 0;
    n += server_frame(buf + n, CAP_WS_OP_BINARY, false, "\x00" "ab", 3);
    n += server_frame(buf + n, CAP_WS_OP_PING, true, "hi", 2);
    n += server_frame(buf + n, CAP_WS_OP_CONT, false, "cd", 2);
    n += server_frame(buf + n, CAP_WS_OP_CONT, false, NULL, 0);
    n += server_frame(buf + n, CAP_WS_OP_CONT, true, "ef", 2);
    /* then a message that starts with an empty fragment */
    n += server_frame(buf + n, CAP_WS_OP_BINARY, false, NULL, 0);
    n += server_frame(buf + n, CAP_WS_OP_CONT, true, "\x01" "zz", 3);
    n += server_frame(buf + n, CAP_WS_OP_CLOSE, true, "\x03\xe8" "bye", 5);
    cap_ws_decoder d;
    cap_ws_decoder_init(&d, 0);
    rec *r = calloc(1, sizeof *r);
    assert_int_equal(feed(&d, r, buf, n), 0);
    assert_int_equal(r->messages, 2);
    assert_int_equal(r->firsts, 2);   /* `first` exactly once per message */
    assert_int_equal(r->first_byte[0], 0);
    assert_int_equal(r->first_byte[1], 1);
    assert_int_equal(r->len, 7 + 3);
    assert_memory_equal(r->data, "\x00" "abcdef" "\x01" "zz", 10);
    assert_int_equal(r->controls, 2);
    assert_int_equal(r->ctl_op[0], CAP_WS_OP_PING);
    assert_int_equal(r->ctl_len[0], 2);
    assert_memory_equal(r->ctl_payload[0], "hi", 2);
    assert_int_equal(r->ctl_op[1], CAP_WS_OP_CLOSE);
    unsigned st;
    char reason[32];
    cap_ws_close_reason(r->ctl_payload[1], r->ctl_len[1], &st, reason,
                        sizeof reason);
    assert_int_equal(st, 1000);
    assert_string_equal(reason, "bye");
    cap_ws_close_reason(NULL, 0, &st, reason, sizeof reason);
    assert_int_equal(st, 0);
    free(r);
}

static void expect_error(const uint8_t *b, size_t n, const char *needle)
{
    cap_ws_decoder d;
    cap_ws_decoder_init(&d, 1000);
    rec *r = calloc(1, sizeof *r);
    assert_int_equal(feed(&d, r, b, n), -1);
    assert_non_null(strstr(d.error, needle));
    /* After an error the decoder refuses everything. */
    assert_int_equal(feed(&d, r, (const uint8_t *)"\x82\x00", 2), -1);
    free(r);
}

static void test_decode_bogus(void **state)
{
    (void)state;
    uint8_t b[32];
    /* masked server frame */
    const uint8_t masked[] = {0x82, 0x81, 1, 2, 3, 4, 0x55};
    expect_error(masked, sizeof masked, "masked");
    /* RSV1 set */
    const uint8_t rsv[] = {0xC2, 0x00};
    expect_error(rsv, sizeof rsv, "reserved bits");
    /* reserved opcode */
    const uint8_t op[] = {0x83, 0x00};
    expect_error(op, sizeof op, "reserved opcode");
    /* fragmented control frame */
    const uint8_t fragping[] = {0x09, 0x00};
    expect_error(fragping, sizeof fragping, "fragmented control");
    /* control frame with 126-byte length */
    const uint8_t bigping[] = {0x89, 126, 0, 126};
    expect_error(bigping, sizeof bigping, "longer than 125");
    /* continuation without a message */
    const uint8_t cont[] = {0x80, 0x01, 'x'};
    expect_error(cont, sizeof cont, "continuation");
    /* new data frame inside a fragmented message */
    size_t n = server_frame(b, CAP_WS_OP_BINARY, false, "a", 1);
    n += server_frame(b + n, CAP_WS_OP_BINARY, true, "b", 1);
    expect_error(b, n, "inside a fragmented");
    /* 64-bit length with the top bit */
    const uint8_t huge[] = {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1};
    expect_error(huge, sizeof huge, "top bit");
    /* text frame on the binary protocol */
    const uint8_t text[] = {0x81, 0x01, '0'};
    expect_error(text, sizeof text, "text frame");
    /* message over the limit (1000 in expect_error), across fragments */
    const uint8_t big1[] = {0x02, 126, 0x02, 0x00}; /* 512, no FIN */
    uint8_t twofrags[2 * (4 + 512)];
    memset(twofrags, 'x', sizeof twofrags);
    memcpy(twofrags, big1, 4);
    memcpy(twofrags + 4 + 512, "\x80\x7e\x02\x00", 4);
    expect_error(twofrags, sizeof twofrags, "size limit");
}

static void test_decode_stop(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n = server_frame(buf, CAP_WS_OP_BINARY, true, "abcdefgh", 8);
    assert_int_equal(n, 10);
    cap_ws_decoder d;
    cap_ws_decoder_init(&d, 0);
    rec *r = calloc(1, sizeof *r);
    r->stop_after_bytes = 3;
    assert_int_equal(feed(&d, r, buf, 5), -1);
    assert_string_equal(d.error, ""); /* a stop is not a protocol error */
    assert_true(d.stopped);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_rfc_example),
        cmocka_unit_test(test_make_key),
        cmocka_unit_test(test_encode_small),
        cmocka_unit_test(test_encode_lengths),
        cmocka_unit_test(test_decode_simple_and_port_prefix),
        cmocka_unit_test(test_decode_lengths_bytewise),
        cmocka_unit_test(test_decode_fragmented_with_ping),
        cmocka_unit_test(test_decode_bogus),
        cmocka_unit_test(test_decode_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
