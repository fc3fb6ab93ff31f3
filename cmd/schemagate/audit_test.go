package main

import (
	"fmt"
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
