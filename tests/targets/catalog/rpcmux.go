package main

import (
	"errors"
	"sync"
)

// rpcMux multiplexes calls over one upstream link and matches replies by
// call id. The link drops requests silently, and the caller waits with no
// timeout for a reply or an error.
type rpcMux struct {
	mu      sync.Mutex
	pending map[uint64]*pendingCall
}

type pendingCall struct {
	reply chan []byte
	errc  chan error
}

func startRPCMux(*options) (service, error) {
	return &rpcMux{pending: map[uint64]*pendingCall{}}, nil
}

func (m *rpcMux) handle(seq uint64) {
	_, _ = m.call(seq, []byte("GET /price"))
}

func (m *rpcMux) call(id uint64, req []byte) ([]byte, error) {
	c := &pendingCall{reply: make(chan []byte, 1), errc: make(chan error, 1)}
	m.mu.Lock()
	m.pending[id] = c
	m.mu.Unlock()
	m.send(id, req)
	select {
	case r := <-c.reply:
		return r, nil
	case err := <-c.errc:
		return nil, err
	}
}

// send writes to a link whose far end has gone away without a reset.
func (m *rpcMux) send(uint64, []byte) {}

var errLinkDown = errors.New("link down")

// fail would deliver errLinkDown to a call; the link monitor that should
// call it never notices the link is gone.
func (m *rpcMux) fail(id uint64) {
	m.mu.Lock()
	c := m.pending[id]
	delete(m.pending, id)
	m.mu.Unlock()
	if c != nil {
		c.errc <- errLinkDown
	}
}
