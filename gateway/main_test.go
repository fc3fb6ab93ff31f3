package gateway

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/schemagate/schemagate/store/storetest"
)

// TestMain fails the package when a goroutine is still running after every test has finished:
// a gateway that does not stop its background loops, its servers or its clients on shutdown.
// The pool that makes PostgreSQL test databases (under make unit-postgres) is closed first: it
// lives as long as the test process by design.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := storetest.CloseAdmin(); err != nil {
		fmt.Fprintln(os.Stderr, "storetest:", err)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak: goroutines left running after the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}
