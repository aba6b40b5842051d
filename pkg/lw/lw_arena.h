/*
 * lw_arena.h — a bump allocator for data that lives and dies together.
 *
 * Per-capture parsing allocates hundreds of thousands of tiny strings and
 * frames that all become garbage at the same moment (when the capture is
 * dropped).  An arena makes each allocation a pointer bump and the whole
 * release one walk over a handful of chunks, and it makes leaks structurally
 * impossible inside a parse.
 *
 * Not for: objects with independent lifetimes (use malloc/free), or memory
 * that must shrink while the arena lives.
 */
#ifndef LW_ARENA_H
#define LW_ARENA_H

#include <stddef.h>

typedef struct lw_arena lw_arena;

/* chunk_size is the largest ordinary chunk (0 picks 64 KiB): the first
 * is 4 KiB and each next one twice the last, up to chunk_size.  A request
 * over a quarter of chunk_size gets a chunk of its own.  Returns NULL only
 * when out of memory. */
lw_arena *lw_arena_new(size_t chunk_size);
void lw_arena_free(lw_arena *a);

/* 16-byte aligned; NULL when out of memory or when the request overflows. */
void *lw_arena_alloc(lw_arena *a, size_t size);
void *lw_arena_calloc(lw_arena *a, size_t n, size_t size);
char *lw_arena_strndup(lw_arena *a, const char *s, size_t len);
char *lw_arena_strdup(lw_arena *a, const char *s);
void *lw_arena_memdup(lw_arena *a, const void *p, size_t len);

/* Bytes handed out from the system so far (for memory accounting). */
size_t lw_arena_footprint(const lw_arena *a);

#endif
