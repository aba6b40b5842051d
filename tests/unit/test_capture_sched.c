/*
 * test_capture_sched.c — per-pod backoff (growth, jitter bounds, cap,
 * reset) and the capture scheduler's global and per-node caps, including
 * waiting, timing out and being woken by a release from another thread.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/capture.h"

static void test_backoff_growth_and_cap(void **state)
{
    (void)state;
    cap_backoff b = {0};
    /* rand01 = 0.5 is the jitter's midpoint: the nominal delay. */
    long want[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        long d = cap_backoff_fail(&b, 1000, 30000, 0.2, 100000, 0.5);
        assert_int_equal(d, want[i]);
        assert_int_equal(b.failures, i + 1);
        assert_int_equal(cap_backoff_remaining(&b, 100000), d);
    }
    assert_int_equal(cap_backoff_remaining(&b, 100000 + 30000), 0);
    assert_int_equal(cap_backoff_remaining(&b, 100000 + 29999), 1);
    cap_backoff_ok(&b);
    assert_int_equal(b.failures, 0);
    assert_int_equal(cap_backoff_remaining(&b, 0), 0);
    /* Many failures never overflow. */
    for (int i = 0; i < 200; i++)
        assert_true(cap_backoff_fail(&b, 1000, 30000, 0.2, 0, 0.99) <= 30000);
}

static void test_backoff_jitter_bounds(void **state)
{
    (void)state;
    for (int k = 0; k < 100; k++) {
        double r = k / 100.0;
        cap_backoff b = {0};
        cap_backoff_fail(&b, 1000, 60000, 0.2, 0, 0.5);
        long d = cap_backoff_fail(&b, 1000, 60000, 0.2, 0, r); /* nominal 2000 */
        assert_true(d >= 1600 && d <= 2400);
        cap_backoff c = {.failures = 10};
        d = cap_backoff_fail(&c, 1000, 60000, 0.2, 0, r);
        assert_true(d <= 60000); /* the cap is a promise, jitter or not */
        assert_true(d >= 48000);
    }
    /* Different random draws give different delays (decorrelation). */
    cap_backoff a = {0}, b = {0};
    assert_int_not_equal(cap_backoff_fail(&a, 1000, 60000, 0.2, 0, 0.1),
                         cap_backoff_fail(&b, 1000, 60000, 0.2, 0, 0.9));
    /* Nonsense inputs are clamped. */
    cap_backoff z = {0};
    assert_true(cap_backoff_fail(&z, 0, -5, -1, 0, 7) >= 1);
}

static void test_sched_caps(void **state)
{
    (void)state;
    cap_scheduler *s = cap_scheduler_new(3, 2);
    assert_true(cap_scheduler_try_acquire(s, "n1"));
    assert_true(cap_scheduler_try_acquire(s, "n1"));
    assert_false(cap_scheduler_try_acquire(s, "n1")); /* per-node cap */
    assert_true(cap_scheduler_try_acquire(s, "n2"));
    assert_false(cap_scheduler_try_acquire(s, "n3")); /* global cap */
    assert_int_equal(cap_scheduler_in_flight(s, NULL), 3);
    assert_int_equal(cap_scheduler_in_flight(s, "n1"), 2);
    assert_int_equal(cap_scheduler_in_flight(s, "n2"), 1);
    assert_int_equal(cap_scheduler_in_flight(s, "n3"), 0);
    cap_scheduler_release(s, "n1");
    assert_false(cap_scheduler_try_acquire(s, "n2") &&
                 cap_scheduler_try_acquire(s, "n2"));
    assert_int_equal(cap_scheduler_in_flight(s, "n2"), 2);
    assert_int_equal(cap_scheduler_in_flight(s, NULL), 3);
    /* Releasing what was never taken changes nothing. */
    cap_scheduler_release(s, "nope");
    assert_int_equal(cap_scheduler_in_flight(s, NULL), 3);
    cap_scheduler_release(s, "n1");
    cap_scheduler_release(s, "n2");
    cap_scheduler_release(s, "n2");
    assert_int_equal(cap_scheduler_in_flight(s, NULL), 0);
    assert_int_equal(cap_scheduler_in_flight(s, "n1"), 0);
    /* NULL node counts as the "" node. */
    assert_true(cap_scheduler_try_acquire(s, NULL));
    assert_int_equal(cap_scheduler_in_flight(s, ""), 1);
    cap_scheduler_release(s, NULL);
    cap_scheduler_free(s);

    /* No per-node cap. */
    s = cap_scheduler_new(5, 0);
    for (int i = 0; i < 5; i++)
        assert_true(cap_scheduler_try_acquire(s, "n"));
    assert_false(cap_scheduler_try_acquire(s, "n"));
    for (int i = 0; i < 5; i++)
        cap_scheduler_release(s, "n");
    cap_scheduler_free(s);
}

static long elapsed_ms(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static void *release_later(void *arg)
{
    usleep(150 * 1000);
    cap_scheduler_release(arg, "n1");
    return NULL;
}

static void test_sched_wait(void **state)
{
    (void)state;
    cap_scheduler *s = cap_scheduler_new(10, 1);
    assert_int_equal(cap_scheduler_acquire(s, "n1", 0), 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(cap_scheduler_acquire(s, "n1", 100), -1); /* times out */
    long e = elapsed_ms(&t0);
    assert_true(e >= 95 && e < 2000);
    /* Other nodes are not blocked by n1. */
    assert_int_equal(cap_scheduler_acquire(s, "n2", 0), 0);
    pthread_t th;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_create(&th, NULL, release_later, s);
    assert_int_equal(cap_scheduler_acquire(s, "n1", 5000), 0);
    e = elapsed_ms(&t0);
    assert_true(e >= 100 && e < 4000); /* woken by the release */
    pthread_join(th, NULL);
    assert_int_equal(cap_scheduler_in_flight(s, NULL), 2);
    cap_scheduler_release(s, "n1");
    cap_scheduler_release(s, "n2");
    cap_scheduler_free(s);
}

/* Many threads hammering one scheduler never exceed its caps. */
typedef struct hammer {
    cap_scheduler *s;
    pthread_mutex_t mu;
    int cur[3], max[3], total, maxtotal;
} hammer;

static void *hammer_thread(void *arg)
{
    hammer *h = arg;
    static const char *nodes[] = {"a", "b", "c"};
    for (int i = 0; i < 200; i++) {
        int n = i % 3;
        assert_int_equal(cap_scheduler_acquire(h->s, nodes[n], -1), 0);
        pthread_mutex_lock(&h->mu);
        h->cur[n]++;
        h->total++;
        if (h->cur[n] > h->max[n])
            h->max[n] = h->cur[n];
        if (h->total > h->maxtotal)
            h->maxtotal = h->total;
        pthread_mutex_unlock(&h->mu);
        usleep(100);
        pthread_mutex_lock(&h->mu);
        h->cur[n]--;
        h->total--;
        pthread_mutex_unlock(&h->mu);
        cap_scheduler_release(h->s, nodes[n]);
    }
    return NULL;
}

static void test_sched_threads(void **state)
{
    (void)state;
    hammer h;
    memset(&h, 0, sizeof h);
    pthread_mutex_init(&h.mu, NULL);
    h.s = cap_scheduler_new(4, 2);
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, hammer_thread, &h);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    assert_true(h.maxtotal <= 4);
    for (int n = 0; n < 3; n++)
        assert_true(h.max[n] <= 2);
    assert_true(h.maxtotal >= 2); /* it did run things concurrently */
    assert_int_equal(cap_scheduler_in_flight(h.s, NULL), 0);
    cap_scheduler_free(h.s);
    pthread_mutex_destroy(&h.mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_growth_and_cap),
        cmocka_unit_test(test_backoff_jitter_bounds),
        cmocka_unit_test(test_sched_caps),
        cmocka_unit_test(test_sched_wait),
        cmocka_unit_test(test_sched_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
