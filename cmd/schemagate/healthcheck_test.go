package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/tests/harness"
)

// healthcheckResult is what a run of `schemagate healthcheck` shows a container runtime.
type healthcheckResult struct {
	Code           int
	Stdout, Stderr string
}

// rfc3339 matches the time /readyz reports a degradation since.
var rfc3339 = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)

// TestHealthcheck runs `schemagate healthcheck` against real servers: a ready gateway and a
// degraded one (upstream mode, nothing listening upstream) are in service, exit 0; a path that
// is not /readyz, a stopped server, a listener that never answers and a bad flag exit 3 with
// the reason on stderr.
func TestHealthcheck(t *testing.T) {
	ready := harness.Start(t, harness.Options{Name: "ready"})

	upstreamCfg := filepath.Join(t.TempDir(), "upstream.yaml")
	cfg := "schema_registry:\n  upstream:\n    url: http://" + harness.FreeAddr(t) + "\n    timeout: 100ms\n"
	if err := os.WriteFile(upstreamCfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	degraded := harness.Start(t, harness.Options{Name: "degraded", ConfigFile: upstreamCfg})
	harness.WaitFor(t, "the upstream reported unreachable on /readyz", 30*time.Second, func() string {
		if _, body := degraded.Do(t, "GET", "/readyz", "", ""); !strings.Contains(body, `"degraded"`) {
			return "/readyz: " + body
		}
		return ""
	})

	stopped := harness.Start(t, harness.Options{Name: "stopped"})
	if err := stopped.Stop(t); err != nil {
		t.Fatalf("stop: %v", err)
	}

	// A listener that accepts connections and never answers: a server hung before /readyz.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()

	noEnv := func(string) (string, bool) { return "", false }
	for _, tt := range []struct {
		name string
		args []string
		want healthcheckResult
	}{
		{"ready", []string{"--url", ready.URL() + "/readyz"}, healthcheckResult{0, "ready\n", ""}},
		{"degraded is in service", []string{"--url", degraded.URL() + "/readyz"},
			healthcheckResult{0, "degraded: upstream registry unreachable since TIME\n", ""}},
		{"not found", []string{"--url", ready.URL() + "/nope"},
			healthcheckResult{3, "", "schemagate: healthcheck: GET " + ready.URL() + "/nope: 404 Not Found: {\"error_code\":404,\"message\":\"HTTP 404 Not Found\"}\n"}},
		{"stopped server", []string{"--url", stopped.URL() + "/readyz"},
			healthcheckResult{3, "", `schemagate: healthcheck: Get "` + stopped.URL() + `/readyz": dial tcp ` + stopped.HTTPAddr + ": connect: connection refused\n"}},
		{"no answer", []string{"--url", "http://" + silent.Addr().String() + "/readyz", "--timeout", "200ms"},
			healthcheckResult{3, "", "schemagate: healthcheck: GET http://" + silent.Addr().String() + "/readyz: no answer within 200ms\n"}},
		{"bad timeout", []string{"--url", ready.URL() + "/readyz", "--timeout", "0s"},
			healthcheckResult{3, "", "schemagate: healthcheck: --timeout 0s: want a positive duration\n"}},
		{"extra argument", []string{"now"},
			healthcheckResult{3, "", "schemagate: unknown command \"now\" for \"schemagate healthcheck\"\n"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"healthcheck"}, tt.args...), &stdout, &stderr, noEnv)
			got := healthcheckResult{code, rfc3339.ReplaceAllString(stdout.String(), "TIME"), stderr.String()}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("schemagate healthcheck %s (-want +got):\n%s", strings.Join(tt.args, " "), diff)
			}
		})
	}
}
