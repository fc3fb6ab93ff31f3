package governance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// updateDocumentGoldens is -update: rewrite the golden files instead of comparing with them. The
// flag is looked up first so that another test file of the package may define it too.
var updateDocumentGoldens = func() func() bool {
	if f := flag.Lookup("update"); f != nil {
		return func() bool { return f.Value.String() == "true" }
	}
	b := flag.Bool("update", false, "rewrite golden files under testdata")
	return func() bool { return *b }
}()

// docT0 is the start of the test stories.
var docT0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

const docTicketURL = "https://tracker.example/browse/{ticket}"

// docLog builds a hash-chained audit log: add numbers each entry and chains its hash.
type docLog struct{ entries []Entry }

func (l *docLog) add(at time.Duration, e Entry) {
	e.Seq = int64(len(l.entries) + 1)
	e.Time = docT0.Add(at)
	if n := len(l.entries); n > 0 {
		e.PrevHash = l.entries[n-1].Hash
	}
	// Not the store's canonical encoding, only a stable, distinct hash per entry.
	sum := sha256.Sum256(fmt.Appendf(nil, "%s|%d|%s|%s|%s|%s|%s", e.PrevHash, e.Seq, e.Time.Format(time.RFC3339Nano),
		e.Action, e.Subject, e.Actor, e.Reason))
	e.Hash = hex.EncodeToString(sum[:])
	l.entries = append(l.entries, e)
}

func docEvidence(end time.Duration, clean time.Duration, validations, violations int64) *EvidenceSnapshot {
	return &EvidenceSnapshot{
		WindowStart: docT0.Add(end - clean), WindowEnd: docT0.Add(end),
		Clean: clean, Required: 48 * time.Hour,
		Validations: validations, Violations: violations,
	}
}

// onePromotion: a request, its approval and the mode change it caused.
func onePromotion() []Entry {
	var l docLog
	ev := docEvidence(50*time.Hour, 48*time.Hour, 12345, 0)
	l.add(50*time.Hour, Entry{Actor: "alice", Role: "author", Action: ActionPromotionRequested,
		Subject: "orders-value", Ticket: "CHG-101", PromotionID: "p-1", Reason: "clean for 48h", Evidence: ev})
	l.add(52*time.Hour, Entry{Actor: "bob", Role: "governance-lead", Action: ActionPromotionApproved,
		Subject: "orders-value", Ticket: "CHG-101", PromotionID: "p-1", Evidence: ev})
	l.add(52*time.Hour, Entry{Actor: "system", Action: ActionModePromoted, Subject: "orders-value",
		Ticket: "CHG-101", PromotionID: "p-1", FromMode: "canary", ToMode: "strict"})
	return l.entries
}

// fullStory: two subjects through rejection, approval, rollback, override and a pending request,
// with registry entries in between.
func fullStory() []Entry {
	var l docLog
	l.add(0, Entry{Actor: "alice", Role: "author", Action: ActionSchemaRegistered, Subject: "orders-value",
		Details: map[string]string{"schema_id": "1", "version": "1", "type": "AVRO"}})
	l.add(10*time.Minute, Entry{Actor: "alice", Role: "author", Action: ActionSchemaRegistered, Subject: "payments-value",
		Details: map[string]string{"schema_id": "2", "version": "1", "type": "PROTOBUF"}})
	l.add(31*time.Hour+20*time.Minute, Entry{Actor: "alice", Role: "author", Action: ActionPromotionRequested,
		Subject: "orders-value", Ticket: "CHG-100", PromotionID: "p-1", Reason: "no drift since launch",
		Evidence: docEvidence(31*time.Hour+20*time.Minute, 31*time.Hour+12*time.Minute, 8210, 0)})
	l.add(32*time.Hour, Entry{Actor: "bob", Role: "governance-lead", Action: ActionPromotionRejected,
		Subject: "orders-value", Ticket: "CHG-100", PromotionID: "p-1",
		Reason: "clean window is 31h12m, the rule is 48h"})
	l.add(33*time.Hour, Entry{Actor: "alice", Role: "author", Action: ActionConfigChanged, Subject: "orders-value",
		Details: map[string]string{"compatibility": "BACKWARD_TRANSITIVE"}})
	ev := docEvidence(50*time.Hour, 48*time.Hour+30*time.Minute, 1234567, 0)
	l.add(50*time.Hour, Entry{Actor: "alice", Role: "author", Action: ActionPromotionRequested,
		Subject: "orders-value", Ticket: "CHG-101", PromotionID: "p-2", Reason: "48h clean", Evidence: ev})
	l.add(51*time.Hour, Entry{Actor: "bob", Role: "governance-lead", Action: ActionPromotionApproved,
		Subject: "orders-value", Ticket: "CHG-101", PromotionID: "p-2", Reason: "checked the drift report", Evidence: ev})
	l.add(51*time.Hour, Entry{Actor: "system", Action: ActionModePromoted, Subject: "orders-value",
		Ticket: "CHG-101", PromotionID: "p-2", FromMode: "canary", ToMode: "strict"})
	l.add(60*time.Hour, Entry{Actor: "alice", Role: "author", Action: ActionSchemaRegistered, Subject: "orders-value",
		Details: map[string]string{"schema_id": "3", "version": "2", "type": "AVRO"}})
	l.add(61*time.Hour+5*time.Minute, Entry{Actor: "carol", Role: "oncall", Action: ActionModeRolledBack,
		Subject: "orders-value", Incident: "INC-7", FromMode: "strict", ToMode: "canary",
		Reason: "strict rejects payloads from the legacy producer"})
	l.add(70*time.Hour, Entry{Actor: "dave", Role: "admin", Action: ActionModeOverridden, Subject: "payments-value",
		Ticket: "CHG-200", FromMode: "canary", ToMode: "strict",
		Reason: "regulator deadline; the clean window was reset by a deploy"})
	l.add(71*time.Hour, Entry{Actor: "alice", Role: "author", Action: ActionSchemaDeleted, Subject: "users-value",
		Details: map[string]string{"version": "1", "permanent": "false"}})
	l.add(75*time.Hour, Entry{Actor: "alice", Role: "author", Action: ActionAccessModeChanged,
		Details: map[string]string{"mode": "READWRITE"}})
	l.add(112*time.Hour, Entry{Actor: "alice", Role: "author", Action: ActionPromotionRequested,
		Subject: "orders-value", Ticket: "CHG-102", PromotionID: "p-3", Reason: "legacy producer fixed in 2.3",
		Evidence: docEvidence(111*time.Hour, 49*time.Hour+55*time.Minute, 20480, 0)})
	return l.entries
}

// hostileReason would break a table, open a code span, inject a link, HTML and math, and hide
// text behind a bidirectional override if it were not escaped.
const hostileReason = "ok | injected | cell\nsecond line `code` ``` **bold** [click](https://evil.example) " +
	"<img src=x onerror=alert(1)> $x$ \\| &#124; \u202eevil"

func hostile() []Entry {
	var l docLog
	ev := docEvidence(50*time.Hour, 48*time.Hour, 1000, 0)
	l.add(50*time.Hour, Entry{Actor: "mallory|x", Role: "author", Action: ActionPromotionRequested,
		Subject: "orders|value`", Ticket: "CHG-1) [x](https://evil.example", PromotionID: "p-1",
		Reason: hostileReason, Evidence: ev})
	l.add(51*time.Hour, Entry{Actor: "bob", Role: "governance-lead", Action: ActionPromotionRejected,
		Subject: "orders|value`", Ticket: "CHG-1) [x](https://evil.example", PromotionID: "p-1", Reason: hostileReason})
	l.add(52*time.Hour, Entry{Actor: "mallory|x", Role: "author", Action: ActionPromotionRequested,
		Subject: "orders|value`", Ticket: "CHG-2\n| x |", PromotionID: "p-2", Reason: hostileReason, Evidence: ev})
	l.add(53*time.Hour, Entry{Actor: "carol", Role: "oncall", Action: ActionModeRolledBack, Subject: "orders|value`",
		Incident: "INC-1 | `x`", FromMode: "strict", ToMode: "canary", Reason: hostileReason})
	l.add(54*time.Hour, Entry{Actor: "dave", Role: "admin", Action: ActionModeOverridden, Subject: "a\nb",
		Ticket: "CHG-3", FromMode: "canary", ToMode: "strict", Reason: hostileReason})
	return l.entries
}

var docGenerated = time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC)

func TestDocumentGolden(t *testing.T) {
	tests := []struct {
		name    string
		entries []Entry
		opts    DocumentOptions
	}{
		{"empty", nil, DocumentOptions{TicketURL: docTicketURL, Generated: docGenerated}},
		{"one_promotion", onePromotion(), DocumentOptions{TicketURL: docTicketURL, Generated: docGenerated}},
		{"full_story_linked", fullStory(), DocumentOptions{TicketURL: docTicketURL, Generated: docGenerated}},
		{"full_story_plain", fullStory(), DocumentOptions{Generated: docGenerated}},
		{"hostile", hostile(), DocumentOptions{TicketURL: docTicketURL, Generated: docGenerated}},
		{"chain_broken", onePromotion(), DocumentOptions{TicketURL: docTicketURL, Generated: docGenerated, ChainBroken: &VerifyResult{
			Checked: 1, FirstBroken: 2, Problem: "entry 2: hash does not match its contents | <b>(modified?)</b>"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := RenderDocument(tc.entries, tc.opts)
			golden := filepath.Join("testdata", "document", tc.name+".md")
			if updateDocumentGoldens() {
				if err := WriteDocument(golden, got); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./governance -run Document -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("RenderDocument differs from %s (-want +got; -update rewrites it):\n%s", golden, diff)
			}
		})
	}
}

// TestDocumentSections checks facts of the full story that a reader of the golden could miss.
func TestDocumentSections(t *testing.T) {
	linked := string(RenderDocument(fullStory(), DocumentOptions{TicketURL: docTicketURL}))
	plain := string(RenderDocument(fullStory(), DocumentOptions{}))
	for _, want := range []string{
		"| orders-value | canary | 2026-03-03 22:05:00 UTC | rolled back by carol (oncall), incident INC-7 |",
		"| payments-value | strict | 2026-03-04 07:00:00 UTC | **override** by dave (admin), ticket [CHG-200](https://tracker.example/browse/CHG-200) |",
		"[CHG-102](https://tracker.example/browse/CHG-102)",
		"· orders-value · **rejected**",
		"· orders-value · approved",
	} {
		if !strings.Contains(linked, want) {
			t.Errorf("linked document lacks %q", want)
		}
	}
	if strings.Contains(linked, "users-value") {
		t.Error("a subject with only registry actions appears in the document")
	}
	if strings.Contains(plain, "](") || !strings.Contains(plain, "ticket CHG-200") {
		t.Error("without TicketURL tickets must be plain text")
	}
	if strings.Contains(linked, "](https://tracker.example/browse/INC-7)") {
		t.Error("an incident was linked as a ticket")
	}
	if pending := section(linked, "## Pending promotion requests"); !strings.Contains(pending, "CHG-102") ||
		strings.Contains(pending, "CHG-100") || strings.Contains(pending, "CHG-101") {
		t.Errorf("pending section should hold only the undecided request p-3:\n%s", pending)
	}
	// Newest first: the approval (seq 7) comes before the rejection (seq 4).
	history := section(linked, "## Promotion history")
	if a, r := strings.Index(history, "· approved"), strings.Index(history, "· **rejected**"); a < 0 || r < 0 || a > r {
		t.Errorf("promotion history is not newest first:\n%s", history)
	}
}

// section returns the text from heading to the next "## " heading.
func section(doc, heading string) string {
	_, rest, ok := strings.Cut(doc, heading+"\n")
	if !ok {
		return ""
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

func TestDocumentEscapesUserStrings(t *testing.T) {
	doc := string(RenderDocument(hostile(), DocumentOptions{TicketURL: docTicketURL}))
	// Every row of a table has as many cell separators as its header.
	var want int
	for i, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "|") {
			want = 0
			continue
		}
		n := unescapedPipes(line)
		if want == 0 {
			want = n
		} else if n != want {
			t.Errorf("line %d has %d cell separators, its table %d: %s", i+1, n, want, line)
		}
	}
	// An escaped "\](" is text; only an unescaped one would start a link.
	unlinked := strings.ReplaceAll(doc, `\](https://evil`, "")
	for _, bad := range []string{"<img", "`code`", "](https://evil", "**bold**", "\u202e", "$x$", "&#124;"} {
		if strings.Contains(unlinked, bad) {
			t.Errorf("document contains unescaped %q", bad)
		}
	}
	if !strings.Contains(doc, "(https://tracker.example/browse/CHG-1%29%20%5Bx%5D%28https%3A%2F%2Fevil.example)") {
		t.Error("the hostile ticket is not percent-encoded in its link")
	}
}

// unescapedPipes counts the "|" not preceded by an odd number of backslashes.
func unescapedPipes(line string) int {
	var n, backslashes int
	for _, c := range line {
		switch {
		case c == '\\':
			backslashes++
			continue
		case c == '|' && backslashes%2 == 0:
			n++
		}
		backslashes = 0
	}
	return n
}

func TestDocumentDeterministic(t *testing.T) {
	entries := fullStory()
	for i := range entries {
		entries[i].Details = map[string]string{}
		for k := range 64 {
			entries[i].Details[fmt.Sprintf("key-%02d", k)] = fmt.Sprint(k)
		}
	}
	before := cloneEntries(entries)
	opts := DocumentOptions{TicketURL: docTicketURL, Generated: docGenerated}
	first := RenderDocument(entries, opts)
	for range 20 {
		if got := RenderDocument(entries, opts); !bytes.Equal(got, first) {
			t.Fatalf("second render differs:\n%s", cmp.Diff(string(first), string(got)))
		}
	}
	if diff := cmp.Diff(before, entries); diff != "" {
		t.Errorf("RenderDocument modified its input (-before +after):\n%s", diff)
	}
	// Entries out of order are rendered in Seq order.
	shuffled := cloneEntries(entries)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if got := RenderDocument(shuffled, opts); !bytes.Equal(got, first) {
		t.Errorf("shuffled entries render differently:\n%s", cmp.Diff(string(first), string(got)))
	}
}

func cloneEntries(es []Entry) []Entry {
	out := make([]Entry, len(es))
	for i, e := range es {
		if e.Evidence != nil {
			ev := *e.Evidence
			e.Evidence = &ev
		}
		if e.Details != nil {
			d := make(map[string]string, len(e.Details))
			for k, v := range e.Details {
				d[k] = v
			}
			e.Details = d
		}
		out[i] = e
	}
	return out
}

func TestDocumentFormatting(t *testing.T) {
	for d, want := range map[time.Duration]string{
		48 * time.Hour:                   "48h0m",
		31*time.Hour + 12*time.Minute:    "31h12m",
		59*time.Second + 59*time.Minute:  "0h59m",
		0:                                "0h0m",
		-(90 * time.Minute):              "-1h30m",
		1000*time.Hour + 5*time.Minute:   "1000h5m",
		48*time.Hour + 30*time.Second:    "48h0m",
		3*time.Hour + 7*time.Millisecond: "3h0m",
	} {
		if got := fmtDuration(d); got != want {
			t.Errorf("fmtDuration(%v) = %q, want %q", d, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -12345: "-12,345"} {
		if got := fmtCount(n); got != want {
			t.Errorf("fmtCount(%d) = %q, want %q", n, got, want)
		}
	}
}

// docFiles lists the names in dir.
func docFiles(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestWriteDocumentCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "docs", "operations")
	path := filepath.Join(dir, "schema_registry_governance.md")
	if err := WriteDocument(path, []byte("# doc\n")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "# doc\n" {
		t.Fatalf("ReadFile = %q, %v", got, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, %v; want 0644", fi.Mode(), err)
	}
	if diff := cmp.Diff([]string{"schema_registry_governance.md"}, docFiles(t, dir)); diff != "" {
		t.Errorf("files in the directory (-want +got):\n%s", diff)
	}
}

func TestWriteDocumentReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "governance.md")
	// Large enough that a non-atomic write would be seen half done.
	oldDoc := bytes.Repeat([]byte("old document line\n"), 1<<16)
	newDoc := bytes.Repeat([]byte("the new document\n"), 1<<16)
	if err := WriteDocument(path, oldDoc); err != nil {
		t.Fatal(err)
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads, bad atomic.Int64
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				got, err := os.ReadFile(path)
				reads.Add(1)
				if err != nil || (!bytes.Equal(got, oldDoc) && !bytes.Equal(got, newDoc)) {
					if bad.Add(1) == 1 {
						t.Errorf("a reader saw neither document: %d bytes, %v", len(got), err)
					}
				}
			}
		})
	}
	for i := range 40 {
		content := newDoc
		if i%2 == 1 {
			content = oldDoc
		}
		if err := WriteDocument(path, content); err != nil {
			t.Error(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d concurrent reads", reads.Load())

	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, oldDoc) { // the 40th write (i = 39) wrote oldDoc
		t.Errorf("final content is not the last write (%d bytes, %v)", len(got), err)
	}
	if diff := cmp.Diff([]string{"governance.md"}, docFiles(t, dir)); diff != "" {
		t.Errorf("temporary files remain (-want +got):\n%s", diff)
	}
}

func TestWriteDocumentFailureKeepsOldFile(t *testing.T) {
	t.Run("target is a directory", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "governance.md")
		if err := os.MkdirAll(filepath.Join(path, "child"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := WriteDocument(path, []byte("new")); err == nil {
			t.Fatal("WriteDocument over a directory succeeded")
		}
		if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
			t.Errorf("the directory was replaced: %v", err)
		}
		if diff := cmp.Diff([]string{"governance.md"}, docFiles(t, dir)); diff != "" {
			t.Errorf("temporary files remain (-want +got):\n%s", diff)
		}
	})
	t.Run("parent is a file", func(t *testing.T) {
		parent := filepath.Join(t.TempDir(), "docs")
		if err := os.WriteFile(parent, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := WriteDocument(filepath.Join(parent, "governance.md"), []byte("new")); err == nil {
			t.Fatal("WriteDocument under a regular file succeeded")
		}
	})
	t.Run("read-only directory (needs non-root; skipped as root)", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("running as root, which can write into a read-only directory; this case needs a non-root user")
		}
		dir := t.TempDir()
		path := filepath.Join(dir, "governance.md")
		if err := WriteDocument(path, []byte("old")); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
		if err := WriteDocument(path, []byte("new")); err == nil {
			t.Fatal("WriteDocument into a read-only directory succeeded")
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != "old" {
			t.Errorf("old document = %q, %v; want it unchanged", got, err)
		}
		if diff := cmp.Diff([]string{"governance.md"}, docFiles(t, dir)); diff != "" {
			t.Errorf("temporary files remain (-want +got):\n%s", diff)
		}
	})
}

// TestStaleDocumentTempsRemoved: temp files a killed process left beside the document are
// removed when a governor starts; a fresh one (a write in progress) and other files are kept.
func TestStaleDocumentTempsRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "governance.md")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	files := map[string]time.Time{
		"governance.md":          now.Add(-time.Hour),
		".governance.md.tmp-111": now.Add(-2 * time.Minute), // left by a kill
		".governance.md.tmp-222": now.Add(-time.Second),     // being written right now
		".other.md.tmp-333":      now.Add(-time.Hour),       // not ours
		"notes.txt":              now.Add(-time.Hour),
	}
	for name, mtime := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	if err := removeStaleDocumentTemps(path, now); err != nil {
		t.Fatal(err)
	}
	want := []string{".governance.md.tmp-222", ".other.md.tmp-333", "governance.md", "notes.txt"}
	if diff := cmp.Diff(want, docFiles(t, dir)); diff != "" {
		t.Errorf("files after the clean-up (-want +got):\n%s", diff)
	}
}
