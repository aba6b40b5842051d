/*
 * lw_fmt.h — number formatting shared by what people read: CLI output and
 * Event messages.  Not for JSON (numbers there stay plain).
 */
#ifndef LW_FMT_H
#define LW_FMT_H

#include <stddef.h>
#include <stdint.h>

/* "3812" -> "3,812"; negative values get a leading '-'.  out is always
 * terminated (cut when outlen is too small). */
void lw_fmt_grouped(int64_t v, char *out, size_t outlen);
/* The same for unsigned values beyond INT64_MAX. */
void lw_fmt_grouped_u(uint64_t v, char *out, size_t outlen);

#endif
