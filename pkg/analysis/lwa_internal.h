/*
 * lwa_internal.h — what the files of pkg/analysis share and nobody else
 * may use: the step that turns one parser bucket into a signature.
 *
 * Not for: anything outside pkg/analysis (use analysis.h).
 */
#ifndef LWA_INTERNAL_H
#define LWA_INTERNAL_H

#include "analysis/analysis.h"

/* Where a bucket went. */
typedef struct lwa_placed {
    uint32_t index;       /* signature index                           */
    bool ignored;         /* a rule drops the bucket entirely          */
} lwa_placed;

/* Finds or adds the signature of bucket `b`, merges what the bucket says
 * about it (a better representative stack, a creator) and applies the
 * ignore rules.  -1 when out of memory. */
int lwa_sigtab_place(lwa_sigtab *t, const pprof_bucket *b, lwa_placed *out);

#endif
