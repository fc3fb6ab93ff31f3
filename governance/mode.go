package governance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schemagate/schemagate/store"
)

// ValidationMode is a subject's validation mode: what the gateway does with a payload that has findings.
type ValidationMode string

// The validation modes.
const (
	// ModeCanary validates, records findings and accepts the payload.
	ModeCanary ValidationMode = "canary"
	// ModeStrict validates and rejects any invalid payload.
	ModeStrict ValidationMode = "strict"
)

// DefaultMode is the global default when schema_registry.validation_mode is not set.
const DefaultMode = ModeCanary

// ParseValidationMode parses a validation mode, ignoring case and surrounding space. "shadow" is accepted
// as a synonym of canary. Anything else is an error wrapping [ErrUnknownMode]; its message
// reaches clients.
func ParseValidationMode(s string) (ValidationMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "canary", "shadow":
		return ModeCanary, nil
	case "strict":
		return ModeStrict, nil
	}
	return "", fmt.Errorf("%w %q: want canary (or shadow) or strict", ErrUnknownMode, s)
}

// String returns the mode's name.
func (m ValidationMode) String() string { return string(m) }

// MarshalText implements encoding.TextMarshaler.
func (m ValidationMode) MarshalText() ([]byte, error) { return []byte(m), nil }

// UnmarshalText implements encoding.TextUnmarshaler with [ParseValidationMode], so a mode read
// from configuration (schema_registry.validation_mode) is checked where it is decoded.
func (m *ValidationMode) UnmarshalText(b []byte) error {
	v, err := ParseValidationMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// upsertModeSQL stores a subject's override; setting the mode a subject already has keeps the
// time it entered that mode.
const upsertModeSQL = `INSERT INTO subject_validation_modes (subject, mode, changed_at) VALUES (?, ?, ?)
ON CONFLICT (subject) DO UPDATE SET
    mode = excluded.mode,
    changed_at = CASE WHEN subject_validation_modes.mode = excluded.mode
        THEN subject_validation_modes.changed_at ELSE excluded.changed_at END`

// Valid reports whether m is canary or strict.
func (m ValidationMode) Valid() bool { return m == ModeCanary || m == ModeStrict }

// Modes holds the validation mode of every subject: a global default and per-subject overrides
// stored in the table subject_validation_modes, so that every replica sharing the database sees
// the same modes.
//
// The validation hot path reads [Modes.ModeOf], which never touches the database: it reads an
// in-memory snapshot of the overrides that [Modes.Refresh] reloads. The snapshot starts empty
// (every subject at the default), so call Refresh once before serving and then every few
// seconds; a change made on another replica is seen here after the next Refresh, a change made
// through this Modes at once.
type Modes struct {
	db          *store.DB
	defaultMode ValidationMode
	clock       func() time.Time

	// mu orders Refresh and SetMode/ClearMode so that a Refresh that read the table before a
	// local change cannot install a snapshot without it.
	mu       sync.Mutex
	snapshot atomic.Pointer[map[string]ValidationMode]

	feed *store.Feed // set by UseFeed before use; nil: changes are not published
}

// ModeFeedTopic is the change feed topic of validation mode changes (approvals and rollbacks
// included); the key is the subject.
const ModeFeedTopic = "governance.mode"

// UseFeed makes m publish every mode change on feed, in the change's transaction, and reload
// its snapshot when another replica's change (or a Resync) arrives, so a mode set or a
// promotion approved anywhere is in force here within the feed's delay. Call it once, before
// use; log receives failed reloads (the previous snapshot stays).
func (m *Modes) UseFeed(feed *store.Feed, log *slog.Logger) {
	m.feed = feed
	feed.Subscribe(func(ctx context.Context, n store.Notice) {
		if !n.Resync && n.Topic != ModeFeedTopic {
			return
		}
		if err := m.Refresh(ctx); err != nil && ctx.Err() == nil {
			log.Warn("validation mode refresh failed", "error", err)
		}
	})
}

// pushed reports whether changes of other replicas arrive through a feed.
func (m *Modes) pushed() bool { return m.feed != nil }

// publish tells the other replicas, in tx, that subject's mode changed.
func (m *Modes) publish(ctx context.Context, tx *sql.Tx, subject string) error {
	if m.feed == nil {
		return nil
	}
	if err := m.feed.Publish(ctx, tx, ModeFeedTopic, subject); err != nil {
		return storeErr("publishing the mode change of "+strconv.Quote(subject), err)
	}
	return nil
}

// NewModes returns the modes stored in db, with defaultMode for subjects without an override
// (the empty Mode means [DefaultMode]). db is required.
func NewModes(db *store.DB, defaultMode ValidationMode) (*Modes, error) {
	if db == nil {
		return nil, errors.New("governance: NewModes: db is required")
	}
	if defaultMode == "" {
		defaultMode = DefaultMode
	}
	if !defaultMode.Valid() {
		return nil, fmt.Errorf("governance: default %w %q", ErrUnknownMode, defaultMode)
	}
	m := &Modes{db: db, defaultMode: defaultMode, clock: time.Now}
	empty := map[string]ValidationMode{}
	m.snapshot.Store(&empty)
	return m, nil
}

// Default returns the global default mode.
func (m *Modes) Default() ValidationMode { return m.defaultMode }

// ModeOf returns subject's mode from the in-memory snapshot: its override as of the last
// [Modes.Refresh] or local change, else the default. It never touches the database and is safe
// for concurrent use.
func (m *Modes) ModeOf(subject string) ValidationMode {
	if mode, ok := (*m.snapshot.Load())[subject]; ok {
		return mode
	}
	return m.defaultMode
}

// Snapshot returns a copy of the per-subject overrides in the in-memory snapshot. Subjects not
// in it are at [Modes.Default].
func (m *Modes) Snapshot() map[string]ValidationMode {
	return maps.Clone(*m.snapshot.Load())
}

// Mode reads subject's mode from the database: its override, else the default.
func (m *Modes) Mode(ctx context.Context, subject string) (ValidationMode, error) {
	var s string
	err := m.db.SQL().QueryRowContext(ctx, m.db.Dialect().Rebind(
		`SELECT mode FROM subject_validation_modes WHERE subject = ?`), subject).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return m.defaultMode, nil
	}
	if err != nil {
		return "", storeErr("reading the mode of "+strconv.Quote(subject), err)
	}
	mode, err := ParseValidationMode(s)
	if err != nil {
		return "", fmt.Errorf("governance: stored mode of %q: %w", subject, err)
	}
	return mode, nil
}

// SetMode stores mode as subject's override, even when it equals the default (an explicit
// choice survives a change of the default), and updates this replica's snapshot at once.
// Setting the mode a subject already has keeps the time it entered that mode. SetMode is the
// storage step only: auditing the change is the caller's job.
func (m *Modes) SetMode(ctx context.Context, subject string, mode ValidationMode) error {
	var apply func()
	err := m.db.InTx(ctx, func(tx *sql.Tx) (err error) {
		apply, err = m.SetModeTx(ctx, tx, subject, mode)
		return err
	})
	if err != nil {
		return err
	}
	apply()
	return nil
}

// SetModeTx stores mode as subject's override inside the caller's transaction (so a mode change
// and its audit entry commit together) and returns the function that updates this replica's
// snapshot: call it after the transaction commits, never before. (A Refresh that read the table
// before the commit holds the snapshot lock until it has stored what it read, so the update
// that follows the commit is never overwritten by it.)
func (m *Modes) SetModeTx(ctx context.Context, tx *sql.Tx, subject string, mode ValidationMode) (apply func(), err error) {
	if subject == "" {
		return nil, fmt.Errorf("%w: a validation mode needs a subject (the global default is configuration)", ErrBadRequest)
	}
	if !mode.Valid() {
		return nil, fmt.Errorf("governance: set mode of %q: %w %q", subject, ErrUnknownMode, mode)
	}
	if _, err = tx.ExecContext(ctx, m.db.Dialect().Rebind(upsertModeSQL), subject, string(mode), m.clock().UTC().Unix()); err != nil {
		return nil, storeErr("setting the mode of "+strconv.Quote(subject), err)
	}
	if err := m.publish(ctx, tx, subject); err != nil {
		return nil, err
	}
	return func() { m.update(subject, mode) }, nil
}

// update sets (mode not "") or removes (mode "") subject's override in the snapshot.
func (m *Modes) update(subject string, mode ValidationMode) {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := maps.Clone(*m.snapshot.Load())
	if mode == "" {
		delete(next, subject)
	} else {
		next[subject] = mode
	}
	m.snapshot.Store(&next)
}

// ModeSince reads subject's mode from the database with the time it entered that mode (zero
// for a subject on the default without an override).
func (m *Modes) ModeSince(ctx context.Context, subject string) (ValidationMode, time.Time, error) {
	var s string
	var at int64
	err := m.db.SQL().QueryRowContext(ctx, m.db.Dialect().Rebind(
		`SELECT mode, changed_at FROM subject_validation_modes WHERE subject = ?`), subject).Scan(&s, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return m.defaultMode, time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, storeErr("reading the mode of "+strconv.Quote(subject), err)
	}
	mode, err := ParseValidationMode(s)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("governance: stored mode of %q: %w", subject, err)
	}
	return mode, time.Unix(at, 0).UTC(), nil
}

// SetClock replaces the clock that stamps mode changes (tests move time instead of waiting).
func (m *Modes) SetClock(clock func() time.Time) { m.clock = clock }

// ClearMode removes subject's override, so that it follows the default again, and updates this
// replica's snapshot at once. Clearing a subject without an override is not an error.
func (m *Modes) ClearMode(ctx context.Context, subject string) error {
	err := m.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, m.db.Dialect().Rebind(
			`DELETE FROM subject_validation_modes WHERE subject = ?`), subject); err != nil {
			return storeErr("clearing the mode of "+strconv.Quote(subject), err)
		}
		return m.publish(ctx, tx, subject)
	})
	if err != nil {
		return err
	}
	m.update(subject, "")
	return nil
}

// Refresh reloads the snapshot read by [Modes.ModeOf] from the database. On error the previous
// snapshot stays in place; a stored mode that does not parse is an error too, rather than a
// silent fallback to the default (which could turn a strict subject into a canary one).
func (m *Modes) Refresh(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	rows, err := m.db.SQL().QueryContext(ctx, `SELECT subject, mode FROM subject_validation_modes`)
	if err != nil {
		return storeErr("refreshing modes", err)
	}
	defer rows.Close()
	next := make(map[string]ValidationMode)
	for rows.Next() {
		var subject, s string
		if err := rows.Scan(&subject, &s); err != nil {
			return storeErr("refreshing modes", err)
		}
		mode, err := ParseValidationMode(s)
		if err != nil {
			return fmt.Errorf("governance: refresh modes: stored mode of %q: %w", subject, err)
		}
		next[subject] = mode
	}
	if err := rows.Err(); err != nil {
		return storeErr("refreshing modes", err)
	}
	m.snapshot.Store(&next)
	return nil
}
