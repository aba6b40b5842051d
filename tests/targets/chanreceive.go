package main

import (
	"fmt"
	"sync/atomic"
)

// indexer hands each request's documents to a background consumer so the
// request can return before indexing finishes.
type indexer struct {
	indexed atomic.Int64
}

func startChanReceive(config) (target, error) {
	return &indexer{}, nil
}

func (ix *indexer) serve(seq uint64) {
	docs := []string{
		fmt.Sprintf("doc-%d-title", seq),
		fmt.Sprintf("doc-%d-body", seq),
		fmt.Sprintf("doc-%d-tags", seq),
	}
	queue := make(chan string, len(docs))
	go ix.consume(queue)
	for _, d := range docs {
		queue <- d
	}
	// BUG (the leak being reproduced): the producer never calls
	// close(queue), so consume's range loop waits for a next document
	// that will never come. One consumer is stranded per request.
}

func (ix *indexer) consume(queue <-chan string) {
	for doc := range queue {
		ix.index(doc)
	}
}

func (ix *indexer) index(doc string) {
	if doc != "" {
		ix.indexed.Add(1)
	}
}
