/*
 * lw_grow.h — the append-only arrays every folder keeps (pods, findings,
 * rules, label counts, ledger entries, text read from a pipe or socket):
 * room for element n, the capacity doubling from a first size.
 *
 * Not for: hash tables (they rehash, not just reallocate), arrays kept in
 * step with others (each folder grows those together), or arena memory.
 */
#ifndef LW_GROW_H
#define LW_GROW_H

#include <stddef.h>

/* arrp points at the array (a T *, malloc'd or NULL) of elem-byte
 * elements with room for *cap.  When n has reached *cap the array is
 * reallocated to the first doubling of *cap (of first when *cap is 0)
 * above n, and *arrp and *cap updated: appending one element to n makes n
 * the count, appending k bytes and a NUL to len makes it len + k.  0 when
 * there is room for element n; -1 when out of memory or the size would
 * overflow, with *arrp and *cap untouched (the array is still the
 * caller's). */
int lw_grow(void *arrp, size_t *cap, size_t n, size_t elem, size_t first);

#endif
