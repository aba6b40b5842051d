// pods.go — what each synthetic pod reports: a goroutine count that is flat
// with noise (most pods) or grows at a fixed rate (the leaking few), split
// into the stacks of stacks.go, and the /metrics page around it.
//
// Pods are read from a file of lines "IP MODE [RATE]" (MODE flat or grow,
// RATE leaked goroutines per minute, default 10); '#' starts a comment.
//
// Not for: modelling bursts, restarts or anything the controller benchmark
// does not need.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

type pod struct {
	ip    netip.Addr
	grow  bool
	rate  float64 // leaked goroutines per minute when grow
	base  int     // worker-pool goroutines when flat
	conns int     // idle keep-alive connections
	start time.Time
}

func readPods(path string, start time.Time) ([]*pod, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var pods []*pod
	seen := map[netip.Addr]bool{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fs := strings.Fields(line)
		if len(fs) == 0 {
			continue
		}
		where := fmt.Sprintf("%s:%d", path, n)
		if len(fs) > 3 {
			return nil, fmt.Errorf("%s: want \"IP MODE [RATE]\", got %d fields", where, len(fs))
		}
		ip, err := netip.ParseAddr(fs[0])
		if err != nil || !ip.Is4() || !ip.IsLoopback() {
			return nil, fmt.Errorf("%s: %q is not a loopback IPv4 address", where, fs[0])
		}
		if seen[ip] {
			return nil, fmt.Errorf("%s: %s listed twice", where, ip)
		}
		seen[ip] = true
		p := &pod{ip: ip, rate: 10, start: start}
		mode := "flat"
		if len(fs) > 1 {
			mode = fs[1]
		}
		switch mode {
		case "flat":
		case "grow":
			p.grow = true
		default:
			return nil, fmt.Errorf("%s: mode %q is not flat or grow", where, mode)
		}
		if len(fs) > 2 {
			r, err := strconv.ParseFloat(fs[2], 64)
			if err != nil || r <= 0 || r > 1e5 {
				return nil, fmt.Errorf("%s: rate %q is not a number in (0, 100000]", where, fs[2])
			}
			p.rate = r
		}
		// Per-pod sizes from the address, so a run is reproducible.
		h := fnv.New32a()
		h.Write(ip.AsSlice())
		v := h.Sum32()
		p.base = 20 + int(v%100)
		p.conns = 1 + int(v>>8%4)
		pods = append(pods, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(pods) == 0 {
		return nil, fmt.Errorf("%s: no pods listed", path)
	}
	return pods, nil
}

// Noise on a flat pod's worker pool: requests come and go.
const noise = 3

// groups is the pod's goroutines at time now.
func (p *pod) groups(now time.Time, rng *rand.Rand) ([]group, int) {
	workers := p.base + rng.IntN(2*noise+1) - noise
	gs := []group{
		{st: stWriter, n: 1},
		{st: stAccept, n: 1},
		{st: stConn, n: p.conns},
		{st: stWorker, n: workers},
		{st: stRefresh, n: 1},
		{st: stSignal, n: 1},
	}
	up := now.Sub(p.start).Minutes()
	gs[3].minutes = make([]int, workers)
	for i := range gs[3].minutes {
		gs[3].minutes[i] = int(up * float64(i%3) / 3)
	}
	if p.grow {
		leaked := int(p.rate * up)
		g := group{st: stLeak, n: leaked, minutes: make([]int, leaked)}
		for i := range g.minutes {
			// goroutine i leaked i/rate minutes after start
			g.minutes[i] = int(up - float64(i)/p.rate)
		}
		gs = append(gs, g)
	}
	total := 0
	for _, g := range gs {
		total += g.n
	}
	return gs, total
}

// writeMetrics writes the page client_golang's default registry serves
// (Go and process collectors), with this pod's goroutine count.
func writeMetrics(b *bytes.Buffer, goroutines int, up time.Duration) {
	b.WriteString(`# HELP go_gc_duration_seconds A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.6761e-05
go_gc_duration_seconds{quantile="0.25"} 3.8392e-05
go_gc_duration_seconds{quantile="0.5"} 4.5671e-05
go_gc_duration_seconds{quantile="0.75"} 6.0101e-05
go_gc_duration_seconds{quantile="1"} 0.000512913
go_gc_duration_seconds_sum 0.014822781
go_gc_duration_seconds_count 271
# HELP go_gc_gogc_percent Heap size target percentage configured by the user, otherwise 100. This value is set by the GOGC environment variable, and the runtime/debug.SetGCPercent function. Sourced from /gc/gogc:percent.
# TYPE go_gc_gogc_percent gauge
go_gc_gogc_percent 100
# HELP go_gc_gomemlimit_bytes Go runtime memory limit configured by the user, otherwise math.MaxInt64. This value is set by the GOMEMLIMIT environment variable, and the runtime/debug.SetMemoryLimit function. Sourced from /gc/gomemlimit:bytes.
# TYPE go_gc_gomemlimit_bytes gauge
go_gc_gomemlimit_bytes 9.223372036854776e+18
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
`)
	fmt.Fprintf(b, "go_goroutines %d\n", goroutines)
	b.WriteString(`# HELP go_info Information about the Go environment.
# TYPE go_info gauge
go_info{version="go1.26.8"} 1
# HELP go_memstats_alloc_bytes Number of bytes allocated in heap and currently in use. Equals to /memory/classes/heap/objects:bytes.
# TYPE go_memstats_alloc_bytes gauge
go_memstats_alloc_bytes 4.218672e+06
# HELP go_memstats_alloc_bytes_total Total number of bytes allocated in heap until now, even if released already. Equals to /gc/heap/allocs:bytes.
# TYPE go_memstats_alloc_bytes_total counter
go_memstats_alloc_bytes_total 1.138826552e+09
# HELP go_memstats_buck_hash_sys_bytes Number of bytes used by the profiling bucket hash table. Equals to /memory/classes/profiling/buckets:bytes.
# TYPE go_memstats_buck_hash_sys_bytes gauge
go_memstats_buck_hash_sys_bytes 1.509446e+06
# HELP go_memstats_frees_total Total number of heap objects frees. Equals to /gc/heap/frees:objects + /gc/heap/tiny/allocs:objects.
# TYPE go_memstats_frees_total counter
go_memstats_frees_total 1.0296141e+07
# HELP go_memstats_gc_sys_bytes Number of bytes used for garbage collection system metadata. Equals to /memory/classes/metadata/other:bytes.
# TYPE go_memstats_gc_sys_bytes gauge
go_memstats_gc_sys_bytes 3.466528e+06
# HELP go_memstats_heap_alloc_bytes Number of heap bytes allocated and currently in use, same as go_memstats_alloc_bytes. Equals to /memory/classes/heap/objects:bytes.
# TYPE go_memstats_heap_alloc_bytes gauge
go_memstats_heap_alloc_bytes 4.218672e+06
# HELP go_memstats_heap_idle_bytes Number of heap bytes waiting to be used. Equals to /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.
# TYPE go_memstats_heap_idle_bytes gauge
go_memstats_heap_idle_bytes 7.0656e+06
# HELP go_memstats_heap_inuse_bytes Number of heap bytes that are in use. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 6.225920e+06
# HELP go_memstats_heap_objects Number of currently allocated objects. Equals to /gc/heap/objects:objects.
# TYPE go_memstats_heap_objects gauge
go_memstats_heap_objects 20873
# HELP go_memstats_heap_released_bytes Number of heap bytes released to OS. Equals to /memory/classes/heap/released:bytes.
# TYPE go_memstats_heap_released_bytes gauge
go_memstats_heap_released_bytes 4.93568e+06
# HELP go_memstats_heap_sys_bytes Number of heap bytes obtained from system. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes + /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.
# TYPE go_memstats_heap_sys_bytes gauge
go_memstats_heap_sys_bytes 1.329152e+07
# HELP go_memstats_last_gc_time_seconds Number of seconds since 1970 of last garbage collection.
# TYPE go_memstats_last_gc_time_seconds gauge
go_memstats_last_gc_time_seconds 1.7954083e+09
# HELP go_memstats_mallocs_total Total number of heap objects allocated, both live and gc-ed. Semantically a counter version for go_memstats_frees_total.
# TYPE go_memstats_mallocs_total counter
go_memstats_mallocs_total 1.0317014e+07
# HELP go_memstats_mcache_inuse_bytes Number of bytes in use by mcache structures. Equals to /memory/classes/metadata/mcache/inuse:bytes.
# TYPE go_memstats_mcache_inuse_bytes gauge
go_memstats_mcache_inuse_bytes 2416
# HELP go_memstats_mspan_inuse_bytes Number of bytes in use by mspan structures. Equals to /memory/classes/metadata/mspan/inuse:bytes.
# TYPE go_memstats_mspan_inuse_bytes gauge
go_memstats_mspan_inuse_bytes 118400
# HELP go_memstats_next_gc_bytes Number of heap bytes when next garbage collection will take place. Equals to /gc/heap/goal:bytes.
# TYPE go_memstats_next_gc_bytes gauge
go_memstats_next_gc_bytes 8.388608e+06
# HELP go_memstats_stack_inuse_bytes Number of bytes obtained from system for stack allocator in non-CGO environments. Equals to /memory/classes/heap/stacks:bytes.
# TYPE go_memstats_stack_inuse_bytes gauge
go_memstats_stack_inuse_bytes 786432
# HELP go_memstats_sys_bytes Number of bytes obtained from system. Equals to /memory/classes/total:byte.
# TYPE go_memstats_sys_bytes gauge
go_memstats_sys_bytes 2.2895624e+07
# HELP go_sched_gomaxprocs_threads The current runtime.GOMAXPROCS setting, or the number of operating system threads that can execute user-level Go code simultaneously. Sourced from /sched/gomaxprocs:threads.
# TYPE go_sched_gomaxprocs_threads gauge
go_sched_gomaxprocs_threads 2
# HELP go_threads Number of OS threads created.
# TYPE go_threads gauge
go_threads 9
# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
`)
	fmt.Fprintf(b, "process_cpu_seconds_total %.2f\n", up.Seconds()*0.002)
	b.WriteString(`# HELP process_max_fds Maximum number of open file descriptors.
# TYPE process_max_fds gauge
process_max_fds 1.048576e+06
# HELP process_open_fds Number of open file descriptors.
# TYPE process_open_fds gauge
process_open_fds 12
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 2.4670208e+07
# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1.79540757e+09
# HELP process_virtual_memory_bytes Virtual memory size in bytes.
# TYPE process_virtual_memory_bytes gauge
process_virtual_memory_bytes 1.269071872e+09
# HELP promhttp_metric_handler_requests_in_flight Current number of scrapes being served.
# TYPE promhttp_metric_handler_requests_in_flight gauge
promhttp_metric_handler_requests_in_flight 1
# HELP promhttp_metric_handler_requests_total Total number of scrapes by HTTP status code.
# TYPE promhttp_metric_handler_requests_total counter
promhttp_metric_handler_requests_total{code="200"} 1042
promhttp_metric_handler_requests_total{code="500"} 0
promhttp_metric_handler_requests_total{code="503"} 0
`)
}
