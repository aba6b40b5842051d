// hang_test.go — a test that logs a lot and then hangs, so that `go test
// -v -timeout` prints its goroutine dump after more than 64 KiB of log
// output, as CI logs show it.  Runs only when CRASHDUMPS_HANG=1
// (hack/record-pasted.sh sets it); otherwise it is skipped.
package main

import (
	"os"
	"strings"
	"testing"
)

func TestLogThenHang(t *testing.T) {
	if os.Getenv("CRASHDUMPS_HANG") != "1" {
		t.Skip("set CRASHDUMPS_HANG=1 to record the timeout dump")
	}
	parked()
	line := strings.Repeat("x", 80)
	for i := 0; i < 1200; i++ {
		t.Logf("step %d: %s", i, line)
	}
	select {}
}
