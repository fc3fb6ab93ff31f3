package crash_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/schemagate/schemagate/store/storetest"
)

// Environment variables of the test.
const (
	envRounds = "SCHEMAGATE_CRASH_ROUNDS"
	envSeed   = "SCHEMAGATE_CRASH_SEED"
)

// Kill points: this long after the workers start, drawn from the seeded source.
const (
	minKillDelay = 200 * time.Millisecond
	maxKillDelay = 1500 * time.Millisecond
)

// TestCrashSafety starts the gateway, runs concurrent clients (registrations over the Confluent
// API, governance actions, validations), kills the process with SIGKILL at a random point while
// requests are in flight, checks the store offline, restarts the gateway on the same store and
// checks what clients see; several rounds, then a clean stop that must keep every validation.
func TestCrashSafety(t *testing.T) {
	seed, rounds := crashSeed(t), crashRounds(t)
	t.Logf("%s store, %d rounds, seed %d (replay with %s=%d)", storetest.Backend(), rounds, seed, envSeed, seed)
	set := newSetup(t, storetest.URL(t))
	led := newLedger(t)
	kills := rand.New(rand.NewPCG(seed, 0))

	var prev *storeState
	for n := 1; n <= rounds; n++ {
		srv := startServer(t, fmt.Sprintf("round %d", n), set)
		r := &round{t: t, n: n, seed: seed, srv: srv, led: led}
		if prev == nil {
			r.registerFixedSubjects()
		} else {
			checkAPI(t, srv, prev, led)
		}
		if t.Failed() {
			t.FailNow()
		}
		led.newRound()

		ctx, stop := context.WithCancel(t.Context())
		workers := r.runWorkers(ctx)
		delay := minKillDelay + time.Duration(kills.Int64N(int64(maxKillDelay-minKillDelay)))
		time.Sleep(delay)
		inFlight := srv.inFlight.Load()
		srv.kill(t)
		stop()
		workers.Wait()

		prev = checkStore(t, set, prev, led)
		a := &led.acked
		sent, stored := led.unansweredStored(prev)
		t.Logf("round %d: SIGKILL after %v with %d requests in flight; acknowledged %d registrations, %d validations, %d governance actions, %d deletes, %d config/mode changes; %d registrations unanswered, %d of them stored; recovered %s",
			n, delay.Round(time.Millisecond), inFlight, a.registrations.Load(), a.validations.Load(), a.governance.Load(), a.deletes.Load(), a.config.Load(),
			sent, stored, prev.summary())
		if t.Failed() {
			t.FailNow()
		}
	}

	srv := startServer(t, "after the last crash", set)
	checkAPI(t, srv, prev, led)
	checkCleanStop(t, srv, set, prev, led)
}

// registerFixedSubjects registers the value subjects and the config subject before the first
// round's workers start.
func (r *round) registerFixedSubjects() {
	subjects := map[string]string{r.led.cfg.name: ladderSchema(0, "")}
	for _, s := range slices.Concat(valSubjectNames, govSubjectNames) {
		subjects[s] = valueSchema
	}
	for subject, text := range subjects {
		resp, out, err := r.register(r.t.Context(), subject, text)
		if err != nil || !resp.ok() {
			r.t.Fatalf("register %s: %s %v", subject, resp, err)
		}
		r.led.ackRegistration(subject, logicalKey(text), out.Version, out.ID, out.Schema, true)
	}
}

// checkCleanStop validates on the last server, stops it with SIGTERM and checks that its
// evidence was flushed at shutdown: every acknowledged validation is stored.
func checkCleanStop(t *testing.T, srv *server, set *setup, prev *storeState, led *ledger) {
	t.Helper()
	const subject, n = "val-0", 20
	counts := led.validationCounts(srv.replica, subject)
	for i := range n {
		led.countValidation(counts, true, false)
		resp, err := srv.do(t.Context(), http.MethodPost, "/v1/subjects/"+subject+"/validate", author,
			map[string]any{"json": map[string]any{"id": fmt.Sprintf("last-%d", i)}})
		if err != nil || resp.code != http.StatusOK {
			t.Fatalf("validate on %s: %s %v", subject, resp, err)
		}
		led.countValidation(counts, true, true)
	}
	srv.stop(t)
	st := checkStore(t, set, prev, led)
	var stored int64
	for _, r := range st.evidence {
		if r.Replica == srv.replica && r.Subject == subject {
			stored += r.Validations
		}
	}
	if stored != n {
		t.Errorf("after a clean stop %s stored %d validations of %s; it acknowledged %d", srv.replica, stored, subject, n)
	}
	t.Logf("clean stop: %d of %d validations stored; %s", stored, n, st.summary())
}

func crashSeed(t *testing.T) uint64 {
	s := os.Getenv(envSeed)
	if s == "" {
		return rand.Uint64()
	}
	seed, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: want an unsigned integer", envSeed, s)
	}
	return seed
}

func crashRounds(t *testing.T) int {
	s := os.Getenv(envRounds)
	if s == "" {
		return 5
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", envRounds, s)
	}
	return n
}
