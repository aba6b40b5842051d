// Package logship tails pipes and ships what it reads.  Its readers sit in
// "IO wait" on pipes nobody writes to: what a reader without a deadline
// looks like (pattern network-io), at a small steady count.
package logship

import (
	"context"
	"fmt"
	"os"
)

// Shipper owns the pipes it tails.
type Shipper struct {
	writers []*os.File // kept open so the readers never see EOF
	ready   func()
}

// Start opens n pipes and starts one tailer per pipe.
func Start(ctx context.Context, n int, ready func()) (*Shipper, error) {
	s := &Shipper{ready: ready}
	for i := 0; i < n; i++ {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("pipe: %w", err)
		}
		s.writers = append(s.writers, w)
		go s.tail(ctx, r)
	}
	return s, nil
}

func (s *Shipper) tail(ctx context.Context, r *os.File) {
	buf := make([]byte, 512)
	s.ready()
	for ctx.Err() == nil {
		n, err := s.readChunk(r, buf)
		if err != nil {
			return
		}
		s.ship(buf[:n])
	}
}

//go:noinline
func (s *Shipper) readChunk(r *os.File, buf []byte) (int, error) { return r.Read(buf) }

//go:noinline
func (s *Shipper) ship(b []byte) { _ = b }
