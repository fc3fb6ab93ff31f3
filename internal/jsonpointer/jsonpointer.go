// Package jsonpointer builds and reads JSON pointers (RFC 6901), the paths findings and
// compatibility reports carry. It is a leaf: it imports nothing of schemagate's.
package jsonpointer

import "strings"

// Escape returns token escaped for use as one reference token of a pointer: "~" becomes "~0"
// and "/" becomes "~1". A token with neither is returned as it is, without allocating.
func Escape(token string) string {
	if !strings.ContainsAny(token, "~/") {
		return token
	}
	return strings.ReplaceAll(strings.ReplaceAll(token, "~", "~0"), "/", "~1")
}

// Unescape reverses Escape: "~1" becomes "/" and then "~0" becomes "~", so "~01" is "~1". Any
// other "~" is left as it is. A token without "~" is returned as it is, without allocating.
func Unescape(token string) string {
	if !strings.Contains(token, "~") {
		return token
	}
	return strings.ReplaceAll(strings.ReplaceAll(token, "~1", "/"), "~0", "~")
}

// Append returns pointer extended by one unescaped reference token.
func Append(pointer, token string) string {
	return pointer + "/" + Escape(token)
}

// FromTokens returns the pointer made of unescaped reference tokens: "" (the whole document)
// for none.
func FromTokens(tokens []string) string {
	if len(tokens) == 0 {
		return ""
	}
	var sb strings.Builder
	for _, t := range tokens {
		sb.WriteByte('/')
		sb.WriteString(Escape(t))
	}
	return sb.String()
}
