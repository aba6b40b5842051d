/*
 * support_ws.c — the WebSocket frame header a test server writes (see
 * support.h), for the tests that play the server side of a port-forward
 * stream or feed the decoder frames. Not for: masking or decoding; that
 * is what the code under test does.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support.h"

size_t ts_ws_server_head(uint8_t *h, unsigned op, bool fin, size_t len)
{
    size_t i = 0;
    h[i++] = (uint8_t)((fin ? 0x80 : 0) | op);
    /* RFC 6455 5.2: 7-bit length, or 126 and 16 bits, or 127 and 64. */
    if (len < 126) {
        h[i++] = (uint8_t)len;
    } else if (len <= 0xFFFF) {
        h[i++] = 126;
        h[i++] = (uint8_t)(len >> 8);
        h[i++] = (uint8_t)len;
    } else {
        h[i++] = 127;
        for (int s = 56; s >= 0; s -= 8)
            h[i++] = (uint8_t)((uint64_t)len >> s);
    }
    return i;
}
