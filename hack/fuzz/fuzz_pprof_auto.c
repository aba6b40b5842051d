/*
 * fuzz_pprof_auto.c — libFuzzer target for the whole streaming parser:
 * format detection, gunzip and every format behind it, with the input
 * fed whole, in pieces and byte by byte.  Built and run by
 * hack/fuzz/run.sh.
 */
#include "fuzz_pprof_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_run(data, size);
    return 0;
}
