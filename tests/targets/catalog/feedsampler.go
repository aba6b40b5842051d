package main

import (
	"context"
	"errors"
	"io"
	"math/rand"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// feedSampler (a healthy control) reads short price histories in bursts
// over one shared connection; every stream is read to io.EOF.
type feedSampler struct {
	conn *grpc.ClientConn
}

func startFeedSampler(opts *options) (service, error) {
	conn, err := grpc.NewClient("passthrough:///"+opts.backend.grpc,
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	s := &feedSampler{conn: conn}
	go s.bursts(opts.maxConns)
	return s, nil
}

func (s *feedSampler) handle(uint64) {
	_, _ = s.sample(500 + rand.Intn(5500))
}

func (s *feedSampler) bursts(max int) {
	for {
		time.Sleep(time.Duration(4000+rand.Intn(5000)) * time.Millisecond)
		n := 20 + rand.Intn(40)
		if n > max {
			n = max
		}
		for i := 0; i < n; i++ {
			go s.handle(0)
		}
	}
}

func (s *feedSampler) sample(spanMS int) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	stream, err := s.conn.NewStream(ctx, historyMethod, "/catalog.PriceFeed/History")
	if err != nil {
		return 0, err
	}
	if err := stream.SendMsg(wrapperspb.Int64(int64(spanMS))); err != nil {
		return 0, err
	}
	if err := stream.CloseSend(); err != nil {
		return 0, err
	}
	var sum float64
	for {
		var p wrapperspb.DoubleValue
		err := stream.RecvMsg(&p)
		if errors.Is(err, io.EOF) {
			return sum, nil
		}
		if err != nil {
			return 0, err
		}
		sum += p.Value
	}
}
