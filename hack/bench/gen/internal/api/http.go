// This file: a real HTTP server and client on a loopback listener, with the
// client never closing response bodies, so net/http's own goroutines
// (server conn.serve, client persistConn read and write loops, the accept
// loop) appear in the dump exactly as they do in services with that bug
// (pattern http-body-not-closed).
package api

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// HTTP is the loopback server plus the client that leaks connections.
type HTTP struct {
	ln     net.Listener
	srv    *http.Server
	client *http.Client
	bodies []io.ReadCloser // kept open on purpose
}

// StartHTTP listens on 127.0.0.1 and opens conns connections whose response
// bodies stay open.  Every goroutine involved is parked when it returns.
func StartHTTP(conns int) (*HTTP, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	h := &HTTP{ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/orders", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		// Larger than the client's buffer, so its read loop waits for the
		// caller to consume the body.
		_, _ = io.WriteString(w, strings.Repeat(`{"id":1,"rows":[1,2,3]}`, 4096))
	})
	h.srv = &http.Server{Handler: mux}
	go func() { _ = h.srv.Serve(ln) }()
	h.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
	url := "http://" + ln.Addr().String() + "/v1/orders"
	for i := 0; i < conns; i++ {
		resp, err := h.client.Get(url)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", url, err)
		}
		h.bodies = append(h.bodies, resp.Body) // never closed: the bug
	}
	return h, nil
}
