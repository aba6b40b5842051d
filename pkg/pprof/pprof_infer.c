/*
 * pprof_infer.c — what the runtime frames of a stack say about it: the
 * wait reason a goroutine was parked with (debug=1 and protobuf profiles
 * do not carry it), and which frames Go's own traceback would hide.
 *
 * The table follows the runtime's park sites (runtime2.go's waitReason
 * strings and the functions that pass them to gopark) and the sync,
 * poll and time wrappers that call them, so the answer matches what a
 * debug=2 dump of the same goroutine would have printed.  Where the
 * runtime frames are hidden (debug=1 hides every leading runtime.*
 * frame) only the wrappers outside the runtime can speak; a plain channel
 * operation leaves no trace there and gets no reason.
 *
 * Not for: classifying leak patterns (pkg/analysis), or parsing.
 */
#include "pprof_internal.h"

#include <string.h>

/* ---- frame visibility ---------------------------------------------------- */

static int has_prefix(const char *s, size_t len, const char *pre)
{
    size_t n = strlen(pre);
    return len >= n && memcmp(s, pre, n) == 0;
}

static int is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

/* The runtime's isExportedRuntime: runtime.Gosched, runtime.(*Func).Name
 * are shown by tracebacks; unexported runtime functions are not. */
static int exported_runtime(const char *s, size_t len)
{
    const size_t pre = sizeof("runtime.") - 1;
    const char *name = s + pre;
    size_t n = len - pre;
    size_t dot = n;
    while (dot > 0 && name[dot - 1] != '.')
        dot--;
    const char *fn = name + dot;
    size_t fnlen = n - dot;
    const char *rcvr = name;
    size_t rlen = dot ? dot - 1 : 0;
    if (rlen >= 3 && rcvr[0] == '(' && rcvr[1] == '*' && rcvr[rlen - 1] == ')') {
        rcvr += 2;
        rlen -= 3;
    }
    return fnlen > 0 && is_upper(fn[0]) && (rlen == 0 || is_upper(rcvr[0]));
}

uint32_t pp_func_flags(const char *s, size_t len)
{
    uint32_t f = 0;
    if (has_prefix(s, len, "runtime.")) {
        f |= PP_STR_HIDE_TOP;
        if (len == sizeof("runtime.goexit") - 1 &&
            memcmp(s, "runtime.goexit", len) == 0)
            f |= PP_STR_HIDE | PP_STR_GOEXIT;
        else if (!(len == sizeof("runtime.gopanic") - 1 &&
                   memcmp(s, "runtime.gopanic", len) == 0) &&
                 !exported_runtime(s, len))
            f |= PP_STR_HIDE;
    } else if (has_prefix(s, len, "internal/runtime/")) {
        f |= PP_STR_HIDE_TOP;
    }
    return f;
}

uint32_t pp_frames_normalize(pprof_frame *frames, uint32_t n)
{
    uint32_t any = 0;
    for (uint32_t i = 0; i < n; i++)
        any |= pp_str_of(frames[i].func)->flags;
    if (!any)
        return n;
    uint32_t top = 0;
    while (top < n && (pp_str_of(frames[top].func)->flags &
                       (PP_STR_HIDE_TOP | PP_STR_HIDE)))
        top++;
    uint32_t out = 0;
    if (top == n) {
        /* Nothing but runtime frames: Go then prints them all. */
        for (uint32_t i = 0; i < n; i++)
            if (!(pp_str_of(frames[i].func)->flags & PP_STR_GOEXIT))
                frames[out++] = frames[i];
        return out;
    }
    for (uint32_t i = top; i < n; i++)
        if (!(pp_str_of(frames[i].func)->flags & PP_STR_HIDE))
            frames[out++] = frames[i];
    return out;
}

/* ---- wait reasons -------------------------------------------------------- */

typedef struct infer_rule {
    const char *func;
    const char *reason;
} infer_rule;

/*
 * Innermost match wins, which is what makes a blocked RWMutex.Lock read
 * "sync.Mutex.Lock" when its inner Mutex is what parks it (as the runtime
 * reports it).  runtime.gopark and its helpers match nothing, so the scan
 * moves on to their caller.
 */
static const infer_rule rules[] = {
    {"runtime.chansend", "chan send"},
    {"runtime.chansend1", "chan send"},
    {"runtime.chanrecv", "chan receive"},
    {"runtime.chanrecv1", "chan receive"},
    {"runtime.chanrecv2", "chan receive"},
    {"runtime.selectgo", "select"},
    {"runtime.block", "select (no cases)"},
    {"sync.runtime_SemacquireWaitGroup", "sync.WaitGroup.Wait"},
    {"sync.runtime_SemacquireMutex", "sync.Mutex.Lock"},
    {"internal/sync.runtime_SemacquireMutex", "sync.Mutex.Lock"},
    {"sync.runtime_SemacquireRWMutexR", "sync.RWMutex.RLock"},
    {"sync.runtime_SemacquireRWMutex", "sync.RWMutex.Lock"},
    {"sync.runtime_notifyListWait", "sync.Cond.Wait"},
    {"internal/poll.runtime_pollWait", "IO wait"},
    {"runtime.netpollblock", "IO wait"},
    {"time.Sleep", "sleep"},
    {"runtime.timeSleep", "sleep"},
    {"sync.(*WaitGroup).Wait", "sync.WaitGroup.Wait"},
    {"sync.(*Mutex).Lock", "sync.Mutex.Lock"},
    {"sync.(*Mutex).lockSlow", "sync.Mutex.Lock"},
    {"internal/sync.(*Mutex).Lock", "sync.Mutex.Lock"},
    {"internal/sync.(*Mutex).lockSlow", "sync.Mutex.Lock"},
    {"sync.(*RWMutex).RLock", "sync.RWMutex.RLock"},
    {"sync.(*RWMutex).Lock", "sync.RWMutex.Lock"},
    {"sync.(*Cond).Wait", "sync.Cond.Wait"},
    {"internal/synctest.Wait", "synctest.Wait"},
    {"internal/synctest.Run", "synctest.Run"},
    /* signal.Notify's loop sleeps in notetsleepg, which Go reports as a
     * goroutine in a system call. */
    {"os/signal.signal_recv", "syscall"},
    {"syscall.Syscall", "syscall"},
    {"syscall.Syscall6", "syscall"},
    {"syscall.RawSyscall", "syscall"},
    {"syscall.RawSyscall6", "syscall"},
    {"internal/runtime/syscall.Syscall6", "syscall"},
    {"runtime.cgocall", "syscall"},
    /* The goroutine that is writing the profile. */
    {"runtime.goroutineProfileWithLabels", "running"},
    {"runtime.pprof_goroutineProfileWithLabels", "running"},
    {"runtime/pprof.runtime_goroutineProfileWithLabels", "running"},
    {"runtime/pprof.writeRuntimeProfile", "running"},
    {"runtime/pprof.writeGoroutineStacks", "running"},
    {"runtime.gcBgMarkWorker", "GC worker (idle)"},
    {"runtime.bgsweep", "GC sweep wait"},
    {"runtime.bgscavenge", "GC scavenge wait"},
    {"runtime.forcegchelper", "force gc (idle)"},
    {"runtime.runfinq", "finalizer wait"},
};

const char *pprof_infer_wait_reason(const pprof_frame *frames,
                                    uint32_t nframes)
{
    if (!frames)
        return NULL;
    int semacquire = 0;
    for (uint32_t i = 0; i < nframes; i++) {
        const char *fn = frames[i].func;
        if (!fn)
            continue;
        /* Before Go 1.25, WaitGroup.Wait parked through the generic
         * semaphore; the caller tells which it was. */
        if (strcmp(fn, "sync.runtime_Semacquire") == 0) {
            if (i + 1 < nframes && frames[i + 1].func &&
                strcmp(frames[i + 1].func, "sync.(*WaitGroup).Wait") == 0)
                return "sync.WaitGroup.Wait";
            return "semacquire";
        }
        /* Before Go 1.20, RWMutex waited through the Mutex semaphore; its
         * direct caller tells reader from writer. */
        if (strcmp(fn, "sync.runtime_SemacquireMutex") == 0 && i + 1 < nframes &&
            frames[i + 1].func) {
            if (strcmp(frames[i + 1].func, "sync.(*RWMutex).RLock") == 0)
                return "sync.RWMutex.RLock";
            if (strcmp(frames[i + 1].func, "sync.(*RWMutex).Lock") == 0)
                return "sync.RWMutex.Lock";
        }
        if (strcmp(fn, "runtime.semacquire1") == 0 ||
            strcmp(fn, "runtime.semacquire") == 0) {
            semacquire = 1;
            continue;
        }
        for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++)
            if (fn[0] == rules[r].func[0] && strcmp(fn, rules[r].func) == 0)
                return rules[r].reason;
    }
    return semacquire ? "semacquire" : NULL;
}
