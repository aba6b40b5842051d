/*
 * ctl_open.h — the findings a previous leakwatch left open in the cluster,
 * read back from its Events when this controller starts to lead.
 *
 * A controller that restarts (or a standby that takes over) has no memory
 * of the findings in force.  Without this, a pod whose leak had been
 * reported would never get its GoroutineLeakCleared once it goes flat, and
 * a pod still leaking would be captured and judged all over again.  One
 * LIST of leakwatch's Pod Events per watched namespace, at the start of
 * each leadership, is enough: the newest of GoroutineLeak and
 * GoroutineLeakCleared on a pod says whether its finding is open, and
 * "pattern NAME:" in the message says which pattern it was.
 *
 * Workers take a pod's entry the first time they sample the pod; what is
 * never taken (pods gone) is dropped with the set.
 *
 * Not for: deciding whether a NEW finding repeats an old one (that is
 * asked of the API at finding time, per stack: controller.c).
 */
#ifndef CTL_OPEN_H
#define CTL_OPEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ctl_open ctl_open;

ctl_open *ctl_open_new(void);
void ctl_open_free(ctl_open *o);

/* One of leakwatch's Events on a pod (reason GoroutineLeak or
 * GoroutineLeakCleared, others are ignored); t is its time in seconds.
 * -1 when out of memory. */
int ctl_open_note(ctl_open *o, const char *uid, const char *reason,
                  int64_t t, const char *message);
/* True (with its pattern, "" when the message did not say) when the pod's
 * newest Event left a finding open; once only: the entry is then taken. */
bool ctl_open_take(ctl_open *o, const char *uid, char *pattern, size_t len);
/* Entries whose newest Event is a GoroutineLeak. */
size_t ctl_open_count(const ctl_open *o);
/* Forgets everything (a lost leadership: the next leader reads afresh). */
void ctl_open_reset(ctl_open *o);

#endif
