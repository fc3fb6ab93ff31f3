package gateway

import (
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/schemagate/schemagate/store/storetest"
)

// feedSample reads one series of the gateway's change feed metrics: a counter's or a gauge's
// value, a histogram's sample count; absent series read as 0. label "" matches any series.
func (tg *testGateway) feedSample(t *testing.T, name, label, value string) float64 {
	t.Helper()
	labels := map[string]string{}
	if label != "" {
		labels[label] = value
	}
	m := tg.sample(t, name, labels)
	switch {
	case m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount())
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	}
	return m.GetCounter().GetValue()
}

// startReplicas starts two gateways on one database, the second on the first's storage URL,
// both polling the change table every 20 ms (on SQLite; on PostgreSQL while not listening).
func startReplicas(t *testing.T) (a, b *testGateway) {
	t.Helper()
	fast := func(c *Config) { c.Storage.ChangePollInterval = 20 * time.Millisecond }
	a = startGatewayWith(t, fast)
	b = startGatewayWith(t, func(c *Config) { fast(c); c.Storage.URL = a.g.cfg.StorageURL() })
	return a, b
}

// TestChangeFeedMetricsCountAnotherReplicasWrite: a registration on one replica shows on the
// other's /metrics as a notice applied (topic registry) with its delivery lag observed; the
// writer counts none of its own; the metrics pass promlint.
func TestChangeFeedMetricsCountAnotherReplicasWrite(t *testing.T) {
	a, b := startReplicas(t)
	if code, body := a.httpDo(t, "POST", "/v1/subjects/orders-value/versions", "", registerBody(orderAvro)); code != 200 {
		t.Fatalf("register on A: %d %s", code, body)
	}
	waitFor(t, "B applies A's registration notice", func() bool {
		return b.feedSample(t, "schemagate_change_feed_notices_total", "topic", "registry") >= 1
	})
	if n := b.feedSample(t, "schemagate_change_feed_delivery_lag_seconds", "", ""); n < 1 {
		t.Errorf("B's delivery lag histogram holds %v samples; want at least 1", n)
	}
	if n := a.feedSample(t, "schemagate_change_feed_notices_total", "topic", "registry"); n != 0 {
		t.Errorf("A counted %v notices of its own registration; want 0", n)
	}
	problems, err := testutil.GatherAndLint(b.metrics, "schemagate_change_feed_notices_total", "schemagate_change_feed_delivery_lag_seconds",
		"schemagate_change_feed_resyncs_total", "schemagate_change_feed_listening")
	if err != nil || len(problems) > 0 {
		t.Errorf("promlint on the change feed metrics: %v %+v", err, problems)
	}
	wantListening := 0.0 // SQLite polls
	if storetest.Backend() == "postgres" {
		wantListening = 1
	}
	if got := b.feedSample(t, "schemagate_change_feed_listening", "", ""); got != wantListening {
		t.Errorf("schemagate_change_feed_listening = %v on %s; want %v", got, storetest.Backend(), wantListening)
	}
}

// TestChangeFeedMetricsAfterLostListen (PostgreSQL): while the listening connections are gone
// and cannot come back, the gauge shows polling and another replica's write still arrives
// (polled); once they can, the gauge shows listening again and a reconnect resync is counted.
func TestChangeFeedMetricsAfterLostListen(t *testing.T) {
	if storetest.Backend() != "postgres" {
		t.Skip("LISTEN/NOTIFY is PostgreSQL's; SQLite always polls (TestChangeFeedMetricsCountAnotherReplicasWrite)")
	}
	a, b := startReplicas(t)
	waitFor(t, "B listens", func() bool { return b.feedSample(t, "schemagate_change_feed_listening", "", "") == 1 })
	// The replicas' database, and a connection to another one on the server to change it from.
	u, err := url.Parse(a.g.cfg.StorageURL())
	if err != nil {
		t.Fatal(err)
	}
	dbName := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	admin, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	// New connections to the database are refused (superusers too) until allowed again; the
	// pools' open connections stay, and the listening ones are ended.
	allow := func(on bool) {
		t.Helper()
		if _, err := admin.ExecContext(t.Context(), fmt.Sprintf(`ALTER DATABASE %q WITH ALLOW_CONNECTIONS %t`, dbName, on)); err != nil {
			t.Fatal(err)
		}
	}
	allow(false)
	defer allow(true)
	if _, err := admin.ExecContext(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND query = 'LISTEN schemagate_changes'`, dbName); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B polls", func() bool { return b.feedSample(t, "schemagate_change_feed_listening", "", "") == 0 })
	if code, body := a.httpDo(t, "POST", "/v1/subjects/orders-value/versions", "", registerBody(orderAvro)); code != 200 {
		t.Fatalf("register on A: %d %s", code, body)
	}
	waitFor(t, "B applies A's registration notice, polled", func() bool {
		return b.feedSample(t, "schemagate_change_feed_notices_total", "topic", "registry") >= 1
	})
	if got := b.feedSample(t, "schemagate_change_feed_resyncs_total", "reason", "reconnect"); got != 0 {
		t.Errorf("reconnect resyncs while still polling = %v; want 0", got)
	}
	allow(true)
	waitFor(t, "B listens again", func() bool { return b.feedSample(t, "schemagate_change_feed_listening", "", "") == 1 })
	if got := b.feedSample(t, "schemagate_change_feed_resyncs_total", "reason", "reconnect"); got != 1 {
		t.Errorf("reconnect resyncs = %v; want 1", got)
	}
}
