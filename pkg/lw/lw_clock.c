/*
 * lw_clock.c — clocks and condition-variable deadlines (see lw_clock.h).
 * Not for: anything that decides how long to wait; callers own their
 * timeouts.
 */
#include "lw/lw_clock.h"

#include <errno.h>

static int64_t read_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t lw_mono_ms(void) { return read_ms(CLOCK_MONOTONIC); }

int64_t lw_wall_ms(void) { return read_ms(CLOCK_REALTIME); }

int64_t lw_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void lw_deadline_ms(struct timespec *dl, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, dl);
    if (ms <= 0)
        return;
    dl->tv_sec += ms / 1000;
    dl->tv_nsec += (ms % 1000) * 1000000L;
    if (dl->tv_nsec >= 1000000000L) {
        dl->tv_sec++;
        dl->tv_nsec -= 1000000000L;
    }
}

int lw_cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc)
        return rc;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (!rc)
        rc = pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
    return rc;
}

bool lw_cond_wait_flag(pthread_cond_t *cv, pthread_mutex_t *mu,
                       const bool *flag, long ms)
{
    struct timespec dl;
    lw_deadline_ms(&dl, ms);
    pthread_mutex_lock(mu);
    while (!*flag) {
        if (pthread_cond_timedwait(cv, mu, &dl) == ETIMEDOUT)
            break;
    }
    bool seen = *flag;
    pthread_mutex_unlock(mu);
    return seen;
}
