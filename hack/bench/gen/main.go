// Command gen writes the goroutine profiles that hack/bench/run.sh feeds to
// leakwatch and to the peer tools.  It does not fake them: it starts N real
// goroutines parked in a realistic mix of stacks (a handful of leaking
// shapes holding almost all of them, plus the steady background a service
// has: worker pools, HTTP connections, pipes, tickers, locks), then asks its
// own runtime for the profiles.
//
// Two snapshots of the same process are written, like the runbook's "now"
// and "a while ago": base (the leaking shapes at -base of their final
// count) and target (N goroutines), each as
//
//	<out>/base.debug2.txt  <out>/target.debug2.txt   goroutine?debug=2
//	<out>/base.debug1.txt  <out>/target.debug1.txt   goroutine?debug=1
//	<out>/base.pb.gz       <out>/target.pb.gz        goroutine (protobuf)
//	<out>/manifest.json                              what each one holds
//
// The debug=2 text is runtime.Stack(all): byte for byte what
// pprof.Lookup("goroutine").WriteTo(w, 2) prints, without the 64 MB cap
// that WriteTo applies (it would cut a million-goroutine dump at ~6%).
// Base goroutines have been blocked for -age when base is written (after a
// GC has observed them), so they carry ", N minutes"; goroutines added for
// target carry none.
//
// Not for: tests that need exact small fixtures (tests/targets has real
// services for that), or anything that talks to a non-loopback address.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"time"

	"leakwatch/hack/bench/gen/internal/api"
	"leakwatch/hack/bench/gen/internal/cache"
	"leakwatch/hack/bench/gen/internal/config"
	"leakwatch/hack/bench/gen/internal/events"
	"leakwatch/hack/bench/gen/internal/jobs"
	"leakwatch/hack/bench/gen/internal/logship"
	"leakwatch/hack/bench/gen/internal/orders"
	"leakwatch/hack/bench/gen/internal/poller"
	"leakwatch/hack/bench/gen/internal/queue"
	"leakwatch/hack/bench/gen/internal/store"
)

// scenario is one stack shape and how many goroutines park in it.
type scenario struct {
	name       string
	pattern    string  // the leak pattern a classifier should name
	waitReason string  // what debug=2 prints in the header
	share      float64 // of the leak budget; 0 = steady
	steady     int     // count when share == 0
	labels     []string
	spawn      func(ctx context.Context, n int)

	sp     *spawner
	base   int
	target int
}

// spawner is the long-lived goroutine that starts a scenario's goroutines,
// so the dump shows "created by <pkg>.<func> in goroutine <spawner>" and the
// spawners themselves form one more realistic bucket (parked in
// chan receive between requests).
type spawner struct {
	reqs  chan int
	done  chan struct{}
	spawn func(ctx context.Context, n int)
}

func (s *spawner) run(ctx context.Context) {
	for n := range s.reqs {
		s.spawn(ctx, n)
		s.done <- struct{}{}
	}
}

func startSpawner(ctx context.Context, sc *scenario) {
	sc.sp = &spawner{reqs: make(chan int), done: make(chan struct{}), spawn: sc.spawn}
	if len(sc.labels) > 0 {
		go pprof.Do(ctx, pprof.Labels(sc.labels...), sc.sp.run)
	} else {
		go sc.sp.run(ctx)
	}
}

func (sc *scenario) grow(n int) {
	if n <= 0 {
		return
	}
	sc.sp.reqs <- n
	<-sc.sp.done
}

// keepalive is the "block forever" a daemon's main helper does.
func keepalive() {
	select {}
}

type options struct {
	goroutines int
	baseFrac   float64
	age        time.Duration
	out        string
	httpConns  int
}

func main() {
	var o options
	flag.IntVar(&o.goroutines, "goroutines", 100000, "goroutines in the target snapshot")
	flag.Float64Var(&o.baseFrac, "base", 0.8, "leaking goroutines in base as a fraction of target's")
	flag.DurationVar(&o.age, "age", 61*time.Second, "how long base goroutines have been blocked when base is written (>= 1m for \", N minutes\")")
	flag.StringVar(&o.out, "out", "", "output directory (required)")
	flag.IntVar(&o.httpConns, "http-conns", 16, "loopback HTTP connections left with open bodies")
	flag.Parse()
	if o.out == "" || o.goroutines < 1000 || o.baseFrac <= 0 || o.baseFrac > 1 || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: gen -out DIR [-goroutines N>=1000] [-base 0<F<=1] [-age D] [-http-conns N]")
		os.Exit(1)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(2)
	}
}

func run(o options) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	ctx := context.Background()
	var parked atomic.Int64
	ready := func() { parked.Add(1) }

	// Fixed background first: these park on their own.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go keepalive()
	if _, err := api.StartHTTP(o.httpConns); err != nil {
		return err
	}
	st := store.New(ready)
	st.StartFlush(ctx)
	cfg := config.New(ready)
	cfg.StartReload(ctx)
	if _, err := logship.Start(ctx, 8, ready); err != nil {
		return err
	}
	poller.StartReporters(ctx, 4, ready)
	fixedReady := int64(8 + 4)

	ord := orders.New(ready)
	cch := cache.New(ready)
	bus := events.New(ready)
	batch := api.NewBatch(ready)
	pool := jobs.NewPool(ready)
	lim := jobs.NewLimiter(4, ready)
	pol := poller.New(24*time.Hour, ready)
	q := queue.New(ready)

	scenarios := []*scenario{
		{name: "orders-fanout", pattern: "chan-send", waitReason: "chan send", share: 0.40,
			labels: []string{"component", "orders", "handler", "query"}, spawn: ord.Fanout},
		{name: "cache-refresher", pattern: "select", waitReason: "select", share: 0.22,
			labels: []string{"component", "cache"}, spawn: cch.Prime},
		{name: "events-subscriber", pattern: "chan-receive", waitReason: "chan receive", share: 0.12,
			spawn: bus.Subscribe},
		{name: "api-batch", pattern: "waitgroup", waitReason: "sync.WaitGroup.Wait", share: 0.08,
			labels: []string{"component", "api", "handler", "batch"}, spawn: batch.Serve},
		{name: "store-writer", pattern: "mutex", waitReason: "sync.Mutex.Lock", share: 0.06,
			spawn: st.Persist},
		{name: "jobs-drain", pattern: "nil-channel", waitReason: "chan receive (nil chan)", share: 0.04,
			spawn: pool.Drain},
		{name: "poller-loop", pattern: "sleep-loop", waitReason: "sleep", share: 0.04,
			spawn: pol.Watch},
		{name: "queue-consumer", pattern: "cond", waitReason: "sync.Cond.Wait", share: 0.04,
			spawn: q.Consume},
		{name: "jobs-worker", pattern: "chan-receive", waitReason: "chan receive", steady: 64,
			labels: []string{"component", "jobs"}, spawn: pool.Start},
		{name: "limiter-wait", pattern: "semaphore", waitReason: "chan send", steady: 32,
			spawn: lim.Go},
		{name: "config-reader", pattern: "mutex", waitReason: "sync.RWMutex.RLock", steady: 8,
			spawn: cfg.Watch},
	}
	for _, sc := range scenarios {
		startSpawner(ctx, sc)
	}
	if err := waitParked(&parked, fixedReady); err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond) // let net/http's and os/signal's goroutines park

	// Whatever is not a scenario goroutine is counted now, so target holds
	// exactly o.goroutines.
	background := runtime.NumGoroutine()
	steady := 0
	for _, sc := range scenarios {
		if sc.share == 0 {
			steady += sc.steady
		}
	}
	budget := o.goroutines - background - steady
	if budget < 100 {
		return fmt.Errorf("-goroutines %d leaves no room for leaking stacks (background %d, steady %d)",
			o.goroutines, background, steady)
	}
	assigned := 0
	var largest *scenario
	for _, sc := range scenarios {
		if sc.share == 0 {
			sc.base, sc.target = sc.steady, sc.steady
			continue
		}
		sc.target = int(float64(budget) * sc.share)
		assigned += sc.target
		if largest == nil || sc.target > largest.target {
			largest = sc
		}
	}
	largest.target += budget - assigned
	for _, sc := range scenarios {
		if sc.share > 0 {
			sc.base = int(float64(sc.target) * o.baseFrac)
		}
	}

	start := time.Now()
	want := fixedReady
	for _, sc := range scenarios {
		sc.grow(sc.base)
		want += int64(sc.base)
	}
	if err := waitParked(&parked, want); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gen: base: %d goroutines parked in %.1fs\n", runtime.NumGoroutine(), time.Since(start).Seconds())

	// A GC stamps every blocked goroutine's wait start; the traceback prints
	// minutes from that stamp.
	runtime.GC()
	if o.age > 0 {
		fmt.Fprintf(os.Stderr, "gen: aging base goroutines for %s\n", o.age)
		time.Sleep(o.age)
	}
	baseInfo, err := writeSnapshot(o.out, "base", o.goroutines)
	if err != nil {
		return err
	}

	for _, sc := range scenarios {
		sc.grow(sc.target - sc.base)
		want += int64(sc.target - sc.base)
	}
	if err := waitParked(&parked, want); err != nil {
		return err
	}
	targetInfo, err := writeSnapshot(o.out, "target", o.goroutines)
	if err != nil {
		return err
	}
	return writeManifest(o, scenarios, background, baseInfo, targetInfo)
}

// waitParked waits until want goroutines have reported that they are about
// to block, then gives them a moment to actually park.
func waitParked(parked *atomic.Int64, want int64) error {
	deadline := time.Now().Add(10 * time.Minute)
	for parked.Load() < want {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d goroutines parked after 10 minutes", parked.Load(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	return nil
}

type snapshotInfo struct {
	Goroutines int              `json:"goroutines"`
	Minutes    int              `json:"with_minutes"`
	Files      map[string]int64 `json:"files"`
}

// allStacks is writeGoroutineStacks in runtime/pprof without its cap.  It
// retries until no goroutine is caught between "ready" and parked.
func allStacks(hint int) ([]byte, error) {
	buf := make([]byte, hint)
	for attempt := 0; ; attempt++ {
		n := runtime.Stack(buf, true)
		if n == len(buf) {
			buf = make([]byte, 2*len(buf))
			continue
		}
		out := buf[:n]
		if bytes.Count(out, []byte("[runnable")) == 0 {
			return out, nil
		}
		if attempt == 20 {
			return nil, fmt.Errorf("goroutines still runnable after %d attempts", attempt)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func writeSnapshot(dir, name string, goroutines int) (snapshotInfo, error) {
	info := snapshotInfo{Files: map[string]int64{}}
	start := time.Now()
	dump, err := allStacks(goroutines * 1200)
	if err != nil {
		return info, err
	}
	info.Goroutines = bytes.Count(dump, []byte("\ngoroutine ")) + 1
	info.Minutes = bytes.Count(dump, []byte(" minutes]:")) + bytes.Count(dump, []byte(" minutes, "))
	files := []struct {
		suffix string
		write  func(f *os.File) error
	}{
		{".debug2.txt", func(f *os.File) error { _, err := f.Write(dump); return err }},
		{".debug1.txt", func(f *os.File) error { return pprof.Lookup("goroutine").WriteTo(f, 1) }},
		{".pb.gz", func(f *os.File) error { return pprof.Lookup("goroutine").WriteTo(f, 0) }},
	}
	for _, fl := range files {
		path := filepath.Join(dir, name+fl.suffix)
		f, err := os.Create(path)
		if err != nil {
			return info, err
		}
		if err := fl.write(f); err != nil {
			f.Close()
			return info, fmt.Errorf("%s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return info, fmt.Errorf("%s: %w", path, err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			return info, err
		}
		info.Files[name+fl.suffix] = fi.Size()
	}
	dump = nil
	debug.FreeOSMemory()
	fmt.Fprintf(os.Stderr, "gen: %s: %d goroutines (%d with minutes), debug=2 %d bytes, in %.1fs\n",
		name, info.Goroutines, info.Minutes, info.Files[name+".debug2.txt"], time.Since(start).Seconds())
	return info, nil
}

func writeManifest(o options, scenarios []*scenario, background int, base, target snapshotInfo) error {
	type sc struct {
		Name       string `json:"name"`
		Pattern    string `json:"pattern"`
		WaitReason string `json:"wait_reason"`
		Leaking    bool   `json:"leaking"`
		Base       int    `json:"base"`
		Target     int    `json:"target"`
	}
	m := struct {
		Go         string       `json:"go"`
		Requested  int          `json:"requested_goroutines"`
		BaseFrac   float64      `json:"base_fraction"`
		AgeSeconds float64      `json:"age_seconds"`
		Background int          `json:"background_goroutines"`
		Base       snapshotInfo `json:"base"`
		Target     snapshotInfo `json:"target"`
		Scenarios  []sc         `json:"scenarios"`
	}{runtime.Version(), o.goroutines, o.baseFrac, o.age.Seconds(), background, base, target, nil}
	for _, s := range scenarios {
		m.Scenarios = append(m.Scenarios, sc{s.name, s.pattern, s.waitReason, s.share > 0, s.base, s.target})
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(o.out, "manifest.json"), append(b, '\n'), 0o644)
}
