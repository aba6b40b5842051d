package main

import (
	"sync/atomic"
	"time"
)

// workerPool is the healthy shape leakwatch must not flag: a fixed number of
// long-lived workers with work flowing through them.
type workerPool struct {
	jobs      chan uint64
	processed atomic.Int64
}

func startSteadyPool(cfg config) (target, error) {
	p := &workerPool{jobs: make(chan uint64, 64)}
	for i := 0; i < cfg.workers; i++ {
		go p.worker()
	}
	return p, nil
}

// serve enqueues the request; the send blocks only while every worker is busy
// and the queue is full, which the driver's rate never sustains.
func (p *workerPool) serve(seq uint64) {
	p.jobs <- seq
}

func (p *workerPool) worker() {
	for job := range p.jobs {
		p.process(job)
	}
}

func (p *workerPool) process(uint64) {
	time.Sleep(10 * time.Millisecond)
	p.processed.Add(1)
}
