package harness

import (
	"testing"
	"time"
)

// WaitFor calls check every 50ms until it returns "" (done) or timeout passes; then it fails
// the test with what and check's last complaint. End-to-end tests wait with it for what a
// server does in the background (a poll, a flush, a verification), never for a fixed time.
func WaitFor(t testing.TB, what string, timeout time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		last := check()
		if last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s: %s", what, timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
