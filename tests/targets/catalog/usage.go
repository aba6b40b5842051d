package main

import (
	"context"
	"log"
	"math/rand"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"time"
)

// usageMeter flushes per-tenant usage to the billing shard owning the
// tenant, labelling the work with pprof.Do. acme's shard is stuck in a
// failover: its flush requests are parked and never resumed, so only acme's
// goroutines pile up, on the very stack beta's and gamma's pass through.
type usageMeter struct {
	shards map[string]*billingShard
}

type billingShard struct {
	mu       sync.Mutex
	failover bool
	parked   []chan struct{}
}

var tenants = []string{"acme", "beta", "gamma"}

func startUsageMeter(*options) (service, error) {
	if !strings.Contains(os.Getenv("GODEBUG"), "tracebacklabels=1") {
		log.Printf("note: GODEBUG=tracebacklabels=1 is unset; debug=2 dumps will not show labels")
	}
	m := &usageMeter{shards: map[string]*billingShard{}}
	for _, t := range tenants {
		m.shards[t] = &billingShard{failover: t == "acme"}
	}
	return m, nil
}

func (m *usageMeter) handle(seq uint64) {
	tenant := tenants[seq%uint64(len(tenants))]
	labels := pprof.Labels("tenant", tenant, "route", "/v1/usage")
	pprof.Do(context.Background(), labels, func(ctx context.Context) {
		m.flush(ctx, tenant)
	})
}

func (m *usageMeter) flush(_ context.Context, tenant string) {
	done := make(chan struct{})
	m.shards[tenant].submit(done)
	<-done
}

func (s *billingShard) submit(done chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failover {
		s.parked = append(s.parked, done) // resumed when failover ends: never
		return
	}
	delay := time.Duration(500+rand.Intn(2500)) * time.Millisecond
	time.AfterFunc(delay, func() { close(done) })
}
