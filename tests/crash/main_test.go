// Package crash_test kills a real `schemagate serve` process with SIGKILL while concurrent
// clients register schemas, take governance actions and validate payloads, restarts it on the
// same store, and checks that everything the clients were told had happened is still there and
// that nothing is half-written: registry rows, schema IDs, the audit chain, promotions, modes
// and evidence. It runs on SQLite by default and on PostgreSQL under scripts/with-postgres.sh
// (store/storetest picks the backend).
//
//	SCHEMAGATE_CRASH_ROUNDS=N   kill and restart N times (default 5); more for a soak
//	SCHEMAGATE_CRASH_SEED=S     replay the kill points and client choices of a logged seed
//
// A seed replays when each round's kill comes and what each client chooses to do; it cannot
// replay how the clients' requests interleave in the server, so a failure found with a seed is
// likely, not certain, to come back with it (run a few rounds more).
package crash_test

import (
	"os"
	"testing"

	"github.com/schemagate/schemagate/tests/harness"
)

// TestMain builds the schemagate binary once for the tests of this package.
func TestMain(m *testing.M) { os.Exit(harness.RunWithBinary(m)) }
