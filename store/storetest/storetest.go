// Package storetest gives tests a fresh, migrated store on the backend the test run selects, so
// that one set of tests covers SQLite and PostgreSQL:
//
//	go test ./...                                  SQLite in t.TempDir()
//	scripts/with-postgres.sh go test ./...         PostgreSQL (make unit-postgres)
//
// The backend is chosen by environment variables:
//
//	SCHEMAGATE_TEST_STORE=postgres                 use PostgreSQL (default: sqlite)
//	SCHEMAGATE_TEST_POSTGRES_URL=postgres://...    a server where the tests may create databases
//
// On PostgreSQL every test gets its own database, created with a unique name and dropped (WITH
// FORCE, so leaked connections do not keep it alive; PostgreSQL 13 or later) when the test
// ends, so tests can run in parallel.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/schemagate/schemagate/store" // also registers the "pgx" driver used below
)

// Environment variables that select the backend.
const (
	EnvStore       = "SCHEMAGATE_TEST_STORE"
	EnvPostgresURL = "SCHEMAGATE_TEST_POSTGRES_URL"
)

// Backend is "sqlite" unless SCHEMAGATE_TEST_STORE=postgres.
func Backend() string {
	if os.Getenv(EnvStore) == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// Open returns a migrated store for one test: SQLite in t.TempDir(), or a fresh database
// (CREATE DATABASE with a unique name, dropped in t.Cleanup) on the server named by
// SCHEMAGATE_TEST_POSTGRES_URL when the backend is postgres. A postgres backend without
// that variable FAILS the test (never skips). The store is closed in t.Cleanup.
func Open(t testing.TB) *store.DB {
	t.Helper()
	u := URL(t)
	db, err := store.Open(t.Context(), u)
	if err != nil {
		t.Fatalf("storetest: store.Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// URL is the storage URL of a fresh empty database for the backend (for tests that start
// the gateway or its binary); the database is dropped in t.Cleanup. On SQLite it names a file
// in t.TempDir() that does not exist yet.
func URL(t testing.TB) string {
	t.Helper()
	checkStoreEnv(t)
	if Backend() != "postgres" {
		return "sqlite://" + filepath.Join(t.TempDir(), "schemagate.db")
	}
	admin, base := adminDB(t)
	name := databaseName(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("storetest: CREATE DATABASE %s on %s: %v", name, base.Redacted(), err)
	}
	// Registered before any cleanup of the caller, so it runs after the caller's store is
	// closed; FORCE ends the connections a test may have leaked.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("storetest: DROP DATABASE %s: %v", name, err)
		}
	})
	db := *base // keeps the user, host and parameters such as sslmode
	db.Path, db.RawPath = "/"+name, ""
	return db.String()
}

// checkStoreEnv fails the test when the environment asks for PostgreSQL but does not say where
// it is, or names a backend this package does not know (a typo must not quietly test SQLite).
func checkStoreEnv(t testing.TB) {
	t.Helper()
	switch v := os.Getenv(EnvStore); v {
	case "", "sqlite", "postgres":
	default:
		t.Fatalf("storetest: %s=%q: want sqlite or postgres", EnvStore, v)
	}
	if Backend() == "postgres" && os.Getenv(EnvPostgresURL) == "" {
		t.Fatalf("storetest: %s=postgres needs %s (a server where tests may create databases); "+
			"run the tests with scripts/with-postgres.sh", EnvStore, EnvPostgresURL)
	}
}

// The admin pool on SCHEMAGATE_TEST_POSTGRES_URL, shared by the tests of the process: it only
// creates and drops databases. CloseAdmin closes it.
var admin struct {
	once sync.Once
	db   *sql.DB
	url  *url.URL
	err  error
}

func adminDB(t testing.TB) (*sql.DB, *url.URL) {
	t.Helper()
	admin.once.Do(func() {
		raw := os.Getenv(EnvPostgresURL)
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			admin.err = fmt.Errorf("%s is not a postgres:// URL", EnvPostgresURL)
			return
		}
		admin.url = u
		admin.db, admin.err = sql.Open("pgx", raw)
		if admin.err != nil {
			return
		}
		admin.db.SetMaxOpenConns(4)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := admin.db.PingContext(ctx); err != nil {
			admin.err = fmt.Errorf("connect to %s: %w", u.Redacted(), err)
		}
	})
	if admin.err != nil {
		t.Fatalf("storetest: %v", admin.err)
	}
	return admin.db, admin.url
}

// databaseName returns a unique database name that shows which test made it: sgtest_, up to 30
// characters of the test name, and 12 random hex digits (PostgreSQL names are at most 63 bytes).
func databaseName(t testing.TB) string {
	var b strings.Builder
	b.WriteString("sgtest_")
	for _, r := range strings.ToLower(t.Name()) {
		if b.Len() >= len("sgtest_")+30 {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	b.WriteByte('_')
	b.WriteString(hex.EncodeToString(rnd[:]))
	return b.String()
}

// CloseAdmin closes the pool that creates and drops the PostgreSQL test databases, if it was
// opened. A TestMain that checks for leaked goroutines calls it after m.Run, when no test needs
// a database any more.
func CloseAdmin() error {
	if admin.db == nil {
		return nil
	}
	return admin.db.Close()
}
