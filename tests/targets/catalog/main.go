// Command catalog runs one of a catalogue of small Go services, each with one
// goroutine behaviour, so that leakwatch can be tried on the leaks on-call
// runbooks list (and on healthy shapes that look like them) with real
// libraries: grpc-go, database/sql with modernc.org/sqlite, net/http,
// golang.org/x/sync.
//
// Every process serves net/http/pprof (and, unless -metrics=false, a
// Prometheus /metrics with go_goroutines) on -listen, and runs a healthy
// background on top of its behaviour, as a real service would: a worker pool
// with work flowing, a few idle keep-alive HTTP connections to a backend, and
// (unless -bursts=false) bursts of short slow requests whose goroutines live
// 0.5-6 s. The backend (gRPC and HTTP) is a child process of the same binary
// on 127.0.0.1, so a goroutine dump of the service shows its client side
// only, as in production. The child exits when its parent does.
//
// The service drives itself: a ticker issues -rate requests per second.
// Leaking behaviours stop issuing requests once -max-leak goroutines have
// been leaked; connection counts are capped by -max-conns.
//
//	catalog -behavior sql-rows -listen 127.0.0.1:0 -rate 2
//
// Run with -list to see the behaviours.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"sort"
	"sync/atomic"
	"time"
)

// options carries the flag values a behaviour may need when it starts.
type options struct {
	rate     float64
	maxLeak  int
	maxConns int
	bursts   bool
	backend  *backendAddrs
}

// service is one running behaviour. handle serves a single request; the
// driver calls it on a fresh goroutine, so handle may block or spawn.
type service interface {
	handle(seq uint64)
}

type behavior struct {
	// leaked is the number of goroutines one request leaves behind for good
	// (zero for the healthy controls); it lets the driver honour -max-leak
	// without counting goroutines itself.
	leaked  int
	start   func(opts *options) (service, error)
	summary string
}

var behaviors = map[string]behavior{
	// Leaks.
	"grpc-conn":   {grpcConnGoroutines, startInventory, "leak: a gRPC ClientConn dialled per request and never closed"},
	"grpc-stream": {1, startQuoteWatcher, "leak: server-streaming RPC on a shared conn, ctx never cancelled, left after one Recv"},
	"sql-rows":    {1, startOrderHistory, "leak: database/sql rows (modernc.org/sqlite) never closed"},
	"sql-pool":    {1, startOrderHistory, "leak: sql-rows with a small pool (-max-conns): once unclosed rows hold every connection, callers queue in (*DB).conn"},
	"sse-write":   {2, startEventStream, "leak: SSE handler without write deadline writing to clients that stopped reading"},
	"ticker-loop": {1, startQuoteRefresher, "leak: per-request time.NewTicker for/select loop with no exit"},
	"reply-wait":  {1, startRPCMux, "leak: per-request select waiting for a reply that never comes (genuinely blocked)"},
	"cond-wait":   {1, startResultBuffer, "leak: sync.Cond waiters never signalled"},
	"semaphore":   {1, startExportLimiter, "leak: x/sync/semaphore permits never released; later callers block in Acquire"},
	"queue-range": {1, startIndexQueue, "leak: for range over a per-request queue that is never closed"},
	"two-leaks":   {2, startTwoLeaks, "leak: sql-rows and cond-wait in one process, independent"},
	"tenant-leak": {1, startUsageMeter, "leak: only tenant=acme's pprof.Do-labelled goroutines leak; beta/gamma share the stack, healthy (run with GODEBUG=tracebacklabels=1)"},
	// Controls.
	"keepalive-pool": {0, startPriceCrawler, "control: client holding ~200 idle keep-alive connections"},
	"grpc-bursts":    {0, startFeedSampler, "control: bursts of gRPC server streams read to io.EOF"},
	"sawtooth":       {0, startNightlyBatch, "control: batch job whose goroutines ramp up, then all exit, repeatedly"},
	"conn-scaled":    {0, startDashboardHub, "control: streaming server whose goroutines track connected clients (rise, then hold)"},
}

var requestsTotal atomic.Uint64

func main() {
	var (
		name    = flag.String("behavior", "", "behaviour to run (see -list)")
		listen  = flag.String("listen", "127.0.0.1:6060", "address for pprof (and /metrics, /healthz); port 0 picks a free one")
		metrics = flag.Bool("metrics", true, "serve /metrics; false serves net/http/pprof and /healthz only")
		list    = flag.Bool("list", false, "list behaviours and exit")
		backend = flag.Bool("backend", false, "internal: run as the backend child process")
		opts    options
	)
	flag.Float64Var(&opts.rate, "rate", 2, "requests per second issued by the built-in driver (0 disables it)")
	flag.IntVar(&opts.maxLeak, "max-leak", 2000, "stop issuing requests once this many goroutines have been leaked")
	flag.IntVar(&opts.maxConns, "max-conns", 500, "cap on connections any behaviour or control holds open")
	flag.BoolVar(&opts.bursts, "bursts", true, "run the background bursts of short slow requests")
	flag.Parse()
	log.SetPrefix("catalog: ")

	if *backend {
		runBackend()
		return
	}
	if *list {
		names := make([]string, 0, len(behaviors))
		for n := range behaviors {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Printf("%-15s %s\n", n, behaviors[n].summary)
		}
		return
	}
	b, ok := behaviors[*name]
	if !ok {
		log.Fatalf("unknown -behavior %q (see -list)", *name)
	}
	if opts.maxConns < 1 || opts.maxConns > 5000 {
		log.Fatalf("-max-conns %d out of range 1..5000", opts.maxConns)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		log.Printf("warning: listening on %s, not loopback", ln.Addr())
	}
	opts.backend, err = startBackend()
	if err != nil {
		log.Fatalf("backend: %v", err)
	}
	if err := startBackground(&opts); err != nil {
		log.Fatalf("background: %v", err)
	}
	svc, err := b.start(&opts)
	if err != nil {
		log.Fatalf("start %s: %v", *name, err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	if *metrics {
		mux.HandleFunc("/metrics", metricsHandler(*name))
	}

	// Recorders read this line to learn the port; stdout is unbuffered.
	fmt.Printf("listening on %s\n", ln.Addr())
	go drive(svc, &opts, b.leaked)

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// drive issues requests on a fixed schedule so that leak growth is linear in
// wall-clock time.
func drive(svc service, opts *options, leaked int) {
	if opts.rate <= 0 {
		return
	}
	interval := time.Duration(float64(time.Second) / opts.rate)
	if interval <= 0 {
		interval = time.Millisecond
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for range ticker.C {
		seq := requestsTotal.Load()
		if leaked > 0 && int(seq)*leaked >= opts.maxLeak {
			log.Printf("leak cap reached after %d requests (-max-leak %d); driver stopped", seq, opts.maxLeak)
			return
		}
		requestsTotal.Add(1)
		go svc.handle(seq + 1)
	}
}

func metricsHandler(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		fmt.Fprintf(w, "# HELP go_goroutines Number of goroutines that currently exist.\n")
		fmt.Fprintf(w, "# TYPE go_goroutines gauge\n")
		fmt.Fprintf(w, "go_goroutines %d\n", runtime.NumGoroutine())
		fmt.Fprintf(w, "# HELP catalog_requests_total Requests issued by the built-in driver.\n")
		fmt.Fprintf(w, "# TYPE catalog_requests_total counter\n")
		fmt.Fprintf(w, "catalog_requests_total %d\n", requestsTotal.Load())
		fmt.Fprintf(w, "# HELP catalog_info Behaviour run by this process.\n")
		fmt.Fprintf(w, "# TYPE catalog_info gauge\n")
		fmt.Fprintf(w, "catalog_info{behavior=%q,go_version=%q} 1\n", name, runtime.Version())
	}
}

// fatalIf ends the process on a setup error a behaviour cannot recover from.
func fatalIf(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "catalog: %s: %v\n", what, err)
		os.Exit(1)
	}
}
