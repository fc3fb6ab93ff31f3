package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/governance"
	"github.com/schemagate/schemagate/tests/harness"
)

// TestAuditListPagesThroughEverything: `audit list` prints every entry of a log longer than
// one page of the server, newest first; --oldest-first, --after and --limit select from it.
func TestAuditListPagesThroughEverything(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	// Each registration appends one audit entry: s-i-value's is entry i+1.
	const n = governance.MaxAuditListLimit + 5
	for i := range n {
		if code, body := postJSON(t, fmt.Sprintf("%s/subjects/s-%d-value/versions", s.URL(), i), mustJSON(map[string]string{"schema": `"string"`})); code != 200 {
			t.Fatalf("register %d: %d %s", i, code, body)
		}
	}
	seqs := func(from, to int64) []int64 { // from..to, either way
		var out []int64
		for i := from; ; {
			out = append(out, i)
			if i == to {
				return out
			}
			if from < to {
				i++
			} else {
				i--
			}
		}
	}
	for _, tt := range []struct {
		name string
		args []string
		want []int64
	}{
		{"everything, newest first", nil, seqs(n, 1)},
		{"everything, oldest first", []string{"--oldest-first"}, seqs(1, n)},
		{"limit", []string{"--limit", "3"}, seqs(n, n-2)},
		{"limit over a page", []string{"--limit", "1002", "--oldest-first"}, seqs(1, 1002)},
		{"after", []string{"--after", "1000", "--oldest-first"}, seqs(1001, n)},
		{"after, newest first, limit", []string{"--after", "1000", "--limit", "2"}, seqs(n, n-1)},
		{"subject", []string{"--subject", "s-7-value"}, []int64{8}},
		{"nothing", []string{"--subject", "none-value"}, []int64{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, exit := harness.Run(t, nil, append([]string{"audit", "list", "--server", s.GRPCAddr}, tt.args...)...)
			if exit != 0 {
				t.Fatalf("exit %d, stderr %q", exit, errOut)
			}
			if diff := cmp.Diff(tt.want, auditSequences(t, out)); diff != "" {
				t.Errorf("sequences (-want +got):\n%s", diff)
			}
		})
	}
}

// auditSequences reads the SEQ column of `audit list`'s table.
func auditSequences(t *testing.T, out string) []int64 {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "SEQ") {
		t.Fatalf("no header: %q", out)
	}
	got := []int64{}
	for _, l := range lines[1:] {
		seq, err := strconv.ParseInt(strings.Fields(l)[0], 10, 64)
		if err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		got = append(got, seq)
	}
	return got
}

// TestTextOutputEscapesControlCharacters: a payload key, an audit reason and a subject name
// holding an escape sequence, a newline and a carriage return reach the terminal escaped, on
// one row each, in validate's findings, the drift report, audit list and an error message;
// -o json keeps them exact.
func TestTextOutputEscapesControlCharacters(t *testing.T) {
	s := serverInMode(t, "strict")
	const hostile = "x\x1b[2J\nSEQ FORGED\rrow"
	payload := filepath.Join(t.TempDir(), "hostile.json")
	if err := os.WriteFile(payload, []byte(mustJSON(map[string]any{"name": "ada", "age": 36, hostile: 1})), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) (string, string, int) {
		t.Helper()
		return harness.Run(t, nil, append(args, "--server", s.GRPCAddr)...)
	}
	out, errOut, exit := cli("validate", "users-value", "--file", payload)
	if exit != exitRejected {
		t.Fatalf("validate: exit %d, stdout %q, stderr %q; want 2 (rejected)", exit, out, errOut)
	}
	checkEscaped(t, "validate", out, 3) // outcome, header, the unknown field
	if out, errOut, exit = cli("drift", "report", "users-value"); exit != 0 {
		t.Fatalf("drift report: exit %d, stderr %q", exit, errOut)
	}
	checkEscaped(t, "drift report", out, 2)
	if out, errOut, exit = cli("governance", "rollback", "users-value", "--reason", hostile, "--incident", "INC-1"); exit != 0 {
		t.Fatalf("rollback: exit %d, stdout %q, stderr %q", exit, out, errOut)
	}
	if out, errOut, exit = cli("audit", "list", "--action", "mode.rolled_back"); exit != 0 {
		t.Fatalf("audit list: exit %d, stderr %q", exit, errOut)
	}
	checkEscaped(t, "audit list", out, 2)
	if out, errOut, exit = cli("audit", "list", "--action", "mode.rolled_back", "-o", "json"); exit != 0 ||
		!strings.Contains(out, `x\u001b[2J\nSEQ FORGED\rrow`) {
		t.Errorf("audit list -o json: exit %d, stdout %q, stderr %q; want the reason as exact JSON", exit, out, errOut)
	}
	if out, errOut, exit = cli("validate", hostile, "--file", payload); exit != exitError {
		t.Fatalf("validate against an unknown subject: exit %d, stdout %q, stderr %q; want 3", exit, out, errOut)
	}
	checkEscaped(t, "an error", errOut, 1)
}

// checkEscaped checks that out holds lines lines, no escape or carriage return, and the
// hostile text escaped.
func checkEscaped(t *testing.T, what, out string, lines int) {
	t.Helper()
	if strings.ContainsAny(out, "\x1b\r") || strings.Count(out, "\n") != lines || !strings.Contains(out, `x\x1b[2J\nSEQ FORGED\rrow`) {
		t.Errorf("%s printed %q; want %d lines with the text escaped", what, out, lines)
	}
}
