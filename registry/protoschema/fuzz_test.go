package protoschema

import (
	"context"
	"errors"
	"testing"
)

// FuzzParse feeds arbitrary text to Parse to see if it can make it panic, and checks that
// whatever parses prints to canonical and normalized text that parses again. Seeds: the
// corpus here and testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, name := range sortedKeys(corpus) {
		f.Add(corpus[name])
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Parse(context.Background(), text, nil, Limits{MaxBytes: 1 << 16, MaxDepth: 16})
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || len(pe.Problems) == 0 {
				t.Fatalf("err = %v (%T), want a *ParseError with problems", err, err)
			}
			return
		}
		for _, printed := range []string{s.Canonical(), s.Normalized()} {
			if _, err := Parse(context.Background(), printed, nil, Limits{}); err != nil {
				t.Fatalf("printed form does not parse: %v\n%s\nfrom:\n%s", err, printed, text)
			}
		}
	})
}
