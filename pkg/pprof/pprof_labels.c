/*
 * pprof_labels.c — goroutine labels (pprof.Do / pprof.SetGoroutineLabels)
 * in the model's one spelling, "k1=v1,k2=v2" sorted by key.
 *
 * debug=1 writes them with Go's %q (strconv.Quote escapes), debug=2
 * headers with the runtime's own quoting (\xNN, \uNNNN, \UNNNNNNNN), and
 * protobuf as string-table pairs; all three end in pp_labels_join so the
 * same labels give the same interned string whatever the format.
 * Unquoting by hand because no library we use speaks Go's quoting.
 *
 * Not for: interpreting label values.
 */
#include "pprof_internal.h"
#include "lw/lw_grow.h"

#include <stdlib.h>
#include <string.h>

void pp_labels_init(pp_labels *l)
{
    memset(l, 0, sizeof(*l));
}

void pp_labels_free(pp_labels *l)
{
    free(l->buf);
    free(l->pairs);
    free(l->out);
    free(l->last);
    memset(l, 0, sizeof(*l));
}

/* Room for need (> 0) bytes in *p. */
static int reserve(char **p, size_t *cap, size_t need)
{
    return lw_grow(p, cap, need - 1, 1, 128);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(char *o, uint32_t r)
{
    if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
        r = 0xfffd;
    if (r < 0x80) {
        o[0] = (char)r;
        return 1;
    }
    if (r < 0x800) {
        o[0] = (char)(0xc0 | (r >> 6));
        o[1] = (char)(0x80 | (r & 0x3f));
        return 2;
    }
    if (r < 0x10000) {
        o[0] = (char)(0xe0 | (r >> 12));
        o[1] = (char)(0x80 | ((r >> 6) & 0x3f));
        o[2] = (char)(0x80 | (r & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (r >> 18));
    o[1] = (char)(0x80 | ((r >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((r >> 6) & 0x3f));
    o[3] = (char)(0x80 | (r & 0x3f));
    return 4;
}

/*
 * Unquotes the string starting at s[*i] (which must be '"') into o,
 * advancing *i past the closing quote.  Output is never longer than the
 * quoted input (every escape is at least as long as what it makes: \xNN
 * is one byte, \uNNNN at most three, \UNNNNNNNN at most four).
 */
static int unquote(const char *s, size_t len, size_t *i, char *o,
                   size_t *olen)
{
    size_t p = *i, n = 0;
    if (p >= len || s[p] != '"')
        return -1;
    p++;
    while (p < len && s[p] != '"') {
        char c = s[p++];
        if (c != '\\') {
            o[n++] = c;
            continue;
        }
        if (p >= len)
            return -1;
        char e = s[p++];
        int digits = 0;
        switch (e) {
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'a': o[n++] = '\a'; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'v': o[n++] = '\v'; break;
        case '\\': o[n++] = '\\'; break;
        case '"': o[n++] = '"'; break;
        case '\'': o[n++] = '\''; break;
        case 'x': digits = 2; break;
        case 'u': digits = 4; break;
        case 'U': digits = 8; break;
        default:
            if (e >= '0' && e <= '7') {
                /* Octal \NNN, which Go's syntax allows. */
                if (p + 2 > len)
                    return -1;
                int v = e - '0';
                for (int k = 0; k < 2; k++) {
                    char d = s[p++];
                    if (d < '0' || d > '7')
                        return -1;
                    v = v * 8 + (d - '0');
                }
                if (v > 255)
                    return -1;
                o[n++] = (char)v;
                break;
            }
            return -1;
        }
        if (digits) {
            if (p + (size_t)digits > len)
                return -1;
            uint32_t v = 0;
            for (int k = 0; k < digits; k++) {
                int h = hexval(s[p++]);
                if (h < 0)
                    return -1;
                v = v * 16 + (uint32_t)h;
            }
            if (digits == 2)
                o[n++] = (char)v;
            else
                n += put_utf8(o + n, v);
        }
    }
    if (p >= len)
        return -1;
    *i = p + 1;
    *olen = n;
    return 0;
}

static size_t skip_ws(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

int pp_labels_parse(pp_labels *l, pprof_builder *b, const char *s, size_t len,
                    const char **out, const char **why)
{
    *why = "";
    if (l->last && l->last_len == len && memcmp(l->last, s, len) == 0) {
        *out = l->last_result;
        return 0;
    }
    size_t i = skip_ws(s, len, 0);
    if (i >= len || s[i] != '{') {
        *why = "label set does not start with '{'";
        return -1;
    }
    i++;
    if (reserve(&l->buf, &l->buf_cap, len + 1) < 0) {
        *why = "out of memory";
        return -1;
    }
    size_t used = 0, n = 0;
    for (;;) {
        i = skip_ws(s, len, i);
        if (i < len && s[i] == '}' && n == 0) {
            i++;
            break;
        }
        size_t klen, vlen;
        char *k = l->buf + used;
        if (unquote(s, len, &i, k, &klen) < 0) {
            *why = "bad quoted label key";
            return -1;
        }
        used += klen;
        i = skip_ws(s, len, i);
        if (i >= len || s[i] != ':') {
            *why = "label key without ':'";
            return -1;
        }
        i = skip_ws(s, len, i + 1);
        char *v = l->buf + used;
        if (unquote(s, len, &i, v, &vlen) < 0) {
            *why = "bad quoted label value";
            return -1;
        }
        used += vlen;
        if (lw_grow(&l->pairs, &l->pairs_cap, n, sizeof *l->pairs, 8)) {
            *why = "out of memory";
            return -1;
        }
        l->pairs[n].k = k;
        l->pairs[n].klen = klen;
        l->pairs[n].v = v;
        l->pairs[n].vlen = vlen;
        n++;
        i = skip_ws(s, len, i);
        if (i < len && s[i] == ',') {
            i++;
            continue;
        }
        if (i < len && s[i] == '}') {
            i++;
            break;
        }
        *why = "label set not closed with '}'";
        return -1;
    }
    if (skip_ws(s, len, i) != len) {
        *why = "text after the label set";
        return -1;
    }
    const char *res;
    int rc = pp_labels_join(l, b, l->pairs, n, &res);
    if (rc < 0)
        return rc;
    if (reserve(&l->last, &l->last_cap, len ? len : 1) == 0) {
        memcpy(l->last, s, len);
        l->last_len = len;
        l->last_result = res;
    } else {
        l->last_len = 0;
        free(l->last);
        l->last = NULL;
        l->last_cap = 0;
    }
    *out = res;
    return 0;
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int pair_cmp(const void *pa, const void *pb)
{
    const pp_label_pair *a = pa, *b = pb;
    int c = bytes_cmp(a->k, a->klen, b->k, b->klen);
    return c ? c : bytes_cmp(a->v, a->vlen, b->v, b->vlen);
}

int pp_labels_join(pp_labels *l, pprof_builder *b, pp_label_pair *pairs,
                   size_t n, const char **out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    if (n > 1)
        qsort(pairs, n, sizeof(*pairs), pair_cmp);
    size_t need = 0;
    for (size_t i = 0; i < n; i++)
        need += pairs[i].klen + pairs[i].vlen + 2;
    if (reserve(&l->out, &l->out_cap, need) < 0)
        return -2;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            l->out[o++] = ',';
        memcpy(l->out + o, pairs[i].k, pairs[i].klen);
        o += pairs[i].klen;
        l->out[o++] = '=';
        memcpy(l->out + o, pairs[i].v, pairs[i].vlen);
        o += pairs[i].vlen;
    }
    *out = pp_intern(b, l->out, o);
    return *out ? 0 : -2;
}
