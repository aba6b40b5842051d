/*
 * lw_units.c — sizes, quantities, durations, counts and numbers (see
 * lw_units.h for the grammar).
 *
 * Decimals are scanned by hand rather than by strtod/strtoull, which accept
 * leading blanks, signs, hex, "inf" and "nan", and round: a size is exact
 * ("1.5Gi" is 1610612736, not 1610612735.9999), so the value is kept as an
 * integer mantissa and a power of ten and scaled in 128-bit arithmetic.
 */
#include "lw_units.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef unsigned __int128 u128;

/* A scanned decimal: mant * 10^exp10.  At most MAX_SIG significant digits
 * (UINT64_MAX has 20), so that mant times the largest multiplier (2^60)
 * still fits in 128 bits: 10^20 * 2^60 < 2^127. */
#define MAX_SIG 20

typedef struct decimal {
    u128 mant;
    int exp10;
} decimal;

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Scans [digits][.digits][e[+-]digits] from *p; allow_exp says whether an
 * exponent may follow ("1e3" is a size; "1e3s" is not a Go duration).
 * NULL with *p past the number, else why not. */
static const char *scan_decimal(const char **p, bool allow_exp, decimal *d)
{
    const char *s = *p;
    u128 mant = 0;
    int exp10 = 0, sig = 0, zeros = 0, digits = 0;
    bool point = false;
    for (;; s++) {
        if (*s == '.' && !point) {
            point = true;
            continue;
        }
        if (!is_digit(*s))
            break;
        digits++;
        if (point)
            exp10--;
        int dg = *s - '0';
        if (dg == 0) {
            if (sig)
                zeros++; /* kept only if a nonzero digit follows */
            continue;
        }
        if (sig + zeros + 1 > MAX_SIG)
            return "too many digits";
        for (; zeros; zeros--, sig++)
            mant *= 10;
        mant = mant * 10 + (unsigned)dg;
        sig++;
    }
    if (!digits)
        return "not a number";
    exp10 += zeros; /* trailing zeros: "1000" is 1e3, "1.50" is 15e-1 */
    /* A lone "E" is the exa suffix, so an exponent needs a digit. */
    if (allow_exp && (*s == 'e' || *s == 'E') &&
        (is_digit(s[1]) ||
         ((s[1] == '+' || s[1] == '-') && is_digit(s[2])))) {
        s++;
        int sign = *s == '-' ? -1 : 1;
        if (*s == '+' || *s == '-')
            s++;
        int e = 0;
        for (; is_digit(*s); s++) {
            if (e > 1000)
                return "exponent too large";
            e = e * 10 + (*s - '0');
        }
        exp10 += sign * e;
    }
    d->mant = mant;
    d->exp10 = exp10;
    *p = s;
    return NULL;
}

/* ceil(d * num / den) when it fits in max.  Dividing step by step is
 * exact: ceil(ceil(x / a) / b) == ceil(x / (a * b)) for whole numbers. */
static const char *scale(decimal d, uint64_t num, unsigned den, uint64_t max,
                         uint64_t *out)
{
    u128 v = d.mant * num; /* < 2^127, see MAX_SIG */
    for (int e = d.exp10; e > 0; e--) {
        if (v > max)
            return "too large";
        v *= 10;
    }
    for (int e = d.exp10; e < 0 && v > 1; e++)
        v = v / 10 + (v % 10 != 0);
    v = v / den + (v % den != 0);
    if (v > max)
        return "too large";
    *out = (uint64_t)v;
    return NULL;
}

typedef struct unit {
    const char *name;
    uint64_t mult;
    unsigned milli : 1;    /* divides by 1000 instead                */
    unsigned size_only : 1;/* "K", "MB"...: not Kubernetes quantities */
    unsigned quantity_only : 1;
} unit;

static const unit size_units[] = {
    {"", 1, 0, 0, 0},
    {"B", 1, 0, 1, 0},
    {"k", 1000ull, 0, 0, 0},
    {"K", 1000ull, 0, 1, 0},
    {"M", 1000000ull, 0, 0, 0},
    {"G", 1000000000ull, 0, 0, 0},
    {"T", 1000000000000ull, 0, 0, 0},
    {"P", 1000000000000000ull, 0, 0, 0},
    {"E", 1000000000000000000ull, 0, 0, 0},
    {"kB", 1000ull, 0, 1, 0},
    {"KB", 1000ull, 0, 1, 0},
    {"MB", 1000000ull, 0, 1, 0},
    {"GB", 1000000000ull, 0, 1, 0},
    {"TB", 1000000000000ull, 0, 1, 0},
    {"PB", 1000000000000000ull, 0, 1, 0},
    {"EB", 1000000000000000000ull, 0, 1, 0},
    {"Ki", 1ull << 10, 0, 0, 0},
    {"Mi", 1ull << 20, 0, 0, 0},
    {"Gi", 1ull << 30, 0, 0, 0},
    {"Ti", 1ull << 40, 0, 0, 0},
    {"Pi", 1ull << 50, 0, 0, 0},
    {"Ei", 1ull << 60, 0, 0, 0},
    {"KiB", 1ull << 10, 0, 1, 0},
    {"MiB", 1ull << 20, 0, 1, 0},
    {"GiB", 1ull << 30, 0, 1, 0},
    {"TiB", 1ull << 40, 0, 1, 0},
    {"PiB", 1ull << 50, 0, 1, 0},
    {"EiB", 1ull << 60, 0, 1, 0},
    {"m", 1, 1, 0, 1},
};

static const char *parse_bytes(const char *s, bool quantity, uint64_t max,
                               uint64_t *out)
{
    if (!s || !*s)
        return "empty";
    if (*s == '-')
        return "negative";
    if (quantity && *s == '+')
        s++;
    decimal d;
    const char *why = scan_decimal(&s, true, &d);
    if (why)
        return why;
    for (size_t i = 0; i < sizeof size_units / sizeof size_units[0]; i++) {
        const unit *u = &size_units[i];
        if (strcmp(s, u->name))
            continue;
        if (quantity ? u->size_only : u->quantity_only)
            break;
        return scale(d, u->mult, u->milli ? 1000 : 1, max, out);
    }
    if (!quantity && !strcmp(s, "m"))
        return "\"m\" is milli; write M (10^6) or Mi (2^20)";
    return "unknown unit";
}

const char *lw_size_parse(const char *s, uint64_t *bytes)
{
    return parse_bytes(s, false, UINT64_MAX, bytes);
}

const char *lw_quantity_parse(const char *s, int64_t *bytes)
{
    uint64_t v;
    const char *why = parse_bytes(s, true, INT64_MAX, &v);
    if (!why)
        *bytes = (int64_t)v;
    return why;
}

static double decimal_value(decimal d)
{
    return (double)d.mant * pow(10.0, d.exp10);
}

/* Go's limit: an int64 of nanoseconds. */
#define MAX_DURATION_S 9223372036.854775807

const char *lw_duration_parse(const char *s, double *seconds)
{
    static const struct {
        const char *name;
        double s;
    } units[] = {
        /* longest first: "ms" before "m" */
        {"ns", 1e-9}, {"us", 1e-6}, {"\xC2\xB5s", 1e-6}, {"ms", 1e-3},
        {"s", 1},     {"m", 60},    {"h", 3600},
    };
    if (!s || !*s)
        return "empty";
    if (*s == '-')
        return "negative";
    double total = 0;
    const char *p = s;
    while (*p) {
        decimal d;
        const char *term = p;
        const char *why = scan_decimal(&p, false, &d);
        if (why) /* "30sec": what follows a unit is a longer unit */
            return term == s ? why : "unknown unit";
        double mult = 0;
        if (!*p && term == s)
            mult = 1; /* the whole text is one bare number: seconds */
        for (size_t i = 0; !mult && i < sizeof units / sizeof units[0]; i++) {
            size_t n = strlen(units[i].name);
            if (!strncmp(p, units[i].name, n)) {
                mult = units[i].s;
                p += n;
            }
        }
        if (!mult)
            return *p ? "unknown unit" : "missing unit";
        total += decimal_value(d) * mult;
        if (!(total <= MAX_DURATION_S))
            return "too large";
    }
    *seconds = total;
    return NULL;
}

const char *lw_count_parse(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s)
        return "empty";
    if (*s == '-')
        return "negative";
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (!is_digit(*p))
            return "not a whole number";
        unsigned dg = (unsigned)(*p - '0');
        if (dg > max || v > (max - dg) / 10)
            return "too large";
        v = v * 10 + dg;
    }
    *out = v;
    return NULL;
}

const char *lw_number_parse(const char *s, double *out)
{
    if (!s || !*s)
        return "empty";
    if (*s == '-')
        return "negative";
    decimal d;
    const char *p = s;
    const char *why = scan_decimal(&p, true, &d);
    if (why)
        return why;
    if (*p)
        return "not a number";
    double v = decimal_value(d);
    if (!isfinite(v))
        return "too large";
    *out = v;
    return NULL;
}
