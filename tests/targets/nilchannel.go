package main

import "sync/atomic"

// session is a client session; done is meant to be closed when the session
// ends so that its expiry watcher can release resources.
type session struct {
	id   uint64
	done chan struct{}
}

type sessionManager struct {
	expired atomic.Int64
}

func startNilChannel(config) (target, error) {
	return &sessionManager{}, nil
}

func (m *sessionManager) serve(seq uint64) {
	// BUG (the leak being reproduced): the literal forgets
	// done: make(chan struct{}), so done stays nil and a receive from a nil
	// channel blocks forever, whatever happens to the session.
	s := &session{id: seq}
	go m.expireOnDone(s)
}

func (m *sessionManager) expireOnDone(s *session) {
	<-s.done
	m.expired.Add(1)
}
