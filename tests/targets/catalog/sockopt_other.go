//go:build !unix

package main

import "syscall"

// smallReceiveBuffer is a no-op where socket options are not portable; the
// stalled clients then need more backlog before they block the writer.
func smallReceiveBuffer(_, _ string, _ syscall.RawConn) error { return nil }
