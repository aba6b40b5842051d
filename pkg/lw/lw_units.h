/*
 * lw_units.h — the one grammar for every number a person types into
 * leakwatch: sizes, durations, counts and plain numbers, whether they come
 * from a flag, the controller's config file (and so the Helm chart), or a
 * pod's memory limit.  One parser per kind, so "64Mi" is the same number of
 * bytes everywhere.
 *
 * Sizes (lw_size_parse) follow Kubernetes quantities:
 *   NUMBER          bytes ("268435456"; "1.5Gi" and "129e6" also work)
 *   k K  M  G  T  P  E      decimal: 10^3, 10^6, 10^9, 10^12, 10^15, 10^18
 *   Ki   Mi Gi Ti Pi Ei     binary:  2^10, 2^20, 2^30, 2^40, 2^50, 2^60
 *   any of those + "B"      the same ("64MB" = 64M, "64MiB" = 64Mi); "B"
 *                           alone is bytes
 * So a bare "64M" is 64,000,000 bytes and "64Mi" is 67,108,864, as in a
 * container's resources.limits.memory.  Suffixes are case-sensitive: "m"
 * is Kubernetes' milli and is refused for sizes, "mi" or "gb" are unknown.
 * A fraction of a byte is rounded up ("0.5" is 1), as Kubernetes does.
 *
 * Kubernetes memory quantities (lw_quantity_parse) are the same grammar
 * without the "B" forms and without "K" (the API server refuses both), plus
 * the milli suffix "m" and a leading "+".
 *
 * Durations (lw_duration_parse) are Go's time.ParseDuration: a sequence of
 * NUMBER UNIT with units ns, us (or µs), ms, s, m, h ("30s", "1h30m",
 * "1.5h", "500ms"); a bare NUMBER is seconds ("30", "0.25").  At most
 * 2^63-1 ns (about 292 years), as in Go.
 *
 * Counts (lw_count_parse) are decimal digits only; numbers
 * (lw_number_parse) are non-negative decimals ("0.02", "2", "1e-3").
 *
 * None of them accept a sign (other than a quantity's "+"), blanks, hex,
 * "inf" or "nan".  Each returns NULL when the text parses, else a short
 * reason for the message ("unknown unit"), and leaves *out untouched.
 * Callers name the option and quote the value.
 *
 * Not for: ranges (each option checks its own minimum and maximum), or
 * writing sizes and durations for people (Event sentences: cnt_units.c).
 */
#ifndef LW_UNITS_H
#define LW_UNITS_H

#include <stdint.h>

/* For --help and messages: what a size and a duration may look like. */
#define LW_SIZE_GRAMMAR                                                    \
    "bytes, or k M G T (10^3, 10^6, ...) or Ki Mi Gi Ti (2^10, 2^20, ...)"
#define LW_DURATION_GRAMMAR "30s, 5m, 1h30m, 500ms, or plain seconds"

const char *lw_size_parse(const char *s, uint64_t *bytes);
const char *lw_quantity_parse(const char *s, int64_t *bytes);
const char *lw_duration_parse(const char *s, double *seconds);
const char *lw_count_parse(const char *s, uint64_t max, uint64_t *out);
const char *lw_number_parse(const char *s, double *out);

#endif
