package main

import (
	"context"
	"fmt"
	"time"
)

// fetcher fans a request out to several backends and returns whatever has
// arrived when its deadline expires.
type fetcher struct {
	latencies []time.Duration // simulated response time of each backend
	timeout   time.Duration
}

// startChanSend configures one backend that answers well within the deadline
// and two that never do, so every request abandons exactly two workers.
func startChanSend(config) (target, error) {
	return &fetcher{
		latencies: []time.Duration{time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond},
		timeout:   50 * time.Millisecond,
	}, nil
}

func (f *fetcher) serve(seq uint64) {
	_ = f.gather(context.Background(), seq)
}

func (f *fetcher) gather(ctx context.Context, seq uint64) []string {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()

	// BUG (the leak being reproduced): results is unbuffered. Once gather
	// gives up on the deadline nobody reads it again, so every worker that
	// finishes late blocks on its send forever. A buffer of len(f.latencies)
	// would let late workers deliver into the void and exit.
	results := make(chan string)
	for i, latency := range f.latencies {
		go func(backend int, latency time.Duration) {
			results <- f.fetch(backend, latency, seq)
		}(i, latency)
	}

	var out []string
	for range f.latencies {
		select {
		case r := <-results:
			out = append(out, r)
		case <-ctx.Done():
			return out
		}
	}
	return out
}

func (f *fetcher) fetch(backend int, latency time.Duration, seq uint64) string {
	time.Sleep(latency)
	return fmt.Sprintf("backend-%d/request-%d", backend, seq)
}
