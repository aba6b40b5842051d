/*
 * lw_grow.h — the append-only arrays every folder keeps (pods, findings,
 * rules, label counts, ledger entries): room for one more element, the
 * capacity doubling from a first size.
 *
 * Not for: hash tables (they rehash, not just reallocate), arrays kept in
 * step with others (each folder grows those together), or arena memory.
 */
#ifndef LW_GROW_H
#define LW_GROW_H

#include <stddef.h>

/* arrp points at the array (a T *, malloc'd or NULL) holding n elements of
 * elem bytes in room for *cap.  When n has reached *cap the array is
 * reallocated to twice *cap (first when *cap is 0) and *arrp and *cap
 * updated.  0 when there is room for element n; -1 when out of memory or
 * the size would overflow, with *arrp and *cap untouched (the array is
 * still the caller's). */
int lw_grow(void *arrp, size_t *cap, size_t n, size_t elem, size_t first);

#endif
