package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/store/storetest"
)

// feedRecord is a store.FeedObserver that keeps what it is told.
type feedRecord struct {
	mu        sync.Mutex
	delivered []delivered
	listening []bool
}

// delivered is one Delivered call: the topic and whether the lag was known.
type delivered struct {
	Topic string
	Timed bool
}

func (r *feedRecord) Delivered(topic string, lag time.Duration, known bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delivered = append(r.delivered, delivered{topic, known && lag >= 0})
}

func (r *feedRecord) Resynced(string) {}

func (r *feedRecord) Listening(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listening = append(r.listening, on)
}

func (r *feedRecord) snapshot() ([]delivered, []bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivered(nil), r.delivered...), append([]bool(nil), r.listening...)
}

// TestFeedTimesWhatCarriesATime: a change another process published is delivered with its lag
// known; one written the way a schemagate from before migration 0014 writes it (no
// published_us; on PostgreSQL a NOTIFY whose origin has no "@time") is delivered all the same,
// untimed. The observer hears whether the feed listens (PostgreSQL) or polls (SQLite).
func TestFeedTimesWhatCarriesATime(t *testing.T) {
	ctx := t.Context()
	url := storetest.URL(t)
	open := func() *store.DB {
		db, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	db, other := open(), open()
	rec := &feedRecord{}
	feed, err := store.NewFeed(ctx, db, url, store.FeedOptions{PollInterval: 10 * time.Millisecond, ResyncInterval: time.Hour, Observer: rec})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); feed.Run(runCtx) }()
	defer func() { stop(); <-done }()
	postgres := db.Dialect() == store.Postgres
	waitUntil(t, "the feed runs", func() bool { _, l := rec.snapshot(); return len(l) > 0 })

	// The old way: a row without published_us, and on PostgreSQL its NOTIFY "seq origin topic key".
	old := `INSERT INTO change_feed (topic, key, origin) VALUES ('old.topic', 'k', 'a-process-from-before')`
	if postgres {
		old = `WITH c AS (` + old + ` RETURNING seq)
			SELECT pg_notify('schemagate_changes', c.seq::text || ' a-process-from-before old.topic k') FROM c`
	}
	if _, err := other.SQL().ExecContext(ctx, old); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the old change is delivered", func() bool { d, _ := rec.snapshot(); return len(d) == 1 })
	// The way of today, from another process's feed.
	otherFeed, err := store.NewFeed(ctx, other, url, store.FeedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := other.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := otherFeed.Publish(ctx, tx, "new.topic", "k"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the new change is delivered", func() bool { d, _ := rec.snapshot(); return len(d) == 2 })

	got, listening := rec.snapshot()
	if diff := cmp.Diff([]delivered{{"old.topic", false}, {"new.topic", true}}, got); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	if want := []bool{postgres}; !cmp.Equal(want, listening[:1]) {
		t.Errorf("first Listening = %v; want %v (listens on PostgreSQL, polls on SQLite)", listening[:1], want)
	}
}

// waitUntil polls cond every 10 ms until it holds; the 30 s deadline is a safety net for a
// loaded machine, not a measurement.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
	}
}
