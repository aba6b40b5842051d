/*
 * ctl_shard.c — workload keys and rendezvous hashing (see ctl_shard.h).
 */
#include "controller/ctl_shard.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "lw/lw_hash.h"

void ctl_shard_workload_key(const char *ns, const char *owner_kind,
                            const char *owner_name, const char *rev_hash,
                            const char *pod_name, char *out, size_t outlen)
{
    const char *name = owner_name && *owner_name ? owner_name : pod_name;
    size_t len = name ? strlen(name) : 0;
    size_t hl = rev_hash ? strlen(rev_hash) : 0;
    if (owner_name && *owner_name && owner_kind && !strcmp(owner_kind, "ReplicaSet") &&
        hl && len > hl + 1 && name[len - hl - 1] == '-' &&
        !strcmp(name + len - hl, rev_hash))
        len -= hl + 1;
    snprintf(out, outlen, "%s/%.*s", ns ? ns : "", (int)len, name ? name : "");
}

uint64_t ctl_shard_weight(const char *member, const char *key)
{
    /* Both strings go in whole, with their lengths in the seed chain, so
     * ("ab","c") and ("a","bc") weigh differently. */
    uint64_t h = lw_hash_bytes(member, strlen(member), 0x6c77736861726421ULL);
    return lw_hash_bytes(key, strlen(key), h);
}

size_t ctl_shard_owner(const char *key, const char (*members)[256], size_t n)
{
    size_t best = SIZE_MAX;
    uint64_t best_w = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t w = ctl_shard_weight(members[i], key);
        if (best == SIZE_MAX || w > best_w) {
            best = i;
            best_w = w;
        }
    }
    return best;
}

void ctl_shard_lease_name(const char *prefix, const char *identity, char *out,
                          size_t outlen)
{
    if (!outlen)
        return;
    size_t cap = outlen - 1 < 253 ? outlen - 1 : 253;
    int n = snprintf(out, outlen, "%s-member-", prefix);
    size_t k = n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap;
    for (const char *s = identity; *s && k < cap; s++) {
        unsigned char ch = (unsigned char)tolower((unsigned char)*s);
        out[k++] = (isalnum(ch) && ch < 128) || ch == '.' || ch == '-' ? (char)ch : '-';
    }
    while (k && (out[k - 1] == '-' || out[k - 1] == '.'))
        k--;
    out[k] = '\0';
}
