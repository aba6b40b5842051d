// Package api is the synthetic service's HTTP side.  This file: a batch
// endpoint that waits for its items with a WaitGroup whose Done is skipped
// on one error path, so the waiter blocks forever (pattern waitgroup).
package api

import (
	"context"
	"sync"

	"leakwatch/hack/bench/gen/internal/mw"
)

// Batch serves batched writes.
type Batch struct {
	handle  mw.Handler
	counter [2]uint64
	ready   func()
}

// NewBatch returns a batch endpoint whose waiters call ready before parking.
func NewBatch(ready func()) *Batch {
	b := &Batch{ready: ready}
	b.handle = mw.Chain(b.serve, mw.Recover, mw.Trace("api.batch"), mw.Metrics(&b.counter))
	return b
}

// Serve starts n batch requests.
func (b *Batch) Serve(ctx context.Context, n int) {
	for i := 0; i < n; i++ {
		go func(id int) {
			_ = b.handle(ctx, &mw.Request{ID: uint64(id)})
		}(i)
	}
}

//go:noinline
func (b *Batch) serve(ctx context.Context, req *mw.Request) error {
	var wg sync.WaitGroup
	wg.Add(1) // the item's Done is skipped when validation fails
	return b.await(ctx, &wg)
}

//go:noinline
func (b *Batch) await(ctx context.Context, wg *sync.WaitGroup) error {
	b.ready()
	wg.Wait()
	return ctx.Err()
}
