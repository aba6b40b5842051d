package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/sync/semaphore"
)

// exportService limits concurrent CSV exports with a weighted semaphore.
// The error path returns without releasing its permit; once all permits
// are lost, every later export blocks in Acquire.
type exportService struct {
	slots   *semaphore.Weighted
	backend *backendAddrs
	client  *http.Client
}

func startExportLimiter(opts *options) (service, error) {
	return &exportService{
		slots:   semaphore.NewWeighted(4),
		backend: opts.backend,
		client:  &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}},
	}, nil
}

func (e *exportService) handle(seq uint64) {
	_ = e.export(seq)
}

func (e *exportService) export(seq uint64) error {
	if err := e.slots.Acquire(context.Background(), 1); err != nil {
		return err
	}
	if seq%5 == 0 {
		// A validation failure: returns with the permit still held.
		return fmt.Errorf("export %d: empty date range", seq)
	}
	defer e.slots.Release(1)
	resp, err := e.client.Get(e.backend.url(fmt.Sprintf("/item?sku=export-%d", seq)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
