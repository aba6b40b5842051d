/*
 * lwa_pattern.c — names the kind of blocking a stack is stuck in, from the
 * fixed vocabulary of DESIGN.md, and gives the runbook's first fix for it.
 *
 * Evidence, strongest first:
 *   1. who is blocked.  A net/http persistConn loop or a goroutine owned by
 *      gRPC is the symptom of a body or connection nobody closed, whatever
 *      channel or socket it happens to wait on; an x/sync semaphore waits
 *      in a select but is a semaphore.  These rules win over the reason.
 *      Two owners leave one goroutine per leaked object whose frames are
 *      all library code, so the library frame is the whole evidence:
 *      database/sql's (*Rows).awaitDone / (*Tx).awaitDone (rows or a
 *      transaction never closed; it only exists while the query's context
 *      can be cancelled) and grpc-go's per-stream watcher, the closure in
 *      newClientStreamWithParams (newClientStream before grpc-go 1.32)
 *      that waits for the stream's or the conn's context (a stream neither
 *      cancelled nor read to the end).  The stream watcher is told apart
 *      from the conn's own goroutines (CallbackSerializer, transport reader,
 *      loopy writer) by that frame, so closing a shared conn is never the
 *      advice for an abandoned stream.
 *      A caller waiting in database/sql's (*DB).conn is queued for a
 *      pooled connection: the pool is exhausted, in a leak because Rows or
 *      a Tx hold every connection, and once it is full the queue is what
 *      grows, so it names the same pattern and fix.
 *      An idle keep-alive connection reads (readLoop in IO wait, under
 *      bufio's Peek): that is not a body left open, which parks readLoop in
 *      a select waiting for the body's EOF.
 *   2. the wait reason Go printed (debug=2): "chan send", "select (no
 *      cases)", "sync.WaitGroup.Wait"...  "semacquire" (WaitGroup and Mutex
 *      before Go 1.20/1.25, or a raw semaphore) is split by the frames.
 *   3. the frames themselves, for debug=1 and protobuf, which carry no
 *      reason: runtime.chansend, runtime.selectgo, sync.(*Cond).Wait,
 *      internal/poll.runtime_pollWait...  A receive or send on a nil
 *      channel parks at the top of runtime.chanrecv/chansend, a few lines
 *      below chanrecv1/chansend1 which Go defines just above them; a real
 *      block parks a hundred lines further down.  Comparing the two lines
 *      tells them apart in every Go release since 1.19 without a per-
 *      version table.
 *   4. a reason the parser inferred (it knows fewer rules than 3).
 * debug=1 hides the leading runtime frames, so a goroutine blocked on a
 * channel or in a select shows only user frames there: that stays
 * "unknown" because nothing in the capture says more.
 *
 * Not for: deciding whether a stack leaks (lwa_verdict.c).
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"

static const struct {
    const char *name;
    const char *fix;
} patterns[LWA_PATTERN_COUNT] = {
    [LWA_PATTERN_UNKNOWN] = {"unknown", "inspect the stack; make the "
                             "goroutine's exit depend on ctx.Done()"},
    [LWA_PATTERN_CHAN_SEND] = {"chan-send", "buffer the channel or select "
                               "on ctx.Done() in the sender"},
    [LWA_PATTERN_CHAN_RECEIVE] = {"chan-receive", "close the channel when "
                                  "the producer is done, or select on "
                                  "ctx.Done()"},
    [LWA_PATTERN_NIL_CHANNEL] = {"nil-channel", "initialise the channel "
                                 "before use; send or receive on a nil "
                                 "channel blocks forever"},
    [LWA_PATTERN_SELECT] = {"select", "add a case <-ctx.Done() (or a "
                            "timeout) to the select"},
    [LWA_PATTERN_SELECT_NO_CASES] = {"select-no-cases", "an empty select{} "
                                     "blocks forever: return or wait on "
                                     "ctx.Done()"},
    [LWA_PATTERN_HTTP_BODY] = {"http-body-not-closed", "defer "
                               "resp.Body.Close() (and drain it) after "
                               "every http.Client call"},
    [LWA_PATTERN_NETWORK_IO] = {"network-io", "set deadlines/timeouts on "
                                "the connection or use a context-aware "
                                "dial/read"},
    [LWA_PATTERN_GRPC_CONN] = {"grpc-conn-not-closed", "reuse one "
                               "grpc.ClientConn, or defer conn.Close() for "
                               "each one created"},
    [LWA_PATTERN_GRPC_STREAM] = {"grpc-stream-not-cancelled", "cancel the "
                                 "stream's context (defer cancel()) or read "
                                 "to io.EOF"},
    [LWA_PATTERN_SQL_ROWS] = {"sql-rows-not-closed", "defer rows.Close() "
                              "right after the error check; defer "
                              "tx.Rollback()"},
    [LWA_PATTERN_WAITGROUP] = {"waitgroup", "make every wg.Add path reach "
                               "wg.Done (defer it)"},
    [LWA_PATTERN_MUTEX] = {"mutex", "unlock on every return path (defer "
                           "mu.Unlock())"},
    [LWA_PATTERN_COND] = {"cond", "Broadcast/Signal on every state change "
                          "the waiter awaits, and check ctx"},
    [LWA_PATTERN_SEMAPHORE] = {"semaphore", "release every acquired unit "
                               "(defer sem.Release)"},
    [LWA_PATTERN_SLEEP_LOOP] = {"sleep-loop", "give the polling loop an "
                                "exit: select on ctx.Done() or a ticker "
                                "stop"},
};

const char *lwa_pattern_name(lwa_pattern p)
{
    if ((unsigned)p >= LWA_PATTERN_COUNT)
        p = LWA_PATTERN_UNKNOWN;
    return patterns[p].name;
}

const char *lwa_pattern_fix(lwa_pattern p)
{
    if ((unsigned)p >= LWA_PATTERN_COUNT)
        p = LWA_PATTERN_UNKNOWN;
    return patterns[p].fix;
}

int lwa_pattern_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < LWA_PATTERN_COUNT; i++)
        if (!strcmp(patterns[i].name, name))
            return i;
    return -1;
}

static bool starts(const char *s, const char *prefix)
{
    return s && !strncmp(s, prefix, strlen(prefix));
}

static bool eq(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* Library code is the standard library (no dot in the first path
 * element, except main) and the gRPC / x/net stacks gRPC runs on. */
static bool is_user_code(const char *func)
{
    if (!func)
        return false;
    if (starts(func, "main."))
        return true;
    if (starts(func, "google.golang.org/grpc") ||
        starts(func, "google.golang.org/protobuf") ||
        starts(func, "golang.org/x/"))
        return false;
    const char *slash = strchr(func, '/');
    const char *dot = strchr(func, '.');
    if (!dot)
        return false;
    /* "github.com/x/y.F": a dot before the first slash is a domain. */
    return slash && dot < slash;
}

static bool is_grpc(const char *func)
{
    return starts(func, "google.golang.org/grpc");
}

/* The function the goroutine was started with: its outermost frame a
 * traceback would show. */
static const char *entry_func(const pprof_frame *f, uint32_t n)
{
    for (uint32_t i = n; i-- > 0;)
        if (f[i].func && !lwa_func_is_runtime_internal(f[i].func))
            return f[i].func;
    return NULL;
}

/* grpc-go's per-stream context watcher (see the header comment). */
static bool is_grpc_stream_watcher(const char *func)
{
    return starts(func, "google.golang.org/grpc.newClientStreamWithParams.func") ||
           starts(func, "google.golang.org/grpc.newClientStream.func");
}

/* A persistConn.readLoop at f[at] that is reading the socket (an idle
 * keep-alive connection, or one waiting for a response) rather than
 * waiting for its body to be consumed. */
static bool readloop_reading(const pprof_frame *f, uint32_t at,
                             const char *reason)
{
    if (reason && !strncmp(reason, "IO wait", 7))
        return true;
    for (uint32_t i = 0; i < at; i++)
        if (starts(f[i].func, "internal/poll.") ||
            starts(f[i].func, "bufio.(*Reader).") ||
            eq(f[i].func, "net/http.(*persistConn).Read") ||
            eq(f[i].func, "runtime.netpollblock"))
            return true;
    return false;
}

/* Rule 1: who is blocked.  True when a rule decided. */
static bool classify_owner(const pprof_frame *f, uint32_t n,
                           const char *reason, const char *created_by,
                           lwa_class *out)
{
    /* Judged by the function the goroutine was started with: the same
     * library functions further in are a caller's synchronous work (an
     * older grpc-go runs its retry closures in newClientStream.funcN). */
    const char *entry = entry_func(f, n);
    if (eq(entry, "database/sql.(*Rows).awaitDone") ||
        eq(entry, "database/sql.(*Tx).awaitDone") ||
        is_grpc_stream_watcher(entry)) {
        out->pattern = is_grpc_stream_watcher(entry) ? LWA_PATTERN_GRPC_STREAM
                                                     : LWA_PATTERN_SQL_ROWS;
        for (uint32_t i = 0; i < n; i++)
            if (f[i].func == entry)
                out->culprit = i;
        return true;
    }
    /* A caller queued for a pooled connection: every connection the pool
     * may open is held, and the usual holder is a Rows or Tx nobody
     * closed (whose awaitDone goroutines stop growing once the pool is
     * full, so from then on the queue is what grows).  Show the code that
     * asked for the connection. */
    for (uint32_t i = 0; i < n; i++) {
        if (!eq(f[i].func, "database/sql.(*DB).conn"))
            continue;
        bool waits = (reason && !strncmp(reason, "select", 6)) ||
                     (i > 0 && eq(f[i - 1].func, "runtime.selectgo")) ||
                     (i == 0 && !reason);
        if (!waits)
            break;
        out->pattern = LWA_PATTERN_SQL_ROWS;
        out->culprit = i;
        for (uint32_t j = i + 1; j < n; j++)
            if (!lwa_func_is_plumbing(f[j].func) &&
                !lwa_func_is_stdlib(f[j].func)) {
                out->culprit = j;
                break;
            }
        return true;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (eq(f[i].func, "net/http.(*persistConn).readLoop") &&
            readloop_reading(f, i, reason))
            return false; /* an idle connection: the reason tells */
        if (eq(f[i].func, "net/http.(*persistConn).readLoop") ||
            eq(f[i].func, "net/http.(*persistConn).writeLoop")) {
            out->pattern = LWA_PATTERN_HTTP_BODY;
            out->culprit = i;
            return true;
        }
    }

    bool user = false;
    for (uint32_t i = 0; i < n && !user; i++)
        user = is_user_code(f[i].func);
    if (!user && (is_grpc(created_by) || is_grpc(entry_func(f, n)))) {
        out->pattern = LWA_PATTERN_GRPC_CONN;
        for (uint32_t i = 0; i < n; i++)
            if (is_grpc(f[i].func)) {
                out->culprit = i;
                break;
            }
        return true;
    }

    for (uint32_t i = 0; i < n; i++) {
        if (starts(f[i].func, "golang.org/x/sync/semaphore.(*Weighted).")) {
            out->pattern = LWA_PATTERN_SEMAPHORE;
            return true;
        }
        /* A caller waiting on a response that never comes: the client has
         * no timeout.  Show the code that made the call. */
        if (eq(f[i].func, "net/http.(*persistConn).roundTrip") ||
            eq(f[i].func, "net/http.(*Transport).roundTrip")) {
            out->pattern = LWA_PATTERN_NETWORK_IO;
            uint32_t shown = n;
            for (uint32_t j = i; j < n && shown == n; j++)
                if (!lwa_func_is_plumbing(f[j].func) &&
                    !lwa_func_is_stdlib(f[j].func))
                    shown = j;
            for (uint32_t j = i; j < n && shown == n; j++)
                if (!starts(f[j].func, "net/http.") &&
                    !lwa_func_is_plumbing(f[j].func))
                    shown = j;
            if (shown < n)
                out->culprit = shown;
            return true;
        }
    }
    return false;
}

static bool has_frame(const pprof_frame *f, uint32_t n, const char *func)
{
    for (uint32_t i = 0; i < n; i++)
        if (eq(f[i].func, func))
            return true;
    return false;
}

static bool has_prefix_frame(const pprof_frame *f, uint32_t n,
                             const char *prefix)
{
    for (uint32_t i = 0; i < n; i++)
        if (starts(f[i].func, prefix))
            return true;
    return false;
}

/* Which sync primitive a semacquire belongs to, from the frames. */
static lwa_pattern sema_owner(const pprof_frame *f, uint32_t n)
{
    if (has_prefix_frame(f, n, "sync.(*WaitGroup).") ||
        has_frame(f, n, "sync.runtime_SemacquireWaitGroup"))
        return LWA_PATTERN_WAITGROUP;
    if (has_prefix_frame(f, n, "sync.(*Mutex).") ||
        has_prefix_frame(f, n, "sync.(*RWMutex).") ||
        has_prefix_frame(f, n, "internal/sync.(*Mutex).") ||
        has_prefix_frame(f, n, "sync.runtime_SemacquireMutex") ||
        has_prefix_frame(f, n, "internal/sync.runtime_SemacquireMutex") ||
        has_prefix_frame(f, n, "sync.runtime_SemacquireRWMutex"))
        return LWA_PATTERN_MUTEX;
    if (has_prefix_frame(f, n, "sync.(*Cond).") ||
        has_frame(f, n, "sync.runtime_notifyListWait"))
        return LWA_PATTERN_COND;
    return LWA_PATTERN_SEMAPHORE;
}

/* Rule 2 and 4: a wait reason as Go prints it.  Anything after a comma
 * ("chan receive, 5 minutes") is ignored in case a caller left it on. */
static lwa_pattern from_reason(const char *reason, const pprof_frame *f,
                               uint32_t n)
{
    static const struct {
        const char *reason;
        lwa_pattern p;
    } table[] = {
        {"chan send (nil chan)", LWA_PATTERN_NIL_CHANNEL},
        {"chan receive (nil chan)", LWA_PATTERN_NIL_CHANNEL},
        {"chan send", LWA_PATTERN_CHAN_SEND},
        {"chan send (synctest)", LWA_PATTERN_CHAN_SEND},
        {"chan receive", LWA_PATTERN_CHAN_RECEIVE},
        {"chan receive (synctest)", LWA_PATTERN_CHAN_RECEIVE},
        {"select (no cases)", LWA_PATTERN_SELECT_NO_CASES},
        {"select", LWA_PATTERN_SELECT},
        {"select (synctest)", LWA_PATTERN_SELECT},
        {"sync.WaitGroup.Wait", LWA_PATTERN_WAITGROUP},
        {"sync.Mutex.Lock", LWA_PATTERN_MUTEX},
        {"sync.RWMutex.Lock", LWA_PATTERN_MUTEX},
        {"sync.RWMutex.RLock", LWA_PATTERN_MUTEX},
        {"sync.Cond.Wait", LWA_PATTERN_COND},
        {"sleep", LWA_PATTERN_SLEEP_LOOP},
        {"IO wait", LWA_PATTERN_NETWORK_IO},
    };
    if (!reason)
        return LWA_PATTERN_UNKNOWN;
    size_t len = strcspn(reason, ",");
    if (len == strlen("semacquire") && !strncmp(reason, "semacquire", len))
        return sema_owner(f, n);
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strlen(table[i].reason) == len &&
            !strncmp(reason, table[i].reason, len))
            return table[i].p;
    return LWA_PATTERN_UNKNOWN;
}

/* A nil channel parks within the first lines of chansend/chanrecv, which
 * Go defines right after chansend1/chanrecv1/chanrecv2; a real block parks
 * more than a hundred lines further down (Go 1.19 to 1.26). */
#define NIL_PARK_MAX_LINES 60

static bool nil_chan_park(const pprof_frame *f, uint32_t n, uint32_t at,
                          const char *wrapper_prefix)
{
    uint32_t park = f[at].line;
    if (!park)
        return false;
    for (uint32_t j = at + 1; j < n && j <= at + 2; j++) {
        if (starts(f[j].func, wrapper_prefix) && f[j].line &&
            f[j].line < park && park - f[j].line < NIL_PARK_MAX_LINES)
            return true;
    }
    return false;
}

/* Rule 3: the frames, within the stack's leading machinery (up to and
 * including the first frame a user wrote: primitives are leaf calls, so a
 * match further out would be a caller, not the wait). */
static lwa_pattern from_frames(const pprof_frame *f, uint32_t n,
                               const char **reason)
{
    uint32_t end = lwa_plumbing_end(f, n);
    if (end < n)
        end++;
    lwa_pattern best = LWA_PATTERN_UNKNOWN;
    int best_rank = 0;
    const char *best_reason = NULL;
    for (uint32_t i = 0; i < end; i++) {
        const char *fn = f[i].func;
        lwa_pattern p = LWA_PATTERN_UNKNOWN;
        const char *r = NULL;
        int rank = 0;
        if (!fn)
            continue;
        if (eq(fn, "runtime.block")) {
            p = LWA_PATTERN_SELECT_NO_CASES, r = "select (no cases)", rank = 3;
        } else if (eq(fn, "runtime.selectgo")) {
            p = LWA_PATTERN_SELECT, r = "select", rank = 3;
        } else if (eq(fn, "runtime.chansend") || eq(fn, "runtime.chansend1")) {
            if (eq(fn, "runtime.chansend") &&
                nil_chan_park(f, n, i, "runtime.chansend1"))
                p = LWA_PATTERN_NIL_CHANNEL, r = "chan send (nil chan)";
            else
                p = LWA_PATTERN_CHAN_SEND, r = "chan send";
            rank = eq(fn, "runtime.chansend") ? 3 : 2;
        } else if (eq(fn, "runtime.chanrecv") || eq(fn, "runtime.chanrecv1") ||
                   eq(fn, "runtime.chanrecv2")) {
            if (eq(fn, "runtime.chanrecv") &&
                nil_chan_park(f, n, i, "runtime.chanrecv"))
                p = LWA_PATTERN_NIL_CHANNEL, r = "chan receive (nil chan)";
            else
                p = LWA_PATTERN_CHAN_RECEIVE, r = "chan receive";
            rank = eq(fn, "runtime.chanrecv") ? 3 : 2;
        } else if (starts(fn, "sync.(*WaitGroup).Wait") ||
                   eq(fn, "sync.runtime_SemacquireWaitGroup")) {
            p = LWA_PATTERN_WAITGROUP, r = "sync.WaitGroup.Wait", rank = 4;
        } else if (starts(fn, "sync.(*RWMutex).RLock") ||
                   eq(fn, "sync.runtime_SemacquireRWMutexR")) {
            p = LWA_PATTERN_MUTEX, r = "sync.RWMutex.RLock", rank = 4;
        } else if (starts(fn, "sync.(*RWMutex).Lock") ||
                   eq(fn, "sync.runtime_SemacquireRWMutex")) {
            p = LWA_PATTERN_MUTEX, r = "sync.RWMutex.Lock", rank = 4;
        } else if (starts(fn, "sync.(*Mutex).Lock") ||
                   starts(fn, "sync.(*Mutex).lockSlow") ||
                   starts(fn, "internal/sync.(*Mutex).Lock") ||
                   starts(fn, "internal/sync.(*Mutex).lockSlow") ||
                   eq(fn, "sync.runtime_SemacquireMutex") ||
                   eq(fn, "internal/sync.runtime_SemacquireMutex")) {
            /* An RWMutex.Lock waits in Mutex.Lock first: keep the RW name
             * when a later frame gives it (same rank, first wins below). */
            p = LWA_PATTERN_MUTEX, r = "sync.Mutex.Lock", rank = 4;
            for (uint32_t j = i + 1; j < end; j++)
                if (starts(f[j].func, "sync.(*RWMutex).Lock")) {
                    r = "sync.RWMutex.Lock";
                    break;
                }
        } else if (starts(fn, "sync.(*Cond).Wait") ||
                   eq(fn, "sync.runtime_notifyListWait")) {
            p = LWA_PATTERN_COND, r = "sync.Cond.Wait", rank = 4;
        } else if (eq(fn, "time.Sleep") || eq(fn, "runtime.timeSleep")) {
            p = LWA_PATTERN_SLEEP_LOOP, r = "sleep", rank = 2;
        } else if (eq(fn, "sync.runtime_Semacquire") ||
                   eq(fn, "runtime.semacquire1") ||
                   eq(fn, "runtime.semacquire") ||
                   eq(fn, "internal/sync.runtime_Semacquire")) {
            p = sema_owner(f, n), r = "semacquire", rank = 1;
        } else if (eq(fn, "internal/poll.runtime_pollWait") ||
                   eq(fn, "runtime.netpollblock") ||
                   starts(fn, "internal/poll.(*pollDesc).wait")) {
            p = LWA_PATTERN_NETWORK_IO, r = "IO wait", rank = 2;
        }
        if (rank > best_rank) {
            best = p;
            best_rank = rank;
            best_reason = r;
        }
    }
    *reason = best_reason;
    return best;
}

/* Reasons that say the goroutine is not parked: its frames say more. */
static bool reason_is_transient(const char *reason)
{
    static const char *const transient[] = {"running", "runnable",
                                            "preempted", "syscall",
                                            "waiting", "copystack"};
    size_t len = strcspn(reason, ",");
    for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
        if (strlen(transient[i]) == len && !strncmp(reason, transient[i], len))
            return true;
    return false;
}

void lwa_classify(const pprof_frame *frames, uint32_t nframes,
                  const char *wait_reason, bool reason_inferred,
                  const char *created_by, lwa_class *out)
{
    out->pattern = LWA_PATTERN_UNKNOWN;
    out->culprit = lwa_user_frame(frames, nframes);
    out->wait_reason = wait_reason;
    out->reason_inferred = wait_reason ? reason_inferred : false;

    if (classify_owner(frames, nframes, wait_reason, created_by, out))
        goto reason_only;

    lwa_pattern p;
    if (wait_reason && !reason_inferred && !reason_is_transient(wait_reason)) {
        p = from_reason(wait_reason, frames, nframes);
        if (p != LWA_PATTERN_UNKNOWN) {
            out->pattern = p;
            return;
        }
    }
    const char *fr = NULL;
    p = from_frames(frames, nframes, &fr);
    if (p != LWA_PATTERN_UNKNOWN) {
        out->pattern = p;
        if (!wait_reason || reason_inferred) {
            out->wait_reason = fr;
            out->reason_inferred = true;
        }
        return;
    }
    if (wait_reason && reason_inferred)
        out->pattern = from_reason(wait_reason, frames, nframes);
    return;

reason_only:
    /* The owner decided the pattern; still say what it waits on when the
     * capture did not. */
    if (!wait_reason || reason_inferred) {
        const char *r = NULL;
        (void)from_frames(frames, nframes, &r);
        if (r) {
            out->wait_reason = r;
            out->reason_inferred = true;
        }
    }
}

/*
 * Goroutines whose stack is shown as `func` (the classifier's culprit, the
 * frame a finding names): how a fix is verified on a later revision, where
 * one number per capture is all that is compared.  Counting the shown
 * frame, not any frame, keeps requests that merely pass through `func`
 * (net/http's conn.serve under a handler, say) out of the count.
 */
uint64_t lwa_count_on(const pprof_profile *p, const char *func)
{
    uint64_t n = 0;
    if (!p || !func || !func[0])
        return 0;
    for (size_t i = 0; i < p->nbuckets; i++) {
        const pprof_bucket *b = &p->buckets[i];
        if (!b->nframes)
            continue;
        lwa_class c;
        lwa_classify(b->frames, b->nframes, b->wait_reason,
                     (b->flags & PPROF_BF_WAIT_INFERRED) != 0,
                     b->created_by.func, &c);
        const char *shown = b->frames[c.culprit < b->nframes ? c.culprit : 0].func;
        if (shown && !strcmp(shown, func))
            n += b->count;
    }
    return n;
}
