/*
 * cap_ws.c — RFC 6455 client framing and the server-frame decoder (see
 * cap_ws.h for why this is hand-written: libcurl 7.88 has no WebSocket).
 * Not for: I/O; the port-forward transport drives the connection.
 */
#include "capture/cap_ws.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int cap_ws_make_key(char out[25])
{
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    /* 16 bytes encode to exactly 24 base64 characters plus the NUL. */
    EVP_EncodeBlock((unsigned char *)out, raw, sizeof raw);
    return 0;
}

void cap_ws_accept_for_key(const char *key, char out[29])
{
    unsigned char digest[SHA_DIGEST_LENGTH];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int dlen = 0;
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, key, strlen(key)) != 1 ||
        EVP_DigestUpdate(ctx, ws_guid, sizeof ws_guid - 1) != 1 ||
        EVP_DigestFinal_ex(ctx, digest, &dlen) != 1 ||
        dlen != SHA_DIGEST_LENGTH) {
        /* Without a digest no server answer can match: an empty expected
         * value makes the handshake check fail closed. */
        out[0] = '\0';
        EVP_MD_CTX_free(ctx);
        return;
    }
    EVP_MD_CTX_free(ctx);
    EVP_EncodeBlock((unsigned char *)out, digest, sizeof digest);
}

int cap_ws_random_mask(uint8_t mask[4])
{
    return RAND_bytes(mask, 4) == 1 ? 0 : -1;
}

static bool is_control(unsigned op) { return (op & 0x8) != 0; }

size_t cap_ws_encode(uint8_t *out, size_t outcap, unsigned opcode, bool fin,
                     const void *payload, size_t len, const uint8_t mask[4])
{
    switch (opcode) {
    case CAP_WS_OP_CONT: case CAP_WS_OP_TEXT: case CAP_WS_OP_BINARY:
        break;
    case CAP_WS_OP_CLOSE: case CAP_WS_OP_PING: case CAP_WS_OP_PONG:
        if (len > 125 || !fin)
            return 0;
        break;
    default:
        return 0;
    }
    size_t hlen = 2 + 4 + (len < 126 ? 0 : len <= 0xFFFF ? 2 : 8);
    if (outcap < hlen || outcap - hlen < len)
        return 0;
    size_t i = 0;
    out[i++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        out[i++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xFFFF) {
        out[i++] = 0x80 | 126;
        out[i++] = (uint8_t)(len >> 8);
        out[i++] = (uint8_t)len;
    } else {
        out[i++] = 0x80 | 127;
        for (int s = 56; s >= 0; s -= 8)
            out[i++] = (uint8_t)((uint64_t)len >> s);
    }
    memcpy(out + i, mask, 4);
    i += 4;
    const uint8_t *p = payload;
    for (size_t k = 0; k < len; k++)
        out[i + k] = p[k] ^ mask[k & 3];
    return i + len;
}

void cap_ws_decoder_init(cap_ws_decoder *d, uint64_t max_message)
{
    memset(d, 0, sizeof *d);
    d->max_message = max_message;
}

static int ws_fail(cap_ws_decoder *d, const char *msg)
{
    d->failed = true;
    snprintf(d->error, sizeof d->error, "websocket protocol error: %s", msg);
    return -1;
}

/* How many header bytes this frame needs, given what we have (>= 2). */
static size_t header_need(const uint8_t *h)
{
    size_t n = 2;
    unsigned l7 = h[1] & 0x7F;
    if (l7 == 126)
        n += 2;
    else if (l7 == 127)
        n += 8;
    if (h[1] & 0x80)
        n += 4;
    return n;
}

/* Validates a complete header and sets up the frame state. */
static int start_frame(cap_ws_decoder *d)
{
    const uint8_t *h = d->hdr;
    unsigned op = h[0] & 0x0F;
    bool fin = (h[0] & 0x80) != 0;
    if (h[0] & 0x70)
        return ws_fail(d, "reserved bits set (no extension was negotiated)");
    if (h[1] & 0x80)
        return ws_fail(d, "server frame is masked");
    uint64_t len = h[1] & 0x7F;
    if (len == 126) {
        len = ((uint64_t)h[2] << 8) | h[3];
    } else if (len == 127) {
        len = 0;
        for (int k = 0; k < 8; k++)
            len = (len << 8) | h[2 + k];
        if (len >> 63)
            return ws_fail(d, "64-bit payload length has its top bit set");
    }
    switch (op) {
    case CAP_WS_OP_CLOSE: case CAP_WS_OP_PING: case CAP_WS_OP_PONG:
        if (!fin)
            return ws_fail(d, "fragmented control frame");
        if (len > 125)
            return ws_fail(d, "control frame longer than 125 bytes");
        d->ctl_have = 0;
        break;
    case CAP_WS_OP_BINARY:
        if (d->in_message)
            return ws_fail(d, "new data frame inside a fragmented message");
        d->in_message = true;
        d->message_started = false;
        d->message_bytes = 0;
        break;
    case CAP_WS_OP_CONT:
        if (!d->in_message)
            return ws_fail(d, "continuation frame without a message");
        break;
    case CAP_WS_OP_TEXT:
        return ws_fail(d, "text frame on the binary channel protocol");
    default: {
        char m[48];
        snprintf(m, sizeof m, "reserved opcode 0x%X", op);
        return ws_fail(d, m);
    }
    }
    if (!is_control(op)) {
        if (d->max_message && len > d->max_message - d->message_bytes)
            return ws_fail(d, "message exceeds the size limit");
        d->message_bytes += len;
    }
    d->opcode = op;
    d->fin = fin;
    d->remaining = len;
    d->in_payload = true;
    return 0;
}

/* Called when a frame's payload is complete. */
static int end_frame(cap_ws_decoder *d, const cap_ws_callbacks *cb)
{
    d->in_payload = false;
    d->hdr_have = 0;
    if (is_control(d->opcode)) {
        if (cb->on_control &&
            cb->on_control(cb->ud, d->opcode, d->ctl, d->ctl_have)) {
            d->stopped = true;
            return -1;
        }
        return 0;
    }
    if (d->fin) {
        bool first = !d->message_started;
        d->in_message = false;
        d->message_started = false;
        if (cb->on_data && cb->on_data(cb->ud, NULL, 0, first, true)) {
            d->stopped = true;
            return -1;
        }
    }
    return 0;
}

int cap_ws_decoder_feed(cap_ws_decoder *d, const uint8_t *data, size_t len,
                        const cap_ws_callbacks *cb)
{
    if (d->failed || d->stopped)
        return -1;
    size_t i = 0;
    while (i < len || (d->in_payload && d->remaining == 0)) {
        if (!d->in_payload) {
            /* Assemble the header byte by byte up to its known length. */
            while (i < len && (d->hdr_have < 2 ||
                               d->hdr_have < header_need(d->hdr)))
                d->hdr[d->hdr_have++] = data[i++];
            if (d->hdr_have < 2 || d->hdr_have < header_need(d->hdr))
                return 0;
            if (start_frame(d))
                return -1;
            continue;
        }
        if (d->remaining == 0) {
            if (end_frame(d, cb))
                return -1;
            continue;
        }
        size_t take = len - i;
        if ((uint64_t)take > d->remaining)
            take = (size_t)d->remaining;
        if (is_control(d->opcode)) {
            memcpy(d->ctl + d->ctl_have, data + i, take);
            d->ctl_have += take;
        } else {
            bool first = !d->message_started;
            bool last = d->fin && take == d->remaining;
            d->message_started = true;
            if (last) {
                d->in_message = false;
                d->message_started = false;
            }
            if (cb->on_data && cb->on_data(cb->ud, data + i, take, first,
                                           last)) {
                d->stopped = true;
                return -1;
            }
            if (last) {
                /* Already reported as last: finish the frame silently. */
                d->in_payload = false;
                d->hdr_have = 0;
                i += take;
                continue;
            }
        }
        d->remaining -= take;
        i += take;
    }
    return 0;
}

void cap_ws_close_reason(const uint8_t *payload, size_t len, unsigned *status,
                         char *reason, size_t reasonlen)
{
    *status = len >= 2 ? ((unsigned)payload[0] << 8 | payload[1]) : 0;
    size_t o = 0;
    if (reasonlen == 0)
        return;
    for (size_t k = 2; k < len && o + 1 < reasonlen; k++) {
        unsigned char ch = payload[k];
        reason[o++] = (ch >= 0x20 && ch != 0x7F) ? (char)ch : '?';
    }
    reason[o] = '\0';
}
