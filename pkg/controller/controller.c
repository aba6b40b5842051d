/*
 * controller.c — the control loop described in controller.h.
 */
#include "controller.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analysis/analysis.h"
#include "capture/capture.h"
#include "contain/contain.h"
#include "controller/ctl_episode.h"
#include "controller/ctl_evidence.h"
#include "controller/ctl_message.h"
#include "controller/ctl_open.h"
#include "controller/ctl_pods.h"
#include "controller/ctl_shard.h"
#include "controller/ctl_story.h"
#include "controller/ctl_window.h"
#include "kube/kube.h"
#include "kube/kube_cache.h"
#include "kube/kube_events.h"
#include "kube/kube_lease.h"
#include "kube/kube_members.h"
#include "kube/kube_pods.h"
#include "lw/lw_clock.h"
#include "lw/lw_grow.h"
#include "lw/lw_hash.h"
#include "lw/lw_str.h"
#include "lw/lw_text.h"
#include "obs/obs_http.h"
#include "obs/obs_metrics.h"

#define CTL_MAX_CACHES 32
#define CTL_QUEUE_MAX 8192
/* Replicas a sharded controller shares pods among: ownership is hashed
 * over at most this many (the first, by identity), which is far more than
 * one cluster's pods need (see DESIGN.md, Scale). */
#define CTL_SHARD_MAX 64
/* A member Lease not renewed for this long is deleted by the leader: its
 * replica died without deleting it (SIGKILL, a node lost). */
#define CTL_SHARD_STALE_MS (10 * 60 * 1000)

/* Reasons written into Events (the first two are DESIGN.md contracts). */
#define REASON_LEAK "GoroutineLeak"
#define REASON_CLEARED "GoroutineLeakCleared"
#define REASON_FIXED "GoroutineLeakFixed"
#define REASON_NOT_FIXED "GoroutineLeakNotFixed"
#define REASON_ANNOTATION "InvalidAnnotation"

struct ctl_controller {
    const ctl_config *cfg; /* borrowed from main, outlives the controller */
    obs_logger *log;

    kube_config *kcfg;
    kube_client *kube;
    kube_cache *caches[CTL_MAX_CACHES];
    size_t ncaches;
    kube_recorder *rec;
    kube_lease *lease;
    char identity[256];
    char lease_ns[64];

    /* Sharding (ctl_shard.h), when cfg->shard: this replica's member Lease,
     * the group's Leases, and the live members ownership is hashed over. */
    kube_lease *member;
    kube_members *members;
    pthread_mutex_t shard_mu;     /* after the pods lock, never before   */
    char (*shard_ids)[256];       /* live members, sorted; shard_mu      */
    size_t nshard;                /* 0: not acting (yet); shard_mu       */
    char leader_id[256];          /* observed leader, "" none; shard_mu  */
    char (*shard_scratch)[256];   /* main thread only                    */
    uint64_t shard_sig;           /* main thread only                    */
    atomic_bool shard_acting;

    cap_capturer *cap;
    cap_scheduler *sched;
    cnt_containment *contain;
    ctl_pods *pods;
    ctl_evidence *evidence;

    lwa_ignore *ignore;
    lwa_options aopt;
    lwa_thresholds ath;
    ctl_thresholds wth;

    obs_registry *reg;
    obs_http *http;
    obs_metric *m_goroutines, *m_growth, *m_findings, *m_captures,
        *m_capture_seconds, *m_api, *m_leader, *m_pods, *m_workers, *m_events,
        *m_open, *m_fixed, *m_malloc, *m_shard_members, *m_shard_owned;
    pthread_mutex_t findings_mu;
    long findings_by_pattern[LWA_PATTERN_COUNT];
    /* Findings an earlier leakwatch left open, read once per leadership. */
    ctl_open *open;
    atomic_bool open_loaded;
    /* Workload stories open in this process (ctl_story.h): two replicas
     * found at once must not both write one, an Event just queued is not
     * in the API's answer yet, and a newer revision is verified against
     * them. */
    ctl_stories *stories;

    /* Work queue of pod uids. */
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    char (*queue)[64];
    size_t qhead, qn;
    /* Capture workers, started as the queue needs them (grow_workers), up
     * to --max-concurrent-captures; idle_workers wait on qcv.  Both
     * counts under qmu. */
    pthread_t *workers;
    int nworkers, idle_workers;

    pthread_mutex_t wake_mu;
    pthread_cond_t wake_cv;
    atomic_bool stopping;
    atomic_bool cancel_captures;
    atomic_llong heartbeat_ms;
};

/* ---- time and randomness ---------------------------------------------- */

static double rand01(unsigned *seed)
{
    return (double)rand_r(seed) / ((double)RAND_MAX + 1.0);
}

/* The next due time: the interval, jittered ±10% so pods that appeared
 * together do not stay in lockstep. */
static int64_t next_due(const ctl_controller *c, int64_t now, unsigned *seed)
{
    double iv = c->cfg->interval_s * 1000.0;
    return now + (int64_t)(iv * (0.9 + 0.2 * rand01(seed)));
}

static bool leading(ctl_controller *c)
{
    return !c->cfg->leader_elect || (c->lease && kube_lease_is_leader(c->lease));
}

/* Samples its pods and records their findings: the leader, or with
 * sharding every member that holds its Lease and sees itself live. */
static bool acting(ctl_controller *c)
{
    return c->cfg->shard ? atomic_load(&c->shard_acting) : leading(c);
}

static bool may_write(ctl_controller *c)
{
    return !c->cfg->dry_run && acting(c);
}

/* ---- logging glue ------------------------------------------------------ */

static void log_kube(const char *msg, void *ud)
{
    ctl_controller *c = ud;
    obs_log(c->log, OBS_WARN, msg, OBS_END);
}

static void observe_request(const char *verb, long code, double seconds, void *ud)
{
    ctl_controller *c = ud;
    (void)seconds;
    char codes[16];
    snprintf(codes, sizeof(codes), "%ld", code);
    const char *vals[] = {verb, codes};
    obs_counter_add(c->m_api, vals, 1);
}

/* ---- findings gauge ----------------------------------------------------- */

static void findings_adjust(ctl_controller *c, const char *pattern, int delta)
{
    int p = lwa_pattern_from_name(pattern);
    if (p < 0)
        p = LWA_PATTERN_UNKNOWN;
    pthread_mutex_lock(&c->findings_mu);
    c->findings_by_pattern[p] += delta;
    if (c->findings_by_pattern[p] < 0)
        c->findings_by_pattern[p] = 0;
    const char *vals[] = {lwa_pattern_name((lwa_pattern)p)};
    obs_gauge_set(c->m_findings, vals, (double)c->findings_by_pattern[p]);
    pthread_mutex_unlock(&c->findings_mu);
}

/* ---- Events ------------------------------------------------------------- */

/*
 * Has leakwatch already told the cluster about this (object, reason)
 * recently?  Asked before every first report of a finding or an annotation
 * error, so a controller that was restarted (or a new leader) adopts what
 * the previous one wrote instead of writing it again.
 */
typedef struct recent_event {
    int64_t now, within_s;
    bool found;
} recent_event;

static int is_recent(json_t *ev, void *ud)
{
    recent_event *r = ud;
    int64_t t = kube_event_time(ev);
    if (t >= 0 && r->now - t > r->within_s)
        return 0;
    r->found = true;
    return 1;
}

static bool event_already_recorded(ctl_controller *c, const char *ns,
                                   const char *uid, const char *reason,
                                   long within_s)
{
    char sel[256];
    snprintf(sel, sizeof(sel), "involvedObject.uid=%s,reason=%s", uid, reason);
    recent_event r = {.now = lw_wall_ms() / 1000, .within_s = within_s};
    kube_response err;
    memset(&err, 0, sizeof(err));
    if (kube_events_list(c->kube, ns, sel, "leakwatch", is_recent, &r, &err) < 0)
        obs_log(c->log, OBS_WARN, "cannot read existing events", "uid", uid,
                "error", err.error, OBS_END);
    kube_response_free(&err);
    return r.found;
}

/*
 * Is a finding on this object open in the cluster?  leakwatch's
 * GoroutineLeak / GoroutineLeakCleared Events on the object are the
 * record: the newest of them decides.  A finding is one episode of one
 * stack, and an object can carry findings on several stacks, so asked
 * about a function only the Events about that stack count: an earlier
 * finding adopts a new one only while it is open and names the same
 * function; after a clear, or for another stack, the new finding is news
 * and is written.  Asked before writing a finding, and (about no stack in
 * particular) before writing a clear: never clear what was never written.
 */
typedef enum leak_record {
    LEAK_RECORD_NONE = 0,  /* nothing open (none, or the newest cleared)    */
    LEAK_RECORD_SAME,      /* open on the function asked about              */
    LEAK_RECORD_OTHER,     /* open (asked about no function in particular)  */
} leak_record;

typedef struct leak_scan {
    const char *func;
    int64_t newest;
    leak_record state;
} leak_scan;

/* Clears name the stacks they close ("goroutine leak (cond) on F1, F2 no
 * longer observed"); one that names none (a finding adopted without its
 * stacks) closes every stack of the object. */
static bool clear_closes(const char *msg, const char *func)
{
    return !msg || !strstr(msg, ") on ") || strstr(msg, func);
}

static int scan_leak_event(json_t *ev, void *ud)
{
    leak_scan *ls = ud;
    const char *reason = json_string_value(json_object_get(ev, "reason"));
    if (!reason)
        return 0;
    /* A workload's GoroutineLeakNotFixed keeps its finding open, its
     * GoroutineLeakFixed closes it; both start with the stack's name. */
    bool leak = !strcmp(reason, REASON_LEAK) || !strcmp(reason, REASON_NOT_FIXED);
    bool fixed = !strcmp(reason, REASON_FIXED);
    if (!leak && !fixed && strcmp(reason, REASON_CLEARED))
        return 0;
    const char *msg = json_string_value(json_object_get(ev, "message"));
    /* Asked about one stack: only the Events about it count (an object
     * can carry findings on several stacks at once). */
    bool names = msg && ls->func && strstr(msg, ls->func);
    if (ls->func && ls->func[0] &&
        (leak || fixed ? !names : !clear_closes(msg, ls->func)))
        return 0;
    int64_t t = kube_event_time(ev);
    /* The newer Event decides; on a tie a clear wins. */
    if (t < ls->newest || (t == ls->newest && leak))
        return 0;
    ls->newest = t;
    ls->state = !leak ? LEAK_RECORD_NONE
                      : ls->func && ls->func[0] ? LEAK_RECORD_SAME : LEAK_RECORD_OTHER;
    return 0;
}

static leak_record leak_recorded(ctl_controller *c, const char *ns,
                                 const char *uid, const char *func)
{
    char sel[128];
    snprintf(sel, sizeof(sel), "involvedObject.uid=%s", uid);
    /* Messages carry function names escaped (ctl_message.c): compare the
     * escaped form. */
    char esc[1024] = "";
    if (func)
        lw_text_escape(func, strlen(func), esc, sizeof(esc));
    leak_scan ls = {.func = func ? esc : NULL, .newest = -1,
                    .state = LEAK_RECORD_NONE};
    kube_response err;
    memset(&err, 0, sizeof(err));
    if (kube_events_list(c->kube, ns, sel, "leakwatch", scan_leak_event, &ls,
                         &err) < 0)
        obs_log(c->log, OBS_WARN, "cannot read existing events", "uid", uid,
                "error", err.error, OBS_END);
    kube_response_free(&err);
    return ls.state;
}

static void record_on_pod(ctl_controller *c, const char *ns, const char *name,
                          const char *uid, const char *type, const char *reason,
                          const char *msg)
{
    kube_object_ref ref = {.api_version = "v1", .kind = "Pod", .namespace = ns,
                           .name = name, .uid = uid};
    kube_event_record(c->rec, &ref, type, reason, msg);
}

static void record_on_owner(ctl_controller *c, const char *ns,
                            const kube_owner *o, const char *type,
                            const char *reason, const char *msg)
{
    if (!o->kind[0] || !o->uid[0])
        return;
    kube_object_ref ref = {.api_version = o->api_version[0] ? o->api_version : "apps/v1",
                           .kind = o->kind, .namespace = ns, .name = o->name,
                           .uid = o->uid};
    kube_event_record(c->rec, &ref, type, reason, msg);
}

/* ---- the work of one pod ------------------------------------------------ */

/* What a worker copies out of the registry to work without the lock. */
typedef struct pod_view {
    char uid[64], ns[64], name[254], node[254], ip[64];
    char rev_hash[64], images[512];
    long revision;        /* -1 unknown                                  */
    int64_t revision_since_s;
    kube_pod_endpoint ep;
    int ep_state;
    bool ready, terminating, owner_resolved, metrics_absent, annotation_reported;
    bool finding, suspect;
    int64_t start_s;
    kube_owner owner;
    uint64_t annotation_error_hash;
} pod_view;

static void view_of(const ctl_pod *p, pod_view *v)
{
    memset(v, 0, sizeof(*v));
    memcpy(v->uid, p->uid, sizeof(v->uid));
    lw_strlcpy(v->ns, p->ns, sizeof(v->ns));
    lw_strlcpy(v->name, p->name, sizeof(v->name));
    lw_strlcpy(v->node, p->node, sizeof(v->node));
    memcpy(v->ip, p->ip, sizeof(v->ip));
    lw_strlcpy(v->rev_hash, p->rev_hash, sizeof(v->rev_hash));
    lw_strlcpy(v->images, p->images, sizeof(v->images));
    v->revision = p->revision;
    v->revision_since_s = p->revision_since_s;
    v->ep = *p->ep;
    v->ep_state = p->ep_state;
    v->ready = p->ready;
    v->terminating = p->terminating;
    v->owner_resolved = p->owner_resolved;
    v->owner = *p->owner;
    v->metrics_absent = p->metrics_absent;
    v->annotation_reported = p->annotation_reported;
    v->annotation_error_hash = p->annotation_error_hash;
    v->finding = p->finding;
    v->suspect = p->win.suspect;
    v->start_s = p->start_s;
}

static void target_of(const pod_view *v, cap_target *t)
{
    memset(t, 0, sizeof(*t));
    t->namespace = v->ns;
    t->pod = v->name;
    t->uid = v->uid;
    t->node = v->node;
    t->pod_ip = v->ip;
    t->port = (uint16_t)v->ep.port;
    t->path = v->ep.path;
    t->https = !strcmp(v->ep.scheme, "https");
}

static void count_capture(ctl_controller *c, const cap_result *r)
{
    const char *vals[] = {cap_transport_name(r->transport), cap_kind_name(r->kind),
                          r->status == CAP_OK ? "ok" : cap_status_name(r->status)};
    obs_counter_add(c->m_captures, vals, 1);
    if (r->status != CAP_ERR_BACKOFF) {
        const char *tv[] = {cap_transport_name(r->transport)};
        obs_histogram_observe(c->m_capture_seconds, tv, r->seconds);
    }
}

/* keep: the raw bytes in res->data; parse: res->profile (and the count
 * from it).  A debug=1 cheap sample parses without keeping: its "total"
 * line is the only goroutine count a pprof-only pod serves. */
static int capture_as(ctl_controller *c, const pod_view *v, cap_kind kind,
                      bool keep, bool parse, cap_result *res)
{
    cap_target t;
    target_of(v, &t);
    cap_request req = {.kind = kind, .to_memory = keep, .parse = parse,
                       .sched = c->sched, .cancel = &c->cancel_captures};
    int rc = cap_capture(c->cap, &t, &req, res);
    count_capture(c, res);
    return rc;
}

static int capture(ctl_controller *c, const pod_view *v, cap_kind kind,
                   bool keep, cap_result *res)
{
    return capture_as(c, v, kind, keep, keep, res);
}

/* Cheap sample: go_goroutines from /metrics, or the debug=1 total when the
 * pod does not export the gauge (remembered per pod).  On failure *status
 * says what kind it was (cap_status), so the caller can tell a new kind of
 * failure from more of the same. */
static int cheap_sample(ctl_controller *c, pod_view *v, int64_t *count,
                        double *requests, int *status, char *err, size_t errlen)
{
    cap_result r;
    if (!v->metrics_absent) {
        int rc = capture(c, v, CAP_KIND_METRICS, false, &r);
        if (rc == 0 && r.goroutines >= 0) {
            *count = r.goroutines;
            *requests = r.requests;
            cap_result_free(&r);
            return 0;
        }
        bool absent = r.status == CAP_ERR_UNSUPPORTED ||
                      (r.status == CAP_ERR_HTTP && r.http_status == 404);
        if (!absent) {
            *status = (int)r.status;
            snprintf(err, errlen, "%s", r.error);
            cap_result_free(&r);
            return -1;
        }
        cap_result_free(&r);
        v->metrics_absent = true;
    }
    int rc = capture_as(c, v, CAP_KIND_GOROUTINE_DEBUG1, false, true, &r);
    if (rc == 0 && r.goroutines >= 0) {
        *count = r.goroutines;
        cap_result_free(&r);
        return 0;
    }
    *status = r.status != CAP_OK ? (int)r.status : CAP_ERR_PARSE;
    snprintf(err, errlen, "%s", r.error[0] ? r.error : "no goroutine count");
    cap_result_free(&r);
    return -1;
}

typedef struct ctl_owner_match {
    const char *rs_uid, *rev_hash;
    bool found;
    kube_owner owner;
    kube_revision revision;
} ctl_owner_match;

static int match_owner(ctl_pod *p, void *ud)
{
    ctl_owner_match *m = ud;
    if (!p->owner_resolved || strcmp(p->rs_uid, m->rs_uid))
        return 0;
    m->owner = *p->owner;
    m->found = true;
    /* A StatefulSet's pods share its uid across revisions: the revision is
     * another pod's only when their template hash is the same. */
    if (p->revision > 0 && !strcmp(p->rev_hash, m->rev_hash)) {
        m->revision.number = p->revision;
        m->revision.created_s = p->revision_since_s;
        return 1;
    }
    return 0;
}

/* The pod's workload owner and the revision of its template, resolved
 * once per pod (v->owner_resolved); a revision that cannot be read stays
 * -1 and the finding says less, never nothing. */
static void resolve_owner(ctl_controller *c, pod_view *v)
{
    /* Pods of one ReplicaSet share their owner: resolve it once, not once
     * per pod (a thousand pods of ten workloads is ten lookups). */
    ctl_owner_match m = {.revision = {-1, -1}};
    ctl_pods_lock(c->pods);
    ctl_pod *self = ctl_pods_get(c->pods, v->uid);
    if (self && self->rs_uid[0]) {
        m.rs_uid = self->rs_uid;
        m.rev_hash = self->rev_hash;
        ctl_pods_foreach(c->pods, match_owner, &m);
    }
    ctl_pods_unlock(c->pods);
    if (m.found) {
        v->owner = m.owner;
        v->owner_resolved = true;
        v->revision = m.revision.number;
        v->revision_since_s = m.revision.created_s;
        if (m.revision.number > 0 || !v->rev_hash[0])
            return;
    }
    json_t *pod = NULL;
    for (size_t i = 0; i < c->ncaches && !pod; i++)
        pod = kube_cache_get(c->caches[i], v->ns, v->name);
    if (!pod)
        return;
    kube_owner o;
    kube_response err;
    /* A peer gave the owner but not this template's revision (a new
     * ReplicaSet of the same Deployment): only the revision is read. */
    kube_revision rev;
    int rc = m.found ? (kube_pod_revision(c->kube, pod, &rev, &err) < 0 ? 1 : 0)
                     : kube_resolve_workload(c->kube, pod, &o, &rev, &err);
    v->revision = rev.number;
    v->revision_since_s = rev.created_s;
    if (!m.found && rc >= 0) {
        v->owner = o;
        v->owner_resolved = true;
    }
    if (rc != 0)
        obs_log(c->log, OBS_WARN,
                rc < 0 ? "cannot resolve owner" : "cannot read the pod's revision",
                "pod", v->name, "namespace", v->ns, "error", err.error, OBS_END);
    kube_response_free(&err);
    json_decref(pod);
}

static void report_annotation_error(ctl_controller *c, const pod_view *v)
{
    char msg[768];
    snprintf(msg, sizeof(msg), "leakwatch cannot capture this pod: %s",
             v->ep.error);
    obs_log(c->log, OBS_WARN, "invalid leakwatch annotation", "namespace", v->ns,
            "pod", v->name, "error", v->ep.error, OBS_END);
    if (may_write(c) &&
        !event_already_recorded(c, v->ns, v->uid, REASON_ANNOTATION, 3600))
        record_on_pod(c, v->ns, v->name, v->uid, "Warning", REASON_ANNOTATION, msg);
}

/* The function a finding names: the frame users are shown first. */
static const char *finding_func(const lwa_finding *f)
{
    const lwa_sig *sig = f->sig;
    const char *func = sig->nframes ? sig->frames[sig->shown].func : NULL;
    return func ? func : "";
}

/* A file just kept of pod `of` (a replica of v's workload), remembered as
 * its revision's evidence for later revisions (ctl_story.h). */
static void note_evidence(ctl_controller *c, const pod_view *v,
                          const pod_view *of, const char *path, int64_t t_s)
{
    if (v->owner_resolved && path[0])
        ctl_stories_note_evidence(c->stories, v->owner.uid, of->revision,
                                  of->images, path, t_s);
}

/* How many goroutines each leak's stack had in the evidence kept of the
 * newest revision older than v's (-1 each when there is none, or it can
 * no longer be read: rotated away). */
static bool older_revision_counts(ctl_controller *c, const pod_view *v,
                                  const lwa_finding *const *leaks, size_t nleaks,
                                  ctl_revision_evidence *ev, int64_t *counts)
{
    for (size_t i = 0; i < nleaks; i++)
        counts[i] = -1;
    if (!v->owner_resolved || v->revision <= 0 ||
        !ctl_stories_older_evidence(c->stories, v->owner.uid, v->revision, ev))
        return false;
    pprof_limits lim;
    pprof_limits_default(&lim);
    char err[512];
    pprof_profile *prof = pprof_parse_file(ev->path, &lim, err, sizeof(err));
    if (!prof) {
        obs_log(c->log, OBS_INFO, "older revision's evidence unreadable", "path",
                ev->path, "error", err, OBS_END);
        return false;
    }
    for (size_t i = 0; i < nleaks; i++)
        counts[i] = (int64_t)lwa_count_on(prof, finding_func(leaks[i]));
    pprof_profile_free(prof);
    return true;
}

/* Evidence: protobuf captures of the suspect and its baseline (what `go
 * tool pprof -diff_base` opens), taken right now; when the protobuf
 * endpoint fails, the episode's own captures are kept instead.  A write
 * that fails (a full disk) leaves its path empty and its reason in
 * ev_err, for the Event to say: the finding itself is never held back,
 * and containment, finding no evidence, refuses to restart. */
static void keep_evidence(ctl_controller *c, const pod_view *v,
                          const pod_view *peer, const ctl_episode *ep,
                          char *suspect_path, char *baseline_path,
                          size_t pathlen, char *ev_err, size_t ev_errlen)
{
    suspect_path[0] = baseline_path[0] = ev_err[0] = '\0';
    if (!c->evidence)
        return;
    int64_t now_s = lw_wall_ms() / 1000;
    char err[256];
    int rc = 0;
    cap_result r;
    const ctl_full *own_first = ctl_episode_first(ep);
    const ctl_full *own_last = ctl_episode_last(ep);
    if (capture(c, v, CAP_KIND_GOROUTINE_PROTO, true, &r) == 0)
        rc = ctl_evidence_write(c->evidence, v->ns, v->name, v->revision,
                                now_s, "suspect", "pb.gz", r.data, r.len, suspect_path, pathlen,
                                err, sizeof(err));
    else if (own_last->raw)
        rc = ctl_evidence_write(c->evidence, v->ns, v->name, v->revision,
                                now_s, "suspect", own_last->ext, own_last->raw, own_last->len,
                                suspect_path, pathlen, err, sizeof(err));
    cap_result_free(&r);
    if (rc < 0) {
        snprintf(ev_err, ev_errlen, "%s", err);
        obs_log(c->log, OBS_WARN, "evidence not written", "pod", v->name,
                "error", err, OBS_END);
    }
    note_evidence(c, v, v, suspect_path, now_s);
    rc = 0;
    if (peer) {
        if (capture(c, peer, CAP_KIND_GOROUTINE_PROTO, true, &r) == 0)
            rc = ctl_evidence_write(c->evidence, peer->ns, peer->name,
                                    peer->revision, now_s,
                                    "baseline", "pb.gz", r.data, r.len,
                                    baseline_path, pathlen, err, sizeof(err));
        cap_result_free(&r);
    } else if (own_first->raw) {
        rc = ctl_evidence_write(c->evidence, v->ns, v->name, v->revision,
                                own_first->t_ms / 1000, "baseline",
                                own_first->ext, own_first->raw, own_first->len,
                                baseline_path, pathlen, err, sizeof(err));
    }
    if (rc < 0) {
        if (!ev_err[0])
            snprintf(ev_err, ev_errlen, "%s", err);
        obs_log(c->log, OBS_WARN, "evidence not written", "pod", v->name,
                "error", err, OBS_END);
    }
    note_evidence(c, v, peer ? peer : v, baseline_path, now_s);
}

/* What a worker holds while it judges one pod's episode. */
typedef struct episode_job {
    ctl_episode *ep;       /* taken out of the registry                    */
    unsigned gen;          /* the pod's episode generation when taken      */
    pod_view peer;
    bool has_peer;
    ctl_trend trend;       /* the cheap window's, at this sample           */
} episode_job;

/*
 * How much of an episode a finding needs.  Two captures cannot tell a burst
 * caught in flight from a leak that has just begun (ctl_episode.h), hence
 * three at least.  They are taken at least CTL_EPISODE_SPACING_MS apart
 * (half the span when --finding-min-span is shorter), longer than the slow
 * requests a healthy service has in flight, so a goroutine present at two
 * consecutive captures has outlived them.  And the episode must span
 * --finding-min-span (2 minutes): a service ramping up to its steady state
 * (connections arriving after a deploy, a pool warming) grows exactly like
 * a leak until it levels off, and only time shows the difference; two
 * minutes is also how long Go takes to print how many minutes a goroutine
 * has been blocked (the forced GC runs every two).  Against leaks that run
 * for hours before an OOM kill, two minutes cost nothing.
 */
#define CTL_EPISODE_MIN 3
#define CTL_EPISODE_SPACING_MS 15000

static int64_t episode_min_span_ms(const ctl_controller *c)
{
    return (int64_t)(c->cfg->finding_min_span_s * 1000.0);
}

static int64_t episode_spacing_ms(const ctl_controller *c)
{
    int64_t half = episode_min_span_ms(c) / 2;
    return half < CTL_EPISODE_SPACING_MS ? half : CTL_EPISODE_SPACING_MS;
}

/*
 * The stack a finding names: the analysis' strongest LEAK over the episode.
 * A SUSPECT is never reported — the next interval captures again.  The
 * thresholds are the analysis' own but for the relative-growth test, which
 * the controller waives: the cheap window has already shown the process
 * growing steadily, and in a pod that has leaked for hours the leaking
 * stack is large next to what it gains in a few intervals.  Size, a
 * sustained shape through the end of the series and persistence still
 * apply, so a burst in flight (new goroutines at every capture) or a jump
 * in one step is not called.
 */
/* Independent leaking stacks reported from one pod's episode. */
#define CTL_MAX_LEAKS 3

/*
 * The controller reports only stacks whose goroutines are known to stay
 * when ids tell: a leaked goroutine never leaves, so (nearly) every one of
 * them at a capture is still there at the next.  Requests that pile up for
 * a while behind a slow dependency stay for a step or two, then drain;
 * they are not called on a partial stay.
 */
#define CTL_MIN_PERSISTED 0.8

static bool reportable(const lwa_finding *f)
{
    return f->status == LWA_STATUS_LEAK && f->sig &&
           (!f->has_ids || f->persisted >= CTL_MIN_PERSISTED);
}

static const lwa_finding *leading_leak(const lwa_report *rep)
{
    if (rep->verdict != LWA_VERDICT_LEAK)
        return NULL;
    for (size_t i = 0; i < rep->nfindings; i++)
        if (reportable(&rep->findings[i]))
            return &rep->findings[i];
    return NULL;
}

/* Is `func` one of the newline-separated functions in `list`? */
static bool names_func(const char *list, const char *func)
{
    size_t n = strlen(func);
    for (const char *l = list; n && *l;) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        if (len == n && !memcmp(l, func, n))
            return true;
        if (!end)
            break;
        l = end + 1;
    }
    return false;
}

/* Calls fn for each newline-separated function of `list` (a copy). */
static void each_func(const char *list, void (*fn)(const char *func, void *ud),
                      void *ud)
{
    char copy[sizeof(((ctl_finding_text *)0)->func)];
    snprintf(copy, sizeof(copy), "%s", list);
    char *save = NULL;
    for (char *f = strtok_r(copy, "\n", &save); f; f = strtok_r(NULL, "\n", &save))
        fn(f, ud);
}

/* The replicas of one workload as the registry has them now: how many
 * there are, which carry a finding on `func`, which are still growing. */
typedef struct replica_tally {
    const char *owner_uid;
    const char *func;          /* NULL: any finding                        */
    const char *except_uid;    /* not counted among those with a finding   */
    size_t replicas, leaking, growing;
    char pods[600];            /* "orders-a +338.6/min, orders-b +12.0/min" */
} replica_tally;

static int tally_replica(ctl_pod *p, void *ud)
{
    replica_tally *t = ud;
    if (!p->owner_resolved || strcmp(p->owner->uid, t->owner_uid) || p->terminating)
        return 0;
    t->replicas++;
    if (t->except_uid && !strcmp(p->uid, t->except_uid))
        return 0;
    if (p->finding && (!t->func || names_func(ctl_pod_finding_funcs(p), t->func))) {
        t->leaking++;
        size_t len = strlen(t->pods);
        if (len < sizeof(t->pods) - 1)
            snprintf(t->pods + len, sizeof(t->pods) - len, "%s%s %+.1f/min",
                     len ? ", " : "", p->name, p->trend.per_minute);
    } else if (p->win.suspect) {
        t->growing++;
    }
    return 0;
}

static void tally_replicas(ctl_controller *c, replica_tally *t)
{
    ctl_pods_lock(c->pods);
    ctl_pods_foreach(c->pods, tally_replica, t);
    ctl_pods_unlock(c->pods);
}

/* leakwatch_findings_open{workload="ns/Kind/name",pattern}: 1 while the
 * workload's story is open, gone when it closes. */
static void story_gauge(ctl_controller *c, const char *ns,
                        const kube_owner *owner, const char *pattern, bool open)
{
    char workload[400];
    snprintf(workload, sizeof(workload), "%.63s/%.31s/%.253s", ns, owner->kind,
             owner->name);
    const char *vals[] = {workload, pattern};
    if (open)
        obs_gauge_set(c->m_open, vals, 1);
    else
        obs_metric_remove(c->m_open, vals);
}

/*
 * One story per workload: the first replica found leaking on a stack
 * opens the workload's story (ctl_story.h) and writes its Event, summing
 * up its replicas; a later replica on the same stack does not write again
 * while the story is open.
 */
static void report_workload(ctl_controller *c, const pod_view *v,
                            const ctl_story_facts *facts, const char *pod_msg)
{
    const char *func = facts->func;
    if (!v->owner_resolved || !v->owner.uid[0])
        return;
    if (!ctl_stories_open(c->stories, facts, lw_mono_ms()))
        return;
    story_gauge(c, v->ns, &v->owner, facts->pattern, true);
    if (leak_recorded(c, v->ns, v->owner.uid, func) == LEAK_RECORD_SAME)
        return;
    replica_tally t = {.owner_uid = v->owner.uid, .func = func};
    tally_replicas(c, &t);
    char wmsg[4800];
    ctl_format_workload(t.leaking, t.replicas, t.growing, t.pods, v->name,
                        pod_msg, wmsg, sizeof(wmsg));
    record_on_owner(c, v->ns, &v->owner, "Warning", REASON_LEAK, wmsg);
}

/*
 * Judge the episode (three captures or more) against the fresh peer, and
 * raise the finding when the analysis names a leaking stack.
 */
static void analyse_and_report(ctl_controller *c, pod_view *v, episode_job *job)
{
    lwa_snapshot *sb = NULL;
    cap_result peer_res;
    memset(&peer_res, 0, sizeof(peer_res));
    lwa_report *rep = NULL;
    /* A count that fell over the window is never a leak, whatever one
     * stack did in the captures. */
    if (job->trend.last <= job->trend.first)
        return;
    if (job->has_peer &&
        capture(c, &job->peer, CAP_KIND_GOROUTINE, true, &peer_res) == 0 &&
        peer_res.profile) {
        sb = ctl_episode_baseline(job->ep, peer_res.profile, job->peer.name);
    } else if (job->has_peer) {
        obs_log(c->log, OBS_INFO, "baseline peer capture failed; judging the "
                "pod's own captures", "pod", v->name, "peer", job->peer.name,
                "error", peer_res.error, OBS_END);
        job->has_peer = false;
    }
    lwa_thresholds th = c->ath;
    th.min_relative = 0;
    rep = ctl_episode_analyze(job->ep, sb, &th);
    if (!rep)
        goto out;
    obs_log(c->log, OBS_DEBUG, "analysis", "pod", v->name, "verdict",
            lwa_verdict_name(rep->verdict), "why", rep->why ? rep->why : "", OBS_END);
    const lwa_finding *top = leading_leak(rep);
    if (!top || rep->total_last <= rep->total_first)
        goto out;
    /* Independent leaks of one process are findings of their own (stacks
     * that grow in lockstep are already one finding, with companions). */
    const lwa_finding *leaks[CTL_MAX_LEAKS];
    size_t nleaks = 0;
    for (size_t i = 0; i < rep->nfindings && nleaks < CTL_MAX_LEAKS; i++)
        if (reportable(&rep->findings[i]))
            leaks[nleaks++] = &rep->findings[i];
    const char *pattern = lwa_pattern_name(top->pattern);
    char funcs[sizeof(((ctl_finding_text *)0)->func)] = "";
    for (size_t i = 0; i < nleaks; i++) {
        const char *f = finding_func(leaks[i]);
        size_t len = strlen(funcs);
        if (len + strlen(f) + 2 < sizeof(funcs))
            snprintf(funcs + len, sizeof(funcs) - len, "%s%s", len ? "\n" : "", f);
    }

    /* Re-check under the lock: the window must still say growing (a burst
     * that drained since the first capture is not a leak), and the pod
     * must still be there. */
    ctl_pods_lock(c->pods);
    ctl_pod *p = ctl_pods_get(c->pods, v->uid);
    bool still = p && !p->finding &&
                 (p->win.suspect || p->diverged ||
                  (!p->trend.flat && p->trend.last > p->trend.first));
    bool was_adopted = still && p->adopted;
    char adopted_pattern[32] = "";
    if (was_adopted)
        snprintf(adopted_pattern, sizeof(adopted_pattern), "%s", p->finding_pattern);
    if (still) {
        p->finding = true;
        p->adopted = false;
        p->finding_ms = lw_wall_ms();
        snprintf(p->finding_pattern, sizeof(p->finding_pattern), "%s", pattern);
        /* Without memory for the text the finding still stands; only its
         * stack names are missing where workload Events and containment
         * quote them. */
        ctl_finding_text *ft = ctl_pod_finding_text(p);
        if (ft)
            snprintf(ft->func, sizeof(ft->func), "%s", funcs);
    }
    bool diverged = p && p->diverged;
    double req_per_s = p ? ctl_pod_request_rate(p) : -1;
    ctl_pods_unlock(c->pods);
    if (!still)
        goto out;
    if (was_adopted)
        findings_adjust(c, adopted_pattern, -1);
    findings_adjust(c, pattern, +1);

    /* Before this finding's own files join the record: the older
     * revision's evidence, when no pod of it was the baseline. */
    ctl_revision_evidence prev;
    int64_t prev_counts[CTL_MAX_LEAKS];
    bool older_peer = job->has_peer && job->peer.revision > 0 &&
                      job->peer.revision < v->revision;
    bool has_prev = !older_peer &&
                    older_revision_counts(c, v, leaks, nleaks, &prev, prev_counts);

    char suspect_path[1024], baseline_path[1024], evidence_err[256];
    keep_evidence(c, v, job->has_peer ? &job->peer : NULL, job->ep,
                  suspect_path, baseline_path, sizeof(suspect_path),
                  evidence_err, sizeof(evidence_err));

    ctl_finding_msg m = {
        .growth = (int64_t)job->trend.last - (int64_t)job->trend.first,
        .span_minutes = (double)job->trend.span_ms / 60000.0,
        .per_minute = job->trend.per_minute,
        .peer_name = job->has_peer ? job->peer.name : NULL,
        .peer_age_minutes = job->has_peer && job->peer.start_s > 0
                                ? (double)(lw_wall_ms() / 1000 - job->peer.start_s) / 60.0
                                : 0,
        .pod_age_minutes = v->start_s > 0
                               ? (double)(lw_wall_ms() / 1000 - v->start_s) / 60.0
                               : 0,
        .peer_count = sb ? (int64_t)sb->total : -1,
        .suspect_path = suspect_path[0] ? suspect_path : NULL,
        .baseline_path = baseline_path[0] ? baseline_path : NULL,
        .evidence_error = evidence_err[0] ? evidence_err : NULL,
        .diverged = diverged,
        .revision = v->revision,
        .revision_age_minutes = v->revision > 0 && v->revision_since_s > 0
                                    ? (double)(lw_wall_ms() / 1000 - v->revision_since_s) / 60.0
                                    : 0,
        .images = v->images,
        .peer_revision = job->has_peer ? job->peer.revision : -1,
        .peer_images = job->has_peer ? job->peer.images : NULL,
        .prev_revision = has_prev ? prev.revision : 0,
        .prev_images = has_prev ? prev.images : NULL,
        .prev_age_minutes = has_prev ? (double)(lw_wall_ms() / 1000 - prev.t_s) / 60.0 : 0,
    };
    for (size_t i = 0; i < nleaks; i++) {
        const char *func = finding_func(leaks[i]);
        char msg[4096];
        m.top = leaks[i];
        m.prev_count = prev_counts[i];
        ctl_format_finding(&m, msg, sizeof(msg));
        if (i == 0) {
            ctl_pods_lock(c->pods);
            ctl_finding_text *ft = (p = ctl_pods_get(c->pods, v->uid)) ?
                                       ctl_pod_finding_text(p) : NULL;
            if (ft) {
                /* The summary containment quotes: the Event's sentence, cut. */
                size_t n = strnlen(msg, sizeof(ft->summary) - 1);
                memcpy(ft->summary, msg, n);
                ft->summary[n] = '\0';
                snprintf(ft->evidence_suspect, sizeof(ft->evidence_suspect), "%s", suspect_path);
                snprintf(ft->evidence_baseline, sizeof(ft->evidence_baseline), "%s", baseline_path);
                snprintf(ft->evidence_error, sizeof(ft->evidence_error), "%s", evidence_err);
            }
            ctl_pods_unlock(c->pods);
        }
        obs_log(c->log, OBS_WARN, "goroutine leak", "namespace", v->ns, "pod",
                v->name, "pattern", lwa_pattern_name(leaks[i]->pattern),
                "function", func, "message", msg, "dry_run",
                c->cfg->dry_run ? "true" : "false", OBS_END);
        if (!may_write(c))
            continue;
        if (leak_recorded(c, v->ns, v->uid, func) == LEAK_RECORD_SAME) {
            obs_log(c->log, OBS_INFO, "finding already recorded by an earlier "
                    "leakwatch; adopting it", "pod", v->name, "function", func,
                    OBS_END);
        } else {
            record_on_pod(c, v->ns, v->name, v->uid, "Warning", REASON_LEAK, msg);
            const char *ev[] = {REASON_LEAK};
            obs_counter_add(c->m_events, ev, 1);
        }
        ctl_story_facts facts = {
            .ns = v->ns, .owner = &v->owner, .func = func,
            .pattern = lwa_pattern_name(leaks[i]->pattern),
            .revision = v->revision, .images = v->images,
            .per_minute = job->trend.per_minute,
            .span_ms = job->trend.span_ms, .req_per_s = req_per_s,
        };
        report_workload(c, v, &facts, msg);
    }
out:
    lwa_report_free(rep);
    lwa_snapshot_free(sb);
    cap_result_free(&peer_res);
}

/* "goroutine leak (cond) on main.f no longer observed in any replica: …":
 * the stack it closes, escaped as the finding named it (scan_leak_event). */
static void format_workload_clear(const char *pattern, const char *func,
                                  const char *why, char *out, size_t outlen)
{
    char esc[1024];
    lw_text_escape(func, strlen(func), esc, sizeof(esc));
    snprintf(out, outlen, "goroutine leak (%.31s) on %s no longer observed "
             "in any replica: %.300s", pattern, esc, why);
}

/* The workload's story ends when no replica leaks on that stack any more
 * (the last one cleared, or was deleted). */
static void clear_workload(ctl_controller *c, const char *ns,
                           const kube_owner *owner, const char *pod_uid,
                           const char *func, const char *pattern,
                           const char *why)
{
    if (!owner->uid[0] || !may_write(c))
        return;
    replica_tally t = {.owner_uid = owner->uid, .func = func,
                       .except_uid = pod_uid};
    tally_replicas(c, &t);
    if (t.leaking)
        return;
    if (ctl_stories_end(c->stories, owner->uid, func))
        story_gauge(c, ns, owner, pattern, false);
    if (leak_recorded(c, ns, owner->uid, func) != LEAK_RECORD_SAME)
        return;
    char msg[1600];
    format_workload_clear(pattern, func, why, msg, sizeof(msg));
    record_on_owner(c, ns, owner, "Normal", REASON_CLEARED, msg);
}

typedef struct clear_ctx {
    ctl_controller *c;
    const char *ns;
    const kube_owner *owner;
    const char *pod_uid, *pattern, *why;
} clear_ctx;

static void clear_one_workload(const char *func, void *ud)
{
    clear_ctx *cx = ud;
    clear_workload(cx->c, cx->ns, cx->owner, cx->pod_uid, func, cx->pattern,
                   cx->why);
}

static void clear_finding(ctl_controller *c, const pod_view *v,
                          const char *pattern, const char *funcs,
                          const char *why)
{
    findings_adjust(c, pattern, -1);
    char msg[1600], on[800] = "";
    if (funcs[0]) {
        /* "main.a, main.b": the stacks this clear closes (scan_leak_event). */
        size_t k = 0;
        for (const char *f = funcs; *f && k < sizeof(on) - 3; f++)
            on[k++] = *f == '\n' ? ',' : *f;
        on[k] = '\0';
    }
    char esc_on[1200] = "";
    lw_text_escape(on, strlen(on), esc_on, sizeof(esc_on));
    snprintf(msg, sizeof(msg), "goroutine leak (%s)%s%s no longer observed: %s",
             pattern, on[0] ? " on " : "", esc_on, why);
    obs_log(c->log, OBS_INFO, "finding cleared", "namespace", v->ns, "pod",
            v->name, "why", why, OBS_END);
    if (!may_write(c))
        return;
    /* Never clear what was never written: only an open finding clears. */
    if (leak_recorded(c, v->ns, v->uid, NULL) != LEAK_RECORD_NONE) {
        record_on_pod(c, v->ns, v->name, v->uid, "Normal", REASON_CLEARED, msg);
        const char *ev[] = {REASON_CLEARED};
        obs_counter_add(c->m_events, ev, 1);
    }
    if (!v->owner_resolved)
        return;
    clear_ctx cx = {c, v->ns, &v->owner, v->uid, pattern, why};
    each_func(funcs, clear_one_workload, &cx);
}

/*
 * Offer a pod with a finding in force to containment.  pkg/contain decides
 * (opt-ins, urgency, budgets, PDBs, one pod at a time) and records its own
 * LeakContainment Events; the controller only supplies the facts.
 */
static void offer_containment(ctl_controller *c, const pod_view *v)
{
    if (!c->contain || !leading(c))
        return;
    ctl_finding_text ft = {{0}};
    char pattern[32];
    int64_t count;
    double per_minute;
    ctl_pods_lock(c->pods);
    ctl_pod *p = ctl_pods_get(c->pods, v->uid);
    if (!p || !p->finding) {
        ctl_pods_unlock(c->pods);
        return;
    }
    if (p->finding_text)
        ft = *p->finding_text;
    snprintf(pattern, sizeof(pattern), "%s", p->finding_pattern);
    count = p->last_count;
    per_minute = p->trend.per_minute;
    ctl_pods_unlock(c->pods);

    json_t *obj = NULL;
    for (size_t i = 0; i < c->ncaches && !obj; i++)
        obj = kube_cache_get(c->caches[i], v->ns, v->name);
    cnt_candidate cand = {
        .ns = v->ns, .pod = v->name, .pod_uid = v->uid, .pod_obj = obj,
        .owner_kind = v->owner.kind, .owner_name = v->owner.name,
        .owner_uid = v->owner.uid, .owner_api_version = v->owner.api_version,
        .opted_in = v->ep.containment_restart, .goroutines = count,
        .per_minute = per_minute, .pattern = pattern, .summary = ft.summary,
        .evidence_suspect = ft.evidence_suspect[0] ? ft.evidence_suspect : NULL,
        .evidence_baseline = ft.evidence_baseline[0] ? ft.evidence_baseline : NULL,
        .evidence_error = ft.evidence_error[0] ? ft.evidence_error : NULL,
    };
    cnt_consider(c->contain, &cand);
    json_decref(obj);
}

/* The annotation cannot be used: said once per distinct error. */
static void note_annotation_error(ctl_controller *c, const char *uid,
                                  const pod_view *v)
{
    /* A hash, not a copy, of what was said: a pod keeps 8 bytes instead of
     * the message, and a collision only costs one repeated report. */
    uint64_t said = lw_hash_bytes(v->ep.error, strlen(v->ep.error), 0);
    if (v->annotation_reported && v->annotation_error_hash == said)
        return;
    report_annotation_error(c, v);
    ctl_pods_lock(c->pods);
    ctl_pod *p = ctl_pods_get(c->pods, uid);
    if (p) {
        p->annotation_reported = true;
        p->annotation_error_hash = said;
    }
    ctl_pods_unlock(c->pods);
}

/* What one cheap sample decided for a pod, taken under the pod lock and
 * acted on after it. */
typedef struct sample_outcome {
    bool adopted;     /* a finding left open by an earlier leakwatch */
    bool suspect, was_suspect;
    bool want_full;   /* a full capture for the episode this interval */
    bool finding;     /* a finding was open before this sample */
    bool clear;       /* ... and is cleared by it */
    ctl_trend trend;
    char finding_pattern[32];
    char finding_funcs[sizeof(((ctl_finding_text *)0)->func)];
} sample_outcome;

/* Adds a successful sample to the pod's window and decides, from the
 * window, divergence from its peers and the episode under way, whether
 * the pod wants a full capture and whether its finding clears.  Caller
 * holds the pod lock. */
static void judge_sample(ctl_controller *c, ctl_pod *p, const char *uid,
                         int64_t count, sample_outcome *o)
{
    memset(o, 0, sizeof(*o));
    char open_pattern[32];
    o->adopted = !p->finding && !p->adopted &&
                 ctl_open_take(c->open, uid, open_pattern, sizeof(open_pattern));
    if (o->adopted) {
        /* Open since before this leadership.  It clears (and says so) like
         * any finding once the count is flat.  While the pod still grows a
         * new episode re-establishes it, Event adopted rather than
         * repeated, with the evidence and figures containment needs. */
        p->adopted = true;
        snprintf(p->finding_pattern, sizeof(p->finding_pattern), "%s",
                 open_pattern[0] ? open_pattern : "unknown");
        ctl_pod_drop_finding_text(p);
    }
    int64_t now_wall = lw_wall_ms();
    /* A count far below the window after a restart the watch has not shown
     * yet: a new process.  Start over rather than call it a drain. */
    ctl_window_add(&p->win, now_wall, (uint64_t)count);
    o->was_suspect = p->win.suspect;
    o->suspect = ctl_window_evaluate(&p->win, &c->wth, &p->trend);
    p->last_count = count;
    p->last_sample_ms = now_wall;
    double median = ctl_pods_peer_rate_median(c->pods, p, now_wall / 1000);
    double age_min = p->start_s > 0 ? (double)(now_wall / 1000 - p->start_s) / 60.0 : 0;
    if (age_min < 1)
        age_min = 1;
    double my_rate = (double)count / age_min;
    /* Divergence: goroutines per minute of age far above the group's
     * median, and by an absolute margin, so a single busy replica of a
     * small service does not trip it. */
    p->diverged = median >= 0 && my_rate > 3 * median + 1 &&
                  (double)count > median * age_min + (double)c->cfg->min_delta;
    /* An episode outlives a lapse of suspicion: with a bursty background a
     * leak's window does not read as a clean climb at every sample, and the
     * episode needs two minutes of captures.  It ends when the window is
     * flat, when the count fell, or after twice the span a finding needs. */
    bool keep_episode =
        p->episode && !p->finding && !p->trend.flat &&
        p->trend.last > p->trend.first &&
        now_wall - ctl_episode_first(p->episode)->t_ms < 2 * episode_min_span_ms(c);
    o->want_full = o->suspect || p->diverged || keep_episode;
    o->trend = p->trend;
    o->finding = p->finding;
    snprintf(o->finding_pattern, sizeof(o->finding_pattern), "%s",
             p->finding_pattern);
    snprintf(o->finding_funcs, sizeof(o->finding_funcs), "%s", ctl_pod_finding_funcs(p));
    if (!o->want_full)
        ctl_pod_end_episode(p);
    /* A finding clears only when the window is flat or falling as a whole
     * (ctl_window.h): a window that merely stopped looking like a clean
     * climb keeps the finding, and keeps it out of a new episode. */
    o->clear = (o->finding || p->adopted) && !o->want_full && o->trend.flat;
    if (o->clear) {
        p->finding = false;
        p->adopted = false;
        p->finding_pattern[0] = '\0';
        ctl_pod_drop_finding_text(p);
    }
}

/* Says what judge_sample decided: metrics, logs, the cleared finding. */
static void report_sample(ctl_controller *c, const pod_view *v, int64_t count,
                          const sample_outcome *o)
{
    const char *pl[] = {v->ns, v->name};
    if (o->adopted) {
        findings_adjust(c, o->finding_pattern, +1);
        obs_log(c->log, OBS_INFO, "finding left open by an earlier leakwatch; "
                "adopting it", "namespace", v->ns, "pod", v->name, "pattern",
                o->finding_pattern, OBS_END);
    }
    obs_gauge_set(c->m_goroutines, pl, (double)count);
    obs_gauge_set(c->m_growth, pl, o->trend.per_minute);
    if (o->suspect && !o->was_suspect)
        obs_log(c->log, OBS_INFO, "goroutine growth suspected", "namespace",
                v->ns, "pod", v->name, OBS_END);
    if (o->clear) {
        char why[160];
        snprintf(why, sizeof(why), "count flat over the last %u samples "
                 "(%" PRIu64 " -> %" PRIu64 ", %+.1f/min)", o->trend.n,
                 o->trend.first, o->trend.last, o->trend.per_minute);
        clear_finding(c, v, o->finding_pattern, o->finding_funcs, why);
    }
}

/* A suspect pod: one full capture this interval, added to its episode
 * (unless the last one is too recent to say anything new); with enough
 * captures over enough time, the episode is analysed and reported. */
static void deepen_episode(ctl_controller *c, const char *uid, pod_view *v)
{
    ctl_pods_lock(c->pods);
    ctl_pod *p = ctl_pods_get(c->pods, uid);
    bool too_soon = p && p->episode && ctl_episode_captures(p->episode) &&
                    lw_wall_ms() - ctl_episode_last(p->episode)->t_ms <
                        episode_spacing_ms(c);
    ctl_pods_unlock(c->pods);
    if (!p || too_soon)
        return;
    cap_result full;
    if (capture_as(c, v, CAP_KIND_GOROUTINE, true, false, &full) < 0) {
        obs_log(c->log, OBS_WARN, "full capture failed", "pod", v->name, "error",
                full.error, OBS_END);
        cap_result_free(&full);
        return;
    }
    episode_job job;
    memset(&job, 0, sizeof(job));
    ctl_pods_lock(c->pods);
    p = ctl_pods_get(c->pods, uid);
    if (p) {
        job.ep = p->episode;
        p->episode = NULL;
        job.gen = p->episode_gen;
        job.trend = p->trend;
        ctl_pod *peer = ctl_pods_fresh_peer(c->pods, p);
        if (peer) {
            view_of(peer, &job.peer);
            job.has_peer = true;
        }
    }
    ctl_pods_unlock(c->pods);
    if (!p) {
        cap_result_free(&full);
        return;
    }
    if (!job.ep)
        job.ep = ctl_episode_new(&c->aopt);
    char perr[512];
    if (!job.ep) {
        obs_log(c->log, OBS_WARN, "out of memory for the episode", "pod", v->name,
                OBS_END);
    } else if (ctl_episode_add(job.ep, full.data, full.len, cap_kind_ext(full.kind),
                               lw_wall_ms(), v->name, perr, sizeof(perr)) < 0) {
        obs_log(c->log, OBS_WARN, "cannot analyse capture", "pod", v->name,
                "error", perr, OBS_END);
    }
    if (job.ep)
        full.data = NULL; /* the episode owns it now */
    cap_result_free(&full);
    if (ctl_episode_captures(job.ep) >= CTL_EPISODE_MIN &&
        ctl_episode_last(job.ep)->t_ms - ctl_episode_first(job.ep)->t_ms >=
            episode_min_span_ms(c)) {
        analyse_and_report(c, v, &job);
        offer_containment(c, v);
    }
    ctl_pods_lock(c->pods);
    p = ctl_pods_get(c->pods, uid);
    if (p && p->episode_gen == job.gen && !p->episode && !p->finding) {
        p->episode = job.ep;
        job.ep = NULL;
    }
    ctl_pods_unlock(c->pods);
    ctl_episode_free(job.ep);
}

/* The work of one due pod: a cheap sample, judged against the pod's
 * window; a full capture for a suspect pod; then the next due time. */
/*
 * A pod of a newer revision than an open story's: capture it and let the
 * story judge whether the leaking stack still grows (ctl_story.h).  Only
 * the leader verifies, since only it writes.
 */
static void verify_fix(ctl_controller *c, const pod_view *v, int restarts,
                       double requests)
{
    char func[512];
    if (!v->owner_resolved || v->revision <= 0 || !may_write(c) ||
        !ctl_stories_wants(c->stories, v->owner.uid, v->uid, v->revision,
                           lw_mono_ms(), func, sizeof(func)))
        return;
    cap_result r;
    if (capture(c, v, CAP_KIND_GOROUTINE, true, &r) != 0 || !r.profile) {
        obs_log(c->log, OBS_INFO, "verification capture failed; trying again "
                "next interval", "pod", v->name, "error", r.error, OBS_END);
        cap_result_free(&r);
        return;
    }
    int64_t on_stack = (int64_t)lwa_count_on(r.profile, func);
    /* Kept: the proof of the verdict, and the newer revision's evidence
     * should it leak again later. */
    if (c->evidence && r.data) {
        char path[1024], err[256];
        int64_t now_s = lw_wall_ms() / 1000;
        if (ctl_evidence_write(c->evidence, v->ns, v->name, v->revision, now_s,
                               "verify", r.ext, r.data, r.len, path, sizeof(path),
                               err, sizeof(err)) == 0)
            note_evidence(c, v, v, path, now_s);
        else
            obs_log(c->log, OBS_WARN, "evidence not written", "pod", v->name,
                    "error", err, OBS_END);
    }
    cap_result_free(&r);
    ctl_verify_obs o = {
        .owner_uid = v->owner.uid, .func = func, .pod_uid = v->uid,
        .pod_name = v->name, .revision = v->revision, .images = v->images,
        .restarts = restarts, .count = on_stack, .requests = requests,
        .t_ms = lw_mono_ms(),
    };
    ctl_verify_result res;
    ctl_verify_outcome out = ctl_stories_observe(c->stories, &o, &res);
    char n[32], rev[32];
    snprintf(n, sizeof(n), "%" PRId64, on_stack);
    snprintf(rev, sizeof(rev), "%ld", v->revision);
    switch (out) {
    case CTL_VERIFY_NONE:
        return;
    case CTL_VERIFY_WATCHING:
        obs_log(c->log, OBS_INFO, "verifying a newer revision", "pod", v->name,
                "revision", rev, "function", func, "goroutines", n, OBS_END);
        return;
    case CTL_VERIFY_LOW_LOAD:
        obs_log(c->log, OBS_INFO, "verification not comparable", "pod", v->name,
                "message", res.message, OBS_END);
        return;
    case CTL_VERIFY_FIXED:
    case CTL_VERIFY_NOT_FIXED:
        break;
    }
    bool fixed = out == CTL_VERIFY_FIXED;
    const char *reason = fixed ? REASON_FIXED : REASON_NOT_FIXED;
    obs_log(c->log, fixed ? OBS_INFO : OBS_WARN, fixed ? "leak fixed" : "leak not fixed",
            "namespace", res.ns, "workload", res.owner.name, "message",
            res.message, OBS_END);
    record_on_owner(c, res.ns, &res.owner, fixed ? "Normal" : "Warning", reason,
                    res.message);
    const char *ev[] = {reason};
    obs_counter_add(c->m_events, ev, 1);
    if (fixed) {
        story_gauge(c, res.ns, &res.owner, res.pattern, false);
        const char *pat[] = {res.pattern};
        obs_counter_add(c->m_fixed, pat, 1);
    }
}

static void work_one(ctl_controller *c, const char *uid, unsigned *seed)
{
    pod_view v;
    ctl_pods_lock(c->pods);
    ctl_pod *p = ctl_pods_get(c->pods, uid);
    if (!p) {
        ctl_pods_unlock(c->pods);
        return;
    }
    if (!p->mine) {
        /* Handed to another replica since it was queued. */
        p->busy = false;
        ctl_pods_unlock(c->pods);
        return;
    }
    view_of(p, &v);
    ctl_pods_unlock(c->pods);

    int64_t now = lw_mono_ms();
    int rc = 0;
    /* Its workload still runs a pod (answering or not): a finding on it
     * stays open (expire_stories). */
    if (v.owner_resolved)
        ctl_stories_touch(c->stories, v.owner.uid, now);
    if (v.ep_state < 0) {
        note_annotation_error(c, uid, &v);
        goto reschedule;
    }
    if (!v.ready || v.terminating)
        goto reschedule;
    if (!v.owner_resolved)
        resolve_owner(c, &v);

    int64_t count = -1;
    double requests = -1;
    int status = CAP_OK;
    char err[1024] = "";
    rc = cheap_sample(c, &v, &count, &requests, &status, err, sizeof(err));

    ctl_pods_lock(c->pods);
    p = ctl_pods_get(c->pods, uid);
    if (!p) {
        ctl_pods_unlock(c->pods);
        return;
    }
    if (!p->mine) {
        /* Handed over while it was sampled: the sample is the new owner's
         * to take, not this replica's to judge. */
        p->busy = false;
        ctl_pods_unlock(c->pods);
        return;
    }
    if (v.owner_resolved && !p->owner_resolved &&
        ctl_pods_set_owner(c->pods, p, &v.owner)) {
        p->owner_resolved = true;
        if (!strcmp(p->rev_hash, v.rev_hash)) {
            p->revision = v.revision;
            p->revision_since_s = v.revision_since_s;
        }
    }
    p->metrics_absent = v.metrics_absent;
    if (rc < 0) {
        int failures = ++p->failures;
        /* One warning per kind of failure in a streak, then quiet: the
         * capturer backs off per pod and the metrics count every failure.
         * The kind matters: a pod whose first try met a 429 and whose every
         * later try times out must say it times out.  A set, not the last
         * kind, so a pod flapping between two kinds warns twice, not at
         * every try.  Skips while backing off are not a kind of their own. */
        unsigned kind_bit = status > 0 && status < 32 && status != CAP_ERR_BACKOFF
                                ? 1u << status : 0;
        bool new_kind = kind_bit && !(p->failure_kinds_logged & kind_bit);
        bool warn = failures == 1 || new_kind || failures % 20 == 0;
        p->failure_kinds_logged |= kind_bit;
        ctl_pods_unlock(c->pods);
        if (warn)
            obs_log(c->log, OBS_WARN, "sample failed", "namespace", v.ns, "pod",
                    v.name, "error", err, OBS_END);
        goto reschedule;
    }
    if (p->failures)
        obs_log(c->log, OBS_INFO, "sampling recovered", "pod", v.name, OBS_END);
    p->failures = 0;
    p->failure_kinds_logged = 0;
    ctl_pod_note_requests(p, requests, lw_mono_ms());
    int restarts = p->restarts;
    sample_outcome o;
    judge_sample(c, p, uid, count, &o);
    ctl_pods_unlock(c->pods);

    report_sample(c, &v, count, &o);
    if (o.finding && o.want_full)
        offer_containment(c, &v);
    if (o.want_full && !o.finding)
        deepen_episode(c, uid, &v);
    verify_fix(c, &v, restarts, requests);

reschedule:;
    /* A failed sample backs the pod off in the capturer, with the interval
     * as the base (jittered ±20%).  Were the pod simply due again an
     * interval later (±10%), that try would often come before the
     * back-off ends, be refused, and wait a whole interval more: one
     * refused connection (a Go pod not listening yet) would cost two
     * intervals.  So a pod backing off is next due when its back-off
     * ends, which is also when a pod failing for longer is asked again. */
    long backoff_ms = rc < 0 ? cap_capturer_backoff_ms(c->cap, uid) : 0;
    int64_t due = backoff_ms > 0 ? lw_mono_ms() + backoff_ms + (int64_t)(rand01(seed) * 1000)
                                 : next_due(c, now, seed);
    ctl_pods_lock(c->pods);
    if ((p = ctl_pods_get(c->pods, uid))) {
        p->busy = false;
        p->next_due_ms = due;
    }
    ctl_pods_unlock(c->pods);
}

/* ---- workers and queue -------------------------------------------------- */

static void *worker_main(void *arg)
{
    ctl_controller *c = arg;
    unsigned seed = (unsigned)(lw_mono_ms() ^ (intptr_t)pthread_self());
    for (;;) {
        char uid[64];
        pthread_mutex_lock(&c->qmu);
        c->idle_workers++;
        while (!c->qn && !atomic_load(&c->stopping))
            pthread_cond_wait(&c->qcv, &c->qmu);
        c->idle_workers--;
        if (atomic_load(&c->stopping)) {
            pthread_mutex_unlock(&c->qmu);
            return NULL;
        }
        memcpy(uid, c->queue[c->qhead], sizeof(uid));
        c->qhead = (c->qhead + 1) % CTL_QUEUE_MAX;
        c->qn--;
        pthread_mutex_unlock(&c->qmu);
        work_one(c, uid, &seed);
    }
}

/*
 * Workers are started as the queue needs them, not all at start: at a
 * sample a minute per pod, a thousand pods keep one or two busy, and each
 * idle thread still holds the stack pages and the malloc cache (tcache)
 * its last capture touched, about 65 KB a thread (the bench: 0.9 MB
 * less RSS with 14 fewer threads).  Work left in the queue
 * from the last scheduler tick with no worker idle means the workers are
 * not keeping up (a slow pod holds one for up to the capture timeout):
 * start as many more as that backlog, up to --max-concurrent-captures.
 * Workers are never stopped early; the peak they were needed for sets
 * how many stay.  Called only by the thread that runs the controller,
 * which also joins them.
 */
#define CTL_MIN_WORKERS 2

static void grow_workers(ctl_controller *c)
{
    int max = (int)c->cfg->max_concurrent_captures;
    pthread_mutex_lock(&c->qmu);
    int backlog = c->idle_workers ? 0 : (int)(c->qn < (size_t)max ? c->qn : (size_t)max);
    int want = CTL_MIN_WORKERS - c->nworkers;
    if (backlog > want)
        want = backlog;
    if (want > max - c->nworkers)
        want = max - c->nworkers;
    if (atomic_load(&c->stopping))
        want = 0;
    for (; want > 0; want--) {
        if (pthread_create(&c->workers[c->nworkers], NULL, worker_main, c) != 0)
            break; /* the ones running carry on; tried again next tick */
        c->nworkers++;
    }
    int n = c->nworkers;
    pthread_mutex_unlock(&c->qmu);
    obs_gauge_set(c->m_workers, NULL, (double)n);
}

static bool enqueue(ctl_controller *c, const char *uid)
{
    pthread_mutex_lock(&c->qmu);
    bool ok = c->qn < CTL_QUEUE_MAX;
    if (ok) {
        snprintf(c->queue[(c->qhead + c->qn) % CTL_QUEUE_MAX], 64, "%s", uid);
        c->qn++;
        pthread_cond_signal(&c->qcv);
    }
    pthread_mutex_unlock(&c->qmu);
    return ok;
}

typedef struct sched_ctx {
    ctl_controller *c;
    int64_t now;
    char (*due)[64];
    size_t ndue, cap;
    size_t owned;
} sched_ctx;

static int collect_due(ctl_pod *p, void *ud)
{
    sched_ctx *s = ud;
    s->owned += p->mine;
    if (!p->mine || p->busy || p->next_due_ms > s->now || s->ndue >= s->cap)
        return 0;
    p->busy = true;
    memcpy(s->due[s->ndue++], p->uid, 64);
    return 0;
}

/* ---- sharding (ctl_shard.h) -------------------------------------------- */

/* The index of identity among the live members, SIZE_MAX when not one.
 * Caller holds shard_mu. */
static size_t member_index(const ctl_controller *c, const char *identity)
{
    const char (*hit)[256] = bsearch(identity, c->shard_ids, c->nshard,
                                     sizeof(*c->shard_ids),
                                     (int (*)(const void *, const void *))strcmp);
    return hit ? (size_t)(hit - c->shard_ids) : SIZE_MAX;
}

/* Is a workload key this replica's?  Containment's budgets and cool-downs
 * are kept in one process, the leader's (the leader Lease keeps that role
 * with shards), so a workload that opted in to restarts is the leader's
 * while the leader is a live member; every other key is hashed.  Caller
 * holds shard_mu. */
static bool owns_key_locked(const ctl_controller *c, const char *key, bool pinned)
{
    if (!c->cfg->shard)
        return true;
    if (!c->nshard)
        return false;
    if (pinned && c->leader_id[0] && member_index(c, c->leader_id) != SIZE_MAX)
        return !strcmp(c->leader_id, c->identity);
    return !strcmp(c->shard_ids[ctl_shard_owner(key, c->shard_ids, c->nshard)],
                   c->identity);
}

static void pod_key(const ctl_pod *p, char *key, size_t len)
{
    ctl_shard_workload_key(p->ns, p->rs_kind, p->rs_name, p->rev_hash, p->name,
                           key, len);
}

/* Caller holds the pods lock and shard_mu. */
static bool owns_pod_locked(const ctl_controller *c, const ctl_pod *p)
{
    if (!c->cfg->shard)
        return true;
    char key[400];
    pod_key(p, key, sizeof(key));
    return owns_key_locked(c, key, c->contain && p->ep->containment_restart);
}

static void forget_pod_metrics(ctl_controller *c, const ctl_pod *p);

/* The pod became this replica's, or stopped being.  Caller holds the pods
 * lock. */
static void set_mine(ctl_controller *c, ctl_pod *p, bool mine, int64_t now,
                     unsigned *seed)
{
    if (mine == p->mine)
        return;
    p->mine = mine;
    if (mine) {
        /* Taken over: sample it at once (spread over a second), so that a
         * dead replica's pods are looked at within its lease duration. */
        p->next_due_ms = now + (int64_t)(rand01(seed) * 1000);
        return;
    }
    /* Another replica samples it now.  What this one learned goes, so that
     * coming back it starts clean and adopts the open finding from the
     * Events, as every new owner does; its series go with it, so that a
     * sum over replicas counts each pod once. */
    forget_pod_metrics(c, p);
    if (p->finding || p->adopted)
        findings_adjust(c, p->finding_pattern, -1);
    ctl_pod_forget_sampling(p);
}

typedef struct workload_probe {
    const char *key;
    int mine; /* -1 no pod of it known */
} workload_probe;

static int probe_workload(ctl_pod *p, void *ud)
{
    workload_probe *w = ud;
    char key[400];
    pod_key(p, key, sizeof(key));
    if (strcmp(key, w->key))
        return 0;
    w->mine = p->mine;
    return 1;
}

/* Is a workload (from a workload Event) this replica's: as its pods are
 * when one is known (they carry the containment opt-in), else by hash. */
static bool owns_workload(ctl_controller *c, const char *ns, const kube_owner *o)
{
    if (!c->cfg->shard)
        return true;
    char key[400];
    ctl_shard_workload_key(ns, o->kind, o->name, "", "", key, sizeof(key));
    workload_probe w = {.key = key, .mine = -1};
    ctl_pods_lock(c->pods);
    ctl_pods_foreach(c->pods, probe_workload, &w);
    ctl_pods_unlock(c->pods);
    if (w.mine >= 0)
        return w.mine;
    pthread_mutex_lock(&c->shard_mu);
    bool mine = owns_key_locked(c, key, false);
    pthread_mutex_unlock(&c->shard_mu);
    return mine;
}

/* ---- watch callbacks ---------------------------------------------------- */

/* What the controller keeps of a pod: ctl_pod_slim (ctl_pods.h). */
static void slim_pod(json_t *pod, void *ud)
{
    (void)ud;
    ctl_pod_slim(pod);
}

static void forget_pod_metrics(ctl_controller *c, const ctl_pod *p)
{
    const char *pl[] = {p->ns, p->name};
    obs_metric_remove(c->m_goroutines, pl);
    obs_metric_remove(c->m_growth, pl);
}

static void on_pod_upsert(const json_t *obj, ctl_controller *c)
{
    ctl_pod removed;
    ctl_pod *p = NULL;
    ctl_pods_lock(c->pods);
    ctl_upsert_result r = ctl_pods_upsert(c->pods, obj, &p, &removed);
    unsigned seed = (unsigned)lw_mono_ms() ^ (unsigned)ctl_pods_count(c->pods);
    if (r == CTL_POD_ADDED) {
        /* Spread first samples over one interval. */
        p->next_due_ms = lw_mono_ms() + (int64_t)(rand01(&seed) * c->cfg->interval_s * 1000 * 0.5);
    }
    if (p) {
        pthread_mutex_lock(&c->shard_mu);
        bool mine = owns_pod_locked(c, p);
        pthread_mutex_unlock(&c->shard_mu);
        if (r == CTL_POD_ADDED)
            p->mine = mine;
        else
            set_mine(c, p, mine, lw_mono_ms(), &seed);
    }
    size_t n = ctl_pods_count(c->pods);
    ctl_pods_unlock(c->pods);
    obs_gauge_set(c->m_pods, NULL, (double)n);
    if (r == CTL_POD_REMOVED) {
        forget_pod_metrics(c, &removed);
        if (removed.finding || removed.adopted)
            findings_adjust(c, removed.finding_pattern, -1);
        cap_capturer_forget(c->cap, removed.uid);
        ctl_pod_release(&removed);
    }
    if (r == CTL_POD_RESTARTED)
        obs_log(c->log, OBS_INFO, "container restarted; sampling starts over",
                "namespace", p ? p->ns : "", "pod", p ? p->name : "", OBS_END);
}

static void cb_add(const json_t *obj, void *ud)
{
    on_pod_upsert(obj, ud);
}

static void cb_update(const json_t *old_obj, const json_t *new_obj, void *ud)
{
    (void)old_obj;
    on_pod_upsert(new_obj, ud);
}

typedef struct deleted_ctx {
    ctl_controller *c;
    const ctl_pod *removed;
} deleted_ctx;

/* Does the workload run a pod of another template than the one deleted
 * (a rollout in progress)?  Asked as a pod goes, when the new pods may not
 * have been sampled yet, so the owner is also told from what the watch
 * gives: a StatefulSet's or DaemonSet's pods name it directly, a
 * Deployment's pods a ReplicaSet named "<deployment>-<pod-template-hash>". */
typedef struct template_scan {
    const ctl_pod *gone;
    bool found;
} template_scan;

static int find_other_template(ctl_pod *p, void *ud)
{
    template_scan *ts = ud;
    const ctl_pod *g = ts->gone;
    if (p->terminating || !p->rev_hash[0] || !strcmp(p->rev_hash, g->rev_hash))
        return 0;
    bool same_owner = (p->owner_resolved && !strcmp(p->owner->uid, g->owner->uid)) ||
                      !strcmp(p->rs_uid, g->owner->uid);
    if (!same_owner && !strcmp(p->rs_kind, "ReplicaSet")) {
        size_t n = strlen(g->owner->name);
        same_owner = !strncmp(p->rs_name, g->owner->name, n) && p->rs_name[n] == '-' &&
                     !strcmp(p->rs_name + n + 1, p->rev_hash);
    }
    ts->found = same_owner;
    return ts->found;
}

/* A leaking replica deleted (evicted, rolled, scaled in) closes nothing:
 * the workload's story stays open until a newer revision is verified or
 * its replicas go flat (ctl_story.h).  It counts as a restart unless
 * another template is rolling out (then it is the rollout replacing it).  A
 * story this process never opened (the workload Event was an earlier
 * leakwatch's) is left alone. */
static void pod_gone_one(const char *func, void *ud)
{
    deleted_ctx *dx = ud;
    const ctl_pod *r = dx->removed;
    template_scan ts = {.gone = r};
    ctl_pods_lock(dx->c->pods);
    ctl_pods_foreach(dx->c->pods, find_other_template, &ts);
    ctl_pods_unlock(dx->c->pods);
    int restarts = ts.found ? -1
                            : ctl_stories_pod_gone(dx->c->stories, r->owner->uid,
                                                   func, r->revision);
    if (restarts < 0)
        return;
    char n[16];
    snprintf(n, sizeof(n), "%d", restarts);
    obs_log(dx->c->log, OBS_INFO, "workload finding stays open: a pod going "
            "away is not a fix", "namespace", r->ns, "workload", r->owner->name,
            "pod", r->name, "function", func, "restarts", n, OBS_END);
}

static void cb_delete(const json_t *obj, bool final_state_unknown, void *ud)
{
    ctl_controller *c = ud;
    (void)final_state_unknown;
    const char *uid = json_string_value(
        json_object_get(json_object_get(obj, "metadata"), "uid"));
    if (!uid)
        return;
    ctl_pod removed;
    ctl_pods_lock(c->pods);
    bool known = ctl_pods_remove(c->pods, uid, &removed);
    size_t n = ctl_pods_count(c->pods);
    ctl_pods_unlock(c->pods);
    obs_gauge_set(c->m_pods, NULL, (double)n);
    if (!known)
        return;
    forget_pod_metrics(c, &removed);
    cap_capturer_forget(c->cap, removed.uid);
    if (removed.finding || removed.adopted) {
        findings_adjust(c, removed.finding_pattern, -1);
        obs_log(c->log, OBS_INFO, "finding closed: pod deleted", "namespace",
                removed.ns, "pod", removed.name, OBS_END);
        if (removed.owner_resolved && removed.owner->uid[0]) {
            deleted_ctx dx = {c, &removed};
            each_func(ctl_pod_finding_funcs(&removed), pod_gone_one, &dx);
        }
    }
    ctl_pod_release(&removed);
}

/* ---- health ------------------------------------------------------------- */

static bool check_health(void *ud, char *why, size_t whylen)
{
    ctl_controller *c = ud;
    int64_t age = lw_mono_ms() - atomic_load(&c->heartbeat_ms);
    if (age > 30000) {
        snprintf(why, whylen, "control loop stalled for %" PRId64 " ms", age);
        return false;
    }
    return true;
}

static bool check_ready(void *ud, char *why, size_t whylen)
{
    ctl_controller *c = ud;
    for (size_t i = 0; i < c->ncaches; i++)
        if (!kube_cache_synced(c->caches[i])) {
            snprintf(why, whylen, "pod cache not synced yet");
            return false;
        }
    if (c->cfg->shard) {
        pthread_mutex_lock(&c->shard_mu);
        size_t n = c->nshard;
        pthread_mutex_unlock(&c->shard_mu);
        snprintf(why, whylen, "%s, %s", leading(c) ? "leader" : "not leader",
                 n ? "shard member" : "shard member not acting yet");
        return true;
    }
    snprintf(why, whylen, "%s", leading(c) ? "leader" : "standby");
    return true;
}

static int note_open(json_t *ev, void *ud)
{
    ctl_controller *c = ud;
    const char *uid = json_string_value(
        json_object_get(json_object_get(ev, "involvedObject"), "uid"));
    const char *reason = json_string_value(json_object_get(ev, "reason"));
    const char *msg = json_string_value(json_object_get(ev, "message"));
    if (ctl_open_note(c->open, uid, reason, kube_event_time(ev), msg) < 0)
        return 1;
    return 0;
}

/* One of leakwatch's workload Events, read back (ctl_parse_workload_event). */
typedef struct story_note {
    int64_t t;
    char ns[64];
    kube_owner owner;
    ctl_story_event ev;
} story_note;

typedef struct story_notes {
    const ctl_event_reader *reader;
    story_note *v;
    size_t n, cap;
} story_notes;

static int note_story(json_t *ev, void *ud)
{
    story_notes *sn = ud;
    const json_t *obj = json_object_get(ev, "involvedObject");
    const char *uid = json_string_value(json_object_get(obj, "uid"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    if (!uid || !kind)
        return 0;
    story_note n;
    memset(&n, 0, sizeof(n));
    if (!ctl_parse_workload_event(sn->reader,
                                  json_string_value(json_object_get(ev, "reason")),
                                  json_string_value(json_object_get(ev, "message")),
                                  &n.ev))
        return 0;
    n.t = kube_event_time(ev);
    const char *ns = json_string_value(json_object_get(obj, "namespace"));
    const char *name = json_string_value(json_object_get(obj, "name"));
    const char *api = json_string_value(json_object_get(obj, "apiVersion"));
    snprintf(n.ns, sizeof(n.ns), "%s", ns ? ns : "");
    snprintf(n.owner.kind, sizeof(n.owner.kind), "%s", kind);
    snprintf(n.owner.name, sizeof(n.owner.name), "%s", name ? name : "");
    snprintf(n.owner.uid, sizeof(n.owner.uid), "%s", uid);
    snprintf(n.owner.api_version, sizeof(n.owner.api_version), "%s", api ? api : "");
    if (lw_grow(&sn->v, &sn->cap, sn->n, sizeof(*sn->v), 16))
        return 1;
    sn->v[sn->n++] = n;
    return 0;
}

/* Oldest first; on a tie a close comes last, so it wins. */
static int cmp_story_note(const void *a, const void *b)
{
    const story_note *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (int)y->ev.open - (int)x->ev.open;
}

/*
 * The workload findings an earlier leakwatch left open (ctl_story.h),
 * replayed from its workload Events in time order: a GoroutineLeak or
 * GoroutineLeakNotFixed opens a stack's finding at the revision it names,
 * a GoroutineLeakFixed or workload GoroutineLeakCleared closes it.  Without
 * this, a leakwatch upgraded (restarted) between a finding and the rollout
 * that fixes it would never write GoroutineLeakFixed.  The rate and the
 * load it was found at are not in every message: the window is then
 * --finding-min-span's and the load is not compared.
 */
static void adopt_stories(ctl_controller *c, story_notes *sn)
{
    qsort(sn->v, sn->n, sizeof(*sn->v), cmp_story_note);
    int64_t now = lw_mono_ms();
    for (size_t i = 0; i < sn->n; i++) {
        const story_note *n = &sn->v[i];
        if (!owns_workload(c, n->ns, &n->owner))
            continue; /* another replica's to follow (sharding) */
        if (!n->ev.open) {
            ctl_stories_end(c->stories, n->owner.uid, n->ev.func);
            continue;
        }
        /* A NotFixed moves an open finding to its revision: reopen it. */
        ctl_stories_end(c->stories, n->owner.uid, n->ev.func);
        ctl_story_facts f = {
            .ns = n->ns, .owner = &n->owner, .func = n->ev.func,
            .pattern = n->ev.pattern, .revision = n->ev.revision,
            .images = n->ev.images, .per_minute = n->ev.per_minute,
            .req_per_s = n->ev.req_per_s,
        };
        ctl_stories_open(c->stories, &f, now);
    }
    size_t open = 0;
    for (size_t i = 0; i < sn->n; i++) {
        const story_note *n = &sn->v[i];
        /* Each stack once, with the pattern of its newest opening. */
        bool last = true;
        for (size_t j = i + 1; j < sn->n && last; j++)
            last = strcmp(sn->v[j].owner.uid, n->owner.uid) ||
                   strcmp(sn->v[j].ev.func, n->ev.func);
        if (last && n->ev.open &&
            ctl_stories_is_open(c->stories, n->owner.uid, n->ev.func)) {
            story_gauge(c, n->ns, &n->owner, n->ev.pattern, true);
            open++;
        }
    }
    char count[32];
    snprintf(count, sizeof(count), "%zu", open);
    obs_log(c->log, OBS_INFO, "workload findings left open by an earlier leakwatch",
            "count", count, OBS_END);
}

/* Read the findings an earlier leakwatch left open (ctl_open.h): one LIST
 * of leakwatch's Pod Events per watched namespace, and one of its other
 * Events (the workloads'). */
static void load_open_findings(ctl_controller *c)
{
    ctl_event_reader *reader = ctl_event_reader_new();
    story_notes sn = {.reader = reader};
    ctl_open_reset(c->open);
    const char *list = c->cfg->namespaces ? c->cfg->namespaces : "";
    char copy[4096];
    snprintf(copy, sizeof(copy), "%s", list);
    char *save = NULL, *ns = strtok_r(copy, ",", &save);
    do {
        kube_response err;
        memset(&err, 0, sizeof(err));
        if (kube_events_list(c->kube, ns ? ns : "", "involvedObject.kind=Pod",
                             "leakwatch", note_open, c, &err) < 0)
            obs_log(c->log, OBS_WARN, "cannot read earlier findings; a finding "
                    "left open before this leadership will not be cleared",
                    "namespace", ns ? ns : "", "error", err.error, OBS_END);
        kube_response_free(&err);
        memset(&err, 0, sizeof(err));
        if ((sn.reader ? kube_events_list(c->kube, ns ? ns : "",
                                          "involvedObject.kind!=Pod", "leakwatch",
                                          note_story, &sn, &err)
                       : -1) < 0)
            obs_log(c->log, OBS_WARN, "cannot read earlier workload findings; a "
                    "fix rolled out for one left open before this leadership will "
                    "not be verified", "namespace", ns ? ns : "", "error",
                    sn.reader ? err.error : "out of memory", OBS_END);
        kube_response_free(&err);
    } while (ns && (ns = strtok_r(NULL, ",", &save)));
    char n[32];
    snprintf(n, sizeof(n), "%zu", ctl_open_count(c->open));
    obs_log(c->log, OBS_INFO, "findings left open by an earlier leakwatch",
            "count", n, OBS_END);
    adopt_stories(c, &sn);
    free(sn.v);
    ctl_event_reader_free(reader);
}

static void lease_started(void *ud)
{
    ctl_controller *c = ud;
    obs_log(c->log, OBS_INFO, "became leader", "identity", c->identity, OBS_END);
    obs_gauge_set(c->m_leader, NULL, 1);
    pthread_mutex_lock(&c->wake_mu);
    pthread_cond_signal(&c->wake_cv);
    pthread_mutex_unlock(&c->wake_mu);
}

/* A replica that stops leading forgets the workload findings (the next
 * leader adopts them from the Events) and stops exporting them, so that
 * sum(leakwatch_findings_open) over replicas counts each once. */
static void forget_stories(ctl_controller *c)
{
    ctl_story_gone gone[16];
    size_t n;
    while ((n = ctl_stories_expire(c->stories, INT64_MAX, 0, gone, 16)) > 0)
        for (size_t i = 0; i < n; i++)
            story_gauge(c, gone[i].ns, &gone[i].owner, gone[i].pattern, false);
}

static void lease_stopped(void *ud)
{
    ctl_controller *c = ud;
    /* With shards the workloads stay with their members; only those that
     * follow the leader move, when the new leader is seen (refresh_shard). */
    if (!c->cfg->shard) {
        atomic_store(&c->open_loaded, false);
        forget_stories(c);
    }
    obs_log(c->log, OBS_INFO, "stopped leading", "identity", c->identity, OBS_END);
    obs_gauge_set(c->m_leader, NULL, 0);
}

static void lease_new_leader(const char *identity, void *ud)
{
    ctl_controller *c = ud;
    pthread_mutex_lock(&c->shard_mu);
    snprintf(c->leader_id, sizeof(c->leader_id), "%s", identity ? identity : "");
    pthread_mutex_unlock(&c->shard_mu);
    obs_log(c->log, OBS_INFO, "leader observed", "leader",
            identity && *identity ? identity : "(none)", OBS_END);
}

static bool caches_synced(ctl_controller *c);

typedef struct reown_ctx {
    ctl_controller *c;
    int64_t now;
    unsigned seed;
    size_t owned, gained, lost;
} reown_ctx;

static int reown(ctl_pod *p, void *ud)
{
    reown_ctx *r = ud;
    bool was = p->mine;
    set_mine(r->c, p, owns_pod_locked(r->c, p), r->now, &r->seed);
    r->owned += p->mine;
    r->gained += p->mine && !was;
    r->lost += was && !p->mine;
    return 0;
}

/* Sharding's one step per tick (main thread): who is live now, and when
 * that changed, whose each pod is.  Acting needs this replica's own Lease
 * held and itself among the live members as the watch shows them, so that
 * it never hashes over a set the others cannot see yet.  A change also
 * reloads the open findings (workloads that moved here are adopted from
 * their Events, as by a new leader) once the Events this replica queued
 * have been sent. */
static void refresh_shard(ctl_controller *c, int64_t now)
{
    size_t n = 0;
    bool held = kube_lease_is_leader(c->member);
    /* After the pods are listed too, so the first change says what it owns. */
    if (held && kube_members_synced(c->members) && caches_synced(c)) {
        n = kube_members_live(c->members, now, c->shard_scratch, CTL_SHARD_MAX);
        if (n > CTL_SHARD_MAX)
            n = CTL_SHARD_MAX;
        bool self = false;
        for (size_t i = 0; i < n && !self; i++)
            self = !strcmp(c->shard_scratch[i], c->identity);
        if (!self)
            n = 0;
    }
    pthread_mutex_lock(&c->shard_mu);
    /* The leader matters to ownership only where it pins workloads. */
    const char *pin = c->contain ? c->leader_id : "";
    uint64_t sig = lw_hash_bytes(pin, strlen(pin), n + 1);
    for (size_t i = 0; i < n; i++)
        sig = lw_hash_combine(sig, lw_hash_bytes(c->shard_scratch[i],
                                                 strlen(c->shard_scratch[i]), 0));
    pthread_mutex_unlock(&c->shard_mu);
    if (sig == c->shard_sig)
        return;
    c->shard_sig = sig;
    atomic_store(&c->shard_acting, false);
    reown_ctx r = {.c = c, .now = now, .seed = (unsigned)now};
    ctl_pods_lock(c->pods);
    pthread_mutex_lock(&c->shard_mu);
    memcpy(c->shard_ids, c->shard_scratch, n * sizeof(*c->shard_ids));
    c->nshard = n;
    char leader[256];
    snprintf(leader, sizeof(leader), "%s", c->leader_id);
    ctl_pods_foreach(c->pods, reown, &r);
    pthread_mutex_unlock(&c->shard_mu);
    ctl_pods_unlock(c->pods);
    obs_gauge_set(c->m_shard_members, NULL, (double)n);
    obs_gauge_set(c->m_shard_owned, NULL, (double)r.owned);
    char members[16], owned[16], gained[16], lost[16];
    snprintf(members, sizeof(members), "%zu", n);
    snprintf(owned, sizeof(owned), "%zu", r.owned);
    snprintf(gained, sizeof(gained), "%zu", r.gained);
    snprintf(lost, sizeof(lost), "%zu", r.lost);
    obs_log(c->log, OBS_INFO, "shard membership changed", "members", members,
            "owned", owned, "gained", gained, "lost", lost, "leader",
            leader[0] ? leader : "(none)", OBS_END);
    /* Workload findings are re-read for the new set: forget them all, send
     * what is queued so the re-read sees it, then load (run loop). */
    forget_stories(c);
    if (c->rec)
        kube_recorder_flush(c->rec, 5000);
    atomic_store(&c->open_loaded, false);
    atomic_store(&c->shard_acting, n > 0);
}

/* The leader deletes the member Leases of replicas that died without
 * deleting theirs, once they have been gone for CTL_SHARD_STALE_MS; the
 * precondition on the resourceVersion we saw leaves alone a Lease that came
 * back to life meanwhile. */
static void collect_stale_members(ctl_controller *c, int64_t now)
{
    kube_member gone[8];
    size_t n = kube_members_stale(c->members, now, CTL_SHARD_STALE_MS, gone, 8);
    if (n > 8)
        n = 8;
    for (size_t i = 0; i < n; i++) {
        kube_response res;
        if (kube_lease_delete(c->kube, c->lease_ns, gone[i].lease, gone[i].rv, &res) == 0)
            obs_log(c->log, OBS_INFO, "deleted the Lease of a member gone for good",
                    "lease", gone[i].lease, "holder", gone[i].identity, OBS_END);
        else
            obs_log(c->log, OBS_WARN, "cannot delete the Lease of a member gone "
                    "for good", "lease", gone[i].lease, "error", res.error, OBS_END);
        kube_response_free(&res);
    }
}

/* ---- construction ------------------------------------------------------- */

static void setup_metrics(ctl_controller *c)
{
    obs_registry *r = c->reg;
    const char *pod_l[] = {"namespace", "pod", NULL};
    const char *pat_l[] = {"pattern", NULL};
    const char *cap_l[] = {"transport", "kind", "result", NULL};
    const char *tr_l[] = {"transport", NULL};
    const char *api_l[] = {"verb", "code", NULL};
    const char *ev_l[] = {"reason", NULL};
    static const double lat[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                 0.25, 0.5, 1, 2.5, 5, 10, 30};
    c->m_goroutines = obs_gauge(r, "leakwatch_pod_goroutines",
                                "Goroutines in the pod at the last cheap sample.", pod_l);
    c->m_growth = obs_gauge(r, "leakwatch_pod_goroutine_growth_per_minute",
                            "Robust growth of the pod's goroutine count per minute.", pod_l);
    c->m_findings = obs_gauge(r, "leakwatch_findings",
                              "Goroutine leak findings in force, by pattern.", pat_l);
    c->m_captures = obs_counter(r, "leakwatch_captures_total",
                                "Captures by transport, kind and result.", cap_l);
    c->m_capture_seconds = obs_histogram(r, "leakwatch_capture_duration_seconds",
                                         "Capture latency by transport.", tr_l, lat,
                                         sizeof(lat) / sizeof(lat[0]));
    c->m_api = obs_counter(r, "leakwatch_api_requests_total",
                           "Kubernetes API requests by verb and HTTP code (0: no response).",
                           api_l);
    c->m_leader = obs_gauge(r, "leakwatch_is_leader", "1 while this replica leads.", NULL);
    c->m_pods = obs_gauge(r, "leakwatch_watched_pods", "Annotated pods being watched.", NULL);
    c->m_workers = obs_gauge(r, "leakwatch_capture_workers",
                             "Capture worker threads started, up to "
                             "--max-concurrent-captures (started as the "
                             "queue needs them).", NULL);
    c->m_events = obs_counter(r, "leakwatch_events_total", "Events written, by reason.", ev_l);
    const char *malloc_l[] = {"state", NULL};
    c->m_malloc = obs_gauge(r, "leakwatch_malloc_bytes",
                            "Heap bytes after the periodic trim: in_use by the program, "
                            "free but kept by malloc.", malloc_l);
    const char *open_l[] = {"workload", "pattern", NULL};
    c->m_open = obs_gauge(r, "leakwatch_findings_open",
                          "1 per workload and pattern with a goroutine leak finding "
                          "open (workload: namespace/Kind/name); restarts do not close it.",
                          open_l);
    c->m_fixed = obs_counter(r, "leakwatch_findings_fixed_total",
                             "Workload findings closed by a newer revision verified "
                             "flat on the leaking stack, by pattern.", pat_l);
    c->m_shard_members = obs_gauge(r, "leakwatch_shard_members",
                                   "Live replicas the pods are shared among, as this "
                                   "replica sees them (0: not sharding, or not acting yet).",
                                   NULL);
    c->m_shard_owned = obs_gauge(r, "leakwatch_shard_owned_pods",
                                 "Annotated pods this replica samples (all of them "
                                 "without sharding).", NULL);
    obs_gauge_set(c->m_shard_members, NULL, 0);
    obs_gauge_set(c->m_shard_owned, NULL, 0);
    obs_gauge_set(c->m_leader, NULL, c->cfg->leader_elect ? 0 : 1);
    obs_gauge_set(c->m_pods, NULL, 0);
    for (int p = 0; p < LWA_PATTERN_COUNT; p++) {
        const char *vals[] = {lwa_pattern_name((lwa_pattern)p)};
        obs_gauge_set(c->m_findings, vals, 0);
    }
}

/* The capturer, with the controller's transport, limits and back-off. */
static int new_capturer(ctl_controller *c, char *err, size_t errlen)
{
    const ctl_config *cfg = c->cfg;
    cap_options copt;
    cap_options_default(&copt);
    if (cap_transport_parse(cfg->transport, &copt.transport) < 0) {
        snprintf(err, errlen, "--transport: unknown \"%s\"", cfg->transport);
        return -1;
    }
    copt.timeout_ms = (long)(cfg->capture_timeout_s * 1000);
    copt.max_body_bytes = cfg->max_capture_bytes;
    copt.debug2_max_goroutines = (uint64_t)cfg->full_capture_threshold;
    copt.max_in_flight = (int)cfg->max_concurrent_captures;
    copt.max_in_flight_per_node = (int)cfg->max_captures_per_node;
    /* The controller samples every interval: back off no longer than a few
     * intervals so a pod that comes back is seen again soon. */
    copt.backoff_base_ms = (long)(cfg->interval_s * 1000);
    copt.backoff_max_ms = (long)(cfg->interval_s * 1000 * 8);
    c->cap = cap_capturer_new(c->kube, &copt, err, errlen);
    return c->cap ? 0 : -1;
}

/* Containment, configured from the controller's flags (off unless a
 * workload opts in or --containment says so). */
static int new_containment(ctl_controller *c, char *err, size_t errlen)
{
    const ctl_config *cfg = c->cfg;
    cnt_config cc;
    cnt_config_default(&cc);
    cc.enabled = cfg->containment;
    cc.dry_run = cfg->dry_run;
    cc.rollout = !strcmp(cfg->containment_mode, "rollout");
    cc.horizon_s = cfg->containment_horizon_s;
    cc.goroutine_cap = cfg->goroutine_cap;
    cc.min_rate_per_min = cfg->containment_min_rate;
    cc.budget_per_workload = cfg->budget_per_workload;
    cc.budget_global = cfg->budget_global;
    cc.pod_cooldown_s = cfg->pod_cooldown_s;
    cc.ready_timeout_s = cfg->ready_timeout_s;
    c->contain = cnt_new(c->kube, c->rec, &cc, c->reg, c->log, err, errlen);
    return c->contain ? 0 : -1;

}

/* One pod cache per --namespaces entry (all namespaces when empty), each
 * slimming pods to what the controller reads. */
static int start_caches(ctl_controller *c, char *err, size_t errlen)
{
    const ctl_config *cfg = c->cfg;
    kube_cache_handlers h = {.on_add = cb_add, .on_update = cb_update,
                             .on_delete = cb_delete, .ud = c};
    char nsbuf[1024];
    snprintf(nsbuf, sizeof(nsbuf), "%s", cfg->namespaces ? cfg->namespaces : "");
    char *save = NULL;
    char *tok = strtok_r(nsbuf, ",", &save);
    do {
        while (tok && *tok == ' ')
            tok++;
        if (c->ncaches == CTL_MAX_CACHES) {
            snprintf(err, errlen, "--namespaces: at most %d namespaces", CTL_MAX_CACHES);
            return -1;
        }
        /* Pages of 100 pods, not 500: a page is parsed whole before
         * slim_pod cuts each pod down, and what a page's parse leaves
         * behind is scattered through the arena it grew, where no trim can
         * return it.  At 1,000 pods this is 16 MB less RSS for 8 more
         * LIST requests at start-up. */
        kube_cache_opts co = {.namespace = tok && *tok ? tok : NULL,
                              .label_selector = cfg->selector && *cfg->selector ? cfg->selector : NULL,
                              .log = log_kube, .log_ud = c,
                              .transform = slim_pod, .page_limit = 100};
        c->caches[c->ncaches] = kube_cache_new(c->kube, &co, &h, err, errlen);
        if (!c->caches[c->ncaches])
            return -1;
        c->ncaches++;
    } while (tok && (tok = strtok_r(NULL, ",", &save)));
    return 0;
}

ctl_controller *ctl_controller_new(const ctl_config *cfg, obs_logger *log,
                                   char *err, size_t errlen)
{
    ctl_controller *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->cfg = cfg;
    c->log = log;
    pthread_mutex_init(&c->qmu, NULL);
    pthread_cond_init(&c->qcv, NULL);
    pthread_mutex_init(&c->wake_mu, NULL);
    lw_cond_init_monotonic(&c->wake_cv);
    pthread_mutex_init(&c->findings_mu, NULL);
    pthread_mutex_init(&c->shard_mu, NULL);
    c->open = ctl_open_new();
    c->stories = ctl_stories_new((int64_t)(cfg->finding_min_span_s * 1000));
    if (!c->open || !c->stories) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    atomic_store(&c->heartbeat_ms, lw_mono_ms());
    c->queue = calloc(CTL_QUEUE_MAX, 64);
    c->pods = ctl_pods_new((unsigned)cfg->window);
    c->reg = obs_registry_new();
    if (!c->queue || !c->pods || !c->reg) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    setup_metrics(c);

    ctl_thresholds_default(&c->wth);
    c->wth.window = (unsigned)cfg->window;
    c->wth.min_per_minute = cfg->min_growth_per_minute;
    c->wth.min_delta = (uint64_t)cfg->min_delta;
    c->wth.min_relative = cfg->min_relative;
    c->wth.raise_after = (unsigned)cfg->raise_after;
    c->wth.clear_after = (unsigned)cfg->clear_after;
    lwa_thresholds_default(&c->ath);
    c->ignore = lwa_ignore_new(true);
    lwa_options_default(&c->aopt);
    c->aopt.ignore = c->ignore;

    kube_config_opts ko = {.kubeconfig = cfg->kubeconfig && *cfg->kubeconfig ? cfg->kubeconfig : NULL,
                           .context = cfg->context && *cfg->context ? cfg->context : NULL};
    if (kube_config_load(&ko, &c->kcfg, err, errlen) < 0)
        goto fail;
    kube_client_opts kopts;
    kube_client_opts_default(&kopts);
    kopts.qps = cfg->qps;
    kopts.burst = (int)cfg->burst;
    c->kube = kube_client_new(c->kcfg, &kopts, err, errlen);
    if (!c->kube)
        goto fail;
    kube_client_set_observer(c->kube, observe_request, c);

    if (new_capturer(c, err, errlen) < 0)
        goto fail;
    c->sched = cap_scheduler_new((int)cfg->max_concurrent_captures,
                                 (int)cfg->max_captures_per_node);
    if (!c->sched) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (cfg->evidence_dir && *cfg->evidence_dir) {
        c->evidence = ctl_evidence_new(cfg->evidence_dir, cfg->evidence_max_bytes,
                                       600, err, errlen);
        if (!c->evidence)
            goto fail;
    }

    kube_recorder_opts ro = {.component = "leakwatch", .log = log_kube, .log_ud = c};
    c->rec = kube_recorder_new(c->kube, &ro, err, errlen);
    if (!c->rec)
        goto fail;

    if (new_containment(c, err, errlen) < 0)
        goto fail;

    if (start_caches(c, err, errlen) < 0)
        goto fail;

    if (cfg->identity && *cfg->identity)
        snprintf(c->identity, sizeof(c->identity), "%s", cfg->identity);
    else {
        char host[128] = "leakwatch";
        gethostname(host, sizeof(host) - 1);
        snprintf(c->identity, sizeof(c->identity), "%s_%ld", host, (long)getpid());
    }
    const char *lease_ns = cfg->lease_namespace && *cfg->lease_namespace
                               ? cfg->lease_namespace
                               : getenv("POD_NAMESPACE");
    if (!lease_ns || !*lease_ns)
        lease_ns = c->kcfg->namespace && *c->kcfg->namespace ? c->kcfg->namespace : "default";
    snprintf(c->lease_ns, sizeof(c->lease_ns), "%s", lease_ns);
    if (cfg->shard) {
        c->shard_ids = calloc(CTL_SHARD_MAX, sizeof(*c->shard_ids));
        c->shard_scratch = calloc(CTL_SHARD_MAX, sizeof(*c->shard_scratch));
        char sel[400];
        snprintf(sel, sizeof(sel), "leakwatch.dev/shard-of=%s", cfg->lease_name);
        kube_members_opts mo = {.namespace = c->lease_ns, .label_selector = sel,
                                .log = log_kube, .log_ud = c};
        if (!c->shard_ids || !c->shard_scratch) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        c->members = kube_members_new(c->kube, &mo, err, errlen);
        if (!c->members)
            goto fail;
    }

    if (cfg->metrics_addr && *cfg->metrics_addr) {
        obs_http_opts ho = {.listen = cfg->metrics_addr, .registry = c->reg,
                            .healthz = check_health, .readyz = check_ready, .ud = c};
        c->http = obs_http_start(&ho, err, errlen);
        if (!c->http)
            goto fail;
    }
    return c;
fail:
    ctl_controller_free(c);
    return NULL;
}

/* Aborts the captures in flight, tells the workers to stop taking work,
 * and joins them: no half-done decision outlives this. */
static void join_workers(ctl_controller *c)
{
    atomic_store(&c->cancel_captures, true);
    pthread_mutex_lock(&c->qmu);
    atomic_store(&c->stopping, true);
    pthread_cond_broadcast(&c->qcv);
    pthread_mutex_unlock(&c->qmu);
    for (int i = 0; i < c->nworkers; i++)
        pthread_join(c->workers[i], NULL);
    c->nworkers = 0;
}

/* The initial LIST parses every pod whole before slim_pod cuts it down,
 * and full captures parse dumps of megabytes: both leave the malloc arenas
 * of the threads that did it mostly free but not returned, because glibc
 * only shrinks an arena from its top.  malloc_trim hands the free pages
 * inside the arenas back too.  Done when the caches first sync and then
 * once per interval, so a burst of captures does not hold its peak.
 * Afterwards the heap's state is published: what the program holds
 * against what malloc keeps free tells a growing RSS that is ours from
 * one that is fragmentation. */
static void give_back_free_memory(ctl_controller *c)
{
#ifdef __GLIBC__
    malloc_trim(0);
    struct mallinfo2 mi = mallinfo2();
    const char *in_use[] = {"in_use"}, *held_free[] = {"free"};
    obs_gauge_set(c->m_malloc, in_use, (double)(mi.uordblks + mi.hblkhd));
    obs_gauge_set(c->m_malloc, held_free, (double)mi.fordblks);
#else
    (void)c;
#endif
}

static bool caches_synced(ctl_controller *c)
{
    for (size_t i = 0; i < c->ncaches; i++)
        if (!kube_cache_synced(c->caches[i]))
            return false;
    return true;
}

/*
 * A workload whose pods have all been gone for CTL_STORY_IDLE_MS (deleted,
 * scaled to zero) leaks nothing: its finding leaves the metrics, without
 * an Event, as neither "fixed" nor "cleared" would be true.  Ten minutes
 * or three intervals, whichever is longer, so that a rollout or a slow
 * reschedule is never taken for it.
 */
#define CTL_STORY_IDLE_MS 600000

static void expire_stories(ctl_controller *c, int64_t now)
{
    int64_t idle = (int64_t)(3 * c->cfg->interval_s * 1000);
    if (idle < CTL_STORY_IDLE_MS)
        idle = CTL_STORY_IDLE_MS;
    ctl_story_gone gone[16];
    size_t n = ctl_stories_expire(c->stories, now, idle, gone, 16);
    for (size_t i = 0; i < n; i++) {
        story_gauge(c, gone[i].ns, &gone[i].owner, gone[i].pattern, false);
        obs_log(c->log, OBS_INFO, "workload finding closed: the workload runs no "
                "pod any more", "namespace", gone[i].ns, "workload",
                gone[i].owner.name, "function", gone[i].func, OBS_END);
    }
}

int ctl_controller_run(ctl_controller *c, volatile sig_atomic_t *stop)
{
    char err[512];
    const ctl_config *cfg = c->cfg;
    for (size_t i = 0; i < c->ncaches; i++)
        if (kube_cache_start(c->caches[i], err, sizeof(err)) < 0) {
            obs_log(c->log, OBS_ERROR, "cannot start pod watch", "error", err, OBS_END);
            return -1;
        }
    if (cfg->leader_elect) {
        kube_lease_opts lo = {.namespace = c->lease_ns, .name = cfg->lease_name,
                              .identity = c->identity,
                              .lease_duration_ms = (long)(cfg->lease_duration_s * 1000),
                              .renew_deadline_ms = (long)(cfg->renew_deadline_s * 1000),
                              .retry_period_ms = (long)(cfg->retry_period_s * 1000),
                              .on_started_leading = lease_started,
                              .on_stopped_leading = lease_stopped,
                              .on_new_leader = lease_new_leader, .ud = c,
                              .log = log_kube, .log_ud = c};
        c->lease = kube_lease_start(c->kube, &lo, err, sizeof(err));
        if (!c->lease) {
            obs_log(c->log, OBS_ERROR, "cannot start leader election", "error", err, OBS_END);
            return -1;
        }
    }
    if (cfg->shard) {
        char name[254];
        ctl_shard_lease_name(cfg->lease_name, c->identity, name, sizeof(name));
        kube_lease_opts mo = {.namespace = c->lease_ns, .name = name,
                              .identity = c->identity,
                              .lease_duration_ms = (long)(cfg->lease_duration_s * 1000),
                              .renew_deadline_ms = (long)(cfg->renew_deadline_s * 1000),
                              .retry_period_ms = (long)(cfg->retry_period_s * 1000),
                              .delete_on_stop = true, .sole_candidate = true,
                              .label_key = "leakwatch.dev/shard-of",
                              .label_value = cfg->lease_name,
                              .log = log_kube, .log_ud = c};
        if (kube_members_start(c->members, err, sizeof(err)) < 0 ||
            !(c->member = kube_lease_start(c->kube, &mo, err, sizeof(err)))) {
            obs_log(c->log, OBS_ERROR, "cannot join the shard", "error", err, OBS_END);
            return -1;
        }
    }
    c->workers = calloc(cfg->max_concurrent_captures, sizeof(pthread_t));
    if (!c->workers)
        return -1;
    grow_workers(c);
    if (!c->nworkers) {
        obs_log(c->log, OBS_ERROR, "cannot start a capture worker", OBS_END);
        return -1;
    }
    char port[16] = "";
    if (c->http)
        snprintf(port, sizeof(port), "%u", obs_http_port(c->http));
    char interval[32];
    snprintf(interval, sizeof(interval), "%gs", cfg->interval_s);
    obs_log(c->log, OBS_INFO, "controller started", "identity", c->identity,
            "interval", interval, "metrics_port", port,
            "dry_run", cfg->dry_run ? "true" : "false", "lease_namespace",
            c->lease_ns, OBS_END);

    size_t cap = 4096;
    char(*due)[64] = malloc(cap * 64);
    if (!due)
        return -1;
    int64_t next_trim_ms = 0, next_expire_ms = 0, next_collect_ms = 0;
    while (!*stop) {
        int64_t now = lw_mono_ms();
        atomic_store(&c->heartbeat_ms, now);
        if (now >= next_trim_ms && caches_synced(c)) {
            give_back_free_memory(c);
            next_trim_ms = now + (int64_t)(cfg->interval_s * 1000);
        }
        if (cfg->shard) {
            refresh_shard(c, now);
            if (leading(c) && now >= next_collect_ms) {
                collect_stale_members(c, now);
                next_collect_ms = now + 60000;
            }
        }
        if (acting(c) && !atomic_load(&c->open_loaded)) {
            load_open_findings(c);
            atomic_store(&c->open_loaded, true);
        }
        if (acting(c) && now >= next_expire_ms) {
            expire_stories(c, now);
            next_expire_ms = now + 10000;
        }
        if (acting(c)) {
            /* Before this tick adds to it: what is left is backlog. */
            grow_workers(c);
            sched_ctx s = {.c = c, .now = now, .due = due, .cap = cap};
            ctl_pods_lock(c->pods);
            ctl_pods_foreach(c->pods, collect_due, &s);
            ctl_pods_unlock(c->pods);
            obs_gauge_set(c->m_shard_owned, NULL, (double)s.owned);
            for (size_t i = 0; i < s.ndue; i++)
                if (!enqueue(c, due[i])) {
                    ctl_pods_lock(c->pods);
                    ctl_pod *p = ctl_pods_get(c->pods, due[i]);
                    if (p)
                        p->busy = false;
                    ctl_pods_unlock(c->pods);
                }
        } else {
            obs_gauge_set(c->m_shard_owned, NULL, 0);
        }
        struct timespec ts;
        lw_deadline_ms(&ts, 250);
        pthread_mutex_lock(&c->wake_mu);
        pthread_cond_timedwait(&c->wake_cv, &c->wake_mu, &ts);
        pthread_mutex_unlock(&c->wake_mu);
    }
    free(due);
    obs_log(c->log, OBS_INFO, "shutting down", OBS_END);

    /* Order matters: stop handing out work and abort captures in flight,
     * join the workers (no half-done decision survives them), send the
     * Events already queued, then give up the lease so a standby takes
     * over at once. */
    join_workers(c);
    if (c->rec)
        kube_recorder_flush(c->rec, 10000);
    if (c->lease) {
        kube_lease_stop(c->lease);
        c->lease = NULL;
    }
    kube_lease_stop(c->member);
    c->member = NULL;
    obs_log(c->log, OBS_INFO, "stopped", OBS_END);
    return 0;
}

void ctl_controller_free(ctl_controller *c)
{
    if (!c)
        return;
    if (c->nworkers)
        join_workers(c);
    free(c->workers);
    if (c->lease)
        kube_lease_stop(c->lease);
    kube_lease_stop(c->member);
    kube_members_free(c->members);
    for (size_t i = 0; i < c->ncaches; i++)
        kube_cache_free(c->caches[i]);
    cnt_free(c->contain);
    kube_recorder_free(c->rec);
    obs_http_stop(c->http);
    cap_scheduler_free(c->sched);
    cap_capturer_free(c->cap);
    kube_client_free(c->kube);
    kube_config_free(c->kcfg);
    ctl_evidence_free(c->evidence);
    lwa_ignore_free(c->ignore);
    ctl_pods_free(c->pods);
    obs_registry_free(c->reg);
    free(c->queue);
    pthread_mutex_destroy(&c->qmu);
    pthread_cond_destroy(&c->qcv);
    pthread_mutex_destroy(&c->wake_mu);
    pthread_cond_destroy(&c->wake_cv);
    pthread_mutex_destroy(&c->findings_mu);
    pthread_mutex_destroy(&c->shard_mu);
    free(c->shard_ids);
    free(c->shard_scratch);
    ctl_open_free(c->open);
    ctl_stories_free(c->stories);
    free(c);
}
