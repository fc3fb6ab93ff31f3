package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPrintable: control characters, unprintable runes and invalid UTF-8 are escaped as Go
// escapes them; printable text, non-ASCII letters included, is left alone; printableLines
// keeps newlines and tabs.
func TestPrintable(t *testing.T) {
	for _, tt := range []struct {
		in, want, wantLines string
	}{
		{"orders-value", "orders-value", "orders-value"},
		{"Zürich Ærø 東京 ünïcode", "Zürich Ærø 東京 ünïcode", "Zürich Ærø 東京 ünïcode"},
		{`back\slash "quoted"`, `back\slash "quoted"`, `back\slash "quoted"`},
		{"\x1b[2Jclear", `\x1b[2Jclear`, `\x1b[2Jclear`},
		{"row\nFORGED\trow\r", `row\nFORGED\trow\r`, "row\nFORGED\trow\\r"},
		{"nul\x00 del\x7f c1\u0085", `nul\x00 del\x7f c1\u0085`, `nul\x00 del\x7f c1\u0085`},
		{"bidi \u202egnp.exe", `bidi \u202egnp.exe`, `bidi \u202egnp.exe`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`, `bad \xff\xfe utf8`},
		{"replacement \uFFFD stays", "replacement \uFFFD stays", "replacement \uFFFD stays"},
		{"", "", ""},
	} {
		got := []string{printable(tt.in), printableLines(tt.in)}
		if diff := cmp.Diff([]string{tt.want, tt.wantLines}, got); diff != "" {
			t.Errorf("printable, printableLines of %q (-want +got):\n%s", tt.in, diff)
		}
	}
}

// TestPrintfEscapesItsArguments: printf escapes string arguments, string types and
// Stringers, and writes its format and other arguments as they are.
func TestPrintfEscapesItsArguments(t *testing.T) {
	type name string
	var b strings.Builder
	if err := printf(&b, "%s\t%s\t%s\t%d\t%v\n", "a\x1b[2J", name("b\r"), outputFormat("c\n"), 7, true); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("a\\x1b[2J\tb\\r\tc\\n\t7\ttrue\n", b.String()); diff != "" {
		t.Errorf("printf (-want +got):\n%s", diff)
	}
}
