//go:build cgo

// cgo.go — the "cgo" mode: a goroutine blocked inside C code when SIGQUIT
// arrives.  Under GOTRACEBACK=crash every thread dumps its own stack, and
// the thread running C shows "goroutine 0 ... [idle]:" whose pc belongs to
// no Go function: "runtime: g 0 gp=...: unknown pc" and a hex stack dump.
package main

/*
#include <unistd.h>
static void block_in_c(void) { for (;;) pause(); }
*/
import "C"

import "fmt"

func init() {
	modes["cgo"] = func() {
		parked()
		go C.block_in_c()
		fmt.Println("ready")
		select {}
	}
}
