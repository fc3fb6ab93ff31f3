package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// healthcheckBodyLimit is how much of the /readyz answer is read: its JSON is a few dozen bytes,
// and a server that sends more is not the gateway's /readyz.
const healthcheckBodyLimit = 4 << 10

// newHealthcheckCmd is `schemagate healthcheck`: a probe for container runtimes and process
// supervisors that have no shell or curl (the container image's HEALTHCHECK runs it). It asks
// GET --url once and exits 0 on a 200 answer, printing the status: "ready", or "degraded"
// with its reason (in upstream mode, the upstream registry is unreachable but validation goes
// on from the cache, so the replica stays in service, as /readyz documents). Anything else (no
// answer within --timeout, a refused connection, another status, a redirect) exits 3 with the
// reason on stderr.
func newHealthcheckCmd() *cobra.Command {
	var (
		url     string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the gateway's /readyz answers 200 (ready or degraded), else 3",
		Long: "Ask GET --url once (the gateway's /readyz) and exit 0 when it answers 200: \"ready\", or\n" +
			"\"degraded\" (upstream mode with the upstream unreachable: validation goes on from the cache,\n" +
			"so the replica stays in service). Exit 3 with the reason on stderr otherwise: no answer within\n" +
			"--timeout, a refused connection, any other status. It needs no shell or curl, so a container\n" +
			"image's HEALTHCHECK can run it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			status, err := readyStatus(cmd.Context(), url, timeout)
			if err != nil {
				return fmt.Errorf("healthcheck: %w", err)
			}
			return printf(cmd.OutOrStdout(), "%s\n", status)
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:8081/readyz", "readiness URL of the gateway")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	cmd.SetFlagErrorFunc(flagError)
	return cmd
}

// readyStatus asks url once, within timeout, and returns the status a 200 answer reports; any
// other outcome is an error that says why. It goes straight to url: no proxy from the
// environment, no redirect followed (a redirect is not the gateway's /readyz).
func readyStatus(ctx context.Context, url string, timeout time.Duration) (string, error) {
	if timeout <= 0 {
		return "", fmt.Errorf("--timeout %s: want a positive duration", timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("--url %q: %w", url, err)
	}
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "", fmt.Errorf("GET %s: no answer within %s", url, timeout)
	}
	if err != nil {
		return "", err // names the method, the URL and the cause
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, healthcheckBodyLimit))
	if err != nil {
		return "", fmt.Errorf("GET %s: reading the answer: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, describeReadiness(body))
	}
	return describeReadiness(body), nil
}

// describeReadiness renders a /readyz answer in one line: its status, then its reason and since
// when it has them ("degraded: upstream registry unreachable since 2026-12-06T14:00:00Z"). An
// answer that is not /readyz's JSON is shown as it came, trimmed to one line.
func describeReadiness(body []byte) string {
	var r struct{ Status, Reason, Since string }
	if err := json.Unmarshal(body, &r); err != nil || r.Status == "" {
		line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
		if line == "" {
			return "(empty answer)"
		}
		return line
	}
	s := r.Status
	if r.Reason != "" {
		s += ": " + r.Reason
	}
	if r.Since != "" {
		s += " since " + r.Since
	}
	return s
}
