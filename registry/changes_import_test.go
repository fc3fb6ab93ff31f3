package registry_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/registry/importer"
	"github.com/schemagate/schemagate/registry/upstream"
	"github.com/schemagate/schemagate/store/storetest"
)

// TestImporterCountsChanges: the importer's writes (an IMPORT registration per version, a
// soft delete per deleted one) raise the subject's change counter once per version row
// written, like every other write.
func TestImporterCountsChanges(t *testing.T) {
	ctx := t.Context()
	src := httptest.NewServer(srfake.NewRegistry().Handler())
	t.Cleanup(src.Close)
	const subject = "orders-value"
	for _, field := range []string{"a", "b", "c"} {
		schema := `{"type":"record","name":"R","fields":[{"name":"` + field + `","type":"int","default":0}]}`
		body, err := json.Marshal(map[string]string{"schema": schema})
		if err != nil {
			t.Fatal(err)
		}
		call(ctx, t, http.MethodPost, src.URL+"/subjects/"+subject+"/versions", string(body))
	}
	call(ctx, t, http.MethodDelete, src.URL+"/subjects/"+subject+"/versions/2", "")

	db := storetest.Open(t)
	target, err := registry.New(db, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := upstream.New(upstream.Options{URL: src.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := importer.Run(ctx, importer.Options{Source: c, Target: target}); err != nil {
		t.Fatal(err)
	}
	var changes int64
	if err := db.SQL().QueryRowContext(ctx, db.Dialect().Rebind(
		`SELECT changes FROM subject_changes WHERE subject = ?`), subject).Scan(&changes); err != nil {
		t.Fatal(err)
	}
	// Three versions inserted, one of them soft-deleted (updated).
	if diff := cmp.Diff(int64(4), changes); diff != "" {
		t.Errorf("change counter of %s after the import (-want +got):\n%s", subject, diff)
	}
}

// call makes one request and fails the test unless it answers 200.
func call(ctx context.Context, t *testing.T, method, url, body string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s", method, url, resp.Status)
	}
}
