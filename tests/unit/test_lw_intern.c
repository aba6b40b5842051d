/*
 * test_lw_intern.c — pkg/lw's shared values: one copy per content, counts
 * that keep a value alive until a sweep, a released value brought back by
 * a get before the sweep, the sweep that runs itself as the table doubles,
 * and values of any bytes (NULs inside, structs) read back intact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lw/lw_intern.h"

static void test_one_copy_per_content(void **state)
{
    (void)state;
    lw_intern *t = lw_intern_new();
    assert_non_null(t);
    char a[] = "kwok-node-0", b[] = "kwok-node-0";
    const char *x = lw_intern_str(t, a), *y = lw_intern_str(t, b);
    assert_ptr_equal(x, y);
    assert_true(x != a);
    assert_string_equal(x, "kwok-node-0");
    assert_true(lw_intern_str(t, "kwok-node-1") != x);
    assert_string_equal(lw_intern_str(t, NULL), "");
    assert_ptr_equal(lw_intern_str(t, ""), lw_intern_str(t, NULL));

    /* Bytes with NULs inside, and a struct, come back whole and aligned. */
    struct {
        double d;
        char s[7];
    } v;
    memset(&v, 0, sizeof v); /* the padding is content too */
    v.d = 1.5;
    memcpy(v.s, "a\0b", 4);
    const void *iv = lw_intern_get(t, &v, sizeof v);
    assert_non_null(iv);
    assert_int_equal((uintptr_t)iv % _Alignof(max_align_t), 0);
    assert_memory_equal(iv, &v, sizeof v);
    const char ab[] = {'a', 0, 'b'};
    const char *iab = lw_intern_get(t, ab, 3);
    assert_true(iab != lw_intern_get(t, "a", 1));
    assert_memory_equal(iab, ab, 3);
    assert_int_equal(iab[3], '\0');

    lw_intern_stats st;
    lw_intern_stats_get(t, &st);
    assert_int_equal(st.values, 6); /* node-0, node-1, "", v, ab, "a" */
    lw_intern_free(t);
}

static void test_counts_and_sweep(void **state)
{
    (void)state;
    lw_intern *t = lw_intern_new();
    const char *x = lw_intern_str(t, "orders:1.4.2");
    assert_ptr_equal(lw_intern_ref(x), x); /* two holders */
    lw_intern_put(x);
    assert_int_equal(lw_intern_sweep(t), 0); /* one holder left */
    lw_intern_put(x);
    /* Released but not swept: a get brings the same copy back. */
    assert_ptr_equal(lw_intern_str(t, "orders:1.4.2"), x);
    lw_intern_put(x);
    assert_int_equal(lw_intern_sweep(t), 1);
    lw_intern_stats st;
    lw_intern_stats_get(t, &st);
    assert_int_equal(st.values, 0);
    assert_int_equal(st.bytes, 0);
    lw_intern_put(NULL);

    /* Values released as fast as they come never pile up: a get sweeps
     * once the table has doubled since the last sweep. */
    size_t most = 0;
    const char *held = lw_intern_str(t, "held");
    for (int i = 0; i < 10000; i++) {
        char s[32];
        snprintf(s, sizeof s, "pod-%d", i);
        const char *v = lw_intern_str(t, s);
        assert_string_equal(v, s);
        lw_intern_put(v);
        lw_intern_stats_get(t, &st);
        if (st.values > most)
            most = st.values;
    }
    assert_true(most <= 64 + 1);
    assert_string_equal(held, "held");
    lw_intern_put(held);
    lw_intern_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_copy_per_content),
        cmocka_unit_test(test_counts_and_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
