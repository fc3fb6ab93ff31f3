package gateway

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine is still running after every test has finished:
// a gateway that does not stop its background loops, its servers or its clients on shutdown.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
