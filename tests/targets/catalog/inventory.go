package main

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// grpcConnGoroutines is how many goroutines one connected, abandoned
// ClientConn keeps alive with the pinned grpc-go (three callback
// serializers, the transport reader and the loopy writer). Bounds
// -max-leak only.
const grpcConnGoroutines = 5

// checkoutService reserves stock with the inventory service before taking
// an order.
type checkoutService struct {
	inventoryAddr string
}

func startInventory(opts *options) (service, error) {
	return &checkoutService{inventoryAddr: opts.backend.grpc}, nil
}

func (c *checkoutService) handle(seq uint64) {
	_, _ = c.reserve(fmt.Sprintf("sku-%d", seq%97))
}

func (c *checkoutService) reserve(sku string) (int64, error) {
	conn, err := grpc.NewClient("passthrough:///"+c.inventoryAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, err
	}
	// The ClientConn is never closed: every call strands its transport.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var left wrapperspb.Int64Value
	if err := conn.Invoke(ctx, "/catalog.Inventory/Reserve", wrapperspb.String(sku), &left); err != nil {
		return 0, err
	}
	return left.Value, nil
}
