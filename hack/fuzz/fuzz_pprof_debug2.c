/*
 * fuzz_pprof_debug2.c — libFuzzer target for the debug=2 dump parser.
 * The input follows a goroutine header line, so every input reaches the
 * parser rather than stopping at format detection.  Built and run by
 * hack/fuzz/run.sh.
 */
#include "fuzz_pprof_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_run_after("goroutine 1 [running]:\n", data, size);
    return 0;
}
