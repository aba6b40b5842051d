package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// dashboardHub (a healthy control) pushes live metrics to every connected
// dashboard. Its goroutines scale with the viewers: they rise as viewers
// connect and hold while they stay.
type dashboardHub struct {
	addr    string
	mu      sync.Mutex
	viewers int
	target  int
}

func startDashboardHub(opts *options) (service, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	target := 100
	if target > opts.maxConns {
		target = opts.maxConns
	}
	h := &dashboardHub{addr: ln.Addr().String(), target: target}
	mux := http.NewServeMux()
	mux.HandleFunc("/live", h.push)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return h, nil
}

func (h *dashboardHub) push(w http.ResponseWriter, r *http.Request) {
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case now := <-tick.C:
			if _, err := fmt.Fprintf(w, "data: {\"ts\":%d}\n\n", now.Unix()); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
}

// handle connects one more viewer until the room is full.
func (h *dashboardHub) handle(uint64) {
	h.mu.Lock()
	if h.viewers >= h.target {
		h.mu.Unlock()
		return
	}
	h.viewers++
	h.mu.Unlock()
	go h.watch()
}

func (h *dashboardHub) watch() {
	defer func() {
		h.mu.Lock()
		h.viewers--
		h.mu.Unlock()
	}()
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		return
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /live HTTP/1.1\r\nHost: dash\r\n\r\n")
	rd := bufio.NewReader(c)
	for {
		if _, err := rd.ReadString('\n'); err != nil {
			return
		}
	}
}
