/*
 * test_lw_grow.c — pkg/lw's append-only array growth: the first size, the
 * doubling (past a whole text appended at once), the array kept when
 * growth is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "lw/lw_grow.h"

static void test_grows_and_keeps(void **state)
{
    (void)state;
    int *a = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(lw_grow(&a, &cap, n, sizeof *a, 4), 0);
        assert_true(n < cap);
        a[n++] = i;
    }
    /* 4, 8, ..., 128: doubled from the first size, never more. */
    assert_int_equal(cap, 128);
    for (int i = 0; i < 100; i++)
        assert_int_equal(a[i], i);
    free(a);
}

static void test_text_buffer(void **state)
{
    (void)state;
    /* Text with its NUL: room for index len + k, doubled past it at once. */
    char *b = NULL;
    size_t cap = 0;
    assert_int_equal(lw_grow(&b, &cap, 100, 1, 16), 0);
    assert_int_equal(cap, 128);
    b[100] = '\0';
    assert_int_equal(lw_grow(&b, &cap, 127, 1, 16), 0);
    assert_int_equal(cap, 128);
    assert_int_equal(lw_grow(&b, &cap, 128, 1, 16), 0);
    assert_int_equal(cap, 256);
    free(b);
}

static void test_room_left_changes_nothing(void **state)
{
    (void)state;
    long *a = malloc(8 * sizeof *a);
    assert_non_null(a);
    long *before = a;
    size_t cap = 8;
    assert_int_equal(lw_grow(&a, &cap, 7, sizeof *a, 16), 0);
    assert_ptr_equal(a, before);
    assert_int_equal(cap, 8);
    free(a);
}

static void test_overflow_refused(void **state)
{
    (void)state;
    char *a = malloc(4);
    assert_non_null(a);
    char *before = a;
    size_t cap = SIZE_MAX / 2 + 1;
    /* A pretend capacity that cannot double: refused, array untouched. */
    assert_int_equal(lw_grow(&a, &cap, cap, 1, 8), -1);
    assert_ptr_equal(a, before);
    assert_int_equal(cap, SIZE_MAX / 2 + 1);
    size_t cap2 = 0;
    double *d = NULL;
    assert_int_equal(lw_grow(&d, &cap2, 0, SIZE_MAX / 2, 4), -1);
    assert_null(d);
    assert_int_equal(cap2, 0);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grows_and_keeps),
        cmocka_unit_test(test_text_buffer),
        cmocka_unit_test(test_room_left_changes_nothing),
        cmocka_unit_test(test_overflow_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
