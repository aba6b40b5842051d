// serve.go — one listener per pod address, the endpoints a Go service with
// net/http/pprof and client_golang serves, and a record of every request so
// the benchmark can say when each pod was sampled.
//
// Not for: anything but GET of /metrics and /debug/pprof/goroutine.
package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Request kinds as the stats name them.
const (
	kMetrics = "metrics"
	kDebug1  = "debug1"
	kDebug2  = "debug2"
	kProto   = "proto"
	kOther   = "other"
)

var kinds = []string{kMetrics, kDebug1, kDebug2, kProto, kOther}

type hit struct {
	ms   int64
	kind string
}

type podState struct {
	*pod
	mu   sync.Mutex
	hits []hit
}

type podServer struct {
	pods   map[netip.Addr]*podState
	order  []*podState
	server *http.Server
	bufs   sync.Pool
}

func newPodServer(pods []*pod) *podServer {
	s := &podServer{pods: map[netip.Addr]*podState{}}
	for _, p := range pods {
		ps := &podState{pod: p}
		s.pods[p.ip] = ps
		s.order = append(s.order, ps)
	}
	s.bufs.New = func() any { return new(bytes.Buffer) }
	s.server = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
	}
	return s
}

// listen binds every pod address first, so a taken address fails the start
// rather than leaving some pods unserved.
func (s *podServer) listen(port int) ([]net.Listener, error) {
	var ls []net.Listener
	for _, p := range s.order {
		addr := netip.AddrPortFrom(p.ip, uint16(port)).String()
		l, err := net.Listen("tcp4", addr)
		if err != nil {
			for _, o := range ls {
				o.Close()
			}
			return nil, fmt.Errorf("listen %s: %v", addr, err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

func (s *podServer) serve(ls []net.Listener) {
	for _, l := range ls {
		go s.server.Serve(l)
	}
}

func (s *podServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	la, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	ta, ok := la.(*net.TCPAddr)
	var ps *podState
	if ok {
		if a, ok := netip.AddrFromSlice(ta.IP); ok {
			ps = s.pods[a.Unmap()]
		}
	}
	if ps == nil {
		http.Error(w, "no pod at this address", http.StatusNotFound)
		return
	}
	now := time.Now()
	kind := kOther
	switch r.URL.Path {
	case "/metrics":
		kind = kMetrics
	case "/debug/pprof/goroutine":
		switch r.URL.Query().Get("debug") {
		case "1":
			kind = kDebug1
		case "2":
			kind = kDebug2
		case "", "0":
			kind = kProto
		}
	}
	ps.mu.Lock()
	ps.hits = append(ps.hits, hit{ms: now.UnixMilli(), kind: kind})
	ps.mu.Unlock()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if kind == kOther {
		http.NotFound(w, r)
		return
	}
	b := s.bufs.Get().(*bytes.Buffer)
	b.Reset()
	defer s.bufs.Put(b)
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	gs, total := ps.groups(now, rng)
	switch kind {
	case kMetrics:
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		writeMetrics(b, total, now.Sub(ps.start))
	case kDebug1:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		writeDebug1(b, gs, total)
	case kDebug2:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		writeDebug2(b, gs)
	case kProto:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="goroutine"`)
		if err := writeProto(b, gs, now); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.Write(b.Bytes())
}

func (s *podServer) shutdown(ctx context.Context) { s.server.Shutdown(ctx) }

// podStats is what /stats says about the pods over [from, to].
type podStats struct {
	Pods          int                `json:"pods"`
	Growing       int                `json:"growing"`
	Requests      map[string]int     `json:"requests"`
	RequestsTotal map[string]int     `json:"requests_total"`
	PodsSampled   int                `json:"pods_sampled"`
	CoverageS     *float64           `json:"coverage_s"`
	GapS          map[string]float64 `json:"gap_s"`
	PerPodMin     float64            `json:"samples_per_pod_per_minute"`
}

// stats: requests by kind in the window; how many pods got a cheap sample
// (/metrics) in it; how long from `from` until every pod had one (the time
// one sampling round over all pods takes); and the spread of the gaps
// between one pod's consecutive samples.
func (s *podServer) stats(from, to int64) podStats {
	st := podStats{Pods: len(s.order), Requests: map[string]int{}, RequestsTotal: map[string]int{},
		GapS: map[string]float64{}}
	for _, k := range kinds {
		st.Requests[k] = 0
		st.RequestsTotal[k] = 0
	}
	var gaps []float64
	var lastFirst int64
	all := true
	samples := 0
	for _, p := range s.order {
		if p.grow {
			st.Growing++
		}
		p.mu.Lock()
		var first, prev int64 = -1, -1
		for _, h := range p.hits {
			st.RequestsTotal[h.kind]++
			if h.ms < from || h.ms > to {
				continue
			}
			st.Requests[h.kind]++
			if h.kind != kMetrics {
				continue
			}
			samples++
			if first < 0 {
				first = h.ms
			}
			if prev >= 0 {
				gaps = append(gaps, float64(h.ms-prev)/1000)
			}
			prev = h.ms
		}
		p.mu.Unlock()
		if first < 0 {
			all = false
			continue
		}
		st.PodsSampled++
		if first > lastFirst {
			lastFirst = first
		}
	}
	if all && len(s.order) > 0 {
		c := float64(lastFirst-from) / 1000
		st.CoverageS = &c
	}
	if len(gaps) > 0 {
		sort.Float64s(gaps)
		q := func(f float64) float64 { return gaps[int(f*float64(len(gaps)-1))] }
		st.GapS["p50"] = q(0.5)
		st.GapS["p90"] = q(0.9)
		st.GapS["p99"] = q(0.99)
		st.GapS["min"] = gaps[0]
		st.GapS["max"] = gaps[len(gaps)-1]
		st.GapS["n"] = float64(len(gaps))
	}
	if mins := float64(to-from) / 60000; mins > 0 && len(s.order) > 0 {
		st.PerPodMin = float64(samples) / float64(len(s.order)) / mins
	}
	return st
}
