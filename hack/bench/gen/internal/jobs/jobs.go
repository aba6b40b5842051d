// Package jobs is the service's worker pool, its result drainers and its
// concurrency limiter.  Three shapes come from here: idle pool workers
// (steady, not a leak), drainers reading a results channel that was never
// made (pattern nil-channel), and callers blocked on a full semaphore
// channel (pattern semaphore, steady).
package jobs

import "context"

// Pool runs jobs on a fixed set of workers.
type Pool struct {
	jobs    chan func()
	results chan int // nil: the constructor forgot make()
	ready   func()
}

// NewPool returns a pool whose goroutines call ready just before they park.
func NewPool(ready func()) *Pool {
	return &Pool{jobs: make(chan func()), ready: ready}
}

// Start starts n idle workers.
func (p *Pool) Start(ctx context.Context, n int) {
	for i := 0; i < n; i++ {
		go p.worker(ctx, i)
	}
}

func (p *Pool) worker(ctx context.Context, id int) {
	p.ready()
	for job := range p.jobs {
		p.run(ctx, id, job)
	}
}

//go:noinline
func (p *Pool) run(ctx context.Context, id int, job func()) {
	if ctx.Err() == nil && id >= 0 {
		job()
	}
}

// Drain starts n drainers on the nil results channel.
func (p *Pool) Drain(ctx context.Context, n int) {
	for i := 0; i < n; i++ {
		go p.drain(ctx)
	}
}

func (p *Pool) drain(ctx context.Context) {
	total := 0
	for ctx.Err() == nil {
		total += p.collect(ctx)
	}
}

//go:noinline
func (p *Pool) collect(ctx context.Context) int {
	v := p.next()
	if ctx.Err() != nil {
		return 0
	}
	return v
}

//go:noinline
func (p *Pool) next() int {
	p.ready()
	return <-p.results
}

// Limiter bounds concurrency with a buffered channel.
type Limiter struct {
	sem   chan struct{}
	ready func()
}

// NewLimiter returns a limiter with every slot already taken.
func NewLimiter(slots int, ready func()) *Limiter {
	l := &Limiter{sem: make(chan struct{}, slots), ready: ready}
	for i := 0; i < slots; i++ {
		l.sem <- struct{}{}
	}
	return l
}

// Go starts n calls that each wait for a slot.
func (l *Limiter) Go(ctx context.Context, n int) {
	for i := 0; i < n; i++ {
		go l.call(ctx)
	}
}

func (l *Limiter) call(ctx context.Context) {
	l.acquire()
	defer l.release()
	_ = ctx
}

//go:noinline
func (l *Limiter) acquire() {
	l.ready()
	l.sem <- struct{}{}
}

//go:noinline
func (l *Limiter) release() { <-l.sem }
