//go:build unix

package main

import "syscall"

// smallReceiveBuffer sets SO_RCVBUF before connect, so the advertised
// window stays small: a client that stops reading stalls the sender after a
// few kilobytes, as a real congested or sleeping client does.
func smallReceiveBuffer(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
	})
	if err != nil {
		return err
	}
	return serr
}
