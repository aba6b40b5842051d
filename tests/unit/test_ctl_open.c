/*
 * test_ctl_open.c — reading back the findings an earlier leakwatch left
 * open: the newest of GoroutineLeak / GoroutineLeakCleared decides, a tie
 * goes to the clear, other reasons are ignored, and an entry is taken once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "controller/ctl_open.h"

static const char *MSG = "+145 goroutines in 26s (338.6/min) vs peer p (14m old): "
                         "main.f chansend.go:40 [chan send] x12 (+12); pattern "
                         "chan-send: buffer the channel";

static void test_newest_event_decides(void **state)
{
    (void)state;
    ctl_open *o = ctl_open_new();
    assert_non_null(o);
    /* Listed in any order: a finding, cleared later. */
    assert_int_equal(ctl_open_note(o, "u1", "GoroutineLeakCleared", 200, "x"), 0);
    assert_int_equal(ctl_open_note(o, "u1", "GoroutineLeak", 100, MSG), 0);
    /* Cleared, then a new episode. */
    assert_int_equal(ctl_open_note(o, "u2", "GoroutineLeak", 300, MSG), 0);
    assert_int_equal(ctl_open_note(o, "u2", "GoroutineLeakCleared", 200, "x"), 0);
    /* A tie: the clear wins. */
    assert_int_equal(ctl_open_note(o, "u3", "GoroutineLeak", 50, MSG), 0);
    assert_int_equal(ctl_open_note(o, "u3", "GoroutineLeakCleared", 50, "x"), 0);
    /* Not ours to judge. */
    assert_int_equal(ctl_open_note(o, "u4", "InvalidAnnotation", 400, "x"), 0);
    assert_int_equal(ctl_open_count(o), 1);

    char pat[32] = "?";
    assert_false(ctl_open_take(o, "u1", pat, sizeof(pat)));
    assert_true(ctl_open_take(o, "u2", pat, sizeof(pat)));
    assert_string_equal(pat, "chan-send");
    assert_false(ctl_open_take(o, "u2", pat, sizeof(pat))); /* once only */
    assert_false(ctl_open_take(o, "u3", pat, sizeof(pat)));
    assert_false(ctl_open_take(o, "u4", pat, sizeof(pat)));
    assert_false(ctl_open_take(o, "nobody", pat, sizeof(pat)));
    ctl_open_free(o);
}

static void test_many_pods_and_reset(void **state)
{
    (void)state;
    ctl_open *o = ctl_open_new();
    assert_non_null(o);
    char uid[32];
    for (int i = 0; i < 500; i++) {
        snprintf(uid, sizeof(uid), "uid-%03d", (i * 7919) % 500);
        assert_int_equal(ctl_open_note(o, uid, "GoroutineLeak", i,
                                       "no pattern in this message"), 0);
    }
    assert_int_equal(ctl_open_count(o), 500);
    char pat[32] = "?";
    assert_true(ctl_open_take(o, "uid-123", pat, sizeof(pat)));
    assert_string_equal(pat, "");
    ctl_open_reset(o);
    assert_int_equal(ctl_open_count(o), 0);
    assert_false(ctl_open_take(o, "uid-124", pat, sizeof(pat)));
    ctl_open_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_newest_event_decides),
        cmocka_unit_test(test_many_pods_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
