// Package mw is the request middleware of the synthetic service: it gives
// the benchmark's goroutines the layered closure frames real services have
// (recover, tracing, auth, metrics) between the goroutine's entry point and
// the line where it blocks.
//
// Not for: anything that would keep state per request; at a million parked
// goroutines every byte per goroutine counts.
package mw

import "context"

// Request is what handlers receive.
type Request struct {
	ID    uint64
	Shard int
	Key   string
}

// Handler serves one request.
type Handler func(ctx context.Context, req *Request) error

// Middleware wraps a handler.
type Middleware func(Handler) Handler

// Chain applies layers so that the first one listed is the outermost.
func Chain(h Handler, layers ...Middleware) Handler {
	for i := len(layers) - 1; i >= 0; i-- {
		h = layers[i](h)
	}
	return h
}

type ctxKey int

const (
	keySpan ctxKey = iota
	keyPrincipal
)

// Recover turns a panic in the handler into an error.
func Recover(next Handler) Handler {
	return func(ctx context.Context, req *Request) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = context.Canceled
			}
		}()
		return next(ctx, req)
	}
}

// Trace names the span the request runs in.
func Trace(span string) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, req *Request) error {
			return next(context.WithValue(ctx, keySpan, span), req)
		}
	}
}

// Auth attaches the caller's principal.
func Auth(principal string) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, req *Request) error {
			if req.Key == "" {
				req.Key = principal
			}
			return next(context.WithValue(ctx, keyPrincipal, principal), req)
		}
	}
}

// Metrics counts requests by outcome.
func Metrics(counter *[2]uint64) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, req *Request) error {
			err := next(ctx, req)
			if err != nil {
				counter[1]++
			} else {
				counter[0]++
			}
			return err
		}
	}
}

// Tenant routes the request to its tenant's partition.
func Tenant(region string) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, req *Request) error {
			if req.Shard < 0 {
				req.Key = region
			}
			return next(ctx, req)
		}
	}
}
