package gateway

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/schemagate/schemagate/governance"
	"github.com/schemagate/schemagate/store"
)

// OfflineAudit opens the store at storageURL directly (no server needed: the gateway may be
// down) for `schemagate audit verify` and `schemagate governance doc`. hmacKeyFile names the
// audit HMAC key when the chain uses one. Close the returned function when done.
func OfflineAudit(ctx context.Context, storageURL, hmacKeyFile string) (*governance.Audit, func() error, error) {
	key, err := governance.ReadHMACKey(hmacKeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("audit HMAC key: %w", err)
	}
	db, err := store.Open(ctx, storageURL)
	if err != nil {
		return nil, nil, err
	}
	a, err := governance.NewAudit(db, governance.AuditOptions{HMACKey: key})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return a, db.Close, nil
}

// WriteOfflineDocument renders the governance document from the audit log a to w. It verifies
// the chain first, as the server does, so a broken chain gets the document's banner.
func WriteOfflineDocument(ctx context.Context, w io.Writer, a *governance.Audit, ticketURL string) error {
	if _, err := a.Verify(ctx); err != nil {
		return err
	}
	return governance.StreamDocument(ctx, w, a, governance.DocumentOptions{TicketURL: ticketURL, Generated: time.Now().UTC(),
		ChainBroken: a.LastBreak()})
}
