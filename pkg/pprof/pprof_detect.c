/*
 * pprof_detect.c — which goroutine profile format a stream holds, from
 * its first bytes alone (users hand us files without reliable names, and
 * servers send any Content-Type).
 *
 *   1f 8b                          gzip (inflate, then detect again)
 *   "goroutine profile: total "    debug=1
 *   "goroutineleak profile: total "
 *   "goroutine N [" / "goroutine N gp="   debug=2, also after a panic
 *                                  message or SIGQUIT preamble, indented,
 *                                  or after 64 KiB or more of other text
 *                                  (log output; the debug=2 parser then
 *                                  fails if no header ever comes)
 *   a valid Profile field tag      protobuf
 *
 * Text is tried before protobuf, so a text file that starts with a
 * newline (0x0a, also protobuf field 1) still reads as text.
 *
 * Not for: parsing (each format's file) or gzip (pprof_gzip.c).
 */
#include "pprof_internal.h"

#include <stdio.h>
#include <string.h>

/* How far into a text stream a goroutine header may first appear (crash
 * output starts with the panic message, SIGQUIT with registers). */
#define DETECT_TEXT_WINDOW (64u * 1024u)

static int prefix_state(const unsigned char *p, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    size_t m = n < l ? n : l;
    if (memcmp(p, lit, m) != 0)
        return 0; /* no */
    return m == l ? 2 : 1; /* full match : could still match */
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* "goroutine N [" or "goroutine N gp=" at p; 1 yes, 0 no, -1 need more. */
static int goroutine_header(const unsigned char *p, size_t n)
{
    int st = prefix_state(p, n, "goroutine ");
    if (st == 0)
        return 0;
    if (st == 1)
        return -1;
    size_t i = 10;
    if (i >= n)
        return -1;
    if (!is_digit(p[i]))
        return 0;
    while (i < n && is_digit(p[i]))
        i++;
    if (i + 2 > n)
        return -1;
    if (p[i] != ' ')
        return 0;
    if (p[i + 1] == '[')
        return 1;
    st = prefix_state(p + i, n - i, " gp=");
    return st == 2 ? 1 : st == 1 ? -1 : 0;
}

static int texty(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        /* ESC: colour codes in CI and terminal logs. */
        if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != 0x1b)
            return 0;
    }
    return 1;
}

static pp_detect detect_text(const unsigned char *data, size_t len, int final,
                             pp_detect_scan *s, char *why, size_t why_len)
{
    size_t i = s->lead;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' ||
                       data[i] == '\n'))
        i++;
    s->lead = i;
    if (i == len)
        return final ? PP_DETECT_NONE : PP_DETECT_MORE;
    const unsigned char *p = data + i;
    size_t n = len - i;
    int a = prefix_state(p, n, "goroutine profile: total ");
    int b = prefix_state(p, n, "goroutineleak profile: total ");
    if (a == 2 || b == 2)
        return PP_DETECT_DEBUG1;
    int h = goroutine_header(p, n);
    if (h == 1)
        return PP_DETECT_DEBUG2;
    if ((a == 1 || b == 1 || h == -1) && !final)
        return PP_DETECT_MORE;

    /* Some other text: a dump behind a preamble, or another profile.
     * Lines are judged in order, so what is decided on the first bytes
     * of a stream stays decided however much more arrives, and a call
     * resumes at the first line an earlier call could not judge, past the
     * part of it already known to be text. */
    size_t scan = len < DETECT_TEXT_WINDOW ? len : DETECT_TEXT_WINDOW;
    size_t ls = s->line > i ? s->line : i;
    while (ls < scan) {
        size_t from = s->texty_to > ls ? s->texty_to : ls;
        const unsigned char *nl = memchr(data + from, '\n', scan - from);
        size_t le = nl ? (size_t)(nl - data) : scan;
        /* The header test needs only a line's first bytes, so it comes
         * before looking at the rest of the line.  Headers may be
         * indented (a dump pasted into markdown or a test log). */
        size_t hs = ls;
        while (hs < le && (data[hs] == ' ' || data[hs] == '\t'))
            hs++;
        if (goroutine_header(data + hs, le - hs) == 1)
            return PP_DETECT_DEBUG2;
        if (!texty(data + from, le - from))
            return PP_DETECT_NONE; /* binary: protobuf's turn */
        if (!nl) {
            s->line = ls;
            s->texty_to = le;
            break;
        }
        ls = le + 1;
        s->line = ls;
    }
    if (!final && len < DETECT_TEXT_WINDOW)
        return PP_DETECT_MORE;
    /* Name the other runtime/pprof profiles: "heap profile: ...",
     * "threadcreate profile: total 9". */
    const unsigned char *sp = memchr(p, ' ', n < 40 ? n : 40);
    if (sp && prefix_state(sp, (size_t)(p + n - sp), " profile: ") == 2) {
        char name[48];
        pp_quote_excerpt(name, sizeof(name), (const char *)p, (size_t)(sp - p));
        snprintf(why, why_len, "a %s profile", name);
    } else if (len >= DETECT_TEXT_WINDOW) {
        /* A whole window of text and no header yet: log output before a
         * dump (`go test -v` prints its timeout dump after every test's
         * log).  The dump parser skips text until the first goroutine
         * header, streaming, and fails if none ever comes. */
        return PP_DETECT_DEBUG2;
    } else {
        /* Printable throughout: not protobuf either, whose lengths and
         * varints put control bytes in the first few bytes. */
        snprintf(why, why_len, "unrecognised content at byte %zu", i);
    }
    return PP_DETECT_NONE;
}

/* Wire type each Profile field must have (profile.proto); 0xff unknown. */
static unsigned profile_field_wt(uint64_t num)
{
    switch (num) {
    case 1: case 2: case 3: case 4: case 5: case 6: case 11:
        return 2;
    case 7: case 8: case 9: case 10: case 12: case 14: case 15:
        return 0;
    case 13:
        return 0x10; /* comment: varint or packed */
    default:
        return 0xff;
    }
}

static int read_varint(const unsigned char *p, size_t n, size_t *i, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*i >= n)
            return -1; /* need more */
        unsigned char b = p[(*i)++];
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -2; /* malformed */
}

static pp_detect detect_proto(const unsigned char *data, size_t len, int final,
                              size_t *bad_at)
{
    size_t i = 0;
    unsigned valid = 0;
    *bad_at = 0;
    while (i < len && valid < 3) {
        size_t start = i;
        uint64_t tag, v;
        int rc = read_varint(data, len, &i, &tag);
        if (rc == -2)
            goto bad;
        if (rc == -1)
            break;
        unsigned want = profile_field_wt(tag >> 3);
        unsigned wt = (unsigned)(tag & 7);
        if (want == 0xff || (want == 0x10 ? (wt != 0 && wt != 2) : wt != want))
            goto bad;
        rc = read_varint(data, len, &i, &v);
        if (rc == -2)
            goto bad;
        if (rc == -1)
            break;
        if (wt == 2) {
            if (v > len - i) {
                /* A field bigger than what we hold so far: as good a sign
                 * as a complete one once a real amount has been seen. */
                if (len >= 4096)
                    valid++;
                break;
            }
            i += (size_t)v;
        }
        valid++;
        continue;
    bad:
        *bad_at = start;
        return PP_DETECT_NONE;
    }
    if (valid >= 3 || (valid >= 1 && (final || len >= 4096)))
        return PP_DETECT_PROTO;
    if (final)
        return PP_DETECT_NONE;
    return PP_DETECT_MORE;
}

pp_detect pp_detect_format(const unsigned char *data, size_t len, int final,
                           pp_detect_scan *scan, char *why, size_t why_len)
{
    why[0] = '\0';
    if (len == 0) {
        if (final)
            snprintf(why, why_len, "empty input");
        return final ? PP_DETECT_NONE : PP_DETECT_MORE;
    }
    if (data[0] == 0x1f) {
        if (len < 2)
            return final ? PP_DETECT_NONE : PP_DETECT_MORE;
        if (data[1] == 0x8b)
            return PP_DETECT_GZIP;
    }
    pp_detect t = detect_text(data, len, final, scan, why, why_len);
    if (t != PP_DETECT_NONE)
        return t;
    if (why[0])
        return PP_DETECT_NONE;
    size_t bad_at;
    pp_detect p = detect_proto(data, len, final, &bad_at);
    if (p == PP_DETECT_NONE)
        snprintf(why, why_len, "unrecognised content at byte %zu", bad_at);
    return p;
}
