package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"time"
)

// startBackground starts what every service here runs besides its
// behaviour: a worker pool with work flowing, a few idle keep-alive
// connections to the backend, and, unless -bursts=false, bursts of short
// slow requests. None of it grows.
func startBackground(opts *options) error {
	p := &thumbnailer{jobs: make(chan []byte, 64)}
	for i := 0; i < 8; i++ {
		go p.worker()
	}
	go p.feed(20)

	s := &catalogSync{
		backend: opts.backend,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			Proxy: nil, MaxIdleConnsPerHost: 8, MaxConnsPerHost: 8,
		}},
	}
	go s.loop(8, 2*time.Second)

	if opts.bursts {
		r := &reportService{
			backend: opts.backend,
			client: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
				Proxy: nil, MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second,
			}},
		}
		go r.loop()
	}
	return nil
}

// thumbnailer is a fixed pool of workers fed at a steady rate.
type thumbnailer struct {
	jobs chan []byte
	done uint64
}

func (t *thumbnailer) feed(perSecond int) {
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	defer tick.Stop()
	for range tick.C {
		img := make([]byte, 4096)
		rand.Read(img)
		select {
		case t.jobs <- img:
		default: // pool saturated: shed the job
		}
	}
}

func (t *thumbnailer) worker() {
	for img := range t.jobs {
		sum := sha256.Sum256(img)
		if sum[0] == 0 {
			t.done++
		}
	}
}

// catalogSync polls the backend over a small pool of keep-alive
// connections, which sit idle between rounds.
type catalogSync struct {
	backend *backendAddrs
	client  *http.Client
}

func (s *catalogSync) loop(conns int, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for range tick.C {
		for i := 0; i < conns; i++ {
			go s.refresh(i)
		}
	}
}

func (s *catalogSync) refresh(shard int) {
	resp, err := s.client.Get(s.backend.url(fmt.Sprintf("/item?sku=shard-%d&delay_ms=20", shard)))
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}

// reportService receives bursts of report requests, each a slow backend
// call of 0.5-6 s.
type reportService struct {
	backend *backendAddrs
	client  *http.Client
}

func (r *reportService) loop() {
	for {
		time.Sleep(time.Duration(3000+rand.Intn(6000)) * time.Millisecond)
		n := 10 + rand.Intn(31)
		for i := 0; i < n; i++ {
			go r.generate(500 + rand.Intn(5500))
		}
	}
}

func (r *reportService) generate(ms int) {
	resp, err := r.client.Get(r.backend.url(fmt.Sprintf("/slow?ms=%d", ms)))
	if err != nil {
		return
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
}
