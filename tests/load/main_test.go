// Package load_test runs a bounded load test against a gateway started in-process: mixed
// validation, registration and governance traffic over loopback gRPC and HTTP for
// SCHEMAGATE_LOAD_DURATION (default 60s, 5s with -short), checking that no request fails, that
// the heap stops growing after a warm-up, and that shutdown leaves no goroutine behind.
package load_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when any goroutine outlives the tests: a gateway loop, server,
// client connection or HTTP keep-alive that shutdown did not stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
