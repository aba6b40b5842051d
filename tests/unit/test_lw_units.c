/*
 * test_lw_units.c — the one grammar for sizes, Kubernetes memory
 * quantities, durations, counts and numbers: what each suffix means, exact
 * fractions, overflow, signs, empty text and garbage after the number; a
 * refused value leaves the output untouched and says why.
 *
 * Not for: which option uses which parser and how its message reads
 * (test_ctl_config.c, tests/cli/units.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lw/lw_units.h"

static void test_sizes(void **state)
{
    (void)state;
    struct {
        const char *s;
        uint64_t v;
    } ok[] = {
        {"0", 0},
        {"1048576", 1048576},
        {"64M", 64000000},
        {"64MB", 64000000},
        {"64Mi", 64ull << 20},
        {"64MiB", 64ull << 20},
        {"64k", 64000},
        {"64K", 64000},
        {"64kB", 64000},
        {"64KB", 64000},
        {"64Ki", 65536},
        {"64KiB", 65536},
        {"1.5Gi", 1610612736},
        {"1.5G", 1500000000},
        {"0.5", 1}, /* a fraction of a byte rounds up */
        {"0.1Ki", 103},
        {"1.50000Mi", 1572864},
        {"000012", 12},
        {"12B", 12},
        {"129e6", 129000000},
        {"1E", 1000000000000000000ull},
        {"2T", 2000000000000ull},
        {"3Ti", 3ull << 40},
        {"15Ei", 15ull << 60},
        {"18446744073709551615", UINT64_MAX},
        {".5Ki", 512},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 42;
        const char *why = lw_size_parse(ok[i].s, &v);
        if (why)
            fail_msg("%s: %s", ok[i].s, why);
        if (v != ok[i].v)
            fail_msg("%s: %llu, want %llu", ok[i].s, (unsigned long long)v,
                     (unsigned long long)ok[i].v);
    }
    struct {
        const char *s;
        const char *why;
    } bad[] = {
        {"", "empty"},
        {"-1", "negative"},
        {"-1Mi", "negative"},
        {"+1", "not a number"},
        {"Mi", "not a number"},
        {".", "not a number"},
        {" 1", "not a number"},
        {"0x10", "unknown unit"},
        {"inf", "not a number"},
        {"nan", "not a number"},
        {"12XB", "unknown unit"},
        {"64mi", "unknown unit"},
        {"64gb", "unknown unit"},
        {"1.2.3", "unknown unit"},
        {"1Mi ", "unknown unit"},
        {"1e", "unknown unit"},
        {"64m", "\"m\" is milli; write M (10^6) or Mi (2^20)"},
        {"16Ei", "too large"},
        {"18446744073709551616", "too large"},
        {"18446744073709551615.5", "too many digits"},
        {"18446744073709551620", "too large"},
        {"99999999999999999999Gi", "too large"},
        {"123456789012345678901", "too many digits"},
        {"1e30", "too large"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 42;
        const char *why = lw_size_parse(bad[i].s, &v);
        if (!why || strcmp(why, bad[i].why))
            fail_msg("\"%s\": got %s, want %s", bad[i].s, why ? why : "ok",
                     bad[i].why);
        assert_int_equal(v, 42);
    }
    uint64_t v;
    assert_non_null(lw_size_parse(NULL, &v));
}

/* The cases containment's memory limits were always checked against: the
 * Kubernetes grammar, milli and "+" included, "K" and "B" forms refused. */
static void test_quantities(void **state)
{
    (void)state;
    struct {
        const char *s;
        int64_t v;
    } ok[] = {
        {"256Mi", 268435456},  {"1Gi", 1073741824},   {"1G", 1000000000},
        {"129e6", 129000000},  {"1.5Gi", 1610612736}, {"64k", 64000},
        {"100m", 1},           {"1E", 1000000000000000000LL},
        {"1e3", 1000},         {"+5Mi", 5242880},     {"0", 0},
        {"2Ki", 2048},         {".5Ki", 512},         {"1E-3k", 1},
        {"7Ei", 7ll << 60},    {"1500m", 2},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -1;
        const char *why = lw_quantity_parse(ok[i].s, &v);
        if (why)
            fail_msg("%s: %s", ok[i].s, why);
        assert_int_equal(v, ok[i].v);
    }
    const char *bad[] = {"", "-1Mi", "0x10", "inf", "nan", "12XB", "1.2.3",
                         " 1Mi", "Mi", "9Ei", "1Mi ", "1e", "1ee3", ".",
                         "64K", "64MB", "64MiB", "12B"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 42;
        if (!lw_quantity_parse(bad[i], &v))
            fail_msg("\"%s\" parsed", bad[i]);
        assert_int_equal(v, 42);
    }
    int64_t v;
    assert_non_null(lw_quantity_parse(NULL, &v));
}

static void test_durations(void **state)
{
    (void)state;
    struct {
        const char *s;
        double v;
    } ok[] = {
        {"30s", 30},     {"2m", 120},       {"1h30m", 5400}, {"1.5h", 5400},
        {"500ms", 0.5},  {"250ms", 0.25},   {"30", 30},      {"1.5", 1.5},
        {"0", 0},        {"1m30s", 90},     {"2h0m0s", 7200}, {"1500us", 0.0015},
        {"1000000ns", 0.001}, {"3\xC2\xB5s", 3e-6}, {".5s", 0.5},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double v = -1;
        const char *why = lw_duration_parse(ok[i].s, &v);
        if (why)
            fail_msg("%s: %s", ok[i].s, why);
        if (v < ok[i].v * (1 - 1e-12) || v > ok[i].v * (1 + 1e-12))
            fail_msg("%s: %g, want %g", ok[i].s, v, ok[i].v);
    }
    struct {
        const char *s;
        const char *why;
    } bad[] = {
        {"", "empty"},
        {"-3s", "negative"},
        {"soon", "not a number"},
        {"1h30", "missing unit"},
        {"30sec", "unknown unit"},
        {"5d", "unknown unit"},
        {"1e3s", "unknown unit"},
        {"30s ", "unknown unit"},
        {" 30s", "not a number"},
        {"inf", "not a number"},
        {"3000000h", "too large"},
        {"9223372037s", "too large"},
        {"99999999999999999999h", "too large"},
        {"123456789012345678901s", "too many digits"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v = 42;
        const char *why = lw_duration_parse(bad[i].s, &v);
        if (!why || strcmp(why, bad[i].why))
            fail_msg("\"%s\": got %s, want %s", bad[i].s, why ? why : "ok",
                     bad[i].why);
        assert_true(v == 42);
    }
}

static void test_counts_and_numbers(void **state)
{
    (void)state;
    uint64_t c = 7;
    assert_null(lw_count_parse("0", 10, &c));
    assert_int_equal(c, 0);
    assert_null(lw_count_parse("4294967295", UINT32_MAX, &c));
    assert_int_equal(c, UINT32_MAX);
    assert_null(lw_count_parse("18446744073709551615", UINT64_MAX, &c));
    assert_true(c == UINT64_MAX);
    c = 7;
    assert_string_equal(lw_count_parse("4294967296", UINT32_MAX, &c),
                        "too large");
    assert_string_equal(lw_count_parse("11", 10, &c), "too large");
    assert_string_equal(lw_count_parse("1", 0, &c), "too large");
    assert_string_equal(lw_count_parse("-1", 10, &c), "negative");
    assert_string_equal(lw_count_parse("", 10, &c), "empty");
    assert_string_equal(lw_count_parse("+1", 10, &c), "not a whole number");
    assert_string_equal(lw_count_parse("1.0", 10, &c), "not a whole number");
    assert_string_equal(lw_count_parse("1k", 10000, &c), "not a whole number");
    assert_int_equal(c, 7);

    double d = 7;
    assert_null(lw_number_parse("0.02", &d));
    assert_true(d == 0.02);
    assert_null(lw_number_parse("2", &d));
    assert_true(d == 2);
    assert_null(lw_number_parse("1e-3", &d));
    assert_true(d == 0.001);
    d = 7;
    assert_string_equal(lw_number_parse("-0.5", &d), "negative");
    assert_string_equal(lw_number_parse("0.5x", &d), "not a number");
    assert_string_equal(lw_number_parse("nan", &d), "not a number");
    assert_string_equal(lw_number_parse("1e999", &d), "too large");
    assert_true(d == 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_quantities),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_counts_and_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
