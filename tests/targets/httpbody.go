package main

import (
	"fmt"
	"net"
	"net/http"
)

// catalogClient fetches items from a catalog service. The service is a
// stand-in served by this same process on loopback, so the leak needs no
// network beyond 127.0.0.1.
type catalogClient struct {
	base   string
	client *http.Client
}

func startHTTPBody(config) (target, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/item", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"id\":%q,\"stock\":7}\n", r.URL.Query().Get("id"))
	})
	// No timeouts at all, as in many internal services: the server keeps its
	// side of every abandoned connection forever, whatever the Go release
	// (a ReadHeaderTimeout would reap idle connections on go1.19 only).
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()

	return &catalogClient{
		base: "http://" + ln.Addr().String(),
		// Keep-alive on (the default) and no Client.Timeout: nothing ever
		// tears an unread response down.
		client: &http.Client{Transport: &http.Transport{Proxy: nil}},
	}, nil
}

func (c *catalogClient) serve(seq uint64) {
	_, _ = c.fetchItem(seq)
}

func (c *catalogClient) fetchItem(id uint64) (int, error) {
	resp, err := c.client.Get(fmt.Sprintf("%s/item?id=%d", c.base, id))
	if err != nil {
		return 0, err
	}
	// BUG (the leak being reproduced): only the status code is used and
	// resp.Body is never read to EOF nor closed. The connection can never
	// go back to the idle pool, so the next request dials a new one and the
	// old connection's persistConn readLoop and writeLoop goroutines (and the
	// server's conn.serve) stay forever.
	return resp.StatusCode, nil
}
