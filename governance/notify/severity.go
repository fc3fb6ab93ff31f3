package notify

import (
	"errors"
	"fmt"
	"strings"
)

// Severity says how urgent an alert is; it is the severity label of the alert.
type Severity string

// The severities.
const (
	// SeverityCritical pages on-call (SchemaDrift on a strict subject, automatic rollbacks).
	SeverityCritical Severity = "critical"
	// SeverityWarning opens a ticket (drift on a canary subject). An alert without a severity
	// is a warning.
	SeverityWarning Severity = "warning"
	// SeverityInfo informs.
	SeverityInfo Severity = "info"
)

// ErrUnknownSeverity is wrapped by [ParseSeverity] for a name that is not a severity.
var ErrUnknownSeverity = errors.New("unknown alert severity")

// ParseSeverity returns the severity named s, ignoring case and surrounding space.
func ParseSeverity(s string) (Severity, error) {
	switch v := Severity(strings.ToLower(strings.TrimSpace(s))); v {
	case SeverityCritical, SeverityWarning, SeverityInfo:
		return v, nil
	}
	return "", fmt.Errorf("%w %q: want critical, warning or info", ErrUnknownSeverity, s)
}

// atLeast reports whether s is as severe as min or more: critical > warning > info ("" is
// warning).
func (s Severity) atLeast(min Severity) bool { return s.rank() >= min.rank() }

func (s Severity) rank() int {
	switch s {
	case SeverityCritical:
		return 2
	case SeverityInfo:
		return 0
	default:
		return 1
	}
}

// String returns the severity's name.
func (s Severity) String() string { return string(s) }

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s), nil }

// UnmarshalText implements encoding.TextUnmarshaler with [ParseSeverity], so a severity read
// from configuration is checked where it is decoded.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
