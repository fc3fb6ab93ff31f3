package governance

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAuditPagesBoundedInBytes fills logs with entries of several sizes (large ones as a log
// written before text was bounded would hold) and pages through them: every page stays within
// its byte bound unless it holds a single entry, stops only where the next entry would pass the
// bound or at the count limit, and the pages together are the whole log in order.
func TestAuditPagesBoundedInBytes(t *testing.T) {
	tests := []struct {
		name        string
		entries     int
		reasonBytes int
		filter      AuditFilter
		wantPages   int
	}{
		{"64 KiB reasons, default bound", 40, 64 << 10, AuditFilter{Limit: MaxAuditListLimit}, 3},
		{"64 KiB reasons, newest first", 40, 64 << 10, AuditFilter{Limit: MaxAuditListLimit, NewestFirst: true}, 3},
		{"small entries, small bound", 30, 100, AuditFilter{Limit: MaxAuditListLimit, MaxBytes: 5000}, 5},
		{"small entries, count first", 30, 100, AuditFilter{Limit: 7}, 5},
		{"entries over the bound, one per page", 2, 3 << 19, AuditFilter{}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openDB(t)
			a := newAudit(t, db, nil, newClock(t0))
			ctx := t.Context()
			reason := strings.Repeat("r", tt.reasonBytes)
			for range tt.entries {
				if _, err := a.Append(ctx, Entry{Actor: "a", Action: ActionOwnerSet, Subject: "s", Reason: reason}); err != nil {
					t.Fatal(err)
				}
			}
			bound := tt.filter.maxBytes()
			var got []int64
			pages := 0
			for f := tt.filter; ; {
				p, err := a.Page(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				size := 0
				for _, e := range p.Entries {
					size += e.EncodedSize()
					got = append(got, e.Seq)
				}
				if size > bound && len(p.Entries) > 1 {
					t.Errorf("page %d holds %d entries of %d bytes; the bound is %d", pages, len(p.Entries), size, bound)
				}
				if p.Next == 0 {
					break
				}
				if pages > tt.entries+1 {
					t.Fatal("paging does not end")
				}
				f = f.Continue(p.Next)
			}
			want := make([]int64, tt.entries)
			for i := range want {
				want[i] = int64(i + 1)
				if tt.filter.NewestFirst {
					want[i] = int64(tt.entries - i)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("entries over all pages (-want +got):\n%s", diff)
			}
			if pages != tt.wantPages {
				t.Errorf("%d pages; want %d", pages, tt.wantPages)
			}
		})
	}
}
