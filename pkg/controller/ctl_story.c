/*
 * ctl_story.c — a workload's findings and the verification of their fix
 * (see ctl_story.h).
 *
 * A few stories are open at a time (one per workload and leaking stack),
 * so a flat array searched linearly is enough.
 *
 * The verdict on a newer revision compares the stack's goroutines on one
 * pod of that revision at the two ends of a window.  One pod, not a sum
 * over replicas: pods of a rollout start at different times, and a sum
 * moves whenever one starts or stops.  The window starts again when the
 * pod being watched goes away or restarts, and when the request counter
 * says the pod served under half the load the finding was made at: a
 * leak proportional to requests looks fixed on an idle pod.
 *
 * "Still grows" needs the stack to have gained at least a quarter of what
 * the finding's rate would have added over the window, and no fewer than
 * CTL_STORY_MIN_GROWTH goroutines: a fix that leaves a handful of
 * goroutines coming and going on the stack is flat, a partial fix that
 * slows the leak to a third is not.
 */
#include "controller/ctl_story.h"
#include "controller/ctl_message.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_STORY_MIN_GROWTH 5
#define CTL_STORY_GROWTH_SHARE 0.25
#define CTL_STORY_LOAD_SHARE 0.5
#define CTL_STORY_STALE_MS 60000

typedef struct story {
    char ns[64];
    kube_owner owner;
    char func[512];
    char pattern[32];
    long revision;
    char images[512];
    double per_minute;
    int64_t span_ms;
    double req_per_s;
    int restarts;
    int64_t opened_ms;
    int64_t seen_ms;      /* a pod of the workload last sampled          */

    /* The pod of a newer revision being watched, "" when none. */
    char v_pod[64];
    long v_revision;
    int v_restarts;
    int64_t v_count;
    double v_requests;
    int64_t v_t_ms;
    int64_t v_seen_ms;    /* the watched pod last sampled (wants)        */
} story;

typedef struct kept {
    char owner_uid[64];
    ctl_revision_evidence ev;
} kept;

#define CTL_STORY_MAX_EVIDENCE 1024

struct ctl_stories {
    pthread_mutex_t mu;
    int64_t min_window_ms;
    story *items;
    size_t n, cap;
    kept *kept;                /* evidence per (workload, revision)       */
    size_t nkept, kept_cap;
};

ctl_stories *ctl_stories_new(int64_t min_window_ms)
{
    ctl_stories *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    s->min_window_ms = min_window_ms > 0 ? min_window_ms : 0;
    return s;
}

void ctl_stories_free(ctl_stories *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s->items);
    free(s->kept);
    free(s);
}

static story *find_locked(ctl_stories *s, const char *owner_uid, const char *func)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->items[i].owner.uid, owner_uid) &&
            !strcmp(s->items[i].func, func))
            return &s->items[i];
    return NULL;
}

static void remove_locked(ctl_stories *s, story *st)
{
    size_t i = (size_t)(st - s->items);
    s->items[i] = s->items[--s->n];
}

bool ctl_stories_open(ctl_stories *s, const ctl_story_facts *f, int64_t now_ms)
{
    if (!f->owner || !f->owner->uid[0] || !f->func)
        return false;
    pthread_mutex_lock(&s->mu);
    if (find_locked(s, f->owner->uid, f->func)) {
        pthread_mutex_unlock(&s->mu);
        return false;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        story *grown = realloc(s->items, cap * sizeof(*grown));
        if (!grown) {
            pthread_mutex_unlock(&s->mu);
            return false;
        }
        s->items = grown;
        s->cap = cap;
    }
    story *st = &s->items[s->n++];
    memset(st, 0, sizeof(*st));
    snprintf(st->ns, sizeof(st->ns), "%s", f->ns ? f->ns : "");
    st->owner = *f->owner;
    snprintf(st->func, sizeof(st->func), "%s", f->func);
    snprintf(st->pattern, sizeof(st->pattern), "%s", f->pattern ? f->pattern : "");
    st->revision = f->revision;
    snprintf(st->images, sizeof(st->images), "%s", f->images ? f->images : "");
    st->per_minute = f->per_minute;
    st->span_ms = f->span_ms;
    st->req_per_s = f->req_per_s;
    st->opened_ms = now_ms;
    st->seen_ms = now_ms;
    pthread_mutex_unlock(&s->mu);
    return true;
}

bool ctl_stories_end(ctl_stories *s, const char *owner_uid, const char *func)
{
    pthread_mutex_lock(&s->mu);
    story *st = find_locked(s, owner_uid, func);
    if (st)
        remove_locked(s, st);
    pthread_mutex_unlock(&s->mu);
    return st != NULL;
}

bool ctl_stories_is_open(ctl_stories *s, const char *owner_uid, const char *func)
{
    pthread_mutex_lock(&s->mu);
    bool open = find_locked(s, owner_uid, func) != NULL;
    pthread_mutex_unlock(&s->mu);
    return open;
}

int ctl_stories_pod_gone(ctl_stories *s, const char *owner_uid,
                         const char *func, long revision)
{
    pthread_mutex_lock(&s->mu);
    story *st = find_locked(s, owner_uid, func);
    int restarts = -1;
    if (st) {
        if (revision == st->revision)
            st->restarts++;
        restarts = st->restarts;
    }
    pthread_mutex_unlock(&s->mu);
    return restarts;
}

size_t ctl_stories_count(ctl_stories *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void ctl_stories_touch(ctl_stories *s, const char *owner_uid, int64_t now_ms)
{
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->items[i].owner.uid, owner_uid))
            s->items[i].seen_ms = now_ms;
    pthread_mutex_unlock(&s->mu);
}

size_t ctl_stories_expire(ctl_stories *s, int64_t now_ms, int64_t idle_ms,
                          ctl_story_gone *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n && n < max;) {
        story *st = &s->items[i];
        if (now_ms - st->seen_ms < idle_ms) {
            i++;
            continue;
        }
        ctl_story_gone *g = &out[n++];
        snprintf(g->ns, sizeof(g->ns), "%s", st->ns);
        g->owner = st->owner;
        snprintf(g->func, sizeof(g->func), "%s", st->func);
        snprintf(g->pattern, sizeof(g->pattern), "%s", st->pattern);
        remove_locked(s, st); /* the last item moved into i: look again */
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Only a newer template can carry a fix; an unknown revision cannot be
 * told from a restart, so it never counts. */
static bool newer(const story *st, long revision)
{
    return revision > 0 && st->revision > 0 && revision > st->revision;
}

static int64_t window_ms(const ctl_stories *s, const story *st)
{
    return st->span_ms > s->min_window_ms ? st->span_ms : s->min_window_ms;
}

/* How long the watched pod may go unsampled before another takes over. */
static int64_t stale_ms(const ctl_stories *s)
{
    return s->min_window_ms > CTL_STORY_STALE_MS ? s->min_window_ms : CTL_STORY_STALE_MS;
}

bool ctl_stories_wants(ctl_stories *s, const char *owner_uid,
                       const char *pod_uid, long revision, int64_t now_ms,
                       char *func, size_t funclen)
{
    bool want = false;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n && !want; i++) {
        story *st = &s->items[i];
        if (strcmp(st->owner.uid, owner_uid) || !newer(st, revision))
            continue;
        if (!st->v_pod[0] || st->v_revision != revision) {
            want = true;
        } else if (!strcmp(st->v_pod, pod_uid)) {
            st->v_seen_ms = now_ms;
            want = now_ms - st->v_t_ms >= window_ms(s, st);
        } else {
            /* The watched pod is no longer sampled (deleted, not ready):
             * another pod of the revision takes over. */
            want = now_ms - st->v_seen_ms > stale_ms(s);
        }
        if (want)
            snprintf(func, funclen, "%s", st->func);
    }
    pthread_mutex_unlock(&s->mu);
    return want;
}

static void start_window(story *st, const ctl_verify_obs *o)
{
    snprintf(st->v_pod, sizeof(st->v_pod), "%s", o->pod_uid);
    st->v_revision = o->revision;
    st->v_restarts = o->restarts;
    st->v_count = o->count;
    st->v_requests = o->requests;
    st->v_t_ms = o->t_ms;
    st->v_seen_ms = o->t_ms;
}

ctl_verify_outcome ctl_stories_observe(ctl_stories *s, const ctl_verify_obs *o,
                                       ctl_verify_result *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->mu);
    story *st = find_locked(s, o->owner_uid, o->func);
    if (!st || !newer(st, o->revision)) {
        pthread_mutex_unlock(&s->mu);
        return CTL_VERIFY_NONE;
    }
    /* Another pod, another revision or a restarted process: what was
     * counted before says nothing about this one. */
    if (strcmp(st->v_pod, o->pod_uid) || st->v_revision != o->revision ||
        st->v_restarts != o->restarts) {
        start_window(st, o);
        pthread_mutex_unlock(&s->mu);
        return CTL_VERIFY_WATCHING;
    }
    int64_t elapsed = o->t_ms - st->v_t_ms;
    if (elapsed < window_ms(s, st) || elapsed <= 0) {
        pthread_mutex_unlock(&s->mu);
        return CTL_VERIFY_WATCHING;
    }
    double minutes = (double)elapsed / 60000.0;
    double req_per_s = o->requests >= 0 && st->v_requests >= 0 &&
                               o->requests >= st->v_requests
                           ? (o->requests - st->v_requests) / ((double)elapsed / 1000.0)
                           : -1;
    ctl_verify_msg m = {
        .func = st->func,
        .pattern = st->pattern,
        .pod = o->pod_name,
        .revision = o->revision,
        .images = o->images,
        .old_revision = st->revision,
        .old_images = st->images,
        .from = st->v_count,
        .to = o->count,
        .minutes = minutes,
        .per_minute = (double)(o->count - st->v_count) / minutes,
        .req_per_s = req_per_s,
        .old_per_minute = st->per_minute,
        .old_req_per_s = st->req_per_s,
        .restarts = st->restarts,
    };
    snprintf(out->ns, sizeof(out->ns), "%s", st->ns);
    out->owner = st->owner;
    snprintf(out->pattern, sizeof(out->pattern), "%s", st->pattern);
    ctl_verify_outcome outcome;
    double expected = st->per_minute > 0 ? st->per_minute * minutes : 0;
    double needed = CTL_STORY_GROWTH_SHARE * expected;
    if (needed < CTL_STORY_MIN_GROWTH)
        needed = CTL_STORY_MIN_GROWTH;
    if ((double)(o->count - st->v_count) >= needed) {
        m.kind = CTL_VERIFIED_NOT_FIXED;
        outcome = CTL_VERIFY_NOT_FIXED;
        ctl_format_verified(&m, out->message, sizeof(out->message));
        /* The story is now about the revision that still leaks. */
        st->revision = o->revision;
        snprintf(st->images, sizeof(st->images), "%s", o->images ? o->images : "");
        st->per_minute = m.per_minute;
        st->span_ms = elapsed;
        if (req_per_s >= 0)
            st->req_per_s = req_per_s;
        st->restarts = 0;
        st->v_pod[0] = '\0';
    } else if (st->req_per_s > 0 && req_per_s >= 0 &&
               req_per_s < CTL_STORY_LOAD_SHARE * st->req_per_s) {
        m.kind = CTL_VERIFIED_LOW_LOAD;
        outcome = CTL_VERIFY_LOW_LOAD;
        ctl_format_verified(&m, out->message, sizeof(out->message));
        start_window(st, o);
    } else {
        m.kind = CTL_VERIFIED_FIXED;
        outcome = CTL_VERIFY_FIXED;
        ctl_format_verified(&m, out->message, sizeof(out->message));
        remove_locked(s, st);
    }
    pthread_mutex_unlock(&s->mu);
    return outcome;
}

void ctl_stories_note_evidence(ctl_stories *s, const char *owner_uid,
                               long revision, const char *images,
                               const char *path, int64_t t_s)
{
    if (!owner_uid || !owner_uid[0] || revision <= 0 || !path || !path[0])
        return;
    pthread_mutex_lock(&s->mu);
    kept *slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < s->nkept && !slot; i++) {
        kept *k = &s->kept[i];
        if (k->ev.revision == revision && !strcmp(k->owner_uid, owner_uid))
            slot = k;
        else if (!oldest || k->ev.t_s < oldest->ev.t_s)
            oldest = k;
    }
    if (slot && t_s < slot->ev.t_s) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (!slot && s->nkept == s->kept_cap && s->kept_cap < CTL_STORY_MAX_EVIDENCE) {
        size_t cap = s->kept_cap ? s->kept_cap * 2 : 16;
        kept *grown = realloc(s->kept, cap * sizeof(*grown));
        if (grown) {
            s->kept = grown;
            s->kept_cap = cap;
        }
    }
    if (!slot && s->nkept < s->kept_cap)
        slot = &s->kept[s->nkept++];
    if (!slot)
        slot = oldest;
    if (slot) {
        snprintf(slot->owner_uid, sizeof(slot->owner_uid), "%s", owner_uid);
        slot->ev.revision = revision;
        snprintf(slot->ev.images, sizeof(slot->ev.images), "%s", images ? images : "");
        snprintf(slot->ev.path, sizeof(slot->ev.path), "%s", path);
        slot->ev.t_s = t_s;
    }
    pthread_mutex_unlock(&s->mu);
}

bool ctl_stories_older_evidence(ctl_stories *s, const char *owner_uid,
                                long revision, ctl_revision_evidence *out)
{
    const kept *best = NULL;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nkept; i++) {
        const kept *k = &s->kept[i];
        if (k->ev.revision < revision && !strcmp(k->owner_uid, owner_uid) &&
            (!best || k->ev.revision > best->ev.revision))
            best = k;
    }
    if (best)
        *out = best->ev;
    pthread_mutex_unlock(&s->mu);
    return best != NULL;
}
