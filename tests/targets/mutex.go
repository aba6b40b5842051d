package main

import (
	"errors"
	"fmt"
	"sync"
)

// configCache memoises configuration lookups; misses are loaded from a slow
// backing store while holding the lock.
type configCache struct {
	mu      sync.Mutex
	entries map[string]string
	loads   int
	failAt  int // the load that fails; everything after it piles up on mu
}

var errBackendUnavailable = errors.New("config backend unavailable")

func startMutex(config) (target, error) {
	return &configCache{entries: make(map[string]string), failAt: 3}, nil
}

func (c *configCache) serve(seq uint64) {
	_, _ = c.lookup(fmt.Sprintf("key-%d", seq))
}

func (c *configCache) lookup(key string) (string, error) {
	c.mu.Lock()
	v, ok := c.entries[key]
	if !ok {
		loaded, err := c.load(key)
		if err != nil {
			// BUG (the leak being reproduced): returns with c.mu still
			// held (no defer c.mu.Unlock()). From now on every lookup,
			// i.e. every request goroutine, blocks in Lock forever.
			return "", err
		}
		c.entries[key] = loaded
		v = loaded
	}
	c.mu.Unlock()
	return v, nil
}

// load fails exactly once, on the failAt-th call, which is all it takes.
func (c *configCache) load(key string) (string, error) {
	c.loads++
	if c.loads == c.failAt {
		return "", errBackendUnavailable
	}
	return "value-of-" + key, nil
}
