package main

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// quoteWatcher prices a basket from the first tick of a live price feed,
// over one connection shared by all requests.
type quoteWatcher struct {
	conn *grpc.ClientConn
	// ctx lives as long as the service; streams opened on it are only
	// cancelled at shutdown.
	ctx  context.Context
	stop context.CancelFunc
}

func startQuoteWatcher(opts *options) (service, error) {
	conn, err := grpc.NewClient("passthrough:///"+opts.backend.grpc,
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	return &quoteWatcher{conn: conn, ctx: ctx, stop: stop}, nil
}

func (w *quoteWatcher) handle(seq uint64) {
	_, _ = w.firstPrice(fmt.Sprintf("SYM%d", seq%50))
}

func (w *quoteWatcher) firstPrice(symbol string) (float64, error) {
	stream, err := w.conn.NewStream(w.ctx, followMethod, "/catalog.PriceFeed/Follow")
	if err != nil {
		return 0, err
	}
	if err := stream.SendMsg(wrapperspb.String(symbol)); err != nil {
		return 0, err
	}
	if err := stream.CloseSend(); err != nil {
		return 0, err
	}
	var price wrapperspb.DoubleValue
	if err := stream.RecvMsg(&price); err != nil {
		return 0, err
	}
	// Only the first tick is wanted; the stream is left open.
	return price.Value, nil
}
