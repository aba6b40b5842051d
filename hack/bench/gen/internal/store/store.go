// Package store persists records under one mutex.  A flush holds the lock
// while it waits for an acknowledgement that never comes, so every writer
// queues on the mutex (pattern mutex).
package store

import (
	"context"
	"sync"
)

// Store is the record store.
type Store struct {
	mu      sync.Mutex
	records map[uint64]int
	ack     chan struct{} // never signalled
	ready   func()
}

// New returns a store whose writers call ready just before they block.
func New(ready func()) *Store {
	return &Store{records: map[uint64]int{}, ack: make(chan struct{}), ready: ready}
}

// StartFlush takes the lock and waits for an ack while holding it; it
// returns once the lock is held.
func (s *Store) StartFlush(ctx context.Context) {
	locked := make(chan struct{})
	go s.flush(ctx, locked)
	<-locked
}

func (s *Store) flush(ctx context.Context, locked chan<- struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(locked)
	s.waitAck(ctx)
}

//go:noinline
func (s *Store) waitAck(ctx context.Context) {
	select {
	case <-s.ack:
	case <-ctx.Done():
	}
}

// Persist starts n writers.
func (s *Store) Persist(ctx context.Context, n int) {
	for i := 0; i < n; i++ {
		go s.persist(ctx, uint64(i))
	}
}

func (s *Store) persist(ctx context.Context, id uint64) {
	s.apply(ctx, id, s.encode(id))
}

//go:noinline
func (s *Store) encode(id uint64) int { return int(id % 97) }

//go:noinline
func (s *Store) apply(ctx context.Context, id uint64, v int) {
	s.ready()
	s.mu.Lock()
	s.records[id] = v
	s.mu.Unlock()
	_ = ctx
}
