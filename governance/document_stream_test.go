package governance

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStreamDocumentPagesThroughTheLog stores the full story in a real audit log, with large
// registry entries between its steps so the log spans several byte-bounded pages, and checks
// that the document streamed page by page is byte for byte the one rendered from every entry,
// for an empty log too; a failing writer's error is returned.
func TestStreamDocumentPagesThroughTheLog(t *testing.T) {
	bulky := strings.Repeat("d", 256<<10) // a registry entry as big as details ever get, and more
	tests := []struct {
		name    string
		entries []Entry
		bulk    int // large registry entries added after each entry
	}{
		{"empty log", nil, 0},
		{"full story", fullStory(), 0},
		{"full story over many pages", fullStory(), 2},
		{"hostile strings", hostile(), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openDB(t)
			a := newAudit(t, db, nil, newClock(t0))
			ctx := t.Context()
			for _, e := range tt.entries {
				e.Seq, e.PrevHash, e.Hash = 0, "", ""
				if _, err := a.Append(ctx, e); err != nil {
					t.Fatal(err)
				}
				for range tt.bulk {
					if _, err := a.Append(ctx, Entry{Time: e.Time, Actor: "ci", Action: ActionSchemaRegistered, Subject: "bulk-value",
						Details: map[string]string{"note": bulky}}); err != nil {
						t.Fatal(err)
					}
				}
			}
			all, err := a.All(ctx)
			if err != nil {
				t.Fatal(err)
			}
			opts := DocumentOptions{TicketURL: docTicketURL, Generated: docT0}
			var streamed bytes.Buffer
			if err := StreamDocument(ctx, &streamed, a, opts); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(RenderDocument(all, opts)), streamed.String()); diff != "" {
				t.Errorf("streamed document differs from the rendered one (-rendered +streamed):\n%s", diff)
			}
			failed := errors.New("disk full")
			if err := StreamDocument(ctx, failingWriter{failed}, a, opts); !errors.Is(err, failed) {
				t.Errorf("StreamDocument to a failing writer = %v; want %v", err, failed)
			}
		})
	}
}

// failingWriter fails every write with err.
type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }
