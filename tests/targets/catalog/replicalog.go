package main

import (
	"errors"
	"sync"
	"time"
)

// replicaLog applies replicated entries in order; writers wait until their
// entry is applied. The applier gives up on its first error and returns
// without waking anyone, so every later waiter sleeps forever.
type replicaLog struct {
	mu      sync.Mutex
	applied sync.Cond
	index   uint64 // last applied entry
	next    uint64 // last appended entry
	entries chan uint64
}

func startResultBuffer(*options) (service, error) {
	l := &replicaLog{entries: make(chan uint64, 1024)}
	l.applied.L = &l.mu
	go l.applyLoop(time.Now().Add(2 * time.Second))
	return l, nil
}

func (l *replicaLog) handle(uint64) {
	_ = l.appendAndWait()
}

func (l *replicaLog) appendAndWait() error {
	l.mu.Lock()
	l.next++
	idx := l.next
	l.mu.Unlock()
	select {
	case l.entries <- idx:
	default:
		return errors.New("log full")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.index < idx {
		l.applied.Wait()
	}
	return nil
}

var errSnapshotMismatch = errors.New("snapshot checksum mismatch")

func (l *replicaLog) applyLoop(corruptAfter time.Time) {
	for idx := range l.entries {
		if err := l.apply(idx, corruptAfter); err != nil {
			return // bug: waiters are never told
		}
		l.mu.Lock()
		l.index = idx
		l.mu.Unlock()
		l.applied.Broadcast()
	}
}

func (l *replicaLog) apply(_ uint64, corruptAfter time.Time) error {
	if time.Now().After(corruptAfter) {
		return errSnapshotMismatch
	}
	return nil
}
