/*
 * lwa_frames.c — which frames of a Go stack are machinery and which are
 * the code a user wrote.
 *
 * Two different questions, two predicates:
 *   - runtime internals (unexported runtime.*) are what Go's own tracebacks
 *     hide; debug=2 never shows them, debug=1 hides the leading ones and
 *     protobuf keeps them all.  Signatures leave them out so the three
 *     formats of one stack agree.
 *   - plumbing is wider: the blocking primitives and I/O layers a user
 *     calls but did not write.  When a stack is shown, the first frame is
 *     the innermost one that is not plumbing, because "sync.(*WaitGroup).Wait"
 *     says what is happening but "main.(*batcher).awaitAll" says where.
 *
 * Not for: deciding the pattern (lwa_pattern.c), which still reads the
 * plumbing frames.
 */
#include <string.h>

#include "analysis/analysis.h"

bool lwa_func_is_runtime_internal(const char *func)
{
    if (!func || strncmp(func, "runtime.", 8) != 0)
        return false;
    /* Go's isExportedRuntime: "runtime.X..." with X upper case is API. */
    return !(func[8] >= 'A' && func[8] <= 'Z');
}

/* Prefixes of functions users call to block or to do I/O but do not
 * write.  A name matches when it starts with one of these. */
static const char *const plumbing_prefixes[] = {
    "runtime.",
    "runtime/internal/",
    "internal/",
    "sync.",
    "sync/atomic.",
    "time.Sleep",
    "syscall.",
    "context.",
    "bufio.",
    "io.",
    "net.(*netFD).",
    "net.(*conn).",
    "net.(*TCPConn).",
    "net.(*UDPConn).",
    "net.(*UnixConn).",
    "net.(*IPConn).",
    "net.(*TCPListener).",
    "net.(*UnixListener).",
    "net.(*pipe).",
    "net.(*sysDialer).",
    "net.(*Dialer).",
    "net.(*Resolver).",
    "net.Dial",
    "os.(*File).Read",
    "os.(*File).Write",
    "os.(*File).read",
    "os.(*File).write",
    "crypto/tls.(*Conn).",
    "crypto/tls.(*atLeastReader).",
    "golang.org/x/sync/semaphore.",
    "golang.org/x/sync/errgroup.",
};

bool lwa_func_is_plumbing(const char *func)
{
    if (!func)
        return true;
    for (size_t i = 0;
         i < sizeof(plumbing_prefixes) / sizeof(plumbing_prefixes[0]); i++) {
        const char *p = plumbing_prefixes[i];
        if (!strncmp(func, p, strlen(p)))
            return true;
    }
    return false;
}

uint32_t lwa_user_frame(const pprof_frame *frames, uint32_t nframes)
{
    for (uint32_t i = 0; i < nframes; i++)
        if (!lwa_func_is_plumbing(frames[i].func))
            return i;
    /* All plumbing (a runtime worker, a bare accept loop): show the first
     * frame a traceback would show. */
    for (uint32_t i = 0; i < nframes; i++)
        if (frames[i].func && !lwa_func_is_runtime_internal(frames[i].func))
            return i;
    return 0;
}
