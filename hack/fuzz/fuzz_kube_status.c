/*
 * fuzz_kube_status.c — libFuzzer target for the Status error bodies the API
 * server answers with, turned into a sentence and a reason
 * (kube/kube.h's kube_status_decode).  The first input byte picks the HTTP
 * status the body came with; the rest is the body, JSON or not.
 *
 * Asserts: there is always a message, and every message and reason is one
 * printable, terminated line.  The watch stream is fuzz_kube_watch's.
 * Built and run by hack/fuzz/run.sh.
 */
#include "fuzz_require.h"
#include "kube/kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long codes[] = {0,   200, 400, 401, 403, 404, 405, 409, 410,
                             418, 422, 429, 500, 502, 503, 504, 520};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    long code = codes[data[0] % (sizeof codes / sizeof codes[0])];
    const char *body = (const char *)data + 1;
    size_t n = size - 1;

    json_t *status = json_loadb(body, n, 0, NULL);
    char err[300], reason[64];
    memset(err, 0x55, sizeof err);
    memset(reason, 0x55, sizeof reason);
    kube_status_decode(code, status, body, n, err, sizeof err, reason,
                       sizeof reason);
    FZ_REQUIRE(err[0] != '\0');
    fz_check_message(err, sizeof err);
    fz_check_message(reason, sizeof reason);
    json_decref(status);
    return 0;
}
