// Command targets is a small Go service that reproduces exactly one goroutine
// behaviour per process, so that leakwatch can be tested against real
// goroutine profiles instead of hand-written ones.
//
// Every process serves net/http/pprof, a hand-written Prometheus /metrics
// (go_goroutines) and /healthz on the -listen address, and generates its own
// traffic: a ticker issues -rate synthetic "requests" per second, each handled
// on its own goroutine the way net/http would. Leaking behaviours leave a
// fixed number of goroutines behind per request and stop issuing requests
// once -max-leak goroutines have been leaked, so a forgotten process can never
// exhaust the machine.
//
//	targets -behavior chan-send -listen 127.0.0.1:0 -rate 20
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
	_ "net/http/pprof" // the whole point: expose /debug/pprof/goroutine
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// config carries the flag values a behaviour may need when it starts.
type config struct {
	workers    int           // steady-pool: pool size
	burstEvery time.Duration // burst: period between bursts
	burstDelay time.Duration // burst: time before the first burst
	burstSize  int           // burst: slow requests per burst
	streams    int           // plateau: number of streams held at the plateau
	ramp       time.Duration // plateau: time taken to open all streams
}

// target is one running behaviour. serve handles a single synthetic request;
// the driver calls it on a fresh goroutine, so serve may block or spawn.
type target interface {
	serve(seq uint64)
}

// behavior describes how to start a target and what it costs per request.
type behavior struct {
	// leaksPerRequest is the number of goroutines a request leaves behind
	// for good; zero for the healthy controls. It lets the driver enforce
	// -max-leak without counting goroutines itself.
	leaksPerRequest int
	start           func(cfg config) (target, error)
	summary         string
}

// behaviors is keyed by the pattern names of leakwatch's fixed vocabulary
// (leaks) or by the name of the healthy shape (controls).
var behaviors = map[string]behavior{
	"chan-send":            {2, startChanSend, "fan-out abandons workers blocked on an unbuffered results channel"},
	"chan-receive":         {1, startChanReceive, "consumer ranges over a queue nobody closes"},
	"select":               {1, startSelect, "select waits for a reply or an error and has no cancellation case"},
	"nil-channel":          {1, startNilChannel, "receive on a channel that was never made"},
	"waitgroup":            {1, startWaitGroup, "WaitGroup.Wait on a group whose error path skips Done"},
	"mutex":                {1, startMutex, "mutex left locked on an error path; later callers block in Lock"},
	"sleep-loop":           {1, startSleepLoop, "per-request polling loop with no exit"},
	"http-body-not-closed": {3, startHTTPBody, "HTTP client never closes response bodies"},
	"grpc-conn-not-closed": {grpcLeaksPerRequest, startGRPCConn, "gRPC ClientConn per request, never closed"},
	"steady-pool":          {0, startSteadyPool, "control: fixed worker pool with work flowing"},
	"burst":                {0, startBurst, "control: periodic bursts of slow requests that drain"},
	"plateau":              {0, startPlateau, "control: long-lived streams that ramp up, then hold"},
}

var requestsTotal atomic.Uint64

func main() {
	var (
		name        = flag.String("behavior", "", "behaviour to reproduce (see -list)")
		listen      = flag.String("listen", "127.0.0.1:6060", "address for pprof, /metrics and /healthz; port 0 picks a free one")
		rate        = flag.Float64("rate", 20, "synthetic requests per second (0 disables the built-in load)")
		maxLeak     = flag.Int("max-leak", 100000, "stop issuing requests once this many goroutines have been leaked")
		list        = flag.Bool("list", false, "list behaviours and exit")
		then        = flag.String("then", "", "second behaviour: after -switch-after the load stops for -pause, then drives this one (a leak that stops, then another starts)")
		switchAfter = flag.Duration("switch-after", time.Minute, "with -then: how long the first behaviour is driven")
		pause       = flag.Duration("pause", time.Minute, "with -then: time with no load between the two behaviours")
		metrics     = flag.Bool("metrics", true, "serve /metrics (go_goroutines); false leaves only net/http/pprof, as many services do")
		pprofDelay  = flag.Duration("pprof-delay", 0, "hold every /debug/pprof/goroutine answer this long (a slow capture, for fault tests)")
		cfg         config
	)
	flag.IntVar(&cfg.workers, "workers", 8, "steady-pool: number of workers")
	flag.DurationVar(&cfg.burstEvery, "burst-every", 20*time.Second, "burst: time between bursts")
	flag.DurationVar(&cfg.burstDelay, "burst-delay", 0, "burst: time before the first burst")
	flag.IntVar(&cfg.burstSize, "burst-size", 300, "burst: slow requests per burst")
	flag.IntVar(&cfg.streams, "streams", 100, "plateau: streams held once ramped up")
	flag.DurationVar(&cfg.ramp, "ramp", 30*time.Second, "plateau: time to open all streams")
	flag.Parse()
	log.SetPrefix("targets: ")

	if *list {
		names := make([]string, 0, len(behaviors))
		for n := range behaviors {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Printf("%-22s %s\n", n, behaviors[n].summary)
		}
		return
	}
	b, ok := behaviors[*name]
	if !ok {
		log.Fatalf("unknown -behavior %q (see -list)", *name)
	}

	// Listen before starting the behaviour so a bad address fails fast and
	// the printed address is the one actually bound.
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	t, err := b.start(cfg)
	if err != nil {
		log.Fatalf("start %s: %v", *name, err)
	}

	if *metrics {
		http.HandleFunc("/metrics", metricsHandler(*name))
	}
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})

	// Recorders read this line to learn the port; stdout is unbuffered.
	fmt.Printf("listening on %s\n", ln.Addr())

	if *then == "" {
		go drive(t, *rate, b.leaksPerRequest, *maxLeak, nil)
	} else {
		b2, ok := behaviors[*then]
		if !ok {
			log.Fatalf("unknown -then %q (see -list)", *then)
		}
		go func() {
			stop := make(chan struct{})
			go drive(t, *rate, b.leaksPerRequest, *maxLeak, stop)
			time.Sleep(*switchAfter)
			close(stop)
			log.Printf("%s: load stopped; %s starts in %s", *name, *then, *pause)
			time.Sleep(*pause)
			t2, err := b2.start(cfg)
			if err != nil {
				log.Fatalf("start %s: %v", *then, err)
			}
			requestsTotal.Store(0)
			drive(t2, *rate, b2.leaksPerRequest, *maxLeak, nil)
		}()
	}

	var handler http.Handler = http.DefaultServeMux
	if *pprofDelay > 0 {
		d := *pprofDelay
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/debug/pprof/goroutine") {
				time.Sleep(d)
			}
			http.DefaultServeMux.ServeHTTP(w, r)
		})
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// drive is the built-in load generator. Requests are issued on a fixed
// schedule rather than as fast as possible so that leak growth is linear in
// wall-clock time and the recorded series are predictable.
func drive(t target, rate float64, leaksPerRequest, maxLeak int, stop <-chan struct{}) {
	if rate <= 0 {
		return
	}
	interval := time.Duration(float64(time.Second) / rate)
	if interval <= 0 {
		interval = time.Nanosecond
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ticker.C:
		}
		seq := requestsTotal.Load()
		if leaksPerRequest > 0 && int(seq)*leaksPerRequest >= maxLeak {
			log.Printf("leak cap reached after %d requests (-max-leak %d); load stopped", seq, maxLeak)
			return
		}
		requestsTotal.Add(1)
		go t.serve(seq + 1)
	}
}

// metricsHandler writes the Prometheus text format by hand: one gauge is all
// leakwatch scrapes, and a client library would add goroutines of its own.
func metricsHandler(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		fmt.Fprintf(w, "# HELP go_goroutines Number of goroutines that currently exist.\n")
		fmt.Fprintf(w, "# TYPE go_goroutines gauge\n")
		fmt.Fprintf(w, "go_goroutines %d\n", runtime.NumGoroutine())
		fmt.Fprintf(w, "# HELP targets_requests_total Synthetic requests issued by the built-in load driver.\n")
		fmt.Fprintf(w, "# TYPE targets_requests_total counter\n")
		fmt.Fprintf(w, "targets_requests_total %d\n", requestsTotal.Load())
		fmt.Fprintf(w, "# HELP targets_info Behaviour reproduced by this process.\n")
		fmt.Fprintf(w, "# TYPE targets_info gauge\n")
		fmt.Fprintf(w, "targets_info{behavior=%q,go_version=%q} 1\n", name, runtime.Version())
	}
}
