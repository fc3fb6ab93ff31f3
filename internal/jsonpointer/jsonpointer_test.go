package jsonpointer_test

import (
	"fmt"
	"testing"

	"github.com/schemagate/schemagate/internal/jsonpointer"
)

// The tokens of RFC 6901 section 5 and the corner cases of "~".
var tokenCases = []struct{ token, escaped string }{
	{"", ""},
	{"foo", "foo"},
	{"0", "0"},
	{"a/b", "a~1b"},
	{"m~n", "m~0n"},
	{"~1", "~01"},
	{"/~", "~1~0"},
	{"~", "~0"},
	{"/", "~1"},
	{"//", "~1~1"},
	{" ", " "},
	{`c%d`, `c%d`},
	{`k"l`, `k"l`},
	{"ünï/cødé", "ünï~1cødé"},
}

func TestEscapeUnescape(t *testing.T) {
	for _, tc := range tokenCases {
		if got := jsonpointer.Escape(tc.token); got != tc.escaped {
			t.Errorf("Escape(%q) = %q, want %q", tc.token, got, tc.escaped)
		}
		if got := jsonpointer.Unescape(tc.escaped); got != tc.token {
			t.Errorf("Unescape(%q) = %q, want %q", tc.escaped, got, tc.token)
		}
	}
}

// TestUnescapeLeavesStrayTildes: a "~" not followed by "0" or "1" is not an escape; it is kept.
func TestUnescapeLeavesStrayTildes(t *testing.T) {
	for in, want := range map[string]string{
		"~":     "~",
		"a~":    "a~",
		"~2":    "~2",
		"~~01":  "~~1",
		"~~10":  "~/0",
		"~0~1~": "~/~",
	} {
		if got := jsonpointer.Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAppendAndFromTokens(t *testing.T) {
	for _, tc := range []struct {
		tokens []string
		want   string
	}{
		{nil, ""},
		{[]string{}, ""},
		{[]string{""}, "/"},
		{[]string{"a", ""}, "/a/"},
		{[]string{"foo", "0"}, "/foo/0"},
		{[]string{"a/b", "m~n", "x"}, "/a~1b/m~0n/x"},
	} {
		if got := jsonpointer.FromTokens(tc.tokens); got != tc.want {
			t.Errorf("FromTokens(%q) = %q, want %q", tc.tokens, got, tc.want)
		}
		p := ""
		for _, tok := range tc.tokens {
			p = jsonpointer.Append(p, tok)
		}
		if p != tc.want {
			t.Errorf("Append over %q = %q, want %q", tc.tokens, p, tc.want)
		}
	}
}

func TestNoAllocationWithoutSpecialCharacters(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() {
		_ = jsonpointer.Escape("plain")
		_ = jsonpointer.Unescape("plain/slash")
	}); n != 0 {
		t.Errorf("Escape and Unescape of tokens without escapes allocate %v times, want 0", n)
	}
}

// FuzzEscape checks that Unescape undoes Escape and that an escaped token holds no "/".
func FuzzEscape(f *testing.F) {
	for _, tc := range tokenCases {
		f.Add(tc.token)
	}
	f.Fuzz(func(t *testing.T, token string) {
		e := jsonpointer.Escape(token)
		if got := jsonpointer.Unescape(e); got != token {
			t.Errorf("Unescape(Escape(%q)) = %q", token, got)
		}
		for i := range len(e) {
			if e[i] == '/' {
				t.Fatalf("Escape(%q) = %q holds a %q", token, e, "/")
			}
		}
	})
}

func ExampleAppend() {
	p := jsonpointer.Append("/definitions", "a/b")
	fmt.Println(p)
	fmt.Println(jsonpointer.Append(p, "m~n"))
	// Output:
	// /definitions/a~1b
	// /definitions/a~1b/m~0n
}

func ExampleFromTokens() {
	fmt.Printf("%q\n", jsonpointer.FromTokens(nil))
	fmt.Println(jsonpointer.FromTokens([]string{"items", "0", "a/b"}))
	// Output:
	// ""
	// /items/0/a~1b
}
