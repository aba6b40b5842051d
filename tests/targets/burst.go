package main

import (
	"sync/atomic"
	"time"
)

// burster is a healthy control: every burstEvery it receives a burst of slow
// requests which raise the goroutine count sharply and then drain back to
// the baseline, the shape a naive "count went up" detector gets wrong.
type burster struct {
	delay    time.Duration
	every    time.Duration
	size     int
	inFlight atomic.Int64
}

func startBurst(cfg config) (target, error) {
	b := &burster{delay: cfg.burstDelay, every: cfg.burstEvery, size: cfg.burstSize}
	go b.schedule()
	return b, nil
}

// serve is the ordinary fast traffic between bursts.
func (b *burster) serve(uint64) {
	time.Sleep(5 * time.Millisecond)
}

func (b *burster) schedule() {
	time.Sleep(b.delay)
	ticker := time.NewTicker(b.every)
	defer ticker.Stop()
	for {
		b.fire()
		<-ticker.C
	}
}

func (b *burster) fire() {
	for i := 0; i < b.size; i++ {
		// Durations cycle through 3..8 s so the drain is gradual yet the
		// whole burst is gone 8 s after it started.
		go b.slowRequest(3*time.Second + time.Duration(i%6)*time.Second)
	}
}

func (b *burster) slowRequest(d time.Duration) {
	b.inFlight.Add(1)
	defer b.inFlight.Add(-1)
	time.Sleep(d)
}
