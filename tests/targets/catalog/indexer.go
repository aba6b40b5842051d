package main

import (
	"fmt"
	"strings"
	"sync"
)

// searchIndexer indexes each uploaded document set on its own consumer.
// The producer forgets to close the queue, so each consumer stays in its
// range loop after the last document.
type searchIndexer struct {
	mu    sync.Mutex
	terms map[string]int
}

func startIndexQueue(*options) (service, error) {
	return &searchIndexer{terms: map[string]int{}}, nil
}

func (ix *searchIndexer) handle(seq uint64) {
	docs := make(chan string, 16)
	go ix.consume(docs)
	for i := 0; i < 5; i++ {
		docs <- fmt.Sprintf("upload %d part %d shipping returns warranty", seq, i)
	}
	// missing: close(docs)
}

func (ix *searchIndexer) consume(docs <-chan string) {
	for d := range docs {
		ix.mu.Lock()
		for _, w := range strings.Fields(d) {
			ix.terms[w]++
		}
		ix.mu.Unlock()
	}
}
