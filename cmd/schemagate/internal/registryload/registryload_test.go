package registryload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/store/storetest"
	"github.com/schemagate/schemagate/tests/harness"
)

// outcome is what a test asserts of one workload: every request is accounted for, and which
// ones failed how. Requests and rates depend on the machine and are not compared.
type outcome struct {
	Name      string
	AllOK     bool // at least one request, and every one answered 2xx
	NonOK     map[int]int
	Errors    int
	AddsUp    bool // Requests = OK + non-2xx + errors
	Requested int  // for the registration, which is bounded in count: how many were sent
}

func outcomes(r *Report) []outcome {
	var out []outcome
	for _, w := range r.Results {
		sum := w.OK + w.Errors
		for _, n := range w.NonOK {
			sum += n
		}
		o := outcome{Name: w.Name, AllOK: w.Requests > 0 && w.OK == w.Requests, NonOK: w.NonOK, Errors: w.Errors, AddsUp: sum == w.Requests}
		if w.Name == WorkloadRegister {
			o.Requested = w.Requests
		}
		out = append(out, o)
	}
	return out
}

func allOK(schemas int) []outcome {
	return []outcome{
		{Name: WorkloadRegister, AllOK: true, AddsUp: true, Requested: schemas},
		{Name: WorkloadByID, AllOK: true, AddsUp: true},
		{Name: WorkloadLatest, AllOK: true, AddsUp: true},
		{Name: WorkloadVersion, AllOK: true, AddsUp: true},
		{Name: WorkloadLookup, AllOK: true, AddsUp: true},
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestRunAgainstServe runs the generator with small counts against real `schemagate serve`
// processes (on the store the test run selects: SQLite, or PostgreSQL under
// scripts/with-postgres.sh), open and with principals, directly and through a proxy that fails:
// a run that succeeds leaves every schema registered once under its subject, with an ID of its
// own, and reports every request as 2xx; a registry that refuses or fails has every request
// counted under its status, or as unanswered, and no lookups run.
func TestRunAgainstServe(t *testing.T) {
	const schemas, subjects = 20, 3
	open := harness.Start(t, harness.Options{Name: "open", StorageURL: storetest.URL(t)})
	secured := harness.Start(t, harness.Options{Name: "secured", StorageURL: storetest.URL(t), Env: []string{
		`SCHEMAGATE_AUTH_PRINCIPALS=[{"name":"loader","roles":["author"],"token_sha256":"` + sha256Hex("load-token") +
			`","password_sha256":"` + sha256Hex("load-password") + `"}]`}})
	failing := harness.StartFaultProxy(t, open.URL())
	failing.SetFault(harness.Fault5xx)
	down := harness.StartFaultProxy(t, open.URL())
	down.SetFault(harness.FaultDown)

	refused := func(status int) []outcome {
		return []outcome{{Name: WorkloadRegister, NonOK: map[int]int{status: schemas}, AddsUp: true, Requested: schemas}}
	}
	for _, tc := range []struct {
		name      string
		url       string
		header    http.Header // what the checks through the API send
		opts      Options
		want      []outcome
		wantErr   error
		wantNotOK string // the register row's last column in the table
	}{
		{name: "open", url: open.URL(), want: allOK(schemas), wantNotOK: "-"},
		{name: "bearer token", url: secured.URL(), header: http.Header{"Authorization": {"Bearer load-token"}},
			opts: Options{Token: "load-token"}, want: allOK(schemas), wantNotOK: "-"},
		{name: "basic credentials", url: secured.URL(), header: http.Header{"Authorization": {"Bearer load-token"}},
			opts: Options{Username: "loader", Password: "load-password"}, want: allOK(schemas), wantNotOK: "-"},
		{name: "no credentials", url: secured.URL(), want: refused(http.StatusUnauthorized), wantErr: ErrNothingRegistered,
			wantNotOK: fmt.Sprintf("401: %d", schemas)},
		{name: "registry answers 503", url: failing.URL(), want: refused(http.StatusServiceUnavailable), wantErr: ErrNothingRegistered,
			wantNotOK: fmt.Sprintf("503: %d", schemas)},
		{name: "registry closes connections", url: down.URL(), wantErr: ErrNothingRegistered,
			want:      []outcome{{Name: WorkloadRegister, Errors: schemas, AddsUp: true, Requested: schemas}},
			wantNotOK: fmt.Sprintf("no answer: %d (first: ", schemas)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.URL, opts.Clients, opts.Schemas, opts.Subjects, opts.Duration = tc.url, 4, schemas, subjects, 100*time.Millisecond
			report, err := Run(t.Context(), opts)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Run: %v; want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, outcomes(report)); diff != "" {
				t.Errorf("workloads (-want +got):\n%s", diff)
			}
			var table bytes.Buffer
			if err := WriteTable(&table, report); err != nil {
				t.Fatal(err)
			}
			if row := tableRow(table.String(), WorkloadRegister); !strings.Contains(row, "  "+tc.wantNotOK) {
				t.Errorf("register row %q does not show %q", row, tc.wantNotOK)
			}
			if tc.wantErr == nil {
				checkRegistered(t, tc.url, tc.header, report.RunID, schemas, subjects)
			}
		})
	}
}

// tableRow is the line of the table that starts with workload name.
func tableRow(table, name string) string {
	for line := range strings.Lines(table) {
		if strings.HasPrefix(line, name+" ") {
			return strings.TrimRight(line, "\n")
		}
	}
	return ""
}

// checkRegistered asks the registry, through its API, for what run runID registered: each
// subject holds its share of the schemas as versions, and each schema is found under its
// subject with an ID of its own that serves it.
func checkRegistered(t *testing.T, base string, header http.Header, runID string, schemas, subjects int) {
	t.Helper()
	wantVersions, gotVersions := map[string]int{}, map[string]int{}
	for k := range subjects {
		s := subjectName(runID, k)
		code, body := harness.Do(t, "GET", base+"/subjects/"+s+"/versions", header, "")
		var versions []int
		if err := json.Unmarshal([]byte(body), &versions); code != http.StatusOK || err != nil {
			t.Fatalf("GET /subjects/%s/versions: %d %s", s, code, body)
		}
		gotVersions[s] = len(versions)
	}
	ids := map[int]int{} // ID → schema
	for i := range schemas {
		s := subjectName(runID, i%subjects)
		wantVersions[s]++
		request, _ := json.Marshal(map[string]string{"schema": schemaText(runID, i)})
		code, body := harness.Do(t, "POST", base+"/subjects/"+s, header, string(request))
		var found struct {
			ID int `json:"id"`
		}
		if err := json.Unmarshal([]byte(body), &found); code != http.StatusOK || err != nil {
			t.Fatalf("schema %d is not registered under %s: %d %s", i, s, code, body)
		}
		if other, dup := ids[found.ID]; dup {
			t.Errorf("schemas %d and %d have the same ID %d", other, i, found.ID)
		}
		ids[found.ID] = i
		code, body = harness.Do(t, "GET", fmt.Sprintf("%s/schemas/ids/%d", base, found.ID), header, "")
		if code != http.StatusOK || !strings.Contains(body, fmt.Sprintf(`f%d\"`, i)) {
			t.Errorf("GET /schemas/ids/%d (schema %d): %d %s", found.ID, i, code, body)
		}
	}
	if diff := cmp.Diff(wantVersions, gotVersions); diff != "" {
		t.Errorf("versions a subject (-want +got):\n%s", diff)
	}
}

// TestCheckLoopback accepts loopback addresses and names that resolve only to them, and refuses
// any other host, saying how to allow it.
func TestCheckLoopback(t *testing.T) {
	for _, tc := range []struct {
		url     string
		refused bool
	}{
		{"http://127.0.0.1:8081", false},
		{"http://127.3.4.5:8081/", false},
		{"https://[::1]:8081", false},
		{"http://localhost:8081", false},
		{"http://10.0.0.1:8081", true},
		{"http://192.0.2.10", true},
		{"https://[2001:db8::1]:8081", true},
		{"http://0.0.0.0:8081", true},
	} {
		err := CheckLoopback(context.Background(), tc.url)
		if got := err != nil && strings.Contains(err.Error(), "--allow-remote"); got != tc.refused {
			t.Errorf("CheckLoopback(%s) = %v; want refused %v", tc.url, err, tc.refused)
		}
	}
	for _, bad := range []string{"127.0.0.1:8081", "ftp://127.0.0.1/", "http://"} {
		if err := CheckLoopback(context.Background(), bad); err == nil {
			t.Errorf("CheckLoopback(%q) accepted a URL without an http(s) scheme and host", bad)
		}
	}
}

// TestRefusesRemoteRegistry: neither Run nor `schemagate bench registry` loads a registry on a
// host that is not loopback without --allow-remote, and the command says why.
func TestRefusesRemoteRegistry(t *testing.T) {
	const remote = "http://192.0.2.10:8081"
	if report, err := Run(t.Context(), Options{URL: remote}); err == nil || report != nil {
		t.Errorf("Run(%s) = %v, %v; want a refusal and no report", remote, report, err)
	}
	out, errOut, code := harness.Run(t, nil, "bench", "registry", "--url", remote)
	if code != 3 || out != "" || !strings.Contains(errOut, "not a loopback address") || !strings.Contains(errOut, "--allow-remote") {
		t.Errorf("bench registry --url %s: exit %d, stdout %q, stderr %q; want exit 3 and the reason", remote, code, out, errOut)
	}
}

// TestReportJSON: the JSON a script reads holds the whole report.
func TestReportJSON(t *testing.T) {
	want := &Report{URL: "http://127.0.0.1:8081", RunID: "abc", Clients: 2, Schemas: 4, Subjects: 2, Duration: 1, Results: []Workload{
		{Name: WorkloadRegister, Requests: 4, OK: 3, PerSecond: 30, Seconds: 0.1, P50: 1.5, P99: 2, NonOK: map[int]int{503: 1}},
		{Name: WorkloadByID, Requests: 10, OK: 9, PerSecond: 9, Seconds: 1, P50: 0.5, P99: 0.9, Errors: 1, FirstError: "refused"},
	}}
	var b bytes.Buffer
	if err := WriteJSON(&b, want); err != nil {
		t.Fatal(err)
	}
	got := &Report{}
	if err := json.Unmarshal(b.Bytes(), got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
}
