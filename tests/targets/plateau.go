package main

import (
	"sync"
	"sync/atomic"
	"time"
)

// hub is a healthy control: clients open long-lived streams (think server-sent
// events) over the first -ramp, after which the number of streams holds
// steady. Early growth followed by a flat line must not be called a leak.
type hub struct {
	mu        sync.Mutex
	streams   []chan uint64
	delivered atomic.Int64
}

func startPlateau(cfg config) (target, error) {
	h := &hub{}
	go h.rampUp(cfg.streams, cfg.ramp)
	return h, nil
}

func (h *hub) rampUp(n int, over time.Duration) {
	if n <= 0 {
		return
	}
	step := over / time.Duration(n)
	for i := 0; i < n; i++ {
		h.open()
		time.Sleep(step)
	}
}

func (h *hub) open() {
	ch := make(chan uint64, 16)
	h.mu.Lock()
	h.streams = append(h.streams, ch)
	h.mu.Unlock()
	go h.serveStream(ch)
}

// serve publishes one event to every stream; a slow stream drops events
// rather than stalling the publisher.
func (h *hub) serve(seq uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.streams {
		select {
		case ch <- seq:
		default:
		}
	}
}

func (h *hub) serveStream(events <-chan uint64) {
	heartbeat := time.NewTicker(15 * time.Second)
	defer heartbeat.Stop()
	for {
		select {
		case ev := <-events:
			h.deliver(ev)
		case <-heartbeat.C:
			h.deliver(0)
		}
	}
}

func (h *hub) deliver(uint64) {
	h.delivered.Add(1)
}
