// Package backoff retries an operation until it succeeds or its context
// ends.  It is here for the frames it adds: real background loops run
// inside retry helpers like this one.
package backoff

import "context"

// Policy says how often to retry.
type Policy struct {
	Attempts int // 0: forever
}

// Retry runs op until it returns nil, ctx ends or the attempts run out.
func Retry(ctx context.Context, p Policy, op func(ctx context.Context) error) error {
	var err error
	for i := 0; p.Attempts == 0 || i < p.Attempts; i++ {
		if err = p.attempt(ctx, op); err == nil || ctx.Err() != nil {
			return err
		}
	}
	return err
}

//go:noinline
func (p Policy) attempt(ctx context.Context, op func(ctx context.Context) error) error {
	return op(ctx)
}
