// Command crashdumps makes a Go process print the goroutine dumps that
// engineers paste into bug reports and chat: a panic under each
// GOTRACEBACK level, a SIGQUIT dump, a traceback the runtime cannot finish
// ("unexpected return pc"), and Go 1.26's "(leaked)" marks with blocked
// minutes and goroutine labels.  hack/record-pasted.sh runs it and keeps
// what it prints under tests/fixtures/pasted/.
//
// Each mode parks a few goroutines the way services do (a channel receive,
// a select, a mutex, a sleep loop) so that the dumps hold more than the
// crashing goroutine.
//
//	crashdumps -mode panic      # run with GOTRACEBACK=all|system|crash
//	crashdumps -mode sigquit    # prints "ready", then waits for SIGQUIT
//	crashdumps -mode badpc      # corrupts a return address, then panics
//	crashdumps -mode leakmarks  # needs GOEXPERIMENT=goroutineleakprofile
//	crashdumps -mode cgo        # cgo builds only (cgo.go); like sigquit
//
// Not for: the long-running leak behaviours (tests/targets) or the go test
// timeout dump (hang_test.go in this folder).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
	"unsafe"
)

// parked starts goroutines blocked in the ways a service's are, and
// returns once they are all parked.
func parked() {
	var started sync.WaitGroup
	never := make(chan int)
	var mu sync.Mutex
	mu.Lock()
	for i := 0; i < 3; i++ {
		started.Add(1)
		go func() { started.Done(); <-never }()
	}
	started.Add(2)
	go func() {
		started.Done()
		select {
		case <-never:
		case <-time.After(time.Hour):
		}
	}()
	go func() { started.Done(); mu.Lock() }()
	started.Wait()
	time.Sleep(50 * time.Millisecond)
}

//go:noinline
func corruptReturn() {
	// pcs[1] is where corruptReturn returns to; overwriting its saved
	// copy on the stack leaves the unwinder a return pc that belongs to
	// no function.
	var pcs [2]uintptr
	runtime.Callers(1, pcs[:])
	var local uintptr
	for i := uintptr(0); i < 64; i++ {
		p := (*uintptr)(unsafe.Add(unsafe.Pointer(&local), i*unsafe.Sizeof(local)))
		if *p == pcs[1] {
			*p = 0x1000
			break
		}
	}
	panic("corrupted return address")
}

//go:noinline
func callCorrupt() { corruptReturn() }

// held keeps two goroutines blocked but reachable in leakmarks mode.
var held = make(chan int)

func leakmarks(out string, wait time.Duration) error {
	leak := pprof.Lookup("goroutineleak")
	if leak == nil {
		return fmt.Errorf("no goroutineleak profile: build with GOEXPERIMENT=goroutineleakprofile")
	}
	// Leaked for good: nothing else can reach these channels.
	for i := 0; i < 3; i++ {
		ch := make(chan int)
		go func() { <-ch }()
	}
	for i := 0; i < 2; i++ {
		ch := make(chan int)
		go func() {
			select {
			case <-ch:
			case ch <- 1:
			}
		}()
	}
	// Leaked in labelled goroutines, as a multi-tenant service would.
	for _, tenant := range []string{"acme", "acme", "globex"} {
		ch := make(chan int)
		pprof.Do(context.Background(), pprof.Labels("tenant", tenant), func(context.Context) {
			go func() { <-ch }()
		})
	}
	// Blocked but reachable (held is a global, a GC root): never
	// reported leaked, and still shows its blocked minutes after the leak
	// profile has been taken.
	go func() { <-held }()
	pprof.Do(context.Background(), pprof.Labels("tenant", "initech"), func(context.Context) {
		go func() { <-held }()
	})
	// The runtime stamps a goroutine's blocking time at a GC; without one
	// no dump shows minutes however long the wait.
	time.Sleep(50 * time.Millisecond)
	runtime.GC()

	done := make(chan error, 1)
	go func() {
		time.Sleep(wait)
		write := func(name, profile string) error {
			f, err := os.Create(out + "." + name)
			if err != nil {
				return err
			}
			defer f.Close()
			return pprof.Lookup(profile).WriteTo(f, 2)
		}
		err := write("before.debug2.txt", "goroutine")
		if err == nil {
			err = write("goroutineleak.debug2.txt", "goroutineleak")
		}
		if err == nil {
			err = write("after.debug2.txt", "goroutine")
		}
		done <- err
	}()
	go func() {
		err := <-done
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}()
	// main parks on select {} as many servers' main does: the leak
	// detector always reports it.
	select {}
}

// modes that exist only in some builds (cgo.go).
var modes = map[string]func(){}

func main() {
	mode := flag.String("mode", "panic", "panic, sigquit, badpc or leakmarks")
	out := flag.String("out", "leakmarks", "leakmarks: file name prefix")
	wait := flag.Duration("wait", 65*time.Second, "leakmarks: time before the dumps (over a minute shows blocked minutes)")
	flag.Parse()
	switch *mode {
	case "panic":
		parked()
		panic("unrecoverable state")
	case "sigquit":
		parked()
		fmt.Println("ready")
		select {}
	case "badpc":
		parked()
		callCorrupt()
	case "leakmarks":
		if err := leakmarks(*out, *wait); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	default:
		if f := modes[*mode]; f != nil {
			f()
			return
		}
		fmt.Fprintln(os.Stderr, "unknown mode", *mode)
		os.Exit(2)
	}
}
