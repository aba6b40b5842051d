package main

import (
	"sync/atomic"
	"time"
)

// poller waits for asynchronous jobs to become ready by polling.
type poller struct {
	interval time.Duration
	polls    atomic.Int64
}

func startSleepLoop(config) (target, error) {
	return &poller{interval: 500 * time.Millisecond}, nil
}

func (p *poller) serve(seq uint64) {
	go p.pollUntilReady(seq)
}

func (p *poller) pollUntilReady(job uint64) {
	// BUG (the leak being reproduced): the loop has no exit, neither on
	// readiness nor on a context, so each request leaves a goroutine that
	// sleeps and polls forever.
	for {
		time.Sleep(p.interval)
		p.poll(job)
	}
}

func (p *poller) poll(uint64) bool {
	p.polls.Add(1)
	return true
}
