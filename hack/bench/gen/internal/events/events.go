// Package events delivers bus events to subscribers.  Unsubscribe forgets
// to close the subscriber's channel, so every consumer stays parked in
// "chan receive" on it (pattern chan-receive).
package events

import (
	"context"

	"leakwatch/hack/bench/gen/internal/mw"
)

// Event is one bus message.
type Event struct {
	Topic string
	Seq   uint64
}

// Bus fans events out to subscribers.
type Bus struct {
	ch    chan Event // never closed
	ready func()
	seen  uint64
}

// New returns a bus whose consumers call ready just before they park.
func New(ready func()) *Bus {
	return &Bus{ch: make(chan Event), ready: ready}
}

// Subscribe starts n consumers.
func (b *Bus) Subscribe(ctx context.Context, n int) {
	for i := 0; i < n; i++ {
		sub := &subscriber{bus: b, topic: "orders.updated"}
		sub.handle = mw.Chain(sub.receive, mw.Recover, mw.Trace("events.consume"))
		go sub.consume(ctx)
	}
}

type subscriber struct {
	bus    *Bus
	topic  string
	handle mw.Handler
}

func (s *subscriber) consume(ctx context.Context) {
	for ctx.Err() == nil {
		if err := s.handle(ctx, &mw.Request{Key: s.topic}); err != nil {
			return
		}
	}
}

//go:noinline
func (s *subscriber) receive(ctx context.Context, req *mw.Request) error {
	s.bus.ready()
	for ev := range s.bus.ch {
		s.dispatch(ctx, ev)
	}
	return context.Canceled
}

//go:noinline
func (s *subscriber) dispatch(ctx context.Context, ev Event) {
	if ev.Topic == s.topic && ctx.Err() == nil {
		s.bus.seen++
	}
}
