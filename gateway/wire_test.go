package gateway

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestV1ReachesSubjectsWithSlash registers "team/orders-value" through the Confluent REST API
// (as team%2Forders-value) and a plain subject the same way, then walks every /v1 route that
// names a subject for both, in the same order: the subject with a slash must get the answers the
// plain one gets, never grpc-gateway's routing 404.
func TestV1ReachesSubjectsWithSlash(t *testing.T) {
	tg := startGatewayWith(t, nil)
	const slashed, plain = "team/orders-value", "team-orders-value"
	for _, s := range []string{slashed, plain} {
		tg.mustRegisterREST(t, subjectSegment(s), orderAvro)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	walk := func(subject string) map[string]int {
		got := map[string]int{}
		// Deletes go last, the version before the subject, so every other route finds the
		// subject registered.
		routes := httpRoutes(t)
		rank := func(r httpRoute) int {
			switch {
			case r.verb != http.MethodDelete:
				return 0
			case strings.Contains(r.pattern, "{version}"):
				return 1
			}
			return 2
		}
		slices.SortStableFunc(routes, func(a, b httpRoute) int { return rank(a) - rank(b) })
		for _, r := range routes {
			if r.rpc == "" || !strings.Contains(r.pattern, "{subject}") {
				continue
			}
			body := ""
			switch {
			case strings.HasSuffix(r.pattern, "/validate"):
				body = `{"json":{"id":"o-1"}}`
			case strings.HasSuffix(r.pattern, ":batch"):
				body = `{"requests":[{"json":{"id":"o-1"}}]}`
			case r.verb == http.MethodPost || r.verb == http.MethodPut:
				body = "{}"
			}
			path := fillGrantPattern(r.pattern, grantTarget{subject: subjectSegment(subject), schemaID: 1, promotion: "1"})
			code, text, err := secSend(client, r.verb, "http://"+tg.g.HTTPAddr()+path, "", body, nil)
			if err != nil {
				t.Fatalf("%s %s: %v", r.verb, path, err)
			}
			if code == http.StatusNotFound && strings.Contains(text, `"Not Found"`) {
				t.Errorf("%s %s = %d %s: the route does not match", r.verb, path, code, text)
			}
			got[r.key] = code
		}
		return got
	}
	want := walk(plain)
	if diff := cmp.Diff(want, walk(slashed)); diff != "" {
		t.Errorf("statuses for %q (-as for %q +got):\n%s", slashed, plain, diff)
	}
}
