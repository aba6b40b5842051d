package main

import (
	"errors"
	"sync"
	"time"
)

// batcher runs the sub-tasks of a request in parallel and reports completion
// from a separate goroutine so the request can answer early.
type batcher struct {
	tasks []string
}

var errTaskFailed = errors.New("task failed")

func startWaitGroup(config) (target, error) {
	return &batcher{tasks: []string{"resize", "thumbnail", "watermark"}}, nil
}

func (b *batcher) serve(seq uint64) {
	var wg sync.WaitGroup
	wg.Add(len(b.tasks))
	for _, task := range b.tasks {
		go func(task string) {
			if err := b.run(task); err != nil {
				// BUG (the leak being reproduced): the error path returns
				// without wg.Done (a defer would have covered it), so the
				// group never reaches zero and awaitAll waits forever.
				return
			}
			wg.Done()
		}(task)
	}
	done := make(chan struct{})
	go b.awaitAll(&wg, done)

	// The request itself does not wait long for the batch, which is why
	// the stuck waiter goes unnoticed.
	select {
	case <-done:
	case <-time.After(20 * time.Millisecond):
	}
}

func (b *batcher) awaitAll(wg *sync.WaitGroup, done chan<- struct{}) {
	wg.Wait()
	close(done)
}

// run fails deterministically for one task so every request strands exactly
// one awaitAll goroutine.
func (b *batcher) run(task string) error {
	if task == "watermark" {
		return errTaskFailed
	}
	return nil
}
