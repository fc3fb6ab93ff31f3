package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/schemagate/schemagate/gateway/confluent"
)

// closedByServer dials addr, writes each part of a raw request, and reads until the server
// closes the connection. The deadline is only a safety net: the assertion is that the server
// closed it (EOF or a reset), never how long that took. It returns what the server wrote.
func closedByServer(t *testing.T, addr string, parts ...string) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, p := range parts {
		if _, err := io.WriteString(c, p); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server kept the connection open; read so far: %q", got)
	}
	// A reset after the response is a close too.
	return got
}

// TestHostileSlowClients checks that slow or oversized HTTP requests are cut off by the
// server.* limits: read_header_timeout, read_timeout and max_header_bytes.
func TestHostileSlowClients(t *testing.T) {
	tg := startGatewayWith(t, func(c *Config) {
		c.Server.ReadHeaderTimeout = 300 * time.Millisecond
		c.Server.ReadTimeout = time.Second
		c.Server.MaxHeaderBytes = 4096
	})
	addr := tg.g.HTTPAddr()
	const register = "POST /subjects/slow/versions HTTP/1.1\r\nHost: schemagate\r\nContent-Type: application/json\r\n"
	tests := []struct {
		name  string
		parts []string
		// wantStatus is the status line the server answers before closing, "" when it
		// closes without one.
		wantStatus string
		// wantBody and wantType are the body and Content-Type answered, when wantBody is set.
		wantBody, wantType string
	}{
		{name: "half a request line", parts: []string{"GET /subj"}, wantStatus: "HTTP/1.1 400 Bad Request"},
		{name: "request line, then stalls in the headers", parts: []string{"GET /subjects HTTP/1.1\r\nHost: schemagate\r\n"}},
		{name: "headers beyond max_header_bytes", parts: []string{"GET /subjects HTTP/1.1\r\nHost: schemagate\r\nX-Big: " + strings.Repeat("a", 16<<10) + "\r\n\r\n"},
			wantStatus: "HTTP/1.1 431 Request Header Fields Too Large"},
		{name: "many small headers beyond max_header_bytes", parts: []string{"GET /subjects HTTP/1.1\r\nHost: schemagate\r\n" + strings.Repeat("X-A: b\r\n", 2000) + "\r\n"},
			wantStatus: "HTTP/1.1 431 Request Header Fields Too Large"},
		{name: "Confluent register body slower than read_timeout", parts: []string{register + "Content-Length: 100\r\n\r\n", `{"schema":`},
			wantStatus: "HTTP/1.1 400 Bad Request", wantBody: `{"error_code":400,"message":"could not read the request body"}`, wantType: confluent.ContentType},
		{name: "chunked Confluent body slower than read_timeout", parts: []string{register + "Transfer-Encoding: chunked\r\n\r\n", "5\r\n{\"sch\r\n"},
			wantStatus: "HTTP/1.1 400 Bad Request", wantBody: `{"error_code":400,"message":"could not read the request body"}`, wantType: confluent.ContentType},
		{name: "/v1 register body slower than read_timeout", parts: []string{"POST /v1/subjects/slow/versions HTTP/1.1\r\nHost: schemagate\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n", `{"schema":`},
			wantStatus: "HTTP/1.1 400 Bad Request", wantBody: `{"code":3,"message":"could not read the request body","details":[]}`, wantType: "application/json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := closedByServer(t, addr, tc.parts...)
			if tc.wantStatus == "" {
				if len(got) != 0 {
					t.Errorf("server answered %q; want the connection closed without a response", got)
				}
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(got))), nil)
			if err != nil {
				t.Fatalf("server answered %q, not an HTTP response: %v", got, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if status := "HTTP/1.1 " + resp.Status; status != tc.wantStatus {
				t.Errorf("status %q; want %q", status, tc.wantStatus)
			}
			if tc.wantBody != "" {
				var compact bytes.Buffer // protojson varies its spacing on purpose
				_ = json.Compact(&compact, body)
				if ct := resp.Header.Get("Content-Type"); ct != tc.wantType || compact.String() != tc.wantBody {
					t.Errorf("body %s (%s); want %s (%s)", body, ct, tc.wantBody, tc.wantType)
				}
			}
		})
	}
	t.Cleanup(func() { tg.wantSubjects(t) }) // after the parallel subtests: nothing was registered
}
