package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/tests/harness"
)

// TestRegistryImportCLI runs `schemagate registry import` from a real upstream schemagate
// into a data directory twice, then serves that directory: the IDs answer the same schemas as
// the upstream's, the runs are audited, and a conflicting store exits 3 saying why.
func TestRegistryImportCLI(t *testing.T) {
	up := harness.Start(t, harness.Options{Name: "upstream"})
	do := func(s *harness.Server, method, path, body string) string {
		t.Helper()
		code, answer := s.Do(t, method, path, "", body)
		if code != 200 {
			t.Fatalf("%s %s: %d %s", method, path, code, answer)
		}
		return answer
	}
	record := func(name string) string {
		return mustJSON(map[string]string{"schema": fmt.Sprintf(`{"type":"record","name":%q,"fields":[{"name":"a","type":"string"}]}`, name)})
	}
	for i := range 10 {
		do(up, "POST", fmt.Sprintf("/subjects/s-%d/versions", i), record(fmt.Sprintf("R%d", i)))
	}
	do(up, "POST", "/subjects/orders/versions", mustJSON(map[string]any{
		"schema":     `{"type":"record","name":"Order","fields":[{"name":"r","type":"R0"}]}`,
		"references": []map[string]any{{"name": "R0", "subject": "s-0", "version": 1}}}))
	do(up, "DELETE", "/subjects/s-9", "")
	do(up, "PUT", "/config/s-1", `{"compatibility":"FULL"}`)
	do(up, "PUT", "/mode/s-2", `{"mode":"READONLY"}`)

	dir := t.TempDir()
	importRun := func() (string, string, int) {
		return harness.Run(t, nil, "registry", "import", "--from", up.URL(), "--data-dir", dir)
	}
	out, errOut, code := importRun()
	if code != 0 {
		t.Fatalf("first import: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// stderr is not a terminal here: progress comes as lines, each phase ending complete.
	for _, want := range []string{"read: 11/11\n", "import: 12/12\n", "verify: 11/11\n"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not show %q:\n%s", want, errOut)
		}
	}
	wantFirst := []string{
		"IMPORTED ALREADY PRESENT",
		"subjects 11 0", "versions 11 0", "schemas 11 0", "soft-deleted 1 0", "configs 1 1", "modes 1 1",
		"verified: every subject's versions, every version's schema ID and every schema read back identical to the upstream's",
	}
	if diff := cmp.Diff(wantFirst, summaryLines(out)); diff != "" {
		t.Errorf("first summary (-want +got):\n%s\nstdout:\n%s", diff, out)
	}
	out, errOut, code = importRun()
	if code != 0 {
		t.Fatalf("second import: exit %d\nstderr:\n%s", code, errOut)
	}
	wantSecond := []string{
		"IMPORTED ALREADY PRESENT",
		"subjects 0 11", "versions 0 11", "schemas 0 11", "soft-deleted 0 1", "configs 0 2", "modes 0 2",
		wantFirst[len(wantFirst)-1],
	}
	if diff := cmp.Diff(wantSecond, summaryLines(out)); diff != "" {
		t.Errorf("second summary (-want +got):\n%s", diff)
	}

	// The imported store, served: every ID answers what the upstream answers.
	moved := harness.Start(t, harness.Options{Name: "moved", DataDir: dir})
	for id := 1; id <= 11; id++ {
		path := fmt.Sprintf("/schemas/ids/%d", id)
		if diff := cmp.Diff(do(up, "GET", path, ""), do(moved, "GET", path, "")); diff != "" {
			t.Errorf("GET %s (-upstream +imported):\n%s", path, diff)
		}
	}
	for _, path := range []string{"/subjects?deleted=true", "/subjects/s-9/versions?deleted=true", "/config/s-1", "/mode/s-2", "/subjects/orders/versions/1"} {
		if diff := cmp.Diff(do(up, "GET", path, ""), do(moved, "GET", path, "")); diff != "" {
			t.Errorf("GET %s (-upstream +imported):\n%s", path, diff)
		}
	}
	audit, errOut, code := harness.Run(t, nil, "audit", "list", "--action", "registry.imported", "--server", moved.GRPCAddr)
	if code != 0 || strings.Count(audit, "registry.imported") != 2 {
		t.Errorf("audit list: exit %d, want two registry.imported entries:\n%s%s", code, audit, errOut)
	}

	// A store holding another schema under ID 1 is a conflict: exit 3, nothing imported.
	otherDir := t.TempDir()
	other := harness.Start(t, harness.Options{Name: "other", DataDir: otherDir})
	do(other, "POST", "/subjects/local/versions", record("Local"))
	if err := other.Stop(t); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = harness.Run(t, nil, "registry", "import", "--from", up.URL(), "--data-dir", otherDir)
	if code != exitError || out != "" {
		t.Errorf("conflicting import: exit %d (want %d), stdout %q", code, exitError, out)
	}
	if !strings.Contains(errOut, "the embedded registry holds other content: 1 conflicts, nothing was imported") ||
		!strings.Contains(errOut, `schema ID 1 (upstream subject "s-0" version 1 (schema ID 1)) differs: canonical texts differ`) {
		t.Errorf("conflicting import: stderr does not name the conflict:\n%s", errOut)
	}
}

// summaryLines returns the summary's lines after the first, with runs of spaces made one.
func summaryLines(out string) []string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	space := regexp.MustCompile(` +`)
	for i, l := range lines {
		lines[i] = space.ReplaceAllString(strings.TrimSpace(l), " ")
	}
	return lines[1:]
}
