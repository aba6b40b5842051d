// Command profserver stands in for a thousand Go services in the controller
// benchmark (hack/bench/sections/controller.sh): one process answers, on
// each pod's own loopback address, what a Go service with net/http/pprof
// and client_golang answers —
//
//	/metrics                           go_goroutines N (and the usual Go and
//	                                   process collectors around it)
//	/debug/pprof/goroutine?debug=1|2   goroutine dumps in the runtime's text
//	/debug/pprof/goroutine             the protobuf profile (gzip)
//
// with N flat plus noise for most pods and growing by a chan-send leak for
// the pods marked grow, and the stacks consistent with N in every format.
// Optionally it also runs a counting proxy in front of the API server.
//
//	profserver -pods FILE [-port 6060] [-control 127.0.0.1:0] [-ready FILE]
//	           [-api-kubeconfig JSON -api-kubeconfig-out FILE [-api-watch-timeout S]]
//
// The control address serves GET /stats?from=UNIX_MS&to=UNIX_MS (JSON: the
// requests each pod received and, with the proxy, the API calls made) and
// /healthz.  -ready names a file that gets the control address once every
// listener is up.
//
// Not for: anything outside the local benchmark cluster (addresses must be
// loopback), or correctness tests of leakwatch (tests/targets runs real
// goroutines).
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("profserver: ")
	podsFile := flag.String("pods", "", "file of \"IP MODE [RATE]\" lines, one per pod (required)")
	port := flag.Int("port", 6060, "port every pod address listens on")
	control := flag.String("control", "127.0.0.1:0", "address of /stats and /healthz")
	ready := flag.String("ready", "", "file that gets the control address once everything listens")
	apiKC := flag.String("api-kubeconfig", "", "kubeconfig as JSON (kubectl config view --raw --minify --flatten -o json): run the API proxy to its server")
	apiOut := flag.String("api-kubeconfig-out", "", "where to write the kubeconfig that points at the API proxy")
	apiListen := flag.String("api-listen", "127.0.0.1:0", "address of the API proxy")
	watchCap := flag.Int("api-watch-timeout", 0, "cap every watch's timeoutSeconds at this many seconds (0: leave them)")
	flag.Parse()
	if *podsFile == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *port < 1 || *port > 65535 {
		log.Fatalf("-port %d is not a port", *port)
	}
	if (*apiKC == "") != (*apiOut == "") {
		log.Fatal("-api-kubeconfig and -api-kubeconfig-out go together")
	}
	for _, a := range []string{*control, *apiListen} {
		host, _, err := net.SplitHostPort(a)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			log.Fatalf("%q is not a loopback host:port", a)
		}
	}
	start := time.Now()
	pods, err := readPods(*podsFile, start)
	if err != nil {
		log.Fatal(err)
	}
	ps := newPodServer(pods)
	ls, err := ps.listen(*port)
	if err != nil {
		log.Fatal(err)
	}

	var ap *apiProxy
	var apiSrv *http.Server
	if *apiKC != "" {
		if *watchCap < 0 {
			log.Fatalf("-api-watch-timeout %d is negative", *watchCap)
		}
		if ap, err = newAPIProxy(*apiKC, *watchCap); err != nil {
			log.Fatal(err)
		}
		l, err := net.Listen("tcp4", *apiListen)
		if err != nil {
			log.Fatalf("listen %s: %v", *apiListen, err)
		}
		if err := ap.writeKubeconfig(*apiOut, l.Addr().String()); err != nil {
			log.Fatal(err)
		}
		apiSrv = &http.Server{Handler: ap, ReadHeaderTimeout: 30 * time.Second}
		tl := tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{ap.cert},
			NextProtos: []string{"h2", "http/1.1"}})
		go apiSrv.Serve(tl)
		log.Printf("API proxy on https://%s -> %s", l.Addr(), ap.upstream)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		from, err1 := strconv.ParseInt(q.Get("from"), 10, 64)
		to, err2 := strconv.ParseInt(q.Get("to"), 10, 64)
		if q.Get("from") == "" {
			from, err1 = 0, nil
		}
		if q.Get("to") == "" {
			to, err2 = time.Now().UnixMilli(), nil
		}
		if err := errors.Join(err1, err2); err != nil || to < from {
			http.Error(w, "from and to are unix milliseconds, from <= to", http.StatusBadRequest)
			return
		}
		out := struct {
			Window [2]int64  `json:"window_ms"`
			Pods   podStats  `json:"pods"`
			API    *apiStats `json:"api,omitempty"`
		}{Window: [2]int64{from, to}, Pods: ps.stats(from, to)}
		if ap != nil {
			s := ap.stats(from, to)
			out.API = &s
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
	cl, err := net.Listen("tcp4", *control)
	if err != nil {
		log.Fatalf("listen %s: %v", *control, err)
	}
	ctlSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go ctlSrv.Serve(cl)

	ps.serve(ls)
	grow := 0
	for _, p := range pods {
		if p.grow {
			grow++
		}
	}
	log.Printf("serving %d pods (%d growing) on port %d; control on %s", len(pods), grow, *port, cl.Addr())
	if *ready != "" {
		tmp := *ready + ".tmp"
		if err := os.WriteFile(tmp, []byte(cl.Addr().String()+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(tmp, *ready); err != nil {
			log.Fatal(err)
		}
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ps.shutdown(ctx)
	ctlSrv.Shutdown(ctx)
	if apiSrv != nil {
		// Watches never end on their own: close rather than wait.
		apiSrv.Close()
	}
}
