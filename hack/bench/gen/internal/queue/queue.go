// Package queue is an in-memory work queue whose consumers wait on a
// sync.Cond; the producer was removed but the consumers are still started
// (pattern cond).
package queue

import (
	"context"
	"sync"
)

// Queue is a condition-variable queue.
type Queue struct {
	mu    sync.Mutex
	cond  *sync.Cond
	items []int
	ready func()
}

// New returns a queue whose consumers call ready just before they wait.
func New(ready func()) *Queue {
	q := &Queue{ready: ready}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Consume starts n consumers.
func (q *Queue) Consume(ctx context.Context, n int) {
	for i := 0; i < n; i++ {
		go q.consumer(ctx)
	}
}

func (q *Queue) consumer(ctx context.Context) {
	for ctx.Err() == nil {
		q.handle(q.pop())
	}
}

//go:noinline
func (q *Queue) pop() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ready()
	for len(q.items) == 0 {
		q.cond.Wait()
	}
	v := q.items[0]
	q.items = q.items[1:]
	return v
}

//go:noinline
func (q *Queue) handle(v int) { _ = v }
