/*
 * fuzz_pprof_proto.c — libFuzzer target for the protobuf decoder, called
 * directly (so inputs need not pass format detection) and through the
 * full parser.  Built and run by hack/fuzz/run.sh.
 */
#include "fuzz_pprof_check.h"

#include "pprof/pprof_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pprof_limits lim;
    fz_limits(&lim);
    pprof_builder *b = pprof_builder_new(&lim);
    FZ_REQUIRE(b != NULL);
    pp_err err;
    memset(&err, 0, sizeof(err));
    err.name = "fuzz";
    pprof_kind kind;
    int64_t tn = 0;
    if (pp_proto_parse(b, data, size, lim.max_frames, &err, &kind, &tn) == 0) {
        FZ_REQUIRE(!err.set);
        pprof_profile *p = pprof_builder_finish(b, PPROF_FORMAT_PROTO, kind, 0);
        FZ_REQUIRE(p != NULL);
        fz_check_profile(p, &lim);
        pprof_profile_free(p);
    } else {
        FZ_REQUIRE(err.set);
        FZ_REQUIRE(strncmp(err.msg, "fuzz: ", 6) == 0);
        FZ_REQUIRE(strchr(err.msg, '\n') == NULL);
        pprof_builder_free(b);
    }
    fz_run(data, size);
    return 0;
}
