package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/schemagate/schemagate/tests/harness"
)

// slackHook is a stand-in for a Slack incoming webhook that counts the messages it got.
type slackHook struct {
	srv      *httptest.Server
	messages atomic.Int64
}

func newSlackHook(t *testing.T) *slackHook {
	h := &slackHook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h.messages.Add(1)
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// webhookPath is the secret part of a Slack webhook URL; it must never reach the log.
const webhookPath = "/services/T0RELOAD/B0RELOAD/reloadHookSecret123"

// reloadConfig is a config file with one admin principal holding token, alerts to hook, and
// the given extra lines.
func reloadConfig(name, token string, hook *slackHook, extra string) string {
	sum := sha256.Sum256([]byte(token))
	return fmt.Sprintf("auth:\n  principals:\n    - name: %s\n      roles: [admin]\n      token_sha256: %s\n"+
		"alerting:\n  slack_webhook_url: %s\n%s", name, hex.EncodeToString(sum[:]), hook.srv.URL+webhookPath, extra)
}

// statusOf sends method url with a bearer token and returns the status code.
func statusOf(t *testing.T, method, url, token, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// eventually polls cond until it holds, failing the test after 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestReloadOnSIGHUP: SIGHUP swaps principals and alert receivers from the rewritten file and
// warns about a key that needs a restart; an invalid file is logged and changes nothing; the
// server keeps serving through both and SIGTERM still stops it cleanly.
func TestReloadOnSIGHUP(t *testing.T) {
	hook1, hook2 := newSlackHook(t), newSlackHook(t)
	file := writeConfig(t, reloadConfig("alice", "alice-token", hook1, ""))
	s := harness.Start(t, harness.Options{ConfigFile: file})
	subjects := s.URL() + "/subjects"
	if got := statusOf(t, "GET", subjects, "alice-token", ""); got != 200 {
		t.Fatalf("alice before the reload: %d", got)
	}
	hangup := func(content string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(s.PID(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}

	hangup(reloadConfig("bob", "bob-token", hook2, "server:\n  shutdown_timeout: 20s\n"))
	eventually(t, "bob to be let in", func() bool { return statusOf(t, "GET", subjects, "bob-token", "") == 200 })
	if got := statusOf(t, "GET", subjects, "alice-token", ""); got != 401 {
		t.Errorf("alice after her removal: %d, want 401", got)
	}
	eventually(t, "the reload to be logged", func() bool { return strings.Contains(s.Log(), "config keys changed") })
	for _, want := range []string{"principals_added=[bob]", "principals_removed=[alice]", "alerting_changed=[alerting.slack_webhook_url]",
		"restart to apply", "keys=[server.shutdown_timeout]"} {
		if !strings.Contains(s.Log(), want) {
			t.Errorf("log lacks %q", want)
		}
	}

	// A drill alert goes to the new webhook only.
	schema := mustJSON(map[string]string{"schema": `{"type":"record","name":"R","fields":[{"name":"a","type":"long"}]}`})
	if got := statusOf(t, "POST", subjects+"/reload-value/versions", "bob-token", schema); got != 200 {
		t.Fatalf("register: %d", got)
	}
	if out, errOut, code := harness.Run(t, []string{"SCHEMAGATE_TOKEN=bob-token"}, "drift", "inject", "reload-value", "--kind", "missing_field", "--server", s.GRPCAddr); code != 0 {
		t.Fatalf("drift inject: %d %q %q", code, out, errOut)
	}
	eventually(t, "the drill on the new webhook", func() bool { return hook2.messages.Load() == 1 })
	if n := hook1.messages.Load(); n != 0 {
		t.Errorf("the old webhook got %d messages after the reload", n)
	}

	// An unknown role: logged, and bob keeps working.
	hangup(strings.Replace(reloadConfig("carol", "carol-token", hook1, ""), "[admin]", "[superuser]", 1))
	eventually(t, "the failed reload to be logged", func() bool { return strings.Contains(s.Log(), "config reload failed") })
	if got := statusOf(t, "GET", subjects, "bob-token", ""); got != 200 {
		t.Errorf("bob after a refused reload: %d, want 200", got)
	}
	if got := statusOf(t, "GET", subjects, "carol-token", ""); got != 401 {
		t.Errorf("carol of a refused reload: %d, want 401", got)
	}
	// Neither can a file that is not YAML.
	hangup("auth: [")
	eventually(t, "the second failed reload", func() bool { return strings.Count(s.Log(), "config reload failed") == 2 })
	if got := statusOf(t, "GET", subjects, "bob-token", ""); got != 200 {
		t.Errorf("bob after an unparsable file: %d, want 200", got)
	}

	if err := s.Stop(t); err != nil {
		t.Errorf("SIGTERM after reloads: %v, want exit 0", err)
	}
	if strings.Contains(s.Log(), "reloadHookSecret123") {
		t.Error("the log contains the webhook URL's secret")
	}
}
