package governance

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"
)

// Config is governance's part of schemagate's configuration, the section governance of the
// config file. [DefaultConfig] holds every default; [Config.Validate] checks it.
type Config struct {
	// EvidenceBucket is the width of the time buckets validation evidence is stored in, a
	// whole number of seconds. Default 5m.
	EvidenceBucket time.Duration `yaml:"evidence_bucket"`
	// EvidenceFlushInterval is how often evidence counters are written to the store (a crash
	// loses at most this much). Default 5s.
	EvidenceFlushInterval time.Duration `yaml:"evidence_flush_interval"`
	// EvidenceMaxSamples bounds the drift samples (subject, kind, path) held in memory between
	// flushes; findings beyond it are counted in schemagate_evidence_lost_total{what=
	// "drift_sample"}, never their counts. Default 1000.
	EvidenceMaxSamples int `yaml:"evidence_max_samples"`
	// EvidenceMaxHeldBuckets bounds the bucket heartbeats held in memory while the store is
	// unreachable; older ones are dropped (those buckets count as downtime) and counted in
	// schemagate_evidence_lost_total{what="heartbeat"}. Default 2016 (a week of 5m buckets).
	EvidenceMaxHeldBuckets int `yaml:"evidence_max_held_buckets"`
	// CleanWindow is the clean time a subject needs before promotion to strict. Default 48h.
	CleanWindow time.Duration `yaml:"clean_window"`
	// MinValidations is the traffic the window needs. Default 1000.
	MinValidations int64 `yaml:"min_validations"`
	// MinPrincipals is how many different principals must have sent validations in the window
	// before a subject is eligible. Default 1 (any traffic).
	MinPrincipals int `yaml:"min_principals"`
	// ReplicaTimeout is how long a replica that stopped reporting its evidence (it crashed, or
	// lost the store) still holds up approvals: until then an approval waits for it, and is
	// refused naming it; after it, the replica no longer counts. A replica that shut down
	// gracefully never holds them up. Default 2m; at least twice EvidenceFlushInterval.
	ReplicaTimeout time.Duration `yaml:"replica_timeout"`
	// RequireApproval: a governance lead approves each promotion (default true); false
	// promotes eligible subjects by themselves, still audited, citing AutoTicket.
	RequireApproval bool `yaml:"require_approval"`
	// AutoRequest opens a promotion request (actor "system") when a subject becomes eligible.
	// Default false.
	AutoRequest bool `yaml:"auto_request"`
	// AutoTicket is the ticket automatic requests and promotions cite. Default GOV-0.
	AutoTicket string `yaml:"auto_ticket"`
	// TicketPattern is the regular expression a change ticket must match. Default
	// ^[A-Z][A-Z0-9]+-[0-9]+$.
	TicketPattern string `yaml:"ticket_pattern"`
	// TicketURL links tickets in the governance document; {ticket} is replaced. Default empty.
	TicketURL string `yaml:"ticket_url"`
	// DocPath is where the governance document is written after every governance action,
	// relative to the working directory. Default docs/operations/schema_registry_governance.md;
	// empty turns it off.
	DocPath string `yaml:"doc_path"`
	// AutoRollbackRatio, above zero, demotes a strict subject to canary by itself when more
	// than this share of its validations in AutoRollbackPeriod were rejected (over at least
	// AutoRollbackMinValidations). Default 0: off.
	AutoRollbackRatio float64 `yaml:"auto_rollback_ratio"`
	// AutoRollbackPeriod is the look-back of the automatic rollback. Default 5m.
	AutoRollbackPeriod time.Duration `yaml:"auto_rollback_period"`
	// AutoRollbackMinValidations is the traffic the automatic rollback needs. Default 100.
	AutoRollbackMinValidations int64 `yaml:"auto_rollback_min_validations"`
	// AuditHMACKeyFile, when set, names a file whose contents key an HMAC-SHA-256 over the
	// audit chain, so write access to the database alone cannot forge it. The file must hold
	// at least 32 bytes (a trailing line break is not counted). Default empty: plain SHA-256.
	AuditHMACKeyFile string `yaml:"audit_hmac_key_file"`
	// AuditVerifyInterval is how often the whole audit chain is verified (it is also verified
	// at start); while the last verification found it broken, promotions are refused. Default
	// 10m.
	AuditVerifyInterval time.Duration `yaml:"audit_verify_interval"`
}

// Defaults of the automatic rollback, when it is turned on.
const (
	DefaultAutoRollbackPeriod         = 5 * time.Minute
	DefaultAutoRollbackMinValidations = 100
	// DefaultAutoTicket is the ticket automatic requests and promotions cite.
	DefaultAutoTicket = "GOV-0"
	// DefaultReplicaTimeout is governance.replica_timeout's default.
	DefaultReplicaTimeout = 2 * time.Minute
	// DefaultDocPath is where the governance document is written.
	DefaultDocPath = "docs/operations/schema_registry_governance.md"
	// DefaultAuditVerifyInterval is how often the whole audit chain is verified.
	DefaultAuditVerifyInterval = 10 * time.Minute
)

// DefaultConfig returns governance's configuration when nothing overrides it.
func DefaultConfig() Config {
	return Config{
		EvidenceBucket:             DefaultEvidenceBucket,
		EvidenceFlushInterval:      DefaultFlushInterval,
		EvidenceMaxSamples:         DefaultMaxSamples,
		EvidenceMaxHeldBuckets:     DefaultMaxHeldBuckets,
		CleanWindow:                DefaultCleanWindow,
		MinValidations:             DefaultMinValidations,
		MinPrincipals:              DefaultMinPrincipals,
		ReplicaTimeout:             DefaultReplicaTimeout,
		RequireApproval:            true,
		AutoTicket:                 DefaultAutoTicket,
		TicketPattern:              DefaultTicketPattern,
		DocPath:                    DefaultDocPath,
		AutoRollbackPeriod:         DefaultAutoRollbackPeriod,
		AutoRollbackMinValidations: DefaultAutoRollbackMinValidations,
		AuditVerifyInterval:        DefaultAuditVerifyInterval,
	}
}

// Validate reports the first setting that cannot work, naming its config key. It changes
// nothing.
func (c Config) Validate() error {
	switch {
	case c.EvidenceBucket < time.Second || c.EvidenceBucket%time.Second != 0:
		return fmt.Errorf("config: governance.evidence_bucket %s: must be a whole number of seconds, at least 1s", c.EvidenceBucket)
	case c.EvidenceFlushInterval <= 0:
		return errors.New("config: governance.evidence_flush_interval must be positive")
	case c.EvidenceMaxSamples <= 0 || c.EvidenceMaxHeldBuckets <= 0:
		return errors.New("config: governance.evidence_max_samples and evidence_max_held_buckets must be positive")
	case c.CleanWindow <= 0 || c.MinValidations < 0:
		return errors.New("config: governance.clean_window must be positive and governance.min_validations not negative")
	case c.MinPrincipals < 1:
		return fmt.Errorf("config: governance.min_principals %d: must be at least 1", c.MinPrincipals)
	case c.ReplicaTimeout < 2*c.EvidenceFlushInterval:
		return fmt.Errorf("config: governance.replica_timeout %s: must be at least twice governance.evidence_flush_interval (%s)", c.ReplicaTimeout, c.EvidenceFlushInterval)
	case c.AutoRollbackRatio < 0 || c.AutoRollbackRatio > 1:
		return fmt.Errorf("config: governance.auto_rollback_ratio %g: want 0 (off) to 1", c.AutoRollbackRatio)
	case c.AuditVerifyInterval <= 0:
		return errors.New("config: governance.audit_verify_interval must be positive")
	}
	if _, err := regexp.Compile(c.TicketPattern); err != nil {
		return fmt.Errorf("config: governance.ticket_pattern: %w", err)
	}
	return nil
}

// ReadHMACKey reads the audit HMAC key file (governance.audit_hmac_key_file; "" means no key).
// A trailing line break is not part of the key, so a file written by echo and one written by
// printf give the same key. A named file that is empty or holds fewer than 32 bytes is refused:
// it is a mistake (a truncated copy, an unset variable written out), not a secret, and a log
// keyed with it could not be verified with the intended key later. Errors name the file, never
// its contents.
func ReadHMACKey(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key = bytes.TrimRight(key, "\r\n")
	switch n := len(key); {
	case n == 0:
		return nil, fmt.Errorf("%s is empty; want a key of at least %d bytes (e.g. head -c 32 /dev/urandom | base64 > %s)", path, minHMACKeyBytes, path)
	case n < minHMACKeyBytes:
		return nil, fmt.Errorf("%s holds a %d-byte key; want at least %d bytes", path, n, minHMACKeyBytes)
	}
	return key, nil
}
