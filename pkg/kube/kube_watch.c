/*
 * kube_watch.c — list + watch loop of one collection (see kube_watch.h).
 *
 * The line framer and the reconnect/relist state machine are written here
 * because libcurl hands us arbitrary chunks and jansson parses whole
 * documents; neither knows about the watch protocol's "one JSON object per
 * line" framing or its 410 semantics.
 *
 * Not for: object storage or diffing (kube_cache.c).
 */
#include "kube/kube_watch.h"
#include "kube/kube_internal.h"
#include "lw/lw_clock.h"
#include "lw/lw_str.h"
#include "lw/lw_text.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_LINE (64u << 20)
#define DEFAULT_MAX_QUEUE (128u << 20)
/* A buffer that grew for one huge object is given back afterwards so that a
 * single 10 MB pod does not pin 10 MB per watch forever. */
#define FRAMER_KEEP_CAP (1u << 20)

/* ---- line framer ------------------------------------------------------- */

struct kube_line_framer {
    char *buf;
    size_t len, cap, max;
};

kube_line_framer *kube_line_framer_new(size_t max_line)
{
    kube_line_framer *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->max = max_line ? max_line : DEFAULT_MAX_LINE;
    return f;
}

void kube_line_framer_free(kube_line_framer *f)
{
    if (!f)
        return;
    free(f->buf);
    free(f);
}

void kube_line_framer_reset(kube_line_framer *f)
{
    f->len = 0;
    if (f->cap > FRAMER_KEEP_CAP) {
        free(f->buf);
        f->buf = NULL;
        f->cap = 0;
    }
}

size_t kube_line_framer_pending(const kube_line_framer *f)
{
    return f->len;
}

static int framer_append(kube_line_framer *f, const char *p, size_t n,
                         char *err, size_t errlen)
{
    if (n > f->max - f->len) {
        snprintf(err, errlen, "watch event line longer than %zu bytes",
                 f->max);
        return -1;
    }
    size_t need = f->len + n + 1; /* + NUL */
    if (need > f->cap) {
        size_t cap = f->cap ? f->cap : 4096;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        if (cap > f->max + 1)
            cap = f->max + 1;
        char *nb = realloc(f->buf, cap);
        if (!nb) {
            snprintf(err, errlen, "out of memory holding a %zu-byte line",
                     need);
            return -1;
        }
        f->buf = nb;
        f->cap = cap;
    }
    memcpy(f->buf + f->len, p, n);
    f->len += n;
    f->buf[f->len] = '\0';
    return 0;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

int kube_line_framer_feed(kube_line_framer *f, const char *data, size_t len,
                          kube_line_fn fn, void *ud, char *err, size_t errlen)
{
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return framer_append(f, p, (size_t)(end - p), err, errlen);
        if (framer_append(f, p, (size_t)(nl - p), err, errlen) != 0)
            return -1;
        p = nl + 1;
        size_t n = f->len;
        if (n && f->buf[n - 1] == '\r')
            f->buf[--n] = '\0';
        int stop = 0;
        if (!blank(f->buf, n))
            stop = fn(f->buf, n, ud);
        kube_line_framer_reset(f);
        if (stop)
            return 1;
    }
    return 0;
}

/* ---- line decoding ----------------------------------------------------- */

static const char *str_member(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

void kube_watch_event_clear(kube_watch_event *ev)
{
    if (!ev)
        return;
    json_decref(ev->object);
    ev->object = NULL;
    ev->resource_version[0] = '\0';
}

const char *kube_watch_event_type_name(kube_watch_event_type t)
{
    switch (t) {
    case KUBE_WATCH_ADDED: return "ADDED";
    case KUBE_WATCH_MODIFIED: return "MODIFIED";
    case KUBE_WATCH_DELETED: return "DELETED";
    case KUBE_WATCH_BOOKMARK: return "BOOKMARK";
    }
    return "?";
}

/* An API Status inside an ERROR event (or sent bare, as some servers do for
 * a failed watch request). */
static kube_watch_line_kind classify_status(const json_t *st, char *err,
                                            size_t errlen)
{
    json_int_t code = json_integer_value(json_object_get(st, "code"));
    const char *reason = str_member(st, "reason");
    const char *msg = str_member(st, "message");
    snprintf(err, errlen, "watch ERROR %lld %s: %s", (long long)code,
             *reason ? reason : "(no reason)", *msg ? msg : "(no message)");
    if (code == 410 || !strcmp(reason, "Expired") || !strcmp(reason, "Gone") ||
        strstr(msg, "too old resource version"))
        return KUBE_WLINE_EXPIRED;
    return KUBE_WLINE_ERROR;
}

kube_watch_line_kind kube_watch_parse_line(const char *line, size_t len,
                                           kube_watch_event *ev, char *err,
                                           size_t errlen)
{
    memset(ev, 0, sizeof *ev);
    json_error_t je;
    json_t *root = json_loadb(line, len, 0, &je);
    kube_watch_line_kind kind = KUBE_WLINE_INVALID;
    if (!root) {
        snprintf(err, errlen,
                 "invalid JSON in a %zu-byte watch line at byte %d: %s", len,
                 je.position, je.text);
        goto out;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "watch line is JSON but not an object");
        goto out;
    }
    const char *type = json_string_value(json_object_get(root, "type"));
    json_t *obj = json_object_get(root, "object");
    if (!type) {
        if (!strcmp(str_member(root, "kind"), "Status")) {
            kind = classify_status(root, err, errlen);
            goto out;
        }
        snprintf(err, errlen, "watch line has no \"type\"");
        goto out;
    }
    if (!strcmp(type, "ERROR")) {
        kind = json_is_object(obj) ? classify_status(obj, err, errlen)
                                   : KUBE_WLINE_ERROR;
        if (!json_is_object(obj))
            snprintf(err, errlen, "watch ERROR event without a Status");
        goto out;
    }
    kube_watch_event_type t;
    if (!strcmp(type, "ADDED"))
        t = KUBE_WATCH_ADDED;
    else if (!strcmp(type, "MODIFIED"))
        t = KUBE_WATCH_MODIFIED;
    else if (!strcmp(type, "DELETED"))
        t = KUBE_WATCH_DELETED;
    else if (!strcmp(type, "BOOKMARK"))
        t = KUBE_WATCH_BOOKMARK;
    else {
        snprintf(err, errlen, "watch event has unknown type \"%.40s\"", type);
        goto out;
    }
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "watch %s event without an object", type);
        goto out;
    }
    const char *rv = json_string_value(
        json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
    if (!rv || !*rv || strlen(rv) >= sizeof ev->resource_version) {
        snprintf(err, errlen,
                 "watch %s event without a usable metadata.resourceVersion",
                 type);
        goto out;
    }
    ev->type = t;
    ev->object = json_incref(obj);
    snprintf(ev->resource_version, sizeof ev->resource_version, "%s", rv);
    kind = KUBE_WLINE_EVENT;
out:
    json_decref(root);
    /* The reason quotes the line (jansson's error names the bad token, a
     * Status carries the server's message, the type is the server's): its
     * control bytes must not break the log line or reach a terminal. */
    if (kind != KUBE_WLINE_EVENT && errlen) {
        char raw[1024];
        size_t n = strnlen(err, errlen);
        if (n >= sizeof raw)
            n = sizeof raw - 1;
        memcpy(raw, err, n);
        lw_text_escape(raw, n, err, errlen);
    }
    return kind;
}

/* ---- backoff ----------------------------------------------------------- */

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64*: the jitter needs spread, not quality. */
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dULL;
}

long kube_watch_backoff_ms(long initial_ms, long max_ms, unsigned attempt,
                           uint64_t *seed)
{
    if (initial_ms <= 0)
        initial_ms = 1;
    if (max_ms < initial_ms)
        max_ms = initial_ms;
    long d = initial_ms;
    for (unsigned i = 0; i < attempt && d < max_ms; i++)
        d = d > max_ms / 2 ? max_ms : d * 2;
    if (d > max_ms)
        d = max_ms;
    /* Jitter in [0.5, 1.0): many watchers cut off together (an apiserver
     * restart) must not come back together. */
    double j = 0.5 + (double)(next_rand(seed) >> 11) / 9007199254740992.0 / 2;
    long r = (long)((double)d * j);
    return r > 0 ? r : 1;
}

/* ---- the running watch ------------------------------------------------- */

typedef struct wline {
    struct wline *next;
    size_t len;
    char data[];
} wline;

typedef struct wstream {
    struct kube_watch *w;
    kube_line_framer *framer;  /* I/O thread only, until done */
    /* The rest is guarded by w->mu. */
    kube_async *handle;        /* NULL once done ran */
    bool done, discard, overflow, too_long;
    long status;
    char error[768];
    char reason[64];
    char framer_err[160];
    size_t leftover;           /* unfinished line bytes at the end */
} wstream;

typedef enum outcome {
    OUT_CONTINUE,  /* a line was handled; keep reading                */
    OUT_STOPPED,
    OUT_ENDED,     /* server closed it cleanly (timeoutSeconds)        */
    OUT_EXPIRED,   /* version too old: relist                           */
    OUT_FAILED,    /* transport, 5xx, ERROR line: backoff, same version */
    OUT_INVALID,   /* bad line: backoff, same version                   */
    OUT_TOO_LONG,  /* line over the cap: relist                         */
    OUT_OVERFLOW,  /* we were too slow: resume at once                  */
} outcome;

struct kube_watch {
    kube_client *c;
    char *path, *label_selector, *field_selector;
    int page_limit, timeout_seconds;
    size_t max_line, max_queue;
    long backoff_initial, backoff_max;
    kube_watch_log_fn log;
    void *log_ud;
    kube_watch_handler h;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    wstream *cur;
    wline *qhead, *qtail;
    size_t qbytes;
    kube_watch_stats st;       /* guarded by mu */

    /* Watch thread only. */
    uint64_t seed;
    char rv[128];
    char invalid_rv[128];      /* version at which the last bad line came */
    unsigned invalid_repeats;
};

static void wlogf(kube_watch *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void wlogf(kube_watch *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kube_logv(w->log, w->log_ud, true, fmt, ap, "kube watch %s", w->path);
    va_end(ap);
}

static bool stopped(kube_watch *w)
{
    pthread_mutex_lock(&w->mu);
    bool s = w->stop;
    pthread_mutex_unlock(&w->mu);
    return s;
}

/* Sleeps ms or until stop; true when stopping. */
static bool sleep_or_stop(kube_watch *w, long ms)
{
    return lw_cond_wait_flag(&w->cv, &w->mu, &w->stop, ms);
}

static void free_queue_locked(kube_watch *w)
{
    wline *l = w->qhead;
    while (l) {
        wline *n = l->next;
        free(l);
        l = n;
    }
    w->qhead = w->qtail = NULL;
    w->qbytes = 0;
}

/* Appends "&key=escaped(value)" when value is set. */
static void add_query(char *buf, size_t cap, const char *key,
                      const char *value)
{
    if (!value || !*value)
        return;
    size_t n = strlen(buf);
    char sep = strchr(buf, '?') ? '&' : '?';
    snprintf(buf + n, cap - n, "%c%s=", sep, key);
    n = strlen(buf);
    lw_pct_encode(value, buf + n, cap - n);
}

static char *build_path(kube_watch *w, bool watch, const char *rv,
                        int timeout_s)
{
    size_t cap = strlen(w->path) + 256 +
                 3 * (strlen(w->label_selector) + strlen(w->field_selector) +
                      (rv ? strlen(rv) : 0));
    char *p = malloc(cap);
    if (!p)
        return NULL;
    snprintf(p, cap, "%s", w->path);
    if (watch) {
        size_t n = strlen(p);
        snprintf(p + n, cap - n,
                 "?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d",
                 timeout_s);
        add_query(p, cap, "resourceVersion", rv);
    }
    add_query(p, cap, "labelSelector", w->label_selector);
    add_query(p, cap, "fieldSelector", w->field_selector);
    return p;
}

/* -- list -- */

static int list_item_cb(json_t *item, void *ud)
{
    kube_watch *w = ud;
    if (stopped(w))
        return 1;
    if (w->h.list_item)
        w->h.list_item(item, w->h.ud);
    return 0;
}

/* 0 listed, -1 failed, 1 stopping. */
static int do_list(kube_watch *w)
{
    char *path = build_path(w, false, NULL, 0);
    if (!path) {
        wlogf(w, "out of memory building the list path");
        return -1;
    }
    if (w->h.list_begin)
        w->h.list_begin(w->h.ud);
    char rv[128] = "";
    kube_response r;
    memset(&r, 0, sizeof r);
    int rc = kube_list(w->c, path, w->page_limit, list_item_cb, w, rv,
                       sizeof rv, &r);
    if (stopped(w)) {
        kube_response_free(&r);
        free(path);
        return 1;
    }
    if (rc != 0 || !rv[0]) {
        wlogf(w, "list %s failed: %s", path,
              r.error[0] ? r.error
                         : (rc == 0 ? "no resourceVersion in the list"
                                    : "unknown error"));
        kube_response_free(&r);
        free(path);
        return -1;
    }
    kube_response_free(&r);
    free(path);
    snprintf(w->rv, sizeof w->rv, "%s", rv);
    if (w->h.list_end)
        w->h.list_end(rv, w->h.ud);
    pthread_mutex_lock(&w->mu);
    w->st.lists++;
    snprintf(w->st.resource_version, sizeof w->st.resource_version, "%s", rv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

/* -- stream callbacks (I/O thread) -- */

static int push_line(const char *line, size_t len, void *ud)
{
    wstream *s = ud;
    kube_watch *w = s->w;
    pthread_mutex_lock(&w->mu);
    if (w->stop || s->discard) {
        pthread_mutex_unlock(&w->mu);
        return 1;
    }
    if (w->qbytes && len > w->max_queue - w->qbytes) {
        s->overflow = true;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        return 1;
    }
    wline *l = malloc(sizeof *l + len + 1);
    if (!l) {
        s->overflow = true;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        return 1;
    }
    l->next = NULL;
    l->len = len;
    memcpy(l->data, line, len + 1);
    if (w->qtail)
        w->qtail->next = l;
    else
        w->qhead = l;
    w->qtail = l;
    w->qbytes += len;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

static int on_data(const char *data, size_t len, void *ud)
{
    wstream *s = ud;
    char err[160];
    int rc = kube_line_framer_feed(s->framer, data, len, push_line, s, err,
                                   sizeof err);
    if (rc < 0) {
        kube_watch *w = s->w;
        pthread_mutex_lock(&w->mu);
        s->too_long = true;
        snprintf(s->framer_err, sizeof s->framer_err, "%s", err);
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    return rc != 0;
}

static void on_done(kube_response *r, void *ud)
{
    wstream *s = ud;
    kube_watch *w = s->w;
    size_t left = kube_line_framer_pending(s->framer);
    pthread_mutex_lock(&w->mu);
    s->done = true;
    s->handle = NULL;
    s->status = r ? r->status : 0;
    s->leftover = left;
    if (r) {
        snprintf(s->error, sizeof s->error, "%s", r->error);
        snprintf(s->reason, sizeof s->reason, "%s", r->reason);
    }
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* -- one watch connection -- */

static outcome handle_line(kube_watch *w, const char *line, size_t len,
                           bool *progressed)
{
    kube_watch_event ev;
    char err[512];
    kube_watch_line_kind k = kube_watch_parse_line(line, len, &ev, err,
                                                   sizeof err);
    switch (k) {
    case KUBE_WLINE_EVENT:
        if (ev.type != KUBE_WATCH_BOOKMARK && w->h.event)
            w->h.event(ev.type, ev.object, w->h.ud);
        snprintf(w->rv, sizeof w->rv, "%s", ev.resource_version);
        pthread_mutex_lock(&w->mu);
        if (ev.type == KUBE_WATCH_BOOKMARK)
            w->st.bookmarks++;
        else
            w->st.events++;
        snprintf(w->st.resource_version, sizeof w->st.resource_version, "%s",
                 w->rv);
        pthread_mutex_unlock(&w->mu);
        kube_watch_event_clear(&ev);
        *progressed = true;
        w->invalid_repeats = 0;
        return OUT_CONTINUE;
    case KUBE_WLINE_EXPIRED:
        wlogf(w, "%s; relisting", err);
        return OUT_EXPIRED;
    case KUBE_WLINE_ERROR:
        wlogf(w, "%s; reconnecting from resourceVersion %s", err, w->rv);
        return OUT_FAILED;
    case KUBE_WLINE_INVALID:
        break;
    }
    pthread_mutex_lock(&w->mu);
    w->st.invalid_lines++;
    pthread_mutex_unlock(&w->mu);
    wlogf(w, "%s; reconnecting from resourceVersion %s", err, w->rv);
    return OUT_INVALID;
}

static outcome run_stream(kube_watch *w, int64_t *started_ms,
                          bool *progressed_out)
{
    int timeout_s = w->timeout_seconds
                        ? w->timeout_seconds
                        : 300 + (int)(next_rand(&w->seed) % 301);
    char *path = build_path(w, true, w->rv, timeout_s);
    wstream *s = calloc(1, sizeof *s);
    if (s)
        s->framer = kube_line_framer_new(w->max_line);
    if (!path || !s || !s->framer) {
        wlogf(w, "out of memory starting a watch");
        free(path);
        if (s)
            kube_line_framer_free(s->framer);
        free(s);
        return OUT_FAILED;
    }
    s->w = w;
    *progressed_out = false;
    kube_async_spec spec = {
        .method = "GET",
        .path = path,
        .stream = true,
        /* The server ends the request after timeout_s; total silence well
         * past that means a dead connection nobody told us about. */
        .low_speed_time_s = timeout_s + 60,
        .on_data = on_data,
        .done = on_done,
        .ud = s,
    };
    pthread_mutex_lock(&w->mu);
    if (w->stop) {
        pthread_mutex_unlock(&w->mu);
        free(path);
        kube_line_framer_free(s->framer);
        free(s);
        return OUT_STOPPED;
    }
    w->cur = s;
    /* Under mu: on_done takes mu, so the handle cannot be freed before it is
     * stored. */
    s->handle = kube_request_async(w->c, &spec);
    if (!s->handle && !s->done) {
        w->cur = NULL;
        pthread_mutex_unlock(&w->mu);
        wlogf(w, "could not start the watch request %s", path);
        free(path);
        kube_line_framer_free(s->framer);
        free(s);
        return OUT_FAILED;
    }
    w->st.connects++;
    pthread_mutex_unlock(&w->mu);
    *started_ms = lw_mono_ms();

    bool progressed = false;
    outcome out = OUT_ENDED;
    bool from_status = false;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->qhead && !s->done && !w->stop && !s->overflow &&
               !s->too_long)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop) {
            out = OUT_STOPPED;
            break;
        }
        if (w->qhead) {
            wline *l = w->qhead;
            w->qhead = l->next;
            if (!w->qhead)
                w->qtail = NULL;
            w->qbytes -= l->len;
            pthread_mutex_unlock(&w->mu);
            out = handle_line(w, l->data, l->len, &progressed);
            free(l);
            pthread_mutex_lock(&w->mu);
            if (out != OUT_CONTINUE)
                break;
            continue;
        }
        if (s->too_long)
            out = OUT_TOO_LONG;
        else if (s->overflow)
            out = OUT_OVERFLOW;
        else
            from_status = true;
        break;
    }
    /* Whatever ended it, the rest of this connection is not wanted. */
    s->discard = true;
    free_queue_locked(w);
    if (!s->done && s->handle)
        kube_async_cancel(w->c, s->handle);
    while (!s->done)
        pthread_cond_wait(&w->cv, &w->mu);
    w->cur = NULL;
    pthread_mutex_unlock(&w->mu);

    if (from_status) {
        bool expired = s->status == 410 || !strcmp(s->reason, "Expired") ||
                       !strcmp(s->reason, "Gone");
        if (expired) {
            wlogf(w, "watch refused with %ld %s: %s; relisting", s->status,
                  s->reason, s->error);
            out = OUT_EXPIRED;
        } else if (s->status == 200 && !s->error[0]) {
            out = OUT_ENDED;
            if (s->leftover)
                wlogf(w, "stream ended inside an event line (%zu bytes "
                         "dropped); resuming from resourceVersion %s",
                      s->leftover, w->rv);
        } else {
            if (s->status && s->status != 200)
                wlogf(w, "watch failed: HTTP %ld: %s", s->status,
                      s->error[0] ? s->error : "(no message)");
            else
                wlogf(w, "watch connection lost: %s",
                      s->error[0] ? s->error : "(no error text)");
            if (s->status == 401)
                kube_client_auth_rejected(w->c);
            out = OUT_FAILED;
        }
    } else if (out == OUT_TOO_LONG) {
        wlogf(w, "%s; relisting", s->framer_err);
    } else if (out == OUT_OVERFLOW) {
        wlogf(w, "handler fell %zu bytes behind; resuming from "
                 "resourceVersion %s",
              w->max_queue, w->rv);
    }
    *progressed_out = progressed;
    free(path);
    kube_line_framer_free(s->framer);
    free(s);
    return out;
}

static void *watch_main(void *arg)
{
    kube_watch *w = arg;
    bool need_list = !w->rv[0];
    unsigned attempt = 0;
    bool first = true;
    while (!stopped(w)) {
        if (need_list) {
            int rc = do_list(w);
            if (rc > 0)
                break;
            if (rc < 0) {
                if (sleep_or_stop(w, kube_watch_backoff_ms(
                                         w->backoff_initial, w->backoff_max,
                                         attempt++, &w->seed)))
                    break;
                continue;
            }
            need_list = false;
        }
        if (!first) {
            pthread_mutex_lock(&w->mu);
            w->st.reconnects++;
            pthread_mutex_unlock(&w->mu);
        }
        first = false;
        int64_t started = 0;
        bool progressed = false;
        outcome out = run_stream(w, &started, &progressed);
        long delay = 0;
        /* A server ends a healthy watch at timeoutSeconds; one that ends
         * within a second (an apiserver starting or shutting down, a proxy
         * cutting streams) must not turn this loop into a request storm,
         * events or not. */
        bool short_lived = lw_mono_ms() - started < 1000;
        /* A stream that delivered events for a while proved the server
         * healthy: a failure after it starts the backoff from the
         * beginning. */
        if (progressed && !short_lived)
            attempt = 0;
        switch (out) {
        case OUT_STOPPED:
            return NULL;
        case OUT_CONTINUE: /* not returned by run_stream */
        case OUT_ENDED:
            if (short_lived) {
                if (attempt == 0)
                    wlogf(w, "watch ended %lld ms after it started; backing "
                             "off",
                          (long long)(lw_mono_ms() - started));
                delay = kube_watch_backoff_ms(w->backoff_initial,
                                              w->backoff_max, attempt++,
                                              &w->seed);
            } else {
                attempt = 0;
            }
            break;
        case OUT_OVERFLOW:
            attempt = 0;
            break;
        case OUT_EXPIRED:
            pthread_mutex_lock(&w->mu);
            w->st.relists_expired++;
            pthread_mutex_unlock(&w->mu);
            need_list = true;
            w->rv[0] = '\0';
            /* Relisting at once is right after a long watch; a version
             * that expires again straight after a fresh list means the
             * server is struggling, so that case backs off. */
            if (lw_mono_ms() - started < 2000)
                delay = kube_watch_backoff_ms(w->backoff_initial,
                                              w->backoff_max, attempt++,
                                              &w->seed);
            else
                attempt = 0;
            break;
        case OUT_INVALID:
            /* The same bad line again and again from one version would
             * stall forever; a relist steps over it. */
            if (!strcmp(w->invalid_rv, w->rv)) {
                if (++w->invalid_repeats >= 3) {
                    wlogf(w, "the line after resourceVersion %s is invalid "
                             "every time; relisting",
                          w->rv);
                    need_list = true;
                    w->rv[0] = '\0';
                    w->invalid_repeats = 0;
                }
            } else {
                snprintf(w->invalid_rv, sizeof w->invalid_rv, "%s", w->rv);
                w->invalid_repeats = 1;
            }
            delay = kube_watch_backoff_ms(w->backoff_initial, w->backoff_max,
                                          attempt++, &w->seed);
            break;
        case OUT_TOO_LONG:
            need_list = true;
            w->rv[0] = '\0';
            delay = kube_watch_backoff_ms(w->backoff_initial, w->backoff_max,
                                          attempt++, &w->seed);
            break;
        case OUT_FAILED:
            delay = kube_watch_backoff_ms(w->backoff_initial, w->backoff_max,
                                          attempt++, &w->seed);
            break;
        }
        if (delay && sleep_or_stop(w, delay))
            break;
    }
    return NULL;
}

kube_watch *kube_watch_start(kube_client *c, const kube_watch_opts *o,
                             const kube_watch_handler *h, char *err,
                             size_t errlen)
{
    if (!c || !o || !h || !o->path || o->path[0] != '/' ||
        strchr(o->path, '?')) {
        snprintf(err, errlen, "kube watch: path must be an absolute "
                              "collection path without a query (got %s)",
                 o && o->path ? o->path : "nothing");
        return NULL;
    }
    if (o->resource_version && strlen(o->resource_version) >= 128) {
        snprintf(err, errlen, "kube watch %s: resourceVersion too long",
                 o->path);
        return NULL;
    }
    if (o->timeout_seconds < 0 || o->page_limit < 0) {
        snprintf(err, errlen, "kube watch %s: negative timeout or page limit",
                 o->path);
        return NULL;
    }
    kube_watch *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "kube watch: out of memory");
        return NULL;
    }
    w->c = c;
    w->path = lw_strdup(o->path ? o->path : "");
    w->label_selector = lw_strdup(o->label_selector ? o->label_selector : "");
    w->field_selector = lw_strdup(o->field_selector ? o->field_selector : "");
    w->page_limit = o->page_limit ? o->page_limit : 500;
    w->timeout_seconds = o->timeout_seconds;
    w->max_line = o->max_line_bytes ? o->max_line_bytes : DEFAULT_MAX_LINE;
    w->max_queue = o->max_queue_bytes ? o->max_queue_bytes : DEFAULT_MAX_QUEUE;
    if (w->max_queue < w->max_line)
        w->max_queue = w->max_line;
    w->backoff_initial = o->backoff_initial_ms > 0 ? o->backoff_initial_ms
                                                   : 500;
    w->backoff_max = o->backoff_max_ms > 0 ? o->backoff_max_ms : 30000;
    w->log = o->log;
    w->log_ud = o->log_ud;
    w->h = *h;
    if (o->resource_version)
        snprintf(w->rv, sizeof w->rv, "%s", o->resource_version);
    if (getrandom(&w->seed, sizeof w->seed, GRND_NONBLOCK) !=
        (ssize_t)sizeof w->seed)
        w->seed = (uint64_t)lw_mono_ms() ^ ((uint64_t)getpid() << 32);
    if (!w->path || !w->label_selector || !w->field_selector) {
        snprintf(err, errlen, "kube watch: out of memory");
        goto fail;
    }
    lw_cond_init_monotonic(&w->cv);
    pthread_mutex_init(&w->mu, NULL);
    int rc = pthread_create(&w->thread, NULL, watch_main, w);
    if (rc != 0) {
        snprintf(err, errlen, "kube watch %s: cannot start thread: %s",
                 o->path, strerror(rc));
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        goto fail;
    }
    return w;
fail:
    free(w->path);
    free(w->label_selector);
    free(w->field_selector);
    free(w);
    return NULL;
}

void kube_watch_stop(kube_watch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    if (w->cur && !w->cur->done && w->cur->handle)
        kube_async_cancel(w->c, w->cur->handle);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_lock(&w->mu);
    free_queue_locked(w);
    pthread_mutex_unlock(&w->mu);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->path);
    free(w->label_selector);
    free(w->field_selector);
    free(w);
}

void kube_watch_get_stats(kube_watch *w, kube_watch_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    pthread_mutex_unlock(&w->mu);
}
