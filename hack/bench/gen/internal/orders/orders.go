// Package orders fans a query out to shards and collects the answers on an
// unbuffered channel.  The leak it reproduces is the classic one: the caller
// stops reading after its deadline, so every late shard goroutine blocks on
// "chan send" forever (pattern chan-send).
package orders

import (
	"context"

	"leakwatch/hack/bench/gen/internal/mw"
)

type result struct {
	shard int
	rows  int
}

// Service owns the shard fan-out.
type Service struct {
	results chan result // unbuffered; nobody reads once the caller gave up
	handle  mw.Handler
	counter [2]uint64
	ready   func()
}

// New returns a service whose goroutines call ready just before they park.
func New(ready func()) *Service {
	s := &Service{results: make(chan result), ready: ready}
	s.handle = mw.Chain(s.queryShard,
		mw.Recover, mw.Trace("orders.query"), mw.Auth("svc-orders"), mw.Tenant("eu-west"),
		mw.Metrics(&s.counter))
	return s
}

// Fanout starts one goroutine per shard.
func (s *Service) Fanout(ctx context.Context, shards int) {
	for i := 0; i < shards; i++ {
		go func(shard int) {
			_ = s.handle(ctx, &mw.Request{ID: uint64(shard), Shard: shard})
		}(i)
	}
}

//go:noinline
func (s *Service) queryShard(ctx context.Context, req *mw.Request) error {
	r := s.decode(req)
	return s.deliver(ctx, r)
}

//go:noinline
func (s *Service) decode(req *mw.Request) result {
	return result{shard: req.Shard, rows: len(req.Key)}
}

// deliver has no case for ctx.Done(): that is the bug.
//
//go:noinline
func (s *Service) deliver(ctx context.Context, r result) error {
	s.ready()
	s.results <- r
	return ctx.Err()
}
