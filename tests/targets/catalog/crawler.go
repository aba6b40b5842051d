package main

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// priceCrawler (a healthy control) fetches competitor prices with a client
// sized for ~200 concurrent fetches; between rounds the connections sit
// idle in the keep-alive pool.
type priceCrawler struct {
	backend *backendAddrs
	client  *http.Client
	width   int
}

func startPriceCrawler(opts *options) (service, error) {
	width := 200
	if width > opts.maxConns {
		width = opts.maxConns
	}
	c := &priceCrawler{
		backend: opts.backend,
		width:   width,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			Proxy: nil, MaxIdleConns: width, MaxIdleConnsPerHost: width, MaxConnsPerHost: width,
		}},
	}
	go c.rounds(20 * time.Second)
	return c, nil
}

func (c *priceCrawler) handle(seq uint64) {
	c.fetch(int(seq), 0)
}

func (c *priceCrawler) rounds(every time.Duration) {
	for {
		var wg sync.WaitGroup
		for i := 0; i < c.width; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				c.fetch(i, 300) // slow enough that each fetch needs its own connection
			}(i)
		}
		wg.Wait()
		time.Sleep(every)
	}
}

func (c *priceCrawler) fetch(i, delayMS int) {
	resp, err := c.client.Get(c.backend.url(fmt.Sprintf("/item?sku=competitor-%d&delay_ms=%d", i, delayMS)))
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}
