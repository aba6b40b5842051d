/*
 * test_analysis_pattern.c — classification of real stacks into the DESIGN
 * vocabulary (lwa_pattern.c) and the frame predicates it relies on
 * (lwa_frames.c).  Every stack below was copied from a real capture: the
 * tests/fixtures recordings (Go 1.19, 1.20, 1.22, 1.26) in their debug=2
 * form (wait reason, no runtime frames), their debug=1 form (no reason,
 * leading runtime frames hidden) and their protobuf form before the
 * runtime frames are hidden (as the parser sees it), plus a few captures
 * of small programs for the patterns the fixtures do not cover (cond,
 * semaphore, empty select, nil send, a database/sql transaction left
 * open), and the catalog services (tests/targets/catalog: grpc-go 1.71.1,
 * database/sql with modernc.org/sqlite, an SSE handler).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/analysis.h"
#include "support.h"

typedef struct expect {
    const char *name;      /* where the stack comes from               */
    const char *stack;
    const char *reason;    /* NULL: none                                */
    bool inferred;         /* the parser inferred `reason`              */
    const char *created_by;
    lwa_pattern pattern;
    const char *culprit;   /* the function users are shown first        */
    const char *reason_out; /* expected lwa_class.wait_reason (NULL: any) */
} expect;

static void check(const expect *e)
{
    ts_stack s;
    ts_stack_parse(&s, e->stack);
    lwa_class c;
    lwa_classify(s.f, s.n, e->reason, e->inferred, e->created_by, &c);
    if (c.pattern != e->pattern)
        fail_msg("%s: pattern %s, want %s", e->name,
                 lwa_pattern_name(c.pattern), lwa_pattern_name(e->pattern));
    assert_true(c.culprit < s.n);
    if (strcmp(s.f[c.culprit].func, e->culprit))
        fail_msg("%s: culprit %s, want %s", e->name, s.f[c.culprit].func,
                 e->culprit);
    if (e->reason_out &&
        (!c.wait_reason || strcmp(c.wait_reason, e->reason_out)))
        fail_msg("%s: reason %s, want %s", e->name,
                 c.wait_reason ? c.wait_reason : "(null)", e->reason_out);
}

static void run(const expect *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check(&e[i]);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* debug=2: Go printed the reason; runtime frames are hidden. */
static void test_debug2_stacks(void **state)
{
    (void)state;
    static const expect e[] = {
        {"chan-send 1.26", "main.(*fetcher).gather.func1@leakwatch.dev/targets/chansend.go:40",
         "chan send", false, "main.(*fetcher).gather", LWA_PATTERN_CHAN_SEND,
         "main.(*fetcher).gather.func1", "chan send"},
        {"chan-receive 1.22", "main.(*indexer).consume@leakwatch.dev/targets/chanreceive.go:39",
         "chan receive", false, "main.(*indexer).serve", LWA_PATTERN_CHAN_RECEIVE,
         "main.(*indexer).consume", NULL},
        {"nil-channel 1.20", "main.(*sessionManager).expireOnDone@leakwatch.dev/targets/nilchannel.go:29",
         "chan receive (nil chan)", false, "main.(*sessionManager).serve",
         LWA_PATTERN_NIL_CHANNEL, "main.(*sessionManager).expireOnDone", NULL},
        {"nil send", "main.nilSend@/tmp/lwa/main.go:21", "chan send (nil chan)",
         false, "main.main", LWA_PATTERN_NIL_CHANNEL, "main.nilSend", NULL},
        {"select 1.19", "main.(*dispatcher).awaitReply@leakwatch.dev/targets/select.go:36",
         "select", false, "main.(*dispatcher).serve", LWA_PATTERN_SELECT,
         "main.(*dispatcher).awaitReply", NULL},
        {"empty select", "main.selectEmpty@/tmp/lwa/main.go:23", "select (no cases)",
         false, "main.main", LWA_PATTERN_SELECT_NO_CASES, "main.selectEmpty", NULL},
        {"waitgroup 1.19", "sync.runtime_Semacquire@/usr/local/go/src/runtime/sema.go:62;"
         "sync.(*WaitGroup).Wait@/usr/local/go/src/sync/waitgroup.go:139;"
         "main.(*batcher).awaitAll@leakwatch.dev/targets/waitgroup.go:50",
         "semacquire", false, "main.(*batcher).serve", LWA_PATTERN_WAITGROUP,
         "main.(*batcher).awaitAll", NULL},
        {"waitgroup 1.26", "sync.runtime_SemacquireWaitGroup@runtime/sema.go:114;"
         "sync.(*WaitGroup).Wait@sync/waitgroup.go:206;"
         "main.(*batcher).awaitAll@leakwatch.dev/targets/waitgroup.go:50",
         "sync.WaitGroup.Wait", false, "main.(*batcher).serve",
         LWA_PATTERN_WAITGROUP, "main.(*batcher).awaitAll", NULL},
        {"mutex 1.19", "sync.runtime_SemacquireMutex;sync.(*Mutex).lockSlow;"
         "sync.(*Mutex).Lock;main.(*configCache).lookup@leakwatch.dev/targets/mutex.go:29;"
         "main.(*configCache).serve", "semacquire", false, "main.drive",
         LWA_PATTERN_MUTEX, "main.(*configCache).lookup", NULL},
        {"mutex 1.26", "internal/sync.runtime_SemacquireMutex;"
         "internal/sync.(*Mutex).lockSlow;internal/sync.(*Mutex).Lock;"
         "sync.(*Mutex).Lock;main.(*configCache).lookup;main.(*configCache).serve",
         "sync.Mutex.Lock", false, "main.drive", LWA_PATTERN_MUTEX,
         "main.(*configCache).lookup", NULL},
        {"rwmutex rlock", "sync.runtime_SemacquireRWMutexR;sync.(*RWMutex).RLock;main.rwRLock",
         "sync.RWMutex.RLock", false, "main.main", LWA_PATTERN_MUTEX,
         "main.rwRLock", NULL},
        {"cond", "sync.runtime_notifyListWait;sync.(*Cond).Wait;main.condWait",
         "sync.Cond.Wait", false, "main.main", LWA_PATTERN_COND, "main.condWait",
         NULL},
        {"x/sync semaphore", "golang.org/x/sync/semaphore.(*Weighted).Acquire;main.semAcquire",
         "select", false, "main.main", LWA_PATTERN_SEMAPHORE, "main.semAcquire",
         "select"},
        {"raw semaphore", "sync.runtime_Semacquire;main.(*pool).take",
         "semacquire", false, NULL, LWA_PATTERN_SEMAPHORE, "main.(*pool).take", NULL},
        {"sleep-loop 1.26", "time.Sleep@runtime/time.go:363;"
         "main.(*poller).pollUntilReady@leakwatch.dev/targets/sleeploop.go:33",
         "sleep", false, "main.(*poller).serve", LWA_PATTERN_SLEEP_LOOP,
         "main.(*poller).pollUntilReady", NULL},
        {"http readLoop", "net/http.(*persistConn).readLoop@net/http/transport.go:2450",
         "select", false, "net/http.(*Transport).dialConn", LWA_PATTERN_HTTP_BODY,
         "net/http.(*persistConn).readLoop", "select"},
        {"http writeLoop", "net/http.(*persistConn).writeLoop@net/http/transport.go:2652",
         "select", false, "net/http.(*Transport).dialConn", LWA_PATTERN_HTTP_BODY,
         "net/http.(*persistConn).writeLoop", NULL},
        /* An idle keep-alive connection reads its socket: not a body left
         * open (that parks readLoop in a select, above). */
        {"http readLoop idle", "internal/poll.runtime_pollWait;internal/poll.(*pollDesc).wait;"
         "internal/poll.(*pollDesc).waitRead;internal/poll.(*FD).Read;net.(*netFD).Read;"
         "net.(*conn).Read;net/http.(*persistConn).Read;bufio.(*Reader).fill;"
         "bufio.(*Reader).Peek;net/http.(*persistConn).readLoop",
         "IO wait", false, "net/http.(*Transport).dialConn", LWA_PATTERN_NETWORK_IO,
         "net/http.(*persistConn).readLoop", "IO wait"},
        {"http server conn", "internal/poll.runtime_pollWait;internal/poll.(*pollDesc).wait;"
         "internal/poll.(*pollDesc).waitRead;internal/poll.(*FD).Read;net.(*netFD).Read;"
         "net.(*conn).Read;net/http.(*connReader).Read;bufio.(*Reader).fill;"
         "bufio.(*Reader).Peek;net/http.(*conn).serve",
         "IO wait", false, "net/http.(*Server).Serve", LWA_PATTERN_NETWORK_IO,
         "net/http.(*connReader).Read", NULL},
        {"http client without timeout", "net/http.(*persistConn).roundTrip;"
         "net/http.(*Transport).roundTrip;net/http.send;net/http.(*Client).send;"
         "net/http.(*Client).do;net/http.(*Client).Get;main.(*catalog).fetch;main.handle",
         "select", false, "main.main", LWA_PATTERN_NETWORK_IO, "main.(*catalog).fetch",
         NULL},
        {"grpc serializer", "google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run",
         "select", false, "google.golang.org/grpc/internal/grpcsync.NewCallbackSerializer",
         LWA_PATTERN_GRPC_CONN,
         "google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run", NULL},
        {"grpc reader", "internal/poll.runtime_pollWait;internal/poll.(*pollDesc).wait;"
         "internal/poll.(*pollDesc).waitRead;internal/poll.(*FD).Read;net.(*netFD).Read;"
         "net.(*conn).Read;bufio.(*Reader).Read;io.ReadAtLeast;io.ReadFull;"
         "golang.org/x/net/http2.readFrameHeader;golang.org/x/net/http2.(*Framer).ReadFrame;"
         "google.golang.org/grpc/internal/transport.(*http2Client).reader",
         "IO wait", false, "google.golang.org/grpc/internal/transport.newHTTP2Client",
         LWA_PATTERN_GRPC_CONN,
         "google.golang.org/grpc/internal/transport.(*http2Client).reader", "IO wait"},
        {"grpc loopy", "google.golang.org/grpc/internal/transport.(*controlBuffer).get;"
         "google.golang.org/grpc/internal/transport.(*loopyWriter).run;"
         "google.golang.org/grpc/internal/transport.newHTTP2Client.func6",
         "select", false, "google.golang.org/grpc/internal/transport.newHTTP2Client",
         LWA_PATTERN_GRPC_CONN,
         "google.golang.org/grpc/internal/transport.(*controlBuffer).get", NULL},
        {"grpc server keepalive", "google.golang.org/grpc/internal/transport.(*http2Server).keepalive",
         "select", false, "google.golang.org/grpc/internal/transport.NewServerTransport",
         LWA_PATTERN_GRPC_CONN,
         "google.golang.org/grpc/internal/transport.(*http2Server).keepalive", NULL},
        /* grpc-go's per-stream watcher: a stream neither cancelled nor
         * read to io.EOF, on a conn that may well be shared. */
        {"grpc stream 1.71", "google.golang.org/grpc.newClientStreamWithParams.func4@"
         "google.golang.org/grpc@v1.71.1/stream.go:395",
         "select", false, "google.golang.org/grpc.newClientStreamWithParams",
         LWA_PATTERN_GRPC_STREAM, "google.golang.org/grpc.newClientStreamWithParams.func4",
         "select"},
        /* Hand-made from grpc-go 1.30.0's source (not captured): before
         * 1.32 the watcher is newClientStream's fifth closure, the
         * "go func()" at stream.go:316. */
        {"grpc stream 1.30", "google.golang.org/grpc.newClientStream.func5",
         "select", false, "google.golang.org/grpc.newClientStream",
         LWA_PATTERN_GRPC_STREAM, "google.golang.org/grpc.newClientStream.func5", NULL},
        /* Hand-made edge case: the same closures further in are a
         * caller's synchronous retry work, not the watcher; the user's
         * frame and the reason decide. */
        {"grpc stream creation", "google.golang.org/grpc/internal/transport.(*http2Client).NewStream;"
         "google.golang.org/grpc.(*csAttempt).newStream;"
         "google.golang.org/grpc.newClientStream.func3;"
         "google.golang.org/grpc.(*clientStream).withRetry;"
         "google.golang.org/grpc.newClientStream;"
         "google.golang.org/grpc.(*ClientConn).NewStream;main.(*quoteWatcher).firstPrice",
         "select", false, "main.(*quoteWatcher).handle", LWA_PATTERN_SELECT,
         "main.(*quoteWatcher).firstPrice", NULL},
        {"sql rows", "database/sql.(*Rows).awaitDone@database/sql/sql.go:3009",
         "select", false, "database/sql.(*Rows).initContextClose",
         LWA_PATTERN_SQL_ROWS, "database/sql.(*Rows).awaitDone", "select"},
        {"sql tx", "database/sql.(*Tx).awaitDone@database/sql/sql.go:2212",
         "chan receive", false, "database/sql.(*DB).beginDC",
         LWA_PATTERN_SQL_ROWS, "database/sql.(*Tx).awaitDone", "chan receive"},
        /* Callers queued for a pool that unclosed rows filled (recorded
         * from catalog sql-pool): named by the code that asked. */
        {"sql pool queue", "database/sql.(*DB).conn@database/sql/sql.go:1369;"
         "database/sql.(*DB).query;database/sql.(*DB).QueryContext.func1;"
         "database/sql.(*DB).retry;database/sql.(*DB).QueryContext;"
         "main.(*orderHistory).lastOrderTotal@leakwatch.dev/catalog/orders.go:58;"
         "main.(*orderHistory).handle",
         "select", false, "main.drive", LWA_PATTERN_SQL_ROWS,
         "main.(*orderHistory).lastOrderTotal", "select"},
        /* A driver dialling under (*DB).conn is not a queue: the reason
         * decides. */
        {"sql pool dialling", "internal/poll.runtime_pollWait;internal/poll.(*pollDesc).wait;"
         "internal/poll.(*FD).Read;net.(*netFD).Read;net.(*conn).Read;"
         "github.com/lib/pq.(*conn).recvMessage;github.com/lib/pq.NewConnector.Connect;"
         "database/sql.dsnConnector.Connect;database/sql.(*DB).conn;"
         "database/sql.(*DB).query;main.lookup",
         "IO wait", false, "main.serve", LWA_PATTERN_NETWORK_IO,
         "github.com/lib/pq.(*conn).recvMessage", "IO wait"},
        /* An SSE handler writing to a client that stopped reading: named by
         * the handler, not by net/http's writer or fmt under it. */
        {"sse write", "internal/poll.runtime_pollWait;internal/poll.(*pollDesc).wait;"
         "internal/poll.(*pollDesc).waitWrite;internal/poll.(*FD).Write;"
         "net.(*netFD).Write;net.(*conn).Write;net/http.checkConnErrorWriter.Write;"
         "bufio.(*Writer).Flush;net/http.(*chunkWriter).Write;bufio.(*Writer).Flush;"
         "bufio.(*Writer).Write;net/http.(*response).write;net/http.(*response).Write;"
         "fmt.Fprint;main.(*newsFeed).serveEvents@leakwatch.dev/catalog/newsfeed.go:51;"
         "net/http.HandlerFunc.ServeHTTP;net/http.(*ServeMux).ServeHTTP;"
         "net/http.serverHandler.ServeHTTP;net/http.(*conn).serve",
         "IO wait", false, "net/http.(*Server).Serve", LWA_PATTERN_NETWORK_IO,
         "main.(*newsFeed).serveEvents", "IO wait"},
        {"sse background read", "internal/poll.runtime_pollWait;internal/poll.(*pollDesc).wait;"
         "internal/poll.(*pollDesc).waitRead;internal/poll.(*FD).Read;net.(*netFD).Read;"
         "net.(*conn).Read;net/http.(*connReader).backgroundRead@net/http/server.go:702",
         "IO wait", false, "net/http.(*connReader).startBackgroundRead",
         LWA_PATTERN_NETWORK_IO, "net/http.(*connReader).backgroundRead", NULL},
        {"x/sync semaphore catalog", "golang.org/x/sync/semaphore.(*Weighted).Acquire;"
         "main.(*exportService).export;main.(*exportService).handle",
         "select", false, "main.drive", LWA_PATTERN_SEMAPHORE,
         "main.(*exportService).export", NULL},
        /* A user's gRPC handler blocked in its own code is not gRPC's
         * goroutine: the reason decides. */
        {"grpc handler", "main.(*server).Check;"
         "google.golang.org/grpc/health/grpc_health_v1._Health_Check_Handler;"
         "google.golang.org/grpc.(*Server).processUnaryRPC;"
         "google.golang.org/grpc.(*Server).handleStream;"
         "google.golang.org/grpc.(*Server).serveStreams.func2.1",
         "chan receive", false, "google.golang.org/grpc.(*Server).serveStreams.func2",
         LWA_PATTERN_CHAN_RECEIVE, "main.(*server).Check", NULL},
        {"accept loop", "internal/poll.runtime_pollWait;internal/poll.(*pollDesc).wait;"
         "internal/poll.(*pollDesc).waitRead;internal/poll.(*FD).Accept;"
         "net.(*netFD).accept;net.(*TCPListener).accept;net.(*TCPListener).Accept;"
         "main.netAccept", "IO wait", false, "main.main", LWA_PATTERN_NETWORK_IO,
         "main.netAccept", NULL},
        {"running", "main.spin@/src/app/spin.go:9", "running", false, "main.main",
         LWA_PATTERN_UNKNOWN, "main.spin", "running"},
        {"syscall", "syscall.Syscall;syscall.read;os.(*File).read;os.(*File).Read;main.readStdin",
         "syscall", false, "main.main", LWA_PATTERN_UNKNOWN, "main.readStdin", NULL},
    };
    run(e, N(e));
}

/* A transient state (runnable, running) says nothing; the frames do. */
static void test_transient_reason_uses_frames(void **state)
{
    (void)state;
    static const expect e[] = {
        {"runnable sleeper", "time.Sleep;main.(*poller).pollUntilReady", "runnable",
         false, "main.(*poller).serve", LWA_PATTERN_SLEEP_LOOP,
         "main.(*poller).pollUntilReady", "runnable"},
        {"runnable waiter", "sync.runtime_SemacquireWaitGroup;sync.(*WaitGroup).Wait;main.w",
         "runnable", false, NULL, LWA_PATTERN_WAITGROUP, "main.w", "runnable"},
    };
    run(e, N(e));
}

/* debug=1: no reason, leading runtime frames hidden by Go. */
static void test_debug1_stacks(void **state)
{
    (void)state;
    static const expect e[] = {
        /* Nothing in the capture says what a channel wait is. */
        {"chan-send", "main.(*fetcher).gather.func1@leakwatch.dev/targets/chansend.go:40",
         NULL, false, NULL, LWA_PATTERN_UNKNOWN, "main.(*fetcher).gather.func1", NULL},
        {"select", "main.(*dispatcher).awaitReply", NULL, false, NULL,
         LWA_PATTERN_UNKNOWN, "main.(*dispatcher).awaitReply", NULL},
        {"waitgroup 1.26", "sync.runtime_SemacquireWaitGroup;sync.(*WaitGroup).Wait;"
         "main.(*batcher).awaitAll", NULL, false, NULL, LWA_PATTERN_WAITGROUP,
         "main.(*batcher).awaitAll", "sync.WaitGroup.Wait"},
        {"waitgroup 1.20", "sync.runtime_Semacquire;sync.(*WaitGroup).Wait;"
         "main.(*batcher).awaitAll", NULL, false, NULL, LWA_PATTERN_WAITGROUP,
         "main.(*batcher).awaitAll", NULL},
        /* the parser's own inference said "semacquire"; the frames know
         * better */
        {"waitgroup inferred", "sync.runtime_Semacquire;sync.(*WaitGroup).Wait;"
         "main.(*batcher).awaitAll", "semacquire", true, NULL, LWA_PATTERN_WAITGROUP,
         "main.(*batcher).awaitAll", "sync.WaitGroup.Wait"},
        {"mutex 1.22", "sync.runtime_SemacquireMutex;sync.(*Mutex).lockSlow;"
         "sync.(*Mutex).Lock;main.(*configCache).lookup;main.(*configCache).serve",
         NULL, false, NULL, LWA_PATTERN_MUTEX, "main.(*configCache).lookup",
         "sync.Mutex.Lock"},
        {"rwmutex lock 1.26", "internal/sync.runtime_SemacquireMutex;"
         "internal/sync.(*Mutex).lockSlow;internal/sync.(*Mutex).Lock;"
         "sync.(*Mutex).Lock;sync.(*RWMutex).Lock;main.rwLock", NULL, false, NULL,
         LWA_PATTERN_MUTEX, "main.rwLock", "sync.RWMutex.Lock"},
        {"cond", "sync.runtime_notifyListWait;sync.(*Cond).Wait;main.condWait", NULL,
         false, NULL, LWA_PATTERN_COND, "main.condWait", "sync.Cond.Wait"},
        {"sleep", "time.Sleep;main.(*poller).pollUntilReady", NULL, false, NULL,
         LWA_PATTERN_SLEEP_LOOP, "main.(*poller).pollUntilReady", "sleep"},
        {"net read", "internal/poll.runtime_pollWait;internal/poll.(*pollDesc).wait;"
         "internal/poll.(*pollDesc).waitRead;internal/poll.(*FD).Read;"
         "net.(*netFD).Read;net.(*conn).Read;main.netRead", NULL, false, NULL,
         LWA_PATTERN_NETWORK_IO, "main.netRead", "IO wait"},
        {"http readLoop", "net/http.(*persistConn).readLoop", NULL, false, NULL,
         LWA_PATTERN_HTTP_BODY, "net/http.(*persistConn).readLoop", NULL},
        {"grpc serializer", "google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run",
         NULL, false, NULL, LWA_PATTERN_GRPC_CONN,
         "google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run", NULL},
        {"semaphore", "golang.org/x/sync/semaphore.(*Weighted).Acquire;main.semAcquire",
         NULL, false, NULL, LWA_PATTERN_SEMAPHORE, "main.semAcquire", NULL},
        /* database/sql's and grpc-go's watchers need no runtime frame */
        {"sql rows debug1", "database/sql.(*Rows).awaitDone@database/sql/sql.go:3009",
         NULL, false, NULL, LWA_PATTERN_SQL_ROWS, "database/sql.(*Rows).awaitDone",
         NULL},
        {"sql tx debug1", "database/sql.(*Tx).awaitDone@database/sql/sql.go:2212",
         NULL, false, NULL, LWA_PATTERN_SQL_ROWS, "database/sql.(*Tx).awaitDone",
         NULL},
        {"sql pool queue debug1", "database/sql.(*DB).conn@database/sql/sql.go:1369;"
         "database/sql.(*DB).query;database/sql.(*DB).QueryContext;main.lastOrder",
         NULL, false, NULL, LWA_PATTERN_SQL_ROWS, "main.lastOrder", NULL},
        {"grpc stream debug1", "google.golang.org/grpc.newClientStreamWithParams.func4",
         NULL, false, NULL, LWA_PATTERN_GRPC_STREAM,
         "google.golang.org/grpc.newClientStreamWithParams.func4", NULL},
    };
    run(e, N(e));
}

/* Protobuf before runtime frames are hidden: the frames tell everything,
 * including a nil channel (see lwa_pattern.c). */
static void test_runtime_frames(void **state)
{
    (void)state;
    static const expect e[] = {
        {"nil recv 1.26", "runtime.gopark@runtime/proc.go:462;runtime.chanrecv@runtime/chan.go:536;"
         "runtime.chanrecv1@runtime/chan.go:509;main.nilRecv@main.go:20",
         NULL, false, NULL, LWA_PATTERN_NIL_CHANNEL, "main.nilRecv",
         "chan receive (nil chan)"},
        {"recv 1.26", "runtime.gopark@runtime/proc.go:462;runtime.chanrecv@runtime/chan.go:667;"
         "runtime.chanrecv1@runtime/chan.go:509;main.chanRecv@main.go:19",
         NULL, false, NULL, LWA_PATTERN_CHAN_RECEIVE, "main.chanRecv", "chan receive"},
        {"nil send 1.26", "runtime.gopark;runtime.chansend@runtime/chan.go:181;"
         "runtime.chansend1@runtime/chan.go:161;main.nilSend",
         NULL, false, NULL, LWA_PATTERN_NIL_CHANNEL, "main.nilSend",
         "chan send (nil chan)"},
        {"send 1.26", "runtime.gopark;runtime.chansend@runtime/chan.go:283;"
         "runtime.chansend1@runtime/chan.go:161;main.(*fetcher).gather.func1",
         NULL, false, NULL, LWA_PATTERN_CHAN_SEND, "main.(*fetcher).gather.func1",
         "chan send"},
        {"nil send 1.20", "runtime.gopark;runtime.chansend@runtime/chan.go:165;"
         "runtime.chansend1@runtime/chan.go:145;main.nilSend",
         NULL, false, NULL, LWA_PATTERN_NIL_CHANNEL, "main.nilSend", NULL},
        {"send 1.20", "runtime.gopark;runtime.chansend@runtime/chan.go:259;"
         "runtime.chansend1@runtime/chan.go:145;main.chanSend",
         NULL, false, NULL, LWA_PATTERN_CHAN_SEND, "main.chanSend", NULL},
        {"nil recv 1.19", "runtime.gopark;runtime.chanrecv@runtime/chan.go:469;"
         "runtime.chanrecv1@runtime/chan.go:442;main.(*sessionManager).expireOnDone",
         NULL, false, NULL, LWA_PATTERN_NIL_CHANNEL,
         "main.(*sessionManager).expireOnDone", NULL},
        /* range over a channel: chanrecv2, and the parser already said
         * "chan receive" */
        {"range 1.19", "runtime.gopark;runtime.chanrecv@runtime/chan.go:583;"
         "runtime.chanrecv2@runtime/chan.go:447;main.(*indexer).consume",
         "chan receive", true, NULL, LWA_PATTERN_CHAN_RECEIVE,
         "main.(*indexer).consume", NULL},
        {"select", "runtime.gopark;runtime.selectgo;main.(*dispatcher).awaitReply",
         NULL, false, NULL, LWA_PATTERN_SELECT, "main.(*dispatcher).awaitReply",
         "select"},
        {"empty select", "runtime.gopark;runtime.block;main.selectEmpty", NULL, false,
         NULL, LWA_PATTERN_SELECT_NO_CASES, "main.selectEmpty", "select (no cases)"},
        {"sleep", "runtime.gopark;time.Sleep;main.(*poller).pollUntilReady", NULL,
         false, NULL, LWA_PATTERN_SLEEP_LOOP, "main.(*poller).pollUntilReady", NULL},
        {"netpoll", "runtime.gopark;runtime.netpollblock;internal/poll.runtime_pollWait;"
         "internal/poll.(*pollDesc).wait;internal/poll.(*FD).Read;net.(*netFD).Read;"
         "net.(*conn).Read;main.netRead", NULL, false, NULL, LWA_PATTERN_NETWORK_IO,
         "main.netRead", NULL},
        /* the http owner rule beats the select the loop waits in */
        {"readLoop", "runtime.gopark;runtime.selectgo;net/http.(*persistConn).readLoop",
         NULL, false, NULL, LWA_PATTERN_HTTP_BODY,
         "net/http.(*persistConn).readLoop", "select"},
        {"semaphore", "runtime.gopark;runtime.selectgo;"
         "golang.org/x/sync/semaphore.(*Weighted).Acquire;main.semAcquire",
         NULL, false, NULL, LWA_PATTERN_SEMAPHORE, "main.semAcquire", "select"},
    };
    run(e, N(e));
}

static void test_vocabulary(void **state)
{
    (void)state;
    /* Exactly DESIGN.md's list, in its order. */
    static const char *const names[] = {
        "unknown", "chan-send", "chan-receive", "nil-channel", "select",
        "select-no-cases", "http-body-not-closed", "network-io",
        "grpc-conn-not-closed", "grpc-stream-not-cancelled",
        "sql-rows-not-closed", "waitgroup", "mutex", "cond", "semaphore",
        "sleep-loop"};
    assert_int_equal(N(names), LWA_PATTERN_COUNT);
    for (int p = 0; p < LWA_PATTERN_COUNT; p++) {
        assert_string_equal(lwa_pattern_name((lwa_pattern)p), names[p]);
        assert_int_equal(lwa_pattern_from_name(names[p]), p);
        const char *fix = lwa_pattern_fix((lwa_pattern)p);
        assert_true(strlen(fix) > 20 && strlen(fix) < 100);
        assert_null(strchr(fix, '\n'));
    }
    assert_int_equal(lwa_pattern_from_name("leak"), -1);
    assert_int_equal(lwa_pattern_from_name(NULL), -1);
    assert_string_equal(lwa_pattern_name((lwa_pattern)99), "unknown");
    assert_string_equal(lwa_pattern_fix(LWA_PATTERN_CHAN_SEND),
                        "buffer the channel or select on ctx.Done() in the "
                        "sender");
    assert_string_equal(lwa_pattern_fix(LWA_PATTERN_GRPC_STREAM),
                        "cancel the stream's context (defer cancel()) or read "
                        "to io.EOF");
    assert_string_equal(lwa_pattern_fix(LWA_PATTERN_SQL_ROWS),
                        "defer rows.Close() right after the error check; "
                        "defer tx.Rollback()");
}

static void test_frame_predicates(void **state)
{
    (void)state;
    assert_true(lwa_func_is_runtime_internal("runtime.gopark"));
    assert_true(lwa_func_is_runtime_internal("runtime.goexit"));
    assert_true(lwa_func_is_runtime_internal("runtime.(*waitq).dequeue"));
    assert_false(lwa_func_is_runtime_internal("runtime.Gosched"));
    assert_false(lwa_func_is_runtime_internal("runtime/pprof.writeGoroutine"));
    assert_false(lwa_func_is_runtime_internal("main.runtime"));
    assert_false(lwa_func_is_runtime_internal(NULL));

    assert_true(lwa_func_is_plumbing("sync.(*WaitGroup).Wait"));
    assert_true(lwa_func_is_plumbing("internal/poll.runtime_pollWait"));
    assert_true(lwa_func_is_plumbing("net.(*conn).Read"));
    assert_true(lwa_func_is_plumbing("time.Sleep"));
    assert_false(lwa_func_is_plumbing("time.NewTicker"));
    assert_false(lwa_func_is_plumbing("net/http.(*persistConn).readLoop"));
    assert_false(lwa_func_is_plumbing("main.main"));
    assert_false(lwa_func_is_plumbing("github.com/acme/internal/x.F"));

    ts_stack s;
    ts_stack_parse(&s, "runtime.gopark;sync.runtime_notifyListWait;sync.(*Cond).Wait;"
              "main.condWait;main.main");
    assert_int_equal(lwa_user_frame(s.f, s.n), 3);
    /* all machinery: the first frame a traceback shows */
    ts_stack_parse(&s, "runtime.gopark;runtime.netpollblock;internal/poll.runtime_pollWait");
    assert_int_equal(lwa_user_frame(s.f, s.n), 2);
    ts_stack_parse(&s, "runtime.gopark;runtime.bgsweep");
    assert_int_equal(lwa_user_frame(s.f, s.n), 0);
    assert_int_equal(lwa_user_frame(NULL, 0), 0);

    assert_true(lwa_func_is_stdlib("net/http.checkConnErrorWriter.Write"));
    assert_true(lwa_func_is_stdlib("fmt.Fprint"));
    assert_true(lwa_func_is_stdlib("internal/poll.(*FD).Write"));
    assert_true(lwa_func_is_stdlib("database/sql.(*Rows).awaitDone"));
    assert_false(lwa_func_is_stdlib("main.(*newsFeed).serveEvents"));
    assert_false(lwa_func_is_stdlib("golang.org/x/sync/semaphore.(*Weighted).Acquire"));
    assert_false(lwa_func_is_stdlib("google.golang.org/grpc.newClientStreamWithParams.func4"));
    assert_false(lwa_func_is_stdlib("github.com/acme/internal/x.F"));
    assert_false(lwa_func_is_stdlib(NULL));
    assert_false(lwa_func_is_stdlib(""));
    /* the standard library between the blocking call and the user's code
     * is passed over ... */
    ts_stack_parse(&s, "internal/poll.(*FD).Write;net.(*conn).Write;"
              "net/http.checkConnErrorWriter.Write;bufio.(*Writer).Flush;"
              "fmt.Fprint;main.(*newsFeed).serveEvents;net/http.(*conn).serve");
    assert_int_equal(lwa_user_frame(s.f, s.n), 5);
    assert_int_equal(lwa_plumbing_end(s.f, s.n), 2);
    /* ... and shown when there is nothing else */
    ts_stack_parse(&s, "runtime.gopark;runtime.selectgo;database/sql.(*Rows).awaitDone");
    assert_int_equal(lwa_user_frame(s.f, s.n), 2);
    ts_stack_parse(&s, "runtime.gopark;sync.runtime_notifyListWait");
    assert_int_equal(lwa_plumbing_end(s.f, s.n), 2);
}

static void test_empty_stack(void **state)
{
    (void)state;
    lwa_class c;
    lwa_classify(NULL, 0, NULL, false, NULL, &c);
    assert_int_equal(c.pattern, LWA_PATTERN_UNKNOWN);
    assert_int_equal(c.culprit, 0);
    assert_null(c.wait_reason);
    /* a reason alone is enough */
    lwa_classify(NULL, 0, "chan send", false, NULL, &c);
    assert_int_equal(c.pattern, LWA_PATTERN_CHAN_SEND);
    /* minutes left on the reason by a careless caller */
    lwa_classify(NULL, 0, "chan receive, 12 minutes", false, NULL, &c);
    assert_int_equal(c.pattern, LWA_PATTERN_CHAN_RECEIVE);
}

/* The count a fix is verified by: goroutines shown as one function, the
 * same whichever format Go wrote (a real Go 1.26 capture in three forms). */
static void test_count_on(void **state)
{
    (void)state;
    const char *files[] = {"go126_leak_debug2.txt", "go126_leak_debug1.txt",
                           "go126_leak.pb.gz"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        pprof_profile *p = ts_parse_testdata(files[i]);
        assert_non_null(p);
        assert_int_equal(lwa_count_on(p, "main.main.func4"), 1);
        /* A runtime frame is never the shown one. */
        assert_int_equal(lwa_count_on(p, "runtime.gopark"), 0);
        assert_int_equal(lwa_count_on(p, "main.absent"), 0);
        assert_int_equal(lwa_count_on(p, ""), 0);
        pprof_profile_free(p);
    }
    assert_int_equal(lwa_count_on(NULL, "main.main.func4"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debug2_stacks),
        cmocka_unit_test(test_transient_reason_uses_frames),
        cmocka_unit_test(test_debug1_stacks),
        cmocka_unit_test(test_runtime_frames),
        cmocka_unit_test(test_vocabulary),
        cmocka_unit_test(test_frame_predicates),
        cmocka_unit_test(test_empty_stack),
        cmocka_unit_test(test_count_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
