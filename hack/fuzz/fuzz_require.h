/*
 * fuzz_require.h — what every fuzz target shares: FZ_REQUIRE, which aborts
 * (libFuzzer then reports a crash and keeps the input) when an invariant
 * does not hold, checks of the one-line messages parsers hand back, and the
 * piece size a target uses to feed the same input in pieces.
 *
 * Not for: target-specific invariants (each target states its own).
 * Header-only: each target is built alone by hack/fuzz/run.sh.
 */
#ifndef FUZZ_REQUIRE_H
#define FUZZ_REQUIRE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_REQUIRE(c)                                                      \
    do {                                                                   \
        if (!(c)) {                                                        \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c,          \
                    __FILE__, __LINE__);                                   \
            abort();                                                       \
        }                                                                  \
    } while (0)

/* A message meant for logs, Events and terminals: terminated inside its
 * buffer and free of control bytes (no line breaks, no escape sequences),
 * whatever the input held. */
static inline void fz_check_message(const char *m, size_t cap)
{
    size_t n = strnlen(m, cap);
    FZ_REQUIRE(n < cap);
    /* One branch per message, not per byte: this runs for every line. */
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= ((unsigned char)m[i] < 0x20) | ((unsigned char)m[i] == 0x7F);
    FZ_REQUIRE(!bad);
}

/* Piece size for the second, split feeding of an input: taken from its
 * last byte so that the fuzzer explores it, 1..61. */
static inline size_t fz_step(const uint8_t *data, size_t size)
{
    return size ? 1 + data[size - 1] % 61 : 1;
}

#endif
