package notify

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSetReceivers: a running notifier moves from Slack to another Slack
// webhook and PagerDuty; alerts raised after the swap reach only the new
// receivers, and an invalid set is refused without a secret in the error and
// without changing anything.
func TestSetReceivers(t *testing.T) {
	r := newReceivers(t)
	opts := r.options(newClock())
	opts.Receivers = Receivers{SlackWebhookURL: r.slack.srv.URL + testSlackPath}
	n, _ := newNotifier(t, opts)
	stop := start(t, n)

	n.Raise(alertFor("before", "unknown_field"))
	waitFor(t, "the first Slack message", func() bool { return r.slack.count() == 1 })

	const badKey = "pdRoutingKeyNeverShown0123456789"
	err := n.SetReceivers(Receivers{PagerDutyRoutingKey: badKey, PagerDutyURL: "not a url " + badKey})
	if err == nil || strings.Contains(err.Error(), badKey) {
		t.Fatalf("SetReceivers with a bad PagerDuty URL: %v, want an error without the routing key", err)
	}

	slack2 := newFakeReceiver(t, 200)
	if err := n.SetReceivers(Receivers{
		SlackWebhookURL:     slack2.srv.URL + testSlackPath,
		PagerDutyRoutingKey: testRoutingKey,
		PagerDutyURL:        r.pd.srv.URL + "/v2/enqueue",
	}); err != nil {
		t.Fatal(err)
	}
	n.Raise(alertFor("after", "unknown_field"))
	waitFor(t, "the new receivers", func() bool { return slack2.count() == 1 && r.pd.count() == 1 })
	got := map[string][]string{
		"old slack": summaries(t, receiverSlack, r.slack),
		"new slack": summaries(t, receiverSlack, slack2),
		"pagerduty": summaries(t, receiverPagerDuty, r.pd),
	}
	want := map[string][]string{
		"old slack": {"trigger SchemaDrift/before"},
		"new slack": {"trigger SchemaDrift/after"},
		"pagerduty": {"trigger SchemaDrift/after"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	if got := deliveries(n, receiverPagerDuty, "ok"); got != 1 {
		t.Errorf("pagerduty ok deliveries = %v, want 1", got)
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
}
