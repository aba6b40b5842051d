/*
 * fuzz_pprof_debug1.c — libFuzzer target for the debug=1 text parser.
 * The input follows a "goroutine profile: total N" line, so every input
 * reaches the parser rather than stopping at format detection.  Built and
 * run by hack/fuzz/run.sh.
 */
#include "fuzz_pprof_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char hdr[] = "goroutine profile: total 12\n";
    uint8_t *buf = malloc(sizeof(hdr) - 1 + size);
    if (!buf)
        return 0;
    memcpy(buf, hdr, sizeof(hdr) - 1);
    if (size)
        memcpy(buf + sizeof(hdr) - 1, data, size);
    fz_run(buf, sizeof(hdr) - 1 + size);
    free(buf);
    return 0;
}
