package governance

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTextBounds sends every caller-given text field of the governance actions one byte over its
// bound (and the one-line fields a control character): each is ErrBadRequest with a message
// naming the field and its limit, never the value's size, and nothing is audited. Values at the
// bound pass the check.
func TestTextBounds(t *testing.T) {
	tg := newTestGate(t)
	ctx := t.Context()
	lead := Actor{Name: "lead", Role: "governance-lead"}
	const subject = "orders-value"
	over := func(n int) string { return strings.Repeat("x", n+1) }
	tests := []struct {
		name, want string
		call       func() error
	}{
		{"request ticket", "ticket is longer than the limit of 128 bytes", func() error {
			_, err := tg.Request(ctx, lead, subject, over(MaxTicketBytes), "r")
			return err
		}},
		{"request reason", "reason is longer than the limit of 1024 bytes", func() error {
			_, err := tg.Request(ctx, lead, subject, "CHG-1", over(MaxReasonBytes))
			return err
		}},
		{"approve comment", "comment is longer than the limit of 1024 bytes", func() error {
			_, _, err := tg.Approve(ctx, lead, "p-1", over(MaxReasonBytes))
			return err
		}},
		{"reject reason", "reason is longer than the limit of 1024 bytes", func() error {
			_, _, err := tg.Reject(ctx, lead, "p-1", over(MaxReasonBytes))
			return err
		}},
		{"rollback reason", "reason is longer than the limit of 1024 bytes", func() error {
			_, _, err := tg.Rollback(ctx, lead, subject, over(MaxReasonBytes), "INC-1")
			return err
		}},
		{"rollback incident", "incident is longer than the limit of 128 bytes", func() error {
			_, _, err := tg.Rollback(ctx, lead, subject, "r", over(MaxTicketBytes))
			return err
		}},
		{"rollback incident on two lines", "incident must be one line", func() error {
			_, _, err := tg.Rollback(ctx, lead, subject, "r", "INC-1\nINC-2")
			return err
		}},
		{"override ticket", "ticket is longer than the limit of 128 bytes", func() error {
			_, _, err := tg.Override(ctx, lead, subject, ModeStrict, over(MaxTicketBytes), "j")
			return err
		}},
		{"override justification", "justification is longer than the limit of 1024 bytes", func() error {
			_, _, err := tg.Override(ctx, lead, subject, ModeStrict, "CHG-1", over(MaxReasonBytes))
			return err
		}},
		{"owner team", "team is longer than the limit of 256 bytes", func() error {
			_, err := tg.SetOwner(ctx, lead, Owner{Subject: subject, Team: over(MaxOwnerBytes)})
			return err
		}},
		{"owner escalation", "escalation is longer than the limit of 256 bytes", func() error {
			_, err := tg.SetOwner(ctx, lead, Owner{Subject: subject, Team: "t", Escalation: over(MaxOwnerBytes)})
			return err
		}},
		{"owner team with a control character", "team must be one line", func() error {
			_, err := tg.SetOwner(ctx, lead, Owner{Subject: subject, Team: "a\x1b[31mb"})
			return err
		}},
		{"owner escalation on two lines", "escalation must be one line", func() error {
			_, err := tg.SetOwner(ctx, lead, Owner{Subject: subject, Team: "t", Escalation: "page\nthem"})
			return err
		}},
	}
	before := auditCount(t, tg)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v; want ErrBadRequest saying %q", err, tt.want)
			}
			for _, n := range []int{MaxTicketBytes + 1, MaxReasonBytes + 1, MaxOwnerBytes + 1} {
				if strings.Contains(err.Error(), strconv.Itoa(n)) {
					t.Errorf("%v: the message tells the value's size %d", err, n)
				}
			}
		})
	}
	if diff := cmp.Diff(before, auditCount(t, tg)); diff != "" {
		t.Errorf("refused actions were audited (-before +after):\n%s", diff)
	}

	// At the bound: accepted.
	long := Owner{Subject: subject, Team: strings.Repeat("t", MaxOwnerBytes), Escalation: strings.Repeat("e", MaxOwnerBytes)}
	if _, err := tg.SetOwner(ctx, lead, long); err != nil {
		t.Fatalf("owner at the bound: %v", err)
	}
	owners, err := tg.Owners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Owner{long}, owners); diff != "" {
		t.Errorf("owners (-want +got):\n%s", diff)
	}
	// The owner series carries the subject and the bounded team, never the escalation text.
	families, err := tg.gatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var labels [][]string
	for _, f := range families {
		if f.GetName() != "schemagate_subject_owner_info" {
			continue
		}
		for _, m := range f.GetMetric() {
			var l []string
			for _, p := range m.GetLabel() {
				l = append(l, p.GetName()+"="+p.GetValue())
			}
			labels = append(labels, l)
		}
	}
	if diff := cmp.Diff([][]string{{"subject=" + subject, "team=" + long.Team}}, labels); diff != "" {
		t.Errorf("schemagate_subject_owner_info labels (-want +got):\n%s", diff)
	}
}

// auditCount is the number of audit entries by action.
func auditCount(t *testing.T, tg *testGate) map[string]int64 {
	t.Helper()
	n, err := tg.audit.CountByAction(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
