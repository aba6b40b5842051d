/*
 * lw_utf8.h — input bytes made valid UTF-8 for the places that demand it:
 * JSON (jansson's json_string refuses invalid UTF-8 with NULL, which a
 * caller cannot tell from out of memory) and Kubernetes Event messages
 * (the API server rejects a body that is not UTF-8).
 *
 * Policy: every byte that does not start a valid UTF-8 sequence becomes
 * U+FFFD, one per byte, exactly as Go's encoding/json writes such a string
 * (and so as kubectl and client-go would).  Valid sequences, including
 * control characters, pass unchanged: JSON escapes controls itself.  A
 * sequence is valid as Go's utf8.DecodeRune has it: shortest form, no
 * surrogates, nothing above U+10FFFF, not cut off by the end.
 *
 * Not for: text meant for a terminal or a one-line message (lw_text.h
 * escapes controls visibly there).
 */
#ifndef LW_UTF8_H
#define LW_UTF8_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the valid UTF-8 sequence at s[0..n), its code point in
 * *cp (when cp is not NULL); 0 when s[0] does not start one or n is 0. */
size_t lw_utf8_decode(const char *s, size_t n, uint32_t *cp);

bool lw_utf8_valid(const char *s, size_t n);

/* A NUL-terminated malloc'd copy of s[0..n) with each invalid byte
 * replaced by U+FFFD; the caller frees it.  NULL only when out of memory. */
char *lw_utf8_repair(const char *s, size_t n);

/* json_string(s) for any bytes: s is repaired first when it is not valid
 * UTF-8.  NULL when s is NULL or memory ran out, so callers that treat NULL
 * as out of memory are right again. */
json_t *lw_json_string(const char *s);

/* json_object_set_new(obj, key, value) for a key of any bytes (a label
 * name, a file name): the key is repaired first when it is not UTF-8,
 * since jansson refuses such a key too.  Takes value's reference, as
 * json_object_set_new does, also on failure; -1 on failure. */
int lw_json_object_set(json_t *obj, const char *key, json_t *value);

#endif
