package main

import "sync/atomic"

// dispatcher sends calls to a remote peer and waits for a reply or an error
// on a goroutine of its own.
type dispatcher struct {
	sent atomic.Uint64
}

// call is one in-flight remote call. The peer is expected to answer on
// exactly one of the two channels.
type call struct {
	seq   uint64
	reply chan string
	errc  chan error
}

func startSelect(config) (target, error) {
	return &dispatcher{}, nil
}

func (d *dispatcher) serve(seq uint64) {
	c := &call{seq: seq, reply: make(chan string), errc: make(chan error)}
	go d.awaitReply(c)
	d.send(c)
}

// send hands the call to the peer. The simulated peer drops every call on
// the floor: no reply, no error, as a crashed or partitioned server would.
func (d *dispatcher) send(*call) {
	d.sent.Add(1)
}

func (d *dispatcher) awaitReply(c *call) {
	// BUG (the leak being reproduced): there is no <-ctx.Done() or timer
	// case, so when the peer drops the call neither channel ever fires and
	// this goroutine waits in select forever.
	select {
	case r := <-c.reply:
		_ = r
	case err := <-c.errc:
		_ = err
	}
}
