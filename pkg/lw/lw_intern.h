/*
 * lw_intern.h — shared, reference-counted copies of immutable values: one
 * copy of a byte string however many holders store it.
 *
 * The controller keeps a record per watched pod, and most of what a pod
 * record says is said identically by every pod of its workload (the
 * namespace, the ReplicaSet, the images, the pprof endpoint the
 * annotations name, the owner) or of its node.  Stored once per pod in
 * fixed arrays that was three quarters of the registry; interned, a
 * thousand pods of ten Deployments hold ten copies.
 *
 * Threads: lw_intern_get and lw_intern_sweep change the table and must be
 * serialised by the caller (the controller calls them under its registry
 * lock).  lw_intern_put only drops a count and may run on any thread, so a
 * copy of a record taken out of the registry can be released after the
 * lock is gone.  A value whose count reached zero stays in the table until
 * a sweep, which lw_intern_get runs itself whenever the table has doubled
 * since the last one; a get in between brings it back to life.
 *
 * Not for: values that change in place (an interned value is shared and
 * read-only), or large tables keyed by untrusted input without a cap.
 */
#ifndef LW_INTERN_H
#define LW_INTERN_H

#include <stddef.h>

typedef struct lw_intern lw_intern;

lw_intern *lw_intern_new(void);
/* Frees every value, counted or not: call it when no holder is left. */
void lw_intern_free(lw_intern *t);

/* The shared copy of len bytes at p, its count raised by one; NULL when
 * out of memory.  The copy is aligned for any type and followed by a NUL
 * byte, so a string interned without its NUL reads as a C string.  All
 * len bytes are hashed and compared, so a struct must be zero-filled
 * before its fields are set: padding, and array bytes past a string's
 * NUL, count as content. */
const void *lw_intern_get(lw_intern *t, const void *p, size_t len);
/* lw_intern_get of the string s (NULL reads as ""). */
const char *lw_intern_str(lw_intern *t, const char *s);
/* Another holder of v (a value lw_intern_get returned); v, for use in an
 * assignment. */
const void *lw_intern_ref(const void *v);
/* Drops one count of v; NULL is ignored.  Any thread. */
void lw_intern_put(const void *v);

/* Frees the values nobody holds; returns how many.  Serialised with get. */
size_t lw_intern_sweep(lw_intern *t);

typedef struct lw_intern_stats {
    size_t values; /* in the table, held or not      */
    size_t bytes;  /* their sizes, headers included  */
} lw_intern_stats;
void lw_intern_stats_get(const lw_intern *t, lw_intern_stats *st);

#endif
