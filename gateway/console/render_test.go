package console

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFormatSeconds: durations read in the largest units that keep short windows visible.
func TestFormatSeconds(t *testing.T) {
	for _, tc := range []struct {
		seconds int64
		want    string
	}{
		{0, "0s"},
		{3, "3s"},
		{59, "59s"},
		{60, "1m00s"},
		{3599, "59m59s"},
		{3600, "1h00m"},
		{48 * 3600, "48h00m"},
		{47*3600 + 59*60 + 59, "47h59m"},
	} {
		if diff := cmp.Diff(tc.want, formatSeconds(tc.seconds)); diff != "" {
			t.Errorf("formatSeconds(%d) (-want +got):\n%s", tc.seconds, diff)
		}
	}
}
