/*
 * fuzz_capture_prom.c — libFuzzer target for the /metrics scanner
 * (capture/capture.h's cap_prom_scan): the input is a Prometheus text
 * exposition as a Go service serves it, scanned for go_goroutines, which
 * is what the capturer asks for.
 *
 * Asserts: a value found is finite and not negative, a failure leaves a
 * one-line printable error, and the same bytes fed in pieces give the
 * same value or the same error.  Built and run by hack/fuzz/run.sh.
 */
#include <math.h>

#include "capture/capture.h"
#include "fuzz_require.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Scans data in pieces of step bytes (0: whole); returns finish's result. */
static int prom_scan(cap_prom_scan *s, const uint8_t *data, size_t size,
                     size_t step)
{
    cap_prom_scan_init(s, "go_goroutines");
    if (!step)
        step = size ? size : 1;
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0 && !s->found; off += step)
        rc = cap_prom_scan_feed(s, data + off,
                                size - off < step ? size - off : step);
    if (rc == 0)
        rc = cap_prom_scan_finish(s);
    if (rc == 0) {
        FZ_REQUIRE(s->found && !s->failed);
        FZ_REQUIRE(isfinite(s->value) && s->value >= 0);
    } else if (s->failed) {
        FZ_REQUIRE(strncmp(s->error, "/metrics: go_goroutines line: ", 30) == 0);
        fz_check_message(s->error, sizeof s->error);
        FZ_REQUIRE(cap_prom_scan_feed(s, data, size) == -1);
    } else {
        FZ_REQUIRE(!s->found);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cap_prom_scan *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    FZ_REQUIRE(a && b);
    int ra = prom_scan(a, data, size, 0);
    int rb = prom_scan(b, data, size, fz_step(data, size));
    FZ_REQUIRE(ra == rb);
    FZ_REQUIRE(a->found == b->found && a->failed == b->failed);
    if (a->found)
        FZ_REQUIRE(a->value == b->value);
    FZ_REQUIRE(strcmp(a->error, b->error) == 0);
    if (size <= 512) {
        FZ_REQUIRE(prom_scan(b, data, size, 1) == ra);
        FZ_REQUIRE(b->found == a->found && (!a->found || a->value == b->value));
    }
    free(a);
    free(b);
    return 0;
}
