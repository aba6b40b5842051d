package main

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"time"
)

// nightlyBatch (a healthy control) reconciles ledger shards in waves: shard
// workers start over the first part of a run and wait for the run's commit
// barrier, then all exit together; the next run starts after a pause.
type nightlyBatch struct {
	shards int
	ramp   time.Duration
	pause  time.Duration
}

func startNightlyBatch(opts *options) (service, error) {
	n := 300
	if n > opts.maxConns {
		n = opts.maxConns
	}
	b := &nightlyBatch{shards: n, ramp: 20 * time.Second, pause: 10 * time.Second}
	go b.run()
	return b, nil
}

func (b *nightlyBatch) handle(uint64) {}

func (b *nightlyBatch) run() {
	for run := 1; ; run++ {
		commit := make(chan struct{})
		var wg sync.WaitGroup
		step := b.ramp / time.Duration(b.shards)
		for s := 0; s < b.shards; s++ {
			wg.Add(1)
			go b.reconcile(run, s, commit, &wg)
			time.Sleep(step)
		}
		close(commit)
		wg.Wait()
		time.Sleep(b.pause)
	}
}

func (b *nightlyBatch) reconcile(run, shard int, commit <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	sum := sha256.Sum256([]byte(fmt.Sprintf("run %d shard %d", run, shard)))
	_ = sum
	<-commit
}
