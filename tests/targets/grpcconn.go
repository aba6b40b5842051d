package main

import (
	"context"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// grpcLeaksPerRequest is how many goroutines one abandoned, connected
// ClientConn keeps alive with the pinned grpc-go release (client and server
// side together, both living in this process). It bounds -max-leak only.
const grpcLeaksPerRequest = 8

// healthProber checks a backend's gRPC health before doing work, dialling a
// fresh connection each time.
type healthProber struct {
	addr string
}

func startGRPCConn(config) (target, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(ln) }()
	return &healthProber{addr: ln.Addr().String()}, nil
}

func (p *healthProber) serve(uint64) {
	_ = p.probe()
}

func (p *healthProber) probe() error {
	// passthrough: the address is a literal loopback address, no resolver.
	conn, err := grpc.NewClient("passthrough:///"+p.addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithNoProxy(),
	)
	if err != nil {
		return err
	}
	// BUG (the leak being reproduced): conn.Close is never called. The RPC
	// below makes the ClientConn connect, so each call strands a live HTTP/2
	// transport (reader, loopy writer, balancer and resolver serializers)
	// plus the server's goroutines for the same connection.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}
