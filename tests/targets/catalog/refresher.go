package main

import (
	"fmt"
	"math/rand"
	"sync"
	"time"
)

// quoteRefresher keeps a symbol's quote fresh for the page that asked for
// it, on a ticker. Nothing ever stops the loop.
type quoteRefresher struct {
	mu        sync.Mutex
	quotes    map[string]float64
	overrides chan string
}

func startQuoteRefresher(*options) (service, error) {
	return &quoteRefresher{quotes: map[string]float64{}, overrides: make(chan string)}, nil
}

func (r *quoteRefresher) handle(seq uint64) {
	go r.keepFresh(fmt.Sprintf("SYM%d", seq%500))
}

func (r *quoteRefresher) keepFresh(symbol string) {
	t := time.NewTicker(500 * time.Millisecond)
	for {
		select {
		case <-t.C:
			r.mu.Lock()
			r.quotes[symbol] = 100 + rand.Float64()
			r.mu.Unlock()
		case s := <-r.overrides:
			r.mu.Lock()
			delete(r.quotes, s)
			r.mu.Unlock()
		}
	}
}
