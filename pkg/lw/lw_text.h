/*
 * lw_text.h — input bytes made safe for a terminal and for one-line
 * messages (CLI text output, error messages, Event sentences): nothing a
 * capture or a file name holds can move the cursor, recolour, retitle or
 * ring the terminal (ESC/OSC/CSI sequences, BEL), or break the one line
 * per stack (CR, LF).
 *
 * Escapes, visible and greppable:
 *   \xNN    C0 controls (00-1F), DEL (7F), and every byte that does not
 *           start a valid UTF-8 sequence (so 8-bit C1 bytes such as 9B,
 *           a CSI on terminals that take them raw, are shown too);
 *   \uNNNN  C1 controls written as UTF-8 (U+0080-U+009F), and the
 *           invisible characters that reorder or break text: the bidi
 *           controls U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069,
 *           and the separators U+2028, U+2029.
 * Everything else, printable ASCII and valid UTF-8, passes unchanged.  A
 * backslash already in the input is not doubled: the output is for people
 * to read, not for parsing back.
 *
 * Not for: JSON (lw_utf8.h; JSON escapes controls by itself).
 */
#ifndef LW_TEXT_H
#define LW_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* "…" (U+2026), what a shortened path shows in place of its middle. */
#define LW_TEXT_ELLIPSIS "\xE2\x80\xA6"

/* Bytes the escaped form of s[0..n) takes (without a terminator). */
size_t lw_text_escaped_len(const char *s, size_t n);

/* Writes the escaped form of s[0..n) into out, cut when it does not fit
 * (never inside an escape or a UTF-8 sequence); out is always terminated
 * when cap > 0.  Returns the bytes written, without the terminator. */
size_t lw_text_escape(const char *s, size_t n, char *out, size_t cap);

/* The escaped form of s as a malloc'd string; NULL when out of memory. */
char *lw_text_escape_dup(const char *s);

/* fputs of the escaped form of s (NULL writes nothing).  EOF on a write
 * error, as fputs. */
int lw_text_fputs(const char *s, FILE *out);

/* Writes the escaped form of s[0..n) shortened to at most max bytes: when
 * it is longer, its middle becomes "…" and the head and tail that are kept
 * are whole characters and escapes (the tail, where a file name is, gets
 * two thirds).  out must hold max + 1 bytes.  Returns bytes written. */
size_t lw_text_shorten(const char *s, size_t n, size_t max, char *out);

/* "path: reason" into out (always terminated), both escaped.  When the
 * whole does not fit, the path is shortened in the middle (lw_text_shorten)
 * so that the reason stays whole; only a reason too long by itself is cut,
 * at its end.  Long paths must never cost the user the reason. */
void lw_text_pathf(char *out, size_t outlen, const char *path,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
