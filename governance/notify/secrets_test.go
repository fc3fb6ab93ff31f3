package notify

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/schemagate/schemagate/tests/harness"
)

var secretParts = []string{"slackSecretToken0123456789", "T0TESTTEAM/B0TESTHOOK", testRoutingKey}

func assertNoSecrets(t *testing.T, where, s string) {
	t.Helper()
	for _, sec := range secretParts {
		if strings.Contains(s, sec) {
			t.Errorf("%s contains the secret %q:\n%s", where, sec, s)
		}
	}
}

// TestSecretsNeverLogged has hostile receivers echo the secrets back in their
// error responses and checks that neither logs nor errors carry them.
func TestSecretsNeverLogged(t *testing.T) {
	r := newReceivers(t)
	r.slack.answer = func(n int, _ []byte) (int, string) {
		switch n {
		case 1:
			return http.StatusInternalServerError, "bad token slackSecretToken0123456789"
		case 2:
			return http.StatusNotFound, "no_service for " + r.slack.srv.URL + testSlackPath
		}
		return 0, ""
	}
	r.pd.answer = func(n int, body []byte) (int, string) {
		if n == 1 {
			return http.StatusBadRequest, "invalid event: " + string(body)
		}
		return 0, ""
	}
	var logs harness.Buffer
	opts := r.options(newClock())
	opts.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n, _ := newNotifier(t, opts)
	stop := start(t, n)
	n.Raise(alertFor("a", "unknown_field"))
	n.Raise(alertFor("b", "unknown_field"))
	waitFor(t, "slack", func() bool { return r.slack.count() == 1 })
	waitFor(t, "pagerduty", func() bool { return r.pd.count() == 1 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	out := logs.String()
	assertNoSecrets(t, "log", out)
	if got := strings.Count(out, redacted); got < 3 {
		t.Errorf("log shows %d redactions, want at least 3 (the echoes):\n%s", got, out)
	}
	for _, want := range []string{`"receiver":"slack"`, `"receiver":"pagerduty"`, "HTTP 404", "HTTP 400", "HTTP 500"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

func TestSecretsNotInErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	red := newRedactor(closed+testSlackPath, testRoutingKey)

	// Connection refused: net/http's error names the URL.
	err = postJSON(context.Background(), &http.Client{Timeout: time.Second}, red, receiverSlack, closed+testSlackPath, []byte(`{}`))
	if err == nil || !asDeliveryError(err).retryable {
		t.Fatalf("post to a closed port = %v, want a retryable error", err)
	}
	assertNoSecrets(t, "connection error", err.Error())

	// An unparsable URL (a control character) is echoed by url.Parse.
	bad := "http://hooks.example" + testSlackPath + "\x7f"
	_, err = New(Options{Receivers: Receivers{SlackWebhookURL: bad}})
	if err == nil {
		t.Fatal("New accepted a bad webhook URL")
	}
	assertNoSecrets(t, "New error", err.Error())
	_, err = New(Options{Receivers: Receivers{SlackWebhookURL: "ftp://hooks.example" + testSlackPath}})
	if err == nil {
		t.Fatal("New accepted an ftp webhook URL")
	}
	assertNoSecrets(t, "New error", err.Error())

	// The routing key, quoted or query-escaped, is redacted too.
	for _, s := range []string{testRoutingKey, `"` + testRoutingKey + `"`, "k=" + testRoutingKey} {
		assertNoSecrets(t, "redacted string", red.string(s))
	}
}
