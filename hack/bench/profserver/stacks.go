// stacks.go — the goroutines a synthetic pod holds, and how they are written
// in the three formats a Go service serves: debug=1 (counts per stack),
// debug=2 (one traceback per goroutine) and the protobuf profile.
//
// The stacks are modelled on a real net/http service built with Go 1.26
// (tests/fixtures/go1.26.8): an accept loop, idle keep-alive connections, a
// worker pool parked on a channel, a refresher in select, the signal loop,
// the goroutine writing the profile, and — in leaking pods — fan-out
// senders blocked on a channel nobody reads (the chan-send pattern).
//
// Not for: exactness of addresses or argument words (they are plausible, not
// taken from a binary), or any pattern other than those above.
package main

import (
	"bytes"
	"fmt"
	"strings"
)

type frame struct {
	fn, file string
	line     int
	off      int    // offset of the pc in the function (+0x..)
	args     string // debug=2 argument words
	pc       uint64
}

// isRuntime: frames that debug=1 and debug=2 hide above the first user frame.
func (f *frame) isRuntime() bool {
	return strings.HasPrefix(f.fn, "runtime.") || strings.HasPrefix(f.fn, "internal/runtime/")
}

type stack struct {
	state    string  // wait reason as debug=2 prints it
	frames   []frame // innermost first, runtime.goexit not included
	creator  *frame  // "created by", nil for main
	parentID int     // goroutine id of the creator in debug=2
	aging    bool    // debug=2 prints ", N minutes" for this stack
}

var goexit = frame{fn: "runtime.goexit", file: "runtime/asm_amd64.s", line: 1700, off: 0x1, pc: 0x4959e1}

func fr(fn, file string, line, off int, args string) frame {
	return frame{fn: fn, file: file, line: line, off: off, args: args}
}

// The synthetic service's stacks.  pcs are filled in by init.
var (
	stAccept = &stack{state: "IO wait", frames: []frame{
		fr("runtime.gopark", "runtime/proc.go", 460, 0xce, ""),
		fr("runtime.netpollblock", "runtime/netpoll.go", 575, 0xf7, ""),
		fr("internal/poll.runtime_pollWait", "runtime/netpoll.go", 351, 0x85, "0x7f0384e92e00, 0x72"),
		fr("internal/poll.(*pollDesc).wait", "internal/poll/fd_poll_runtime.go", 84, 0x27, "0xc000124400?, 0x900000036?, 0x0"),
		fr("internal/poll.(*FD).Accept", "internal/poll/fd_unix.go", 613, 0x28c, "0xc000124400"),
		fr("net.(*netFD).accept", "net/fd_unix.go", 150, 0x29, "0xc000124400"),
		fr("net.(*TCPListener).Accept", "net/tcpsock.go", 387, 0x30, "0xc000078c40"),
		fr("net/http.(*Server).Serve", "net/http/server.go", 3434, 0x30c, "0xc0000f6500, {0xb0a5a8, 0xc000078c40}"),
		fr("main.main", "bench.leakwatch.dev/svc/main.go", 133, 0x805, ""),
		fr("runtime.main", "runtime/proc.go", 290, 0x2d4, ""),
	}}
	stConn = &stack{state: "IO wait", creator: &frame{fn: "net/http.(*Server).Serve", file: "net/http/server.go", line: 3464, off: 0x485}, parentID: 1, frames: []frame{
		fr("runtime.gopark", "runtime/proc.go", 460, 0xce, ""),
		fr("runtime.netpollblock", "runtime/netpoll.go", 575, 0xf7, ""),
		fr("internal/poll.runtime_pollWait", "runtime/netpoll.go", 351, 0x85, "0x7f0384e92d08, 0x72"),
		fr("internal/poll.(*pollDesc).wait", "internal/poll/fd_poll_runtime.go", 84, 0x27, "0xc000200080?, 0xc000210000?, 0x0"),
		fr("internal/poll.(*FD).Read", "internal/poll/fd_unix.go", 165, 0x279, "0xc000200080, {0xc000210000, 0x1000, 0x1000}"),
		fr("net.(*conn).Read", "net/net.go", 196, 0x25, "0xc000206008, {0xc000210000?, 0x0?, 0x0?}"),
		fr("net/http.(*connReader).Read", "net/http/server.go", 806, 0x14d, "0xc0002060f0, {0xc000210000, 0x1000, 0x1000}"),
		fr("bufio.(*Reader).fill", "bufio/bufio.go", 113, 0x103, "0xc000208060"),
		fr("bufio.(*Reader).Peek", "bufio/bufio.go", 152, 0x53, "0xc000208060, 0x4"),
		fr("net/http.(*conn).serve", "net/http/server.go", 2113, 0x74c, "0xc0002020a0, {0xb0b5a0, 0xc000204e40}"),
	}}
	stWorker = &stack{state: "chan receive", aging: true, creator: &frame{fn: "main.newPool", file: "bench.leakwatch.dev/svc/pool.go", line: 31, off: 0x7b}, parentID: 1, frames: []frame{
		fr("runtime.gopark", "runtime/proc.go", 460, 0xce, ""),
		fr("runtime.chanrecv", "runtime/chan.go", 667, 0x445, ""),
		fr("runtime.chanrecv2", "runtime/chan.go", 514, 0x12, ""),
		fr("main.(*pool).worker", "bench.leakwatch.dev/svc/pool.go", 48, 0x5c, "0xc0001a4000, 0x3"),
	}}
	stRefresh = &stack{state: "select", creator: &frame{fn: "main.main", file: "bench.leakwatch.dev/svc/main.go", line: 118, off: 0x5d1}, parentID: 1, frames: []frame{
		fr("runtime.gopark", "runtime/proc.go", 460, 0xce, ""),
		fr("runtime.selectgo", "runtime/select.go", 351, 0x8c5, ""),
		fr("main.(*cache).refresh", "bench.leakwatch.dev/svc/cache.go", 71, 0x11d, "0xc0001b2000, {0xb05300, 0xc0001c8000}"),
	}}
	stSignal = &stack{state: "syscall", creator: &frame{fn: "os/signal.Notify.func1.1", file: "os/signal/signal.go", line: 151, off: 0x1f}, parentID: 1, frames: []frame{
		fr("runtime.notetsleepg", "runtime/lock_futex.go", 246, 0x2a, ""),
		fr("os/signal.signal_recv", "runtime/sigqueue.go", 152, 0x29, ""),
		fr("os/signal.loop", "os/signal/signal_unix.go", 23, 0x13, ""),
	}}
	stWriter = &stack{state: "running", creator: &frame{fn: "net/http.(*Server).Serve", file: "net/http/server.go", line: 3464, off: 0x485}, parentID: 1, frames: []frame{
		fr("runtime/pprof.writeGoroutineStacks", "runtime/pprof/pprof.go", 819, 0x6b, "{0xb06280, 0xc0002a2000}"),
		fr("runtime/pprof.writeGoroutine", "runtime/pprof/pprof.go", 782, 0x25, "{0xb06280?, 0xc0002a2000?}, 0xc000159748?"),
		fr("runtime/pprof.(*Profile).WriteTo", "runtime/pprof/pprof.go", 408, 0x149, "0xff2c90?, {0xb06280?, 0xc0002a2000?}, 0xc?"),
		fr("net/http/pprof.handler.ServeHTTP", "net/http/pprof/pprof.go", 273, 0x52a, "{0xc00029a011, 0x9}, {0xb0a880, 0xc0002a2000}, 0xc0001e1400"),
		fr("net/http/pprof.Index", "net/http/pprof/pprof.go", 397, 0xda, "{0xb0a880, 0xc0002a2000}, 0xc0001e1400?"),
		fr("net/http.HandlerFunc.ServeHTTP", "net/http/server.go", 2286, 0x29, "0x100f5e0?, {0xb0a880?, 0xc0002a2000?}, 0x750516?"),
		fr("net/http.(*ServeMux).ServeHTTP", "net/http/server.go", 2828, 0x1c7, "0x48ac39?, {0xb0a880, 0xc0002a2000}, 0xc0001e1400"),
		fr("net/http.serverHandler.ServeHTTP", "net/http/server.go", 3311, 0x8e, "{0xc000178f40?}, {0xb0a880?, 0xc0002a2000?}, 0x1?"),
		fr("net/http.(*conn).serve", "net/http/server.go", 2067, 0x690, "0xc00011e990, {0xb0b5a0, 0xc000226e40}"),
	}}
	// The leak: fan-out senders whose collector returned early.
	stLeak = &stack{state: "chan send", aging: true, creator: &frame{fn: "main.(*fetcher).gather", file: "bench.leakwatch.dev/svc/fetch.go", line: 39, off: 0xe5}, parentID: 7, frames: []frame{
		fr("runtime.gopark", "runtime/proc.go", 460, 0xce, ""),
		fr("runtime.chansend", "runtime/chan.go", 283, 0x3fc, ""),
		fr("runtime.chansend1", "runtime/chan.go", 161, 0x17, ""),
		fr("main.(*fetcher).gather.func1", "bench.leakwatch.dev/svc/fetch.go", 40, 0x45, "0x0?, 0x0?"),
	}}
	allStacks = []*stack{stWriter, stAccept, stConn, stWorker, stRefresh, stSignal, stLeak}
)

// Stable fake addresses: one function base per name, pc = base + offset.
func init() {
	bases := map[string]uint64{}
	next := uint64(0x401000)
	assign := func(f *frame) {
		b, ok := bases[f.fn]
		if !ok {
			b = next
			bases[f.fn] = b
			next += 0x1000
		}
		f.pc = b + uint64(f.off)
	}
	for _, s := range allStacks {
		for i := range s.frames {
			assign(&s.frames[i])
		}
		if s.creator != nil {
			assign(s.creator)
		}
	}
}

// group is a stack with the goroutines that share it.
type group struct {
	st *stack
	n  int
	// blocked minutes of each goroutine when st.aging (len n), else nil
	minutes []int
}

// writeDebug1 writes `goroutine profile: total N` with one record per stack,
// largest first, as runtime/pprof's printCountProfile does.
func writeDebug1(b *bytes.Buffer, groups []group, total int) {
	fmt.Fprintf(b, "goroutine profile: total %d\n", total)
	order := make([]group, 0, len(groups))
	for _, g := range groups {
		if g.n > 0 {
			order = append(order, g)
		}
	}
	// insertion sort: a handful of groups
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && order[j].n > order[j-1].n; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	for _, g := range order {
		fmt.Fprintf(b, "%d @", g.n)
		for i, f := range g.st.frames {
			pc := f.pc
			if i > 0 {
				pc++ // return addresses, as the runtime records them
			}
			fmt.Fprintf(b, " %#x", pc)
		}
		fmt.Fprintf(b, " %#x\n", goexit.pc)
		show := false
		for _, f := range g.st.frames {
			if !show && f.isRuntime() {
				continue
			}
			show = true
			fmt.Fprintf(b, "#\t%#x\t%s+%#x\t%s:%d\n", f.pc, f.fn, f.off, f.file, f.line)
		}
		b.WriteByte('\n')
	}
}

// writeDebug2 writes one traceback per goroutine, as the runtime's
// traceback does for `goroutine?debug=2`.
func writeDebug2(b *bytes.Buffer, groups []group) {
	id := 2 // 1 is the main goroutine
	for _, g := range groups {
		for k := 0; k < g.n; k++ {
			gid := 1
			if g.st != stAccept {
				gid = id
				id++
			}
			state := g.st.state
			if g.minutes != nil && g.minutes[k] > 0 {
				state = fmt.Sprintf("%s, %d minutes", state, g.minutes[k])
			}
			fmt.Fprintf(b, "goroutine %d [%s]:\n", gid, state)
			for _, f := range g.st.frames {
				// The default traceback hides runtime frames.
				if f.isRuntime() {
					continue
				}
				fmt.Fprintf(b, "%s(%s)\n\t%s:%d +%#x\n", f.fn, f.args, f.file, f.line, f.off+1)
			}
			if c := g.st.creator; c != nil {
				fmt.Fprintf(b, "created by %s in goroutine %d\n\t%s:%d +%#x\n", c.fn, g.st.parentID, c.file, c.line, c.off)
			}
			b.WriteByte('\n')
		}
	}
}
