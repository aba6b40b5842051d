/*
 * lw_grow.c — room for one more element of an append-only array (see
 * lw_grow.h).
 *
 * Not for: shrinking, or arrays of a fixed size.
 */
#include "lw/lw_grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int lw_grow(void *arrp, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap : first;
    if (c == 0 || elem == 0)
        return -1;
    while (c <= n) {
        if (c > SIZE_MAX / 2)
            return -1;
        c *= 2;
    }
    if (c > SIZE_MAX / elem)
        return -1;
    /* arrp is a T **: the pointer is read and written as bytes, which any
     * object pointer type allows, so no T * is accessed as a void *. */
    void *old;
    memcpy(&old, arrp, sizeof old);
    void *na = realloc(old, c * elem);
    if (!na)
        return -1;
    memcpy(arrp, &na, sizeof na);
    *cap = c;
    return 0;
}
