/*
 * lw_str.h — the string copies every folder needs: a strdup that passes
 * NULL through, a terminated copy of a counted run of bytes, a bounded
 * append and copy that always terminate, and the
 * percent-encoding of one URL path segment or query value.
 *
 * Not for: escaping text for people (lw_text.h) or JSON (lw_utf8.h), or
 * building whole URLs (the kube client and capture do that with these).
 */
#ifndef LW_STR_H
#define LW_STR_H

#include <stddef.h>

/* strdup, but NULL for NULL; NULL also when out of memory. */
char *lw_strdup(const char *s);

/* A NUL-terminated copy of the n bytes at p (which may hold NULs of its
 * own, as PEM or base64 input may not); NULL when out of memory.  p may be
 * NULL when n is 0. */
char *lw_memdup(const void *p, size_t n);

/* Appends the n bytes at data to the text of *len bytes in buf[size], as
 * many as fit, and keeps it terminated (size > 0; the rest is dropped:
 * the callers keep the first part of a server's explanation). */
void lw_append(char *buf, size_t size, size_t *len, const void *data,
               size_t n);

/* Copies src (NULL: "") into dst[n], cut to fit and always terminated
 * when n > 0. */
void lw_strlcpy(char *dst, const char *src, size_t n);

/* Percent-encodes in (NULL: "") for one URL path segment or query value:
 * RFC 3986's unreserved characters stay, every other byte becomes %XX.
 * Cut to fit outlen, never in the middle of an escape (half a %XX would
 * change the meaning); out is always terminated when outlen > 0.  A
 * buffer of strlen(in) * 3 + 1 always fits. */
void lw_pct_encode(const char *in, char *out, size_t outlen);

#endif
