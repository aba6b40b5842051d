/*
 * test_lw_str.c — pkg/lw's string copies: percent-encoding for URL
 * segments and query values, the bounded copy, the NULL-tolerant strdup,
 * the counted copy, the bounded append.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lw/lw_str.h"

static void test_pct_encode(void **state)
{
    (void)state;
    char out[64];
    lw_pct_encode("app=web,tier in (a,b)", out, sizeof out);
    assert_string_equal(out, "app%3Dweb%2Ctier%20in%20%28a%2Cb%29");
    lw_pct_encode("A-z_0.9~", out, sizeof out);
    assert_string_equal(out, "A-z_0.9~");
    lw_pct_encode("é", out, sizeof out);
    assert_string_equal(out, "%C3%A9");
    /* Truncation never leaves half an escape. */
    char small[6];
    lw_pct_encode("ab=cd", small, sizeof small);
    assert_string_equal(small, "ab%3D");
    char tiny[5];
    lw_pct_encode("ab=cd", tiny, sizeof tiny);
    assert_string_equal(tiny, "ab");
    lw_pct_encode(NULL, out, sizeof out);
    assert_string_equal(out, "");
}

static void test_strlcpy(void **state)
{
    (void)state;
    char out[4];
    lw_strlcpy(out, "abcdef", sizeof out);
    assert_string_equal(out, "abc");
    lw_strlcpy(out, "ab", sizeof out);
    assert_string_equal(out, "ab");
    lw_strlcpy(out, NULL, sizeof out);
    assert_string_equal(out, "");
    out[0] = 'x';
    lw_strlcpy(out, "abc", 0); /* no room: nothing written */
    assert_int_equal(out[0], 'x');
}

static void test_strdup(void **state)
{
    (void)state;
    assert_null(lw_strdup(NULL));
    char *d = lw_strdup("pod");
    assert_non_null(d);
    assert_string_equal(d, "pod");
    free(d);
}

static void test_memdup(void **state)
{
    (void)state;
    /* Only n bytes are copied, NULs inside included, and the copy is
     * terminated one past them. */
    char *d = lw_memdup("ab\0cdXYZ", 5);
    assert_non_null(d);
    assert_memory_equal(d, "ab\0cd", 5);
    assert_int_equal(d[5], '\0');
    free(d);
    d = lw_memdup(NULL, 0);
    assert_non_null(d);
    assert_string_equal(d, "");
    free(d);
}

static void test_append(void **state)
{
    (void)state;
    char buf[8];
    size_t len = 0;
    buf[0] = '\0';
    lw_append(buf, sizeof buf, &len, "abc", 3);
    assert_string_equal(buf, "abc");
    assert_int_equal(len, 3);
    /* Only what fits is kept, the first part, and it stays terminated. */
    lw_append(buf, sizeof buf, &len, "defghij", 7);
    assert_string_equal(buf, "abcdefg");
    assert_int_equal(len, 7);
    lw_append(buf, sizeof buf, &len, "xyz", 3);
    assert_string_equal(buf, "abcdefg");
    assert_int_equal(len, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pct_encode),
        cmocka_unit_test(test_strlcpy),
        cmocka_unit_test(test_strdup),
        cmocka_unit_test(test_memdup),
        cmocka_unit_test(test_append),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
