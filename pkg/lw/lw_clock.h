/*
 * lw_clock.h — the one place leakwatch reads clocks: monotonic
 * milliseconds for intervals, timeouts and back-off; wall time for what is
 * written down (Event and Lease timestamps, evidence names); and deadlines
 * for condition variables that sleep on the monotonic clock, so a wall-clock
 * step (NTP, a VM resumed) neither wakes a waiter early nor keeps it asleep.
 *
 * Not for: formatting times (callers write RFC 3339 or durations where they
 * need them), or a clock tests can set (contain and the controller take a
 * clock function for that and default to these).
 */
#ifndef LW_CLOCK_H
#define LW_CLOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC: only differences mean anything. */
int64_t lw_mono_ms(void);
/* Milliseconds and microseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t lw_wall_ms(void);
int64_t lw_wall_us(void);

/* *dl = now + ms on CLOCK_MONOTONIC, for pthread_cond_timedwait on a
 * condition made by lw_cond_init_monotonic; a negative ms is now. */
void lw_deadline_ms(struct timespec *dl, long ms);

/* pthread_cond_init with CLOCK_MONOTONIC as the timedwait clock; 0 or the
 * pthread error. */
int lw_cond_init_monotonic(pthread_cond_t *cv);

/* Waits up to ms on cv (made by lw_cond_init_monotonic) until *flag, a
 * flag guarded by mu, is set; mu is taken and released here.  Returns the
 * flag as it was last seen under mu. */
bool lw_cond_wait_flag(pthread_cond_t *cv, pthread_mutex_t *mu,
                       const bool *flag, long ms);

#endif
