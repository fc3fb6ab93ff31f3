package governance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestStoreErrClassifies: a database failure becomes ErrStore keeping its cause (context
// errors stay recognisable for the edge); a governance error from inside a transaction passes
// through as it is.
func TestStoreErrClassifies(t *testing.T) {
	if storeErr("x", nil) != nil {
		t.Error("storeErr(nil) is not nil")
	}
	cause := errors.New("disk I/O error")
	err := storeErr("flushing evidence", cause)
	if !errors.Is(err, ErrStore) || !errors.Is(err, cause) || err.Error() != "governance: storage failure while flushing evidence: disk I/O error" {
		t.Errorf("storeErr(cause) = %v; want ErrStore wrapping the cause", err)
	}
	if err := storeErr("x", fmt.Errorf("read: %w", context.Canceled)); !errors.Is(err, ErrStore) || !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled query: %v; want ErrStore and context.Canceled", err)
	}
	for _, domain := range domainErrors {
		in := fmt.Errorf("%w: details", domain)
		if got := storeErr("x", in); got != in {
			t.Errorf("storeErr(%v) = %v; want it unchanged", in, got)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"bucket under a second", func(c *Config) { c.EvidenceBucket = 500e6 }, "governance.evidence_bucket 500ms"},
		{"bucket not whole seconds", func(c *Config) { c.EvidenceBucket = 1500e6 }, "governance.evidence_bucket 1.5s"},
		{"no flush interval", func(c *Config) { c.EvidenceFlushInterval = 0 }, "governance.evidence_flush_interval must be positive"},
		{"no samples", func(c *Config) { c.EvidenceMaxSamples = 0 }, "governance.evidence_max_samples"},
		{"negative traffic", func(c *Config) { c.MinValidations = -1 }, "governance.min_validations not negative"},
		{"ratio above 1", func(c *Config) { c.AutoRollbackRatio = 1.5 }, "governance.auto_rollback_ratio 1.5"},
		{"no principals", func(c *Config) { c.MinPrincipals = 0 }, "governance.min_principals 0: must be at least 1"},
		{"replica timeout within two flushes", func(c *Config) { c.ReplicaTimeout = 9 * time.Second },
			"governance.replica_timeout 9s: must be at least twice governance.evidence_flush_interval (5s)"},
		{"bad ticket pattern", func(c *Config) { c.TicketPattern = "([" }, "governance.ticket_pattern"},
		{"no audit verify interval", func(c *Config) { c.AuditVerifyInterval = 0 }, "governance.audit_verify_interval must be positive"},
		{"negative audit verify interval", func(c *Config) { c.AuditVerifyInterval = -time.Minute }, "governance.audit_verify_interval must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			if (tt.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate = %v; want error containing %q", err, tt.wantErr)
			}
		})
	}
}
