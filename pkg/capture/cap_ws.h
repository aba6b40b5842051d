/*
 * cap_ws.h — RFC 6455 WebSocket client framing: the opening-handshake key
 * and its expected accept value, masked client frames, and a streaming
 * decoder for server frames.
 *
 * Written by hand because the libcurl we build against (7.88) has no
 * WebSocket support (it arrived, experimental, in 8.x), and the port-forward
 * transport needs only the small client half of the protocol.  SHA-1, base64
 * and random masks come from OpenSSL.
 *
 * Pure byte work: no sockets, no allocation.  The port-forward transport
 * (cap_portforward.c) owns the connection and feeds bytes through here.
 * Not for: extensions (permessage-deflate is never offered), text-frame
 * UTF-8 validation (Kubernetes' binary channel protocol sends binary
 * frames only), or the server side.
 */
#ifndef CAP_WS_H
#define CAP_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    CAP_WS_OP_CONT = 0x0,
    CAP_WS_OP_TEXT = 0x1,
    CAP_WS_OP_BINARY = 0x2,
    CAP_WS_OP_CLOSE = 0x8,
    CAP_WS_OP_PING = 0x9,
    CAP_WS_OP_PONG = 0xA,
};

/* Status codes we send or name in messages. */
enum {
    CAP_WS_CLOSE_NORMAL = 1000,
    CAP_WS_CLOSE_PROTOCOL = 1002,
};

/* Largest client frame header: 2 + 8 (64-bit length) + 4 (mask). */
#define CAP_WS_MAX_HEADER 14

/* A fresh Sec-WebSocket-Key (16 random bytes, base64: 24 chars + NUL).
 * 0 on success, -1 when the random generator fails. */
int cap_ws_make_key(char out[25]);
/* The Sec-WebSocket-Accept a correct server answers for key:
 * base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")). */
void cap_ws_accept_for_key(const char *key, char out[29]);

/* Encodes one client frame (always masked, as RFC 6455 5.3 requires) into
 * out.  Returns the bytes written, or 0 when out is too small (it needs
 * CAP_WS_MAX_HEADER + len) or opcode/len are invalid (control frames carry
 * at most 125 bytes).  mask is 4 bytes; use cap_ws_random_mask. */
size_t cap_ws_encode(uint8_t *out, size_t outcap, unsigned opcode, bool fin,
                     const void *payload, size_t len, const uint8_t mask[4]);
int cap_ws_random_mask(uint8_t mask[4]);

/*
 * Streaming decoder for server frames.  Payload bytes are handed out as
 * they arrive, so a frame's size never costs memory; control frames (at
 * most 125 bytes) are collected and delivered whole.
 *
 * Data messages: on_data receives the payload of each data frame with
 * `first` set for the first bytes of a message (so a caller that keys on a
 * message's leading byte, like the channel protocol, sees it exactly once
 * even when the message is fragmented) and `last` on the final bytes of the
 * final fragment.  Zero-length calls happen only to signal `first`/`last`.
 *
 * Protocol errors (the decoder then refuses further input): masked server
 * frames, reserved bits, reserved opcodes, fragmented or oversized control
 * frames, a continuation with no message started, a new data frame inside
 * a fragmented message, 64-bit lengths with the top bit set, text frames
 * (the binary channel protocol never sends them), a message longer than
 * max_message.
 */
typedef struct cap_ws_callbacks {
    /* Return 0 to continue, non-zero to stop (feed returns -1 without
     * setting a protocol error: the caller knows why it stopped). */
    int (*on_data)(void *ud, const uint8_t *data, size_t len, bool first,
                   bool last);
    /* CLOSE, PING or PONG with its (unmasked) payload. */
    int (*on_control)(void *ud, unsigned opcode, const uint8_t *payload,
                      size_t len);
    void *ud;
} cap_ws_callbacks;

typedef struct cap_ws_decoder {
    /* header being assembled */
    uint8_t hdr[CAP_WS_MAX_HEADER];
    size_t hdr_have;
    /* current frame */
    bool in_payload;
    bool fin;
    unsigned opcode;
    uint64_t remaining;
    /* message state */
    bool in_message;       /* a data message started and has not ended   */
    bool message_started;  /* `first` already delivered for it           */
    uint64_t message_bytes;
    uint64_t max_message;  /* 0: unlimited                                */
    /* control frame being collected */
    uint8_t ctl[125];
    size_t ctl_have;
    bool failed;
    bool stopped;          /* a callback asked to stop                    */
    char error[160];
} cap_ws_decoder;

void cap_ws_decoder_init(cap_ws_decoder *d, uint64_t max_message);
/* 0 when all of data was consumed; -1 on a protocol error (d->error says
 * what) or when a callback returned non-zero (d->error is empty). */
int cap_ws_decoder_feed(cap_ws_decoder *d, const uint8_t *data, size_t len,
                        const cap_ws_callbacks *cb);

/* Decodes a CLOSE payload: status (0 when absent) and reason text copied
 * into reason (always terminated; non-printable bytes replaced). */
void cap_ws_close_reason(const uint8_t *payload, size_t len, unsigned *status,
                         char *reason, size_t reasonlen);

#endif
