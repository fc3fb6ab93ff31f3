package registryload

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/schemagate/schemagate/store/storetest"
	"github.com/schemagate/schemagate/tests/harness"
)

// TestMain builds the schemagate binary the tests load, and fails the package when a goroutine
// is still running after every test has finished: a run that leaves a client behind. The PostgreSQL
// admin pool of store/storetest is closed first.
func TestMain(m *testing.M) {
	code := harness.RunWithBinary(m)
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
