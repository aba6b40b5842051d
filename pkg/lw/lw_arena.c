/*
 * lw_arena.c — chunked bump allocator (see lw_arena.h for why).
 *
 * Requests larger than a quarter of the chunk size get a chunk of their own,
 * so one huge allocation never wastes the tail of a normal chunk.
 */
#include "lw_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LW_ARENA_ALIGN 16u
#define LW_ARENA_DEFAULT_CHUNK (64u * 1024u)

typedef struct lw_chunk {
    struct lw_chunk *next;
    size_t cap;
    size_t used;
    _Alignas(16) unsigned char data[];
} lw_chunk;

struct lw_arena {
    lw_chunk *head;
    size_t chunk_size; /* the largest ordinary chunk */
    size_t next_chunk; /* the next one: doubles up to chunk_size */
    size_t footprint;
};

/* Chunks start small and double, so an arena that holds little (a short
 * capture, a parse that fails early) costs a few KiB, not chunk_size. */
#define LW_ARENA_FIRST_CHUNK (4u * 1024u)

lw_arena *lw_arena_new(size_t chunk_size)
{
    lw_arena *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->chunk_size = chunk_size ? chunk_size : LW_ARENA_DEFAULT_CHUNK;
    a->next_chunk = a->chunk_size < LW_ARENA_FIRST_CHUNK ? a->chunk_size
                                                         : LW_ARENA_FIRST_CHUNK;
    return a;
}

void lw_arena_free(lw_arena *a)
{
    if (!a)
        return;
    lw_chunk *c = a->head;
    while (c) {
        lw_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

static lw_chunk *chunk_new(lw_arena *a, size_t cap)
{
    if (cap > SIZE_MAX - sizeof(lw_chunk))
        return NULL;
    lw_chunk *c = malloc(sizeof(lw_chunk) + cap);
    if (!c)
        return NULL;
    c->cap = cap;
    c->used = 0;
    a->footprint += sizeof(lw_chunk) + cap;
    return c;
}

void *lw_arena_alloc(lw_arena *a, size_t size)
{
    if (size == 0)
        size = 1;
    if (size > SIZE_MAX - LW_ARENA_ALIGN)
        return NULL;
    size_t rounded = (size + LW_ARENA_ALIGN - 1) & ~(size_t)(LW_ARENA_ALIGN - 1);

    lw_chunk *c = a->head;
    if (c && c->cap - c->used >= rounded) {
        void *p = c->data + c->used;
        c->used += rounded;
        return p;
    }
    if (rounded > a->chunk_size / 4) {
        /* A big block gets its own chunk, linked behind the current head so
         * the head keeps serving small requests. */
        lw_chunk *big = chunk_new(a, rounded);
        if (!big)
            return NULL;
        big->used = rounded;
        if (c) {
            big->next = c->next;
            c->next = big;
        } else {
            big->next = NULL;
            a->head = big;
        }
        return big->data;
    }
    size_t cap = a->next_chunk;
    while (cap < rounded)
        cap *= 2; /* rounded <= chunk_size / 4, so this stops by chunk_size */
    lw_chunk *fresh = chunk_new(a, cap);
    if (!fresh)
        return NULL;
    a->next_chunk = cap * 2 < a->chunk_size ? cap * 2 : a->chunk_size;
    fresh->next = c;
    a->head = fresh;
    fresh->used = rounded;
    return fresh->data;
}

void *lw_arena_calloc(lw_arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = lw_arena_alloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *lw_arena_memdup(lw_arena *a, const void *p, size_t len)
{
    void *q = lw_arena_alloc(a, len);
    if (q && len)
        memcpy(q, p, len);
    return q;
}

char *lw_arena_strndup(lw_arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *q = lw_arena_alloc(a, len + 1);
    if (!q)
        return NULL;
    if (len)
        memcpy(q, s, len);
    q[len] = '\0';
    return q;
}

char *lw_arena_strdup(lw_arena *a, const char *s)
{
    return lw_arena_strndup(a, s, strlen(s));
}

size_t lw_arena_footprint(const lw_arena *a)
{
    return a->footprint;
}
