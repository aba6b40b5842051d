package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// newsFeed serves server-sent events. Its handler has no write deadline, so
// a client that stops reading (a phone put to sleep, a stuck proxy) holds
// the handler in a socket write forever once the buffers fill.
type newsFeed struct {
	addr    string
	backlog []string

	mu      sync.Mutex
	clients []net.Conn // mobile clients that connected and went quiet
	max     int
}

func startEventStream(opts *options) (service, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &newsFeed{addr: ln.Addr().String(), max: opts.maxConns}
	story := strings.Repeat("lorem ipsum dolor sit amet ", 40)
	for i := 0; i < 800; i++ {
		f.backlog = append(f.backlog, fmt.Sprintf("id: %d\nevent: story\ndata: %s\n\n", i, story))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/events", f.serveEvents)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(smallSendBuffers{ln}) }()
	return f, nil
}

func (f *newsFeed) serveEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	// Replay the backlog, then send a heartbeat every few seconds.
	for _, ev := range f.backlog {
		if _, err := fmt.Fprint(w, ev); err != nil {
			return
		}
	}
	flusher.Flush()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}

// handle is a client subscribing and then never reading again.
func (f *newsFeed) handle(uint64) {
	f.mu.Lock()
	full := len(f.clients) >= f.max
	f.mu.Unlock()
	if full {
		return
	}
	d := net.Dialer{Timeout: 5 * time.Second, Control: smallReceiveBuffer}
	c, err := d.Dial("tcp", f.addr)
	if err != nil {
		return
	}
	if _, err := fmt.Fprintf(c, "GET /events HTTP/1.1\r\nHost: news\r\nAccept: text/event-stream\r\n\r\n"); err != nil {
		c.Close()
		return
	}
	f.mu.Lock()
	f.clients = append(f.clients, c)
	f.mu.Unlock()
}

// smallSendBuffers caps each accepted connection's kernel send buffer, as
// servers holding many streams do to bound memory per client.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}
