/*
 * cap_backoff.c — per-pod exponential backoff with jitter after failed
 * captures, so a broken or overloaded pod is asked less and less often and
 * many pods failing together do not retry in lockstep.
 * Not for: API-server retries (pkg/kube has its own policy).
 */
#include "capture/capture.h"

long cap_backoff_fail(cap_backoff *b, long base_ms, long max_ms,
                      double jitter, int64_t now_ms, double rand01)
{
    if (base_ms < 1)
        base_ms = 1;
    if (max_ms < base_ms)
        max_ms = base_ms;
    if (jitter < 0)
        jitter = 0;
    if (jitter > 1)
        jitter = 1;
    if (rand01 < 0 || rand01 >= 1)
        rand01 = 0.5;
    if (b->failures < UINT32_MAX)
        b->failures++;
    double d = (double)base_ms;
    for (uint32_t i = 1; i < b->failures && d < (double)max_ms; i++)
        d *= 2;
    if (d > (double)max_ms)
        d = (double)max_ms;
    /* Symmetric jitter around the nominal delay, then the cap again so the
     * maximum is a promise. */
    d *= 1.0 + jitter * (2.0 * rand01 - 1.0);
    if (d > (double)max_ms)
        d = (double)max_ms;
    if (d < 1)
        d = 1;
    long delay = (long)d;
    b->next_ms = now_ms + delay;
    return delay;
}

void cap_backoff_ok(cap_backoff *b)
{
    b->failures = 0;
    b->next_ms = 0;
}

long cap_backoff_remaining(const cap_backoff *b, int64_t now_ms)
{
    if (b->next_ms <= now_ms)
        return 0;
    return (long)(b->next_ms - now_ms);
}
