package governance

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of the text a caller gives a governance action. Every one is checked before anything
// is read or written; a longer value is refused with ErrBadRequest naming the field and its
// limit (never the value or its size), so no request can put megabytes into the audit log, the
// governance document, the owners table or alerts.
const (
	// MaxReasonBytes bounds a reason, a comment and a justification: a few sentences.
	MaxReasonBytes = 1024
	// MaxTicketBytes bounds a ticket and an incident: an identifier, on one line.
	MaxTicketBytes = 128
	// MaxOwnerBytes bounds an owner's team and escalation entry, each on one line.
	MaxOwnerBytes = 256
)

// textField is one caller-given value with its name and bound, for checkFields.
type textField struct {
	name, value string
	max         int
	// oneLine refuses control characters (newlines included): identifiers and owner entries
	// end up in tables, alert labels and metrics.
	oneLine bool
}

// checkFields refuses the first field longer than its bound, or with a control character when
// it must be one line (ErrBadRequest).
func checkFields(fields ...textField) error {
	for _, f := range fields {
		if len(f.value) > f.max {
			return fmt.Errorf("%w: %s is longer than the limit of %d bytes", ErrBadRequest, f.name, f.max)
		}
		if f.oneLine && strings.IndexFunc(f.value, unicode.IsControl) >= 0 {
			return fmt.Errorf("%w: %s must be one line without control characters", ErrBadRequest, f.name)
		}
	}
	return nil
}

// truncateBytes cuts s to at most n bytes without splitting a UTF-8 sequence (when s is valid
// UTF-8 there). The result shares s's memory.
func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// sanitizeText makes s storable as TEXT in both SQLite and PostgreSQL: valid UTF-8 without NUL
// bytes, at most n bytes. Stored strings come from clients, and one that the database refuses
// would fail every flush after it.
func sanitizeText(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return truncateBytes(s, n)
}
