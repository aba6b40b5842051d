package main

// fulfilment both looks up order history (rows left open) and waits for
// replicated writes (a cond nobody signals): two unrelated bugs in one
// process, at different rates.
type fulfilment struct {
	orders  service
	journal service
}

func startTwoLeaks(opts *options) (service, error) {
	o, err := startOrderHistory(opts)
	if err != nil {
		return nil, err
	}
	j, err := startResultBuffer(opts)
	if err != nil {
		return nil, err
	}
	return &fulfilment{orders: o, journal: j}, nil
}

func (f *fulfilment) handle(seq uint64) {
	f.orders.handle(seq)
	if seq%2 == 0 {
		f.journal.handle(seq)
	}
}
