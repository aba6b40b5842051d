package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// backendAddrs is where the child backend listens.
type backendAddrs struct {
	grpc string // catalog.PriceFeed and catalog.Inventory
	http string // /item, /slow
}

func (b *backendAddrs) url(path string) string { return "http://" + b.http + path }

// startBackend runs this binary again with -backend and reads the addresses
// it prints. The child's stdin is a pipe nobody writes to: when this process
// exits, for whatever reason, the pipe closes and the child exits too.
func startBackend() (*backendAddrs, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-backend")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// Keep the write end open for our whole life; never written to.
	keepBackendPipe = stdin
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("reading backend address: %w", err)
	}
	var a backendAddrs
	if _, err := fmt.Sscanf(strings.TrimSpace(line), "backend grpc=%s http=%s", &a.grpc, &a.http); err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("backend said %q: %w", line, err)
	}
	go func() { _ = cmd.Wait() }()
	return &a, nil
}

// keepBackendPipe holds the child's stdin open for the life of the process.
var keepBackendPipe io.WriteCloser

// runBackend is the child: a gRPC price feed and inventory service and a
// small HTTP catalogue, both on loopback, until the parent goes away.
func runBackend() {
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	fatalIf(err, "backend grpc listen")
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	fatalIf(err, "backend http listen")

	srv := grpc.NewServer()
	srv.RegisterService(&priceFeedDesc, &priceFeed{})
	srv.RegisterService(&inventoryDesc, &inventory{})
	go func() { _ = srv.Serve(gl) }()

	mux := http.NewServeMux()
	mux.HandleFunc("/item", serveItem)
	mux.HandleFunc("/slow", serveSlowReport)
	// No idle timeout: keep-alive connections stay until the client drops
	// them, as behind most internal load balancers.
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(hl) }()

	fmt.Printf("backend grpc=%s http=%s\n", gl.Addr(), hl.Addr())
	select {}
}

func serveItem(w http.ResponseWriter, r *http.Request) {
	if ms, _ := strconv.Atoi(r.URL.Query().Get("delay_ms")); ms > 0 && ms <= 10000 {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"sku\":%q,\"stock\":%d}\n", r.URL.Query().Get("sku"), rand.Intn(100))
}

func serveSlowReport(w http.ResponseWriter, r *http.Request) {
	ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
	if ms < 0 || ms > 10000 {
		ms = 1000
	}
	select {
	case <-time.After(time.Duration(ms) * time.Millisecond):
	case <-r.Context().Done():
		return
	}
	w.Header().Set("Content-Type", "text/csv")
	for i := 0; i < 20; i++ {
		fmt.Fprintf(w, "%d,%d\n", i, rand.Intn(1000))
	}
}

// --- gRPC services, described by hand (no generated code needed) ---------

// priceFeed streams prices. Follow streams until the client goes away;
// History sends a fixed number of ticks spread over the requested duration
// and ends the stream.
type priceFeed struct{}

type priceFeedServer interface{}

var priceFeedDesc = grpc.ServiceDesc{
	ServiceName: "catalog.PriceFeed",
	HandlerType: (*priceFeedServer)(nil),
	Streams: []grpc.StreamDesc{
		{StreamName: "Follow", Handler: followHandler, ServerStreams: true},
		{StreamName: "History", Handler: historyHandler, ServerStreams: true},
	},
	Metadata: "catalog/pricefeed.proto",
}

var (
	followMethod  = &grpc.StreamDesc{StreamName: "Follow", ServerStreams: true}
	historyMethod = &grpc.StreamDesc{StreamName: "History", ServerStreams: true}
)

func followHandler(_ any, stream grpc.ServerStream) error {
	var sym wrapperspb.StringValue
	if err := stream.RecvMsg(&sym); err != nil {
		return err
	}
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		if err := stream.SendMsg(wrapperspb.Double(100 + rand.Float64())); err != nil {
			return err
		}
		select {
		case <-stream.Context().Done():
			return nil
		case <-t.C:
		}
	}
}

func historyHandler(_ any, stream grpc.ServerStream) error {
	var span wrapperspb.Int64Value
	if err := stream.RecvMsg(&span); err != nil {
		return err
	}
	const ticks = 5
	step := time.Duration(span.Value) * time.Millisecond / ticks
	for i := 0; i < ticks; i++ {
		time.Sleep(step)
		if err := stream.SendMsg(wrapperspb.Double(100 + rand.Float64())); err != nil {
			return err
		}
	}
	return nil
}

// inventory answers Reserve with the units left.
type inventory struct{}

type inventoryServer interface{}

var inventoryDesc = grpc.ServiceDesc{
	ServiceName: "catalog.Inventory",
	HandlerType: (*inventoryServer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Reserve",
		Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var sku wrapperspb.StringValue
			if err := dec(&sku); err != nil {
				return nil, err
			}
			if sku.Value == "" {
				return nil, errors.New("empty sku")
			}
			return wrapperspb.Int64(int64(rand.Intn(50))), nil
		},
	}},
	Metadata: "catalog/inventory.proto",
}
