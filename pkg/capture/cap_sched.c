/*
 * cap_sched.c — concurrency caps for captures: at most N in flight overall
 * and at most M on one node, because a capture costs the target pod a
 * stop-the-world pause and its node (kubelet, network) a stream.
 *
 * A mutex and a condition variable over a small table of busy nodes;
 * entries disappear when their count drops to zero, so the table is as big
 * as the number of nodes with captures in flight, never more.
 * Not for: deciding which pod goes first (the controller queues).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/capture.h"
#include "lw/lw_clock.h"
#include "lw/lw_grow.h"

typedef struct sched_node {
    char *name;
    int n;
} sched_node;

struct cap_scheduler {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int max_global, max_per_node;
    int in_flight;
    sched_node *nodes;
    size_t nnodes, capnodes;
};

cap_scheduler *cap_scheduler_new(int max_global, int max_per_node)
{
    cap_scheduler *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (pthread_mutex_init(&s->mu, NULL) || lw_cond_init_monotonic(&s->cv)) {
        free(s);
        return NULL;
    }
    s->max_global = max_global > 0 ? max_global : 1;
    s->max_per_node = max_per_node;
    return s;
}

void cap_scheduler_free(cap_scheduler *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nnodes; i++)
        free(s->nodes[i].name);
    free(s->nodes);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static sched_node *find_node(cap_scheduler *s, const char *node)
{
    for (size_t i = 0; i < s->nnodes; i++)
        if (!strcmp(s->nodes[i].name, node))
            return &s->nodes[i];
    return NULL;
}

/* Under the lock: takes a slot if the caps allow.  -1 also when out of
 * memory for the node entry (the caller then treats it as busy). */
static int take_locked(cap_scheduler *s, const char *node)
{
    if (s->in_flight >= s->max_global)
        return -1;
    sched_node *e = find_node(s, node);
    if (s->max_per_node > 0 && e && e->n >= s->max_per_node)
        return -1;
    if (!e) {
        if (lw_grow(&s->nodes, &s->capnodes, s->nnodes, sizeof *s->nodes, 8))
            return -1;
        char *name = strdup(node);
        if (!name)
            return -1;
        e = &s->nodes[s->nnodes++];
        e->name = name;
        e->n = 0;
    }
    e->n++;
    s->in_flight++;
    return 0;
}

bool cap_scheduler_try_acquire(cap_scheduler *s, const char *node)
{
    if (!node)
        node = "";
    pthread_mutex_lock(&s->mu);
    int rc = take_locked(s, node);
    pthread_mutex_unlock(&s->mu);
    return rc == 0;
}

int cap_scheduler_acquire(cap_scheduler *s, const char *node, long timeout_ms)
{
    if (!node)
        node = "";
    struct timespec until;
    lw_deadline_ms(&until, timeout_ms); /* unused when waiting forever */
    pthread_mutex_lock(&s->mu);
    int rc;
    while ((rc = take_locked(s, node)) != 0) {
        int w = timeout_ms < 0 ? pthread_cond_wait(&s->cv, &s->mu)
                               : pthread_cond_timedwait(&s->cv, &s->mu,
                                                        &until);
        if (w == ETIMEDOUT) {
            rc = take_locked(s, node);
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void cap_scheduler_release(cap_scheduler *s, const char *node)
{
    if (!node)
        node = "";
    pthread_mutex_lock(&s->mu);
    sched_node *e = find_node(s, node);
    if (e && e->n > 0) {
        e->n--;
        s->in_flight--;
        if (e->n == 0) {
            free(e->name);
            *e = s->nodes[--s->nnodes];
        }
    }
    /* Waiters may be waiting on the global cap or on this node: wake all,
     * each rechecks its own condition. */
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

int cap_scheduler_in_flight(cap_scheduler *s, const char *node)
{
    pthread_mutex_lock(&s->mu);
    int n = s->in_flight;
    if (node) {
        sched_node *e = find_node(s, node);
        n = e ? e->n : 0;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}
