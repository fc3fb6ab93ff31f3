package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// Defaults of FeedOptions.
const (
	// DefaultPollInterval is FeedOptions.PollInterval's default.
	DefaultPollInterval = 200 * time.Millisecond
	// DefaultResyncInterval is FeedOptions.ResyncInterval's default.
	DefaultResyncInterval = time.Minute
)

const (
	// notifyChannel is the PostgreSQL channel the feed sends on and listens to.
	notifyChannel = "schemagate_changes"
	// reconnectDelay is how long a replica whose listening connection is down polls before it
	// tries to connect again.
	reconnectDelay = time.Second
	// pgLookback is how far behind the highest seq seen a poll on PostgreSQL reads again:
	// identity values are taken before commit, so a transaction may commit a seq lower than
	// one already seen. (SQLite writers run one at a time: seq follows commit order there.)
	pgLookback = 1000
	// keepRows is how many rows behind the newest the pruning keeps.
	keepRows = 10000
)

// FeedOptions configures a Feed. All fields are optional.
type FeedOptions struct {
	// Logger receives connection losses and poll failures. Nil: discarded.
	Logger *slog.Logger
	// PollInterval is how often the change table is read: always on SQLite, and on PostgreSQL
	// while the listening connection is down. Default 200ms.
	PollInterval time.Duration
	// ResyncInterval is how often subscribers get a Resync notice even when nothing seems to
	// have changed: the safety net for writers that do not publish (an offline tool). Default
	// one minute.
	ResyncInterval time.Duration
	// Observer is told what the feed does, for metrics. Nil: nobody is.
	Observer FeedObserver
}

// FeedObserver is told what a Feed does; the gateway turns it into metrics. Its methods are
// called from Run's goroutine and must not block.
type FeedObserver interface {
	// Delivered: subscribers have handled the notice of another process's change on topic.
	// lag is the time from its publication (on the publisher's clock) to now; known is false
	// for a change published without a time (before migration 0014, or by an older process).
	Delivered(topic string, lag time.Duration, known bool)
	// Resynced: subscribers were sent a Resync; reason is ResyncInterval or ResyncReconnect.
	Resynced(reason string)
	// Listening: true once the feed listens for notifications (PostgreSQL), false while it
	// polls the change table instead (always on SQLite).
	Listening(listening bool)
}

// The reasons of a resync (FeedObserver.Resynced).
const (
	// ResyncInterval is the periodic resync, every FeedOptions.ResyncInterval.
	ResyncInterval = "interval"
	// ResyncReconnect is the resync after the listening connection is back: notices sent
	// while it was down may have been missed.
	ResyncReconnect = "reconnect"
)

// noObserver is the FeedObserver of a feed without one.
type noObserver struct{}

func (noObserver) Delivered(string, time.Duration, bool) {}
func (noObserver) Resynced(string)                       {}
func (noObserver) Listening(bool)                        {}

// Notice tells a subscriber what changed on another process sharing the database: Topic and
// Key as published, or Resync, which asks it to reload everything it holds (the feed may have
// missed changes: a reconnection, or the periodic safety net).
type Notice struct {
	Topic, Key string
	Resync     bool
}

// Feed carries change notices between the processes (replicas) sharing one database. A writer
// calls Publish in the transaction of its change; every other process's subscribers get a
// Notice after the commit.
//
// On PostgreSQL, Publish also sends NOTIFY (delivered on commit) and Run keeps one dedicated
// connection LISTENing, outside the pool; when it is lost, Run polls the change table every
// PollInterval, reconnects every second, and sends subscribers a Resync once it listens
// again. On SQLite (replicas on one host share the file) Run polls the change table every
// PollInterval: an indexed read of the rows after the last one seen.
//
// Notices of this process's own writes are not delivered: a writer updates its own state
// before its call returns.
type Feed struct {
	db     *DB
	url    string
	origin string
	log    *slog.Logger
	poll   time.Duration
	resync time.Duration
	obs    FeedObserver

	mu   sync.Mutex
	subs []func(ctx context.Context, n Notice)

	// Run's state: the highest seq seen and the seqs seen within the lookback window.
	last int64
	seen map[int64]bool
}

// NewFeed returns the feed of db, which was opened from rawURL (the PostgreSQL listener
// connects with it). It reads where the change table ends, so a change committed after
// NewFeed returns is delivered by Run even if Run starts later: load what subscribers hold
// after NewFeed, not before.
func NewFeed(ctx context.Context, db *DB, rawURL string, opts FeedOptions) (*Feed, error) {
	if db == nil {
		return nil, errors.New("store: NewFeed: db is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.ResyncInterval <= 0 {
		opts.ResyncInterval = DefaultResyncInterval
	}
	if opts.Observer == nil {
		opts.Observer = noObserver{}
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	f := &Feed{db: db, url: rawURL, origin: hex.EncodeToString(b[:]), log: opts.Logger,
		poll: opts.PollInterval, resync: opts.ResyncInterval, obs: opts.Observer, seen: map[int64]bool{}}
	last, err := f.maxSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: change feed: %w", err)
	}
	f.last = last
	return f, nil
}

// Subscribe registers fn to receive every notice, in the order published; notices are
// delivered one at a time, from Run's goroutine.
func (f *Feed) Subscribe(fn func(ctx context.Context, n Notice)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = append(f.subs, fn)
}

// Publish records, in tx, that topic/key changed; other processes are told once tx commits
// (and never if it rolls back). topic must not contain spaces.
//
// The row records when it was published (published_us, this process's clock), for the
// receivers' delivery lag. On PostgreSQL the row and its NOTIFY (payload "seq origin@us topic
// key", us the publication time) are one statement, one round trip inside the writer's
// transaction. The time rides on the origin because a process from before it compares the
// origin only with its own, which it never equals, and takes the key as the rest of the text.
func (f *Feed) Publish(ctx context.Context, tx *sql.Tx, topic, key string) error {
	var err error
	now := time.Now().UnixMicro()
	if f.db.dialect == Postgres {
		_, err = tx.ExecContext(ctx, `WITH c AS (INSERT INTO change_feed (topic, key, origin, published_us) VALUES ($1, $2, $3, $4) RETURNING seq)
			SELECT pg_notify($5, c.seq::text || ' ' || $6::text || ' ' || $1 || ' ' || $2) FROM c`,
			topic, key, f.origin, now, notifyChannel, f.origin+"@"+strconv.FormatInt(now, 10))
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO change_feed (topic, key, origin, published_us) VALUES (?, ?, ?, ?)`, topic, key, f.origin, now)
	}
	if err != nil {
		return fmt.Errorf("store: publish change: %w", err)
	}
	return nil
}

// Run delivers notices until ctx is done.
func (f *Feed) Run(ctx context.Context) {
	if f.db.dialect == Postgres {
		f.runListen(ctx)
		return
	}
	f.obs.Listening(false)
	f.pollUntil(ctx, time.Time{})
}

// pollUntil polls every PollInterval until ctx is done or, when until is not zero, until then.
// It sends a Resync every ResyncInterval and prunes the table then.
func (f *Feed) pollUntil(ctx context.Context, until time.Time) {
	poll := time.NewTicker(f.poll)
	defer poll.Stop()
	resync := time.NewTicker(f.resync)
	defer resync.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-resync.C:
			f.resyncAll(ctx, ResyncInterval)
		case <-poll.C:
			if err := f.pollOnce(ctx); err != nil && ctx.Err() == nil {
				f.log.Warn("change feed: poll failed", "error", err)
			}
		}
		if !until.IsZero() && time.Now().After(until) {
			return
		}
	}
}

// runListen listens on PostgreSQL, polling while it cannot.
func (f *Feed) runListen(ctx context.Context) {
	lost := false
	for ctx.Err() == nil {
		conn, err := f.listen(ctx)
		if err != nil {
			if ctx.Err() == nil {
				f.log.Warn("change feed: cannot listen, polling instead", "error", err, "retry_in", reconnectDelay)
			}
			lost = true
			f.obs.Listening(false)
			f.pollUntil(ctx, time.Now().Add(reconnectDelay))
			continue
		}
		if lost {
			f.log.Info("change feed: listening again; resyncing")
			f.resyncAll(ctx, ResyncReconnect)
		}
		f.obs.Listening(true)
		// Changes committed before LISTEN took effect are in the table.
		if err := f.pollOnce(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("change feed: catch-up poll failed", "error", err)
		}
		err = f.receive(ctx, conn)
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = conn.Close(closeCtx)
		cancel()
		if ctx.Err() == nil {
			f.log.Warn("change feed: listening connection lost, polling until it is back", "error", err)
			lost = true
			f.obs.Listening(false)
		}
	}
}

// listen opens the dedicated connection and LISTENs on it.
func (f *Feed) listen(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(f.url)
	if err != nil {
		return nil, errors.New("parse storage URL (not shown)")
	}
	// A wait that times out only sets the socket deadline: no cancel request to the server.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	connectCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(connectCtx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(connectCtx, "LISTEN "+notifyChannel); err != nil {
		_ = conn.Close(ctx)
		return nil, err
	}
	return conn, nil
}

// receive delivers notifications from conn until it fails or ctx is done; a ResyncInterval
// without any sends a Resync.
func (f *Feed) receive(ctx context.Context, conn *pgx.Conn) error {
	resyncAt := time.Now().Add(f.resync)
	for {
		waitCtx, cancel := context.WithDeadline(ctx, resyncAt)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && pgconn.Timeout(err) && !conn.IsClosed():
			f.resyncAll(ctx, ResyncInterval)
			resyncAt = time.Now().Add(f.resync)
			continue
		case err != nil:
			return err
		}
		seqText, rest, _ := strings.Cut(n.Payload, " ")
		origin, rest, _ := strings.Cut(rest, " ")
		topic, key, _ := strings.Cut(rest, " ")
		seq, err := strconv.ParseInt(seqText, 10, 64)
		if err != nil {
			f.log.Warn("change feed: malformed notification ignored", "payload", n.Payload)
			continue
		}
		// "origin@us" since published_us; a process from before sends the origin alone.
		origin, usText, _ := strings.Cut(origin, "@")
		published, _ := strconv.ParseInt(usText, 10, 64)
		f.deliver(ctx, change{seq: seq, origin: origin, topic: topic, key: key, publishedUS: published})
	}
}

// pollOnce reads the change table after the last seq seen (less the lookback on PostgreSQL)
// and delivers what it had not seen.
func (f *Feed) pollOnce(ctx context.Context) error {
	from := f.last
	if f.db.dialect == Postgres {
		from = max(0, f.last-pgLookback)
	}
	rows, err := f.db.sql.QueryContext(ctx, f.db.dialect.Rebind(
		`SELECT seq, origin, topic, key, published_us FROM change_feed WHERE seq > ? ORDER BY seq`), from)
	if err != nil {
		return err
	}
	var got []change
	for rows.Next() {
		var c change
		var published sql.NullInt64
		if err := rows.Scan(&c.seq, &c.origin, &c.topic, &c.key, &published); err != nil {
			_ = rows.Close()
			return err
		}
		c.publishedUS = published.Int64
		got = append(got, c)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range got {
		f.deliver(ctx, c)
	}
	return nil
}

// change is one row of the change table, or one notification.
type change struct {
	seq                int64
	origin, topic, key string
	publishedUS        int64 // microseconds since the Unix epoch; 0: not recorded
}

// deliver hands one change to the subscribers, once, unless this process wrote it, and tells
// the observer how long after its publication the subscribers had handled it.
func (f *Feed) deliver(ctx context.Context, c change) {
	if f.seen[c.seq] || c.seq <= f.last-pgLookback {
		return
	}
	f.seen[c.seq] = true
	if c.seq > f.last {
		f.last = c.seq
		for s := range f.seen {
			if s <= f.last-pgLookback {
				delete(f.seen, s)
			}
		}
	}
	if c.origin == f.origin {
		return
	}
	f.send(ctx, Notice{Topic: c.topic, Key: c.key})
	var lag time.Duration
	if c.publishedUS > 0 {
		lag = max(0, time.Since(time.UnixMicro(c.publishedUS))) // clocks of two hosts may disagree
	}
	f.obs.Delivered(c.topic, lag, c.publishedUS > 0)
}

// resyncAll sends a Resync, for reason (ResyncInterval, ResyncReconnect), and prunes old rows
// of the change table.
func (f *Feed) resyncAll(ctx context.Context, reason string) {
	if last, err := f.maxSeq(ctx); err == nil && last > f.last {
		f.last = last
	}
	f.send(ctx, Notice{Resync: true})
	f.obs.Resynced(reason)
	if f.last > keepRows {
		if _, err := f.db.sql.ExecContext(ctx, f.db.dialect.Rebind(
			`DELETE FROM change_feed WHERE seq < ?`), f.last-keepRows); err != nil && ctx.Err() == nil {
			f.log.Warn("change feed: pruning failed", "error", err)
		}
	}
}

func (f *Feed) send(ctx context.Context, n Notice) {
	f.mu.Lock()
	subs := f.subs
	f.mu.Unlock()
	for _, fn := range subs {
		fn(ctx, n)
	}
}

// maxSeq is the highest seq in the change table (0 when empty).
func (f *Feed) maxSeq(ctx context.Context) (int64, error) {
	var last sql.NullInt64
	err := f.db.sql.QueryRowContext(ctx, `SELECT MAX(seq) FROM change_feed`).Scan(&last)
	return last.Int64, err
}
