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
 *     the innermost one outside the standard library and the plumbing,
 *     because "sync.(*WaitGroup).Wait" or "net/http.checkConnErrorWriter.
 *     Write" says what is happening but "main.(*batcher).awaitAll" says
 *     where; a stack made of the standard library only (a net/http
 *     connection, database/sql's watcher) is shown from its innermost
 *     frame that is not plumbing.
 *
 * Not for: deciding the pattern (lwa_pattern.c), which still reads the
 * plumbing frames.
 */
#include <stdbool.h>
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
    "net/http.(*persistConn).Read", /* the socket under readLoop's bufio */
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

bool lwa_func_is_stdlib(const char *func)
{
    if (!func || !*func)
        return false;
    if (!strncmp(func, "main.", 5))
        return false;
    /* The package path ends at the last '/' before the first '.' after it;
     * only its first element matters: "golang.org/x/..." has a dot there,
     * "net/http" and "fmt" do not. */
    size_t first = strcspn(func, "/");
    if (func[first] == '/')
        return memchr(func, '.', first) == NULL;
    /* No slash: a one-element package ("fmt.Fprint", "sync.(*Mutex).Lock"). */
    return true;
}

uint32_t lwa_plumbing_end(const pprof_frame *frames, uint32_t nframes)
{
    for (uint32_t i = 0; i < nframes; i++)
        if (!lwa_func_is_plumbing(frames[i].func))
            return i;
    return nframes;
}

/* Libraries nearly every Go service links and nobody debugs first: a
 * user's frame further out names the leak better than theirs. */
static const char *const common_library_prefixes[] = {
    "google.golang.org/grpc",
    "google.golang.org/protobuf",
    "golang.org/x/",
};

static bool is_common_library(const char *func)
{
    for (size_t i = 0; i < sizeof(common_library_prefixes) /
                               sizeof(common_library_prefixes[0]);
         i++) {
        const char *p = common_library_prefixes[i];
        if (!strncmp(func, p, strlen(p)))
            return true;
    }
    return false;
}

uint32_t lwa_user_frame(const pprof_frame *frames, uint32_t nframes)
{
    /* The innermost frame someone outside the Go project wrote: what an
     * engineer can change.  net/http's writer under an SSE handler, or
     * fmt.Fprint under it, only say how the handler blocks; a common
     * library (grpc-go) gives way to the service's own code calling it. */
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t i = 0; i < nframes; i++)
            if (!lwa_func_is_plumbing(frames[i].func) &&
                !lwa_func_is_stdlib(frames[i].func) &&
                (pass == 1 || !is_common_library(frames[i].func)))
                return i;
    uint32_t end = lwa_plumbing_end(frames, nframes);
    if (end < nframes)
        return end;
    /* All plumbing (a runtime worker, a bare accept loop): show the first
     * frame a traceback would show. */
    for (uint32_t i = 0; i < nframes; i++)
        if (frames[i].func && !lwa_func_is_runtime_internal(frames[i].func))
            return i;
    return 0;
}
