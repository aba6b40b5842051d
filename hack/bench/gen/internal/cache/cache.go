// Package cache starts a background refresher per Get and never stops it:
// each refresher waits in a select on a context that is never cancelled
// (pattern select).
package cache

import (
	"context"
	"errors"
	"sync"

	"leakwatch/hack/bench/gen/internal/backoff"
)

var errStopped = errors.New("refresher stopped")

// Cache is a read-through cache with per-key refreshers.
type Cache struct {
	mu      sync.Mutex
	entries map[int]int
	trigger chan struct{} // never signalled
	ready   func()
}

// New returns a cache whose refreshers call ready just before they park.
func New(ready func()) *Cache {
	return &Cache{entries: map[int]int{}, trigger: make(chan struct{}), ready: ready}
}

// Prime simulates n cache misses, each starting a refresher.
func (c *Cache) Prime(ctx context.Context, n int) {
	for i := 0; i < n; i++ {
		c.get(ctx, i)
	}
}

//go:noinline
func (c *Cache) get(ctx context.Context, key int) int {
	go c.refresher(ctx, key)
	return key
}

func (c *Cache) refresher(ctx context.Context, key int) {
	_ = backoff.Retry(ctx, backoff.Policy{}, func(ctx context.Context) error {
		return c.refreshOnce(ctx, key)
	})
}

//go:noinline
func (c *Cache) refreshOnce(ctx context.Context, key int) error {
	if !c.waitTick(ctx) {
		return errStopped
	}
	c.reload(key)
	return nil
}

//go:noinline
func (c *Cache) waitTick(ctx context.Context) bool {
	c.ready()
	select {
	case <-ctx.Done():
		return false
	case <-c.trigger:
		return true
	}
}

//go:noinline
func (c *Cache) reload(key int) {
	c.mu.Lock()
	c.entries[key%64] = key
	c.mu.Unlock()
}
