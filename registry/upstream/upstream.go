// Package upstream is a client of a Confluent-compatible schema registry (Confluent Schema
// Registry, Karapace, Apicurio's ccompat API, Redpanda, or another schemagate) that schemagate
// runs in front of: the foundation of upstream mode.
//
// Policy:
//   - The credentials are schemagate's own, read from files at New (basic auth from a user
//     name and a password file, or a bearer token file), never a caller's; they are never
//     logged nor put in errors.
//   - Every call is bounded by Options.Timeout (all its attempts together) and by the caller's
//     context; at most Options.MaxConns connections are open to the upstream, and calls beyond
//     wait for one within their deadline.
//   - Only GET is retried (on a transport failure or a 5xx status), at most MaxAttempts
//     attempts in all, with exponential backoff and full jitter, never past the deadline, and
//     within a retry budget: retries are at most RetryBudgetRatio of the calls made, plus a
//     burst of RetryBudgetBurst, so a failing upstream is not hammered. POST, PUT and DELETE
//     are sent once.
//   - A non-2xx answer is an *APIError carrying the upstream's status, error_code and message
//     unchanged; a call without a usable answer wraps ErrUnavailable.
//   - Metrics: schemagate_upstream_requests_total{op,result},
//     schemagate_upstream_request_duration_seconds{op} and schemagate_upstream_up (1 after an
//     answer below 500, 0 after a transport failure, a timeout or a 5xx status).
package upstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Options.
const (
	// DefaultTimeout bounds one call, all its attempts together.
	DefaultTimeout = 5 * time.Second
	// DefaultMaxConns bounds the connections open to the upstream.
	DefaultMaxConns = 16
	// MaxAttempts is the number of attempts of a GET, the first included.
	MaxAttempts = 3
	// RetryBudgetRatio is the share of calls that may be retried, over the calls made.
	RetryBudgetRatio = 0.1
	// RetryBudgetBurst is the number of retries allowed before any call has been made, and
	// the most the budget saves up.
	RetryBudgetBurst = 10
	// maxBodyBytes bounds an answer read from the upstream.
	maxBodyBytes = 64 << 20
	// backoffBase is the first retry's backoff ceiling; it doubles on each retry.
	backoffBase = 50 * time.Millisecond
	// backoffMax caps the backoff ceiling.
	backoffMax = time.Second
)

// contentType is the media type of Confluent's requests and answers.
const contentType = "application/vnd.schemaregistry.v1+json"

// TLSOptions configures HTTPS to the upstream. All fields are optional; they need an https URL.
type TLSOptions struct {
	// CAFile is a PEM bundle of the CAs the upstream's certificate is verified against;
	// default the system's.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and key for mutual TLS; both or neither.
	CertFile, KeyFile string
}

// Options configures a Client. URL is required; zero fields take the defaults named on them.
type Options struct {
	// URL is the upstream's base URL, http or https, without credentials (required).
	URL string
	// Username and PasswordFile are basic-auth credentials: the password is the file's content
	// without its trailing newline. Both or neither.
	Username     string
	PasswordFile string
	// BearerTokenFile holds a bearer token (without its trailing newline); not together with
	// basic auth.
	BearerTokenFile string
	// TLS configures HTTPS.
	TLS TLSOptions
	// Timeout bounds one call, all its attempts together; default DefaultTimeout.
	Timeout time.Duration
	// MaxConns bounds the connections open to the upstream; default DefaultMaxConns.
	MaxConns int
	// Registerer receives the client's metrics; nil: not registered.
	Registerer prometheus.Registerer
	// Logger receives retries and failures (never credentials); nil: discarded.
	Logger *slog.Logger
}

// Client calls one upstream registry. It is safe for concurrent use.
type Client struct {
	base          *url.URL
	authorization string // the Authorization header value, "" for none
	timeout       time.Duration
	http          *http.Client
	budget        *retryBudget
	metrics       *metrics
	logger        *slog.Logger
}

// New returns a Client for opts, after checking them: the URL, the files (read now), the
// combinations of credentials and TLS settings.
func New(opts Options) (*Client, error) {
	base, err := url.Parse(opts.URL)
	switch {
	case err != nil:
		return nil, errors.New("upstream: the URL does not parse")
	case base.Scheme != "http" && base.Scheme != "https":
		return nil, fmt.Errorf("upstream: URL scheme %q: use http or https", base.Scheme)
	case base.Host == "":
		return nil, errors.New("upstream: the URL has no host")
	case base.User != nil:
		return nil, errors.New("upstream: the URL must not carry credentials: use the username, password and token files")
	case base.RawQuery != "" || base.Fragment != "":
		return nil, errors.New("upstream: the URL must not have a query or fragment")
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	authorization, err := authorizationHeader(opts)
	if err != nil {
		return nil, err
	}
	tlsConfig, err := tlsConfig(opts.TLS, base.Scheme == "https")
	if err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	transport := &http.Transport{
		Proxy:               nil, // the upstream is reached directly: a proxy from the environment would see its credentials
		DialContext:         (&net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConfig,
		ForceAttemptHTTP2:   true,
		MaxConnsPerHost:     opts.MaxConns,
		MaxIdleConns:        opts.MaxConns,
		MaxIdleConnsPerHost: opts.MaxConns,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Client{
		base:          base,
		authorization: authorization,
		timeout:       opts.Timeout,
		http: &http.Client{
			Transport: transport,
			// A redirect would carry the credentials elsewhere; the upstream's answer is final.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		budget:  &retryBudget{tokens: RetryBudgetBurst},
		metrics: m,
		logger:  opts.Logger,
	}, nil
}

// Close closes the idle connections to the upstream.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// authorizationHeader reads the credential files of opts and returns the Authorization header.
func authorizationHeader(opts Options) (string, error) {
	basic := opts.Username != "" || opts.PasswordFile != ""
	switch {
	case basic && opts.BearerTokenFile != "":
		return "", errors.New("upstream: basic auth (username, password file) and a bearer token file are exclusive")
	case basic && (opts.Username == "" || opts.PasswordFile == ""):
		return "", errors.New("upstream: basic auth needs both a username and a password file")
	case basic:
		password, err := readSecret("password file", opts.PasswordFile)
		if err != nil {
			return "", err
		}
		req := http.Request{Header: http.Header{}}
		req.SetBasicAuth(opts.Username, password)
		return req.Header.Get("Authorization"), nil
	case opts.BearerTokenFile != "":
		token, err := readSecret("bearer token file", opts.BearerTokenFile)
		if err != nil {
			return "", err
		}
		return "Bearer " + token, nil
	}
	return "", nil
}

// readSecret reads a secret file and trims one trailing newline ("\n" or "\r\n"). Errors name
// the file, never its content.
func readSecret(what, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("upstream: read the %s: %w", what, err)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", fmt.Errorf("upstream: the %s %s is empty", what, path)
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("upstream: the %s %s has more than one line", what, path)
	}
	return s, nil
}

// tlsConfig builds the TLS configuration of o; nil when o is empty.
func tlsConfig(o TLSOptions, https bool) (*tls.Config, error) {
	if o == (TLSOptions{}) {
		return nil, nil
	}
	if !https {
		return nil, errors.New("upstream: TLS settings need an https URL")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("upstream: read the CA file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("upstream: the CA file %s holds no PEM certificate", o.CAFile)
		}
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("upstream: a client certificate needs both a cert file and a key file")
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			// tls errors name the files' problems, not the key's bytes.
			return nil, fmt.Errorf("upstream: load the client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Response is an upstream's answer as Forward returns it.
type Response struct {
	// Status is the HTTP status.
	Status int
	// Header holds the answer's headers.
	Header http.Header
	// Body is the answer's body.
	Body []byte
}

// request is one call to the upstream.
type request struct {
	op     string // the metrics' op label
	method string
	path   string // escaped path and query, after the base URL's path
	header http.Header
	body   []byte
}

// do sends r, retrying a GET as the package documentation says, and returns the upstream's
// answer whatever its status (for a GET whose answers were all 5xx, the last one); the error is
// an *unavailableError when there was no answer.
func (c *Client) do(ctx context.Context, r request) (Response, error) {
	start := time.Now()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	c.budget.deposit()
	var resp Response
	var err error
	for attempt := 1; ; attempt++ {
		resp, err = c.attempt(ctx, r)
		failed := err != nil || resp.Status >= 500
		if !failed || r.method != http.MethodGet || attempt == MaxAttempts || ctx.Err() != nil {
			break
		}
		wait := backoff(attempt)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			break
		}
		if !c.budget.withdraw() {
			c.logger.Warn("upstream retry budget exhausted", "op", r.op)
			break
		}
		c.logger.Debug("upstream call retried", "op", r.op, "attempt", attempt+1, "error", errorOrStatus(err, resp.Status))
		if !sleep(ctx, wait) {
			break
		}
	}
	c.observe(parent, r.op, start, resp.Status, err)
	if err != nil {
		return Response{}, &unavailableError{op: r.op, cause: err}
	}
	return resp, nil
}

// errorOrStatus describes a failed attempt for the log.
func errorOrStatus(err error, status int) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("status %d", status)
}

// attempt sends r once and reads the whole answer.
func (c *Client) attempt(ctx context.Context, r request) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, r.method, c.base.String()+r.path, bytes.NewReader(r.body))
	if err != nil {
		return Response{}, err
	}
	for _, k := range []string{"Accept", "Content-Type"} {
		if v := r.header.Get(k); v != "" {
			req.Header.Set(k, v)
		}
	}
	if c.authorization != "" {
		req.Header.Set("Authorization", c.authorization)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return Response{}, fmt.Errorf("read the answer: %w", err)
	}
	if len(body) > maxBodyBytes {
		return Response{}, fmt.Errorf("the answer exceeds %d bytes", maxBodyBytes)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// backoff returns the wait before retry number attempt (1 for the first): full jitter under a
// ceiling that doubles from backoffBase up to backoffMax.
func backoff(attempt int) time.Duration {
	ceiling := min(backoffBase<<(attempt-1), backoffMax)
	return rand.N(ceiling) + 1
}

// sleep waits d or until ctx is done, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// retryBudget allows a retry for every 1/RetryBudgetRatio calls, saving up at most
// RetryBudgetBurst retries. It counts calls, not time, so that it needs no clock: over any
// stretch of calls, retries are at most RetryBudgetRatio of them plus the burst.
type retryBudget struct {
	mu     sync.Mutex
	tokens float64
}

// deposit records a call.
func (b *retryBudget) deposit() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = min(b.tokens+RetryBudgetRatio, RetryBudgetBurst)
}

// withdraw takes one retry from the budget and reports whether there was one.
func (b *retryBudget) withdraw() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// call sends a Confluent API request with in (when not nil) as its JSON body and decodes a 2xx
// answer into out (when not nil). A non-2xx answer is an *APIError.
func (c *Client) call(ctx context.Context, op, method, path string, in, out any) error {
	var body []byte
	header := http.Header{"Accept": {contentType}}
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("upstream %s: encode the request: %w", op, err)
		}
		header.Set("Content-Type", contentType)
	}
	resp, err := c.do(ctx, request{op: op, method: method, path: path, header: header, body: body})
	if err != nil {
		return err
	}
	if resp.Status < 200 || resp.Status > 299 {
		return apiError(resp)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("upstream %s: the answer is not the expected JSON: %w", op, err)
	}
	return nil
}

// apiError reads Confluent's {"error_code", "message"} from a non-2xx answer.
func apiError(resp Response) *APIError {
	var body struct {
		ErrorCode int    `json:"error_code"`
		Message   string `json:"message"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil || body.ErrorCode == 0 {
		return &APIError{Status: resp.Status, ErrorCode: resp.Status, Message: fmt.Sprintf("upstream registry answered %d %s", resp.Status, http.StatusText(resp.Status))}
	}
	return &APIError{Status: resp.Status, ErrorCode: body.ErrorCode, Message: body.Message}
}

// Forward sends a request to the upstream as it is, for the Confluent REST pass-through:
// pathAndQuery is the escaped path and query after the base URL (starting with "/"); of header
// only Accept and Content-Type are sent (the upstream sees schemagate's credentials, never the
// caller's). The answer comes back whatever its status, headers and body unchanged; the error
// wraps ErrUnavailable when there was no answer.
func (c *Client) Forward(ctx context.Context, method, pathAndQuery string, header http.Header, body []byte) (Response, error) {
	if !strings.HasPrefix(pathAndQuery, "/") {
		return Response{}, fmt.Errorf("upstream forward: the path %q does not start with /", pathAndQuery)
	}
	return c.do(ctx, request{op: "forward", method: method, path: pathAndQuery, header: header, body: body})
}
