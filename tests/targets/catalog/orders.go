package main

import (
	"context"
	"database/sql"
	"fmt"

	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"
)

// orderHistory answers "what was this customer's last order" from SQLite.
type orderHistory struct {
	db *sql.DB
	// ctx is the service's lifetime context: queries are cancelled on
	// shutdown only.
	ctx  context.Context
	stop context.CancelFunc
}

func startOrderHistory(opts *options) (service, error) {
	// A shared-cache in-memory database: every pooled connection sees the
	// same tables and nothing is left on disk.
	db, err := sql.Open("sqlite", "file:orders?mode=memory&cache=shared")
	if err != nil {
		return nil, err
	}
	// Each unclosed Rows pins one connection; cap the pool like a service
	// would so the process stays bounded.
	db.SetMaxOpenConns(opts.maxConns)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS orders (
		id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total_cents INTEGER NOT NULL)`); err != nil {
		return nil, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	for i := 1; i <= 2000; i++ {
		if _, err := tx.ExecContext(ctx, "INSERT INTO orders (customer, total_cents) VALUES (?, ?)",
			fmt.Sprintf("cust-%d", i%200), 100+i*7%9000); err != nil {
			_ = tx.Rollback()
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	life, stop := context.WithCancel(context.Background())
	return &orderHistory{db: db, ctx: life, stop: stop}, nil
}

func (h *orderHistory) handle(seq uint64) {
	_, _ = h.lastOrderTotal(fmt.Sprintf("cust-%d", seq%200))
}

func (h *orderHistory) lastOrderTotal(customer string) (int64, error) {
	rows, err := h.db.QueryContext(h.ctx,
		"SELECT id, total_cents FROM orders WHERE customer = ? ORDER BY id DESC LIMIT 20", customer)
	if err != nil {
		return 0, err
	}
	// Only the newest row is read and rows is never closed, so the
	// connection and database/sql's watcher goroutine stay behind.
	if !rows.Next() {
		return 0, rows.Err()
	}
	var id, total int64
	if err := rows.Scan(&id, &total); err != nil {
		return 0, err
	}
	return total, nil
}
