package governance

import (
	"strings"
	"unicode/utf8"
)

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
