package compatbudget

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMeter(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		limit     int64
		spends    []int
		wantOK    []bool
		wantUsed  int64
		wantErrIs error
	}{
		{"within the budget", context.Background(), 10, []int{3, 3, 4}, []bool{true, true, true}, 10, nil},
		{"over the budget stops for good", context.Background(), 10, []int{6, 6, 1}, []bool{true, false, false}, 10, ErrExceeded},
		{"a cancelled context is noticed at the next 1,024 units", cancelled, 1 << 20, []int{1000, 1000, 1}, []bool{true, false, false}, 2000, context.Canceled},
		{"zero limit is the default", context.Background(), 0, []int{DefaultUnits, 1}, []bool{true, false}, DefaultUnits, ErrExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(tt.ctx, tt.limit)
			var ok []bool
			for _, n := range tt.spends {
				ok = append(ok, m.Spend(n))
			}
			if diff := cmp.Diff(tt.wantOK, ok); diff != "" {
				t.Errorf("Spend results (-want +got):\n%s", diff)
			}
			if m.Used() != tt.wantUsed {
				t.Errorf("Used = %d; want %d", m.Used(), tt.wantUsed)
			}
			if err := m.Err(); (tt.wantErrIs == nil) != (err == nil) || (err != nil && !errors.Is(err, tt.wantErrIs)) {
				t.Errorf("Err = %v; want %v", err, tt.wantErrIs)
			}
		})
	}
	var none *Meter
	if !none.Spend(1<<30) || none.Err() != nil || none.Used() != 0 {
		t.Error("a nil Meter must allow everything")
	}
}
