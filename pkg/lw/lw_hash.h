/*
 * lw_hash.h — a fast non-cryptographic 64-bit hash for interning tables.
 *
 * Written here because none of our libraries exports a general byte hash;
 * it is a plain multiply-xorshift mix over 8-byte words, good enough for
 * the hash index (lw_htab.h) keyed by function names and stacks.  Not for
 * anything an attacker could exploit for more than slower lookups (tables
 * that use it must cap their size), and never for security.
 */
#ifndef LW_HASH_H
#define LW_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t lw_hash_mix(uint64_t h)
{
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    return h;
}

static inline uint64_t lw_hash_bytes(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ (0x9e3779b97f4a7c15ULL * (len + 1));
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = lw_hash_mix(h ^ w) + 0x9e3779b97f4a7c15ULL;
        p += 8;
        len -= 8;
    }
    uint64_t tail = 0;
    if (len)
        memcpy(&tail, p, len);
    return lw_hash_mix(h ^ tail ^ ((uint64_t)len << 56));
}

/* Order-dependent combination, for hashing sequences of hashes (stacks). */
static inline uint64_t lw_hash_combine(uint64_t h, uint64_t v)
{
    return lw_hash_mix(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

#endif
