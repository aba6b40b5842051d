// Package poller polls upstreams.  Two shapes: per-upstream polling loops
// that sleep between polls and are never stopped (pattern sleep-loop), and
// a few periodic reporters parked in a select on their ticker (steady).
package poller

import (
	"context"
	"time"
)

// Poller polls one upstream per goroutine.
type Poller struct {
	interval time.Duration
	ready    func()
	polls    uint64
}

// New returns a poller whose loops call ready before their first sleep.
func New(interval time.Duration, ready func()) *Poller {
	return &Poller{interval: interval, ready: ready}
}

// Watch starts n polling loops.
func (p *Poller) Watch(ctx context.Context, n int) {
	for i := 0; i < n; i++ {
		go p.loop(ctx, i)
	}
}

func (p *Poller) loop(ctx context.Context, upstream int) {
	first := true
	for ctx.Err() == nil {
		p.poll(upstream)
		if first {
			p.ready()
			first = false
		}
		p.wait(upstream)
	}
}

//go:noinline
func (p *Poller) poll(upstream int) { p.polls += uint64(upstream & 1) }

//go:noinline
func (p *Poller) wait(upstream int) {
	if upstream >= 0 {
		p.backoff()
	}
}

//go:noinline
func (p *Poller) backoff() { time.Sleep(p.interval) }

// Reporter flushes metrics on a ticker until stopped.
type Reporter struct {
	done  chan struct{}
	ready func()
}

// StartReporters starts n reporters with a long period.
func StartReporters(ctx context.Context, n int, ready func()) *Reporter {
	r := &Reporter{done: make(chan struct{}), ready: ready}
	for i := 0; i < n; i++ {
		go r.run(ctx, time.NewTicker(time.Hour))
	}
	return r
}

func (r *Reporter) run(ctx context.Context, t *time.Ticker) {
	defer t.Stop()
	r.ready()
	for {
		select {
		case <-t.C:
			r.flush()
		case <-r.done:
			return
		case <-ctx.Done():
			return
		}
	}
}

//go:noinline
func (r *Reporter) flush() {}
