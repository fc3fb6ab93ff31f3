package crash_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkAPI checks, on the restarted server, what clients see against st (the store as read
// after the crash, before the restart) and the ledger: the audit chain verifies online over the
// same entries; every acknowledged version and schema ID answers what it answered before; every
// subject lists versions 1..n as stored; validation modes, compatibility and registry mode are
// as stored.
func checkAPI(t *testing.T, srv *server, st *storeState, led *ledger) {
	t.Helper()
	var verify struct {
		OK             bool `json:"ok"`
		EntriesChecked jsonInt
		Problem        string
	}
	if r := srv.get(t, "/v1/audit:verify"); r.code != http.StatusOK || !r.decode(t, "audit verify", &verify) ||
		!verify.OK || int(verify.EntriesChecked) != len(st.entries) {
		t.Errorf("online audit verify after the restart: %s; want ok over %d entries", r, len(st.entries))
	}

	// Every acknowledged version, and every schema ID, concurrently (there are many).
	type versionCheck struct {
		k  svKey
		id int
	}
	var checks []versionCheck
	for k, id := range led.versions {
		checks = append(checks, versionCheck{k, id})
	}
	used := map[int]bool{}
	for _, v := range st.versions {
		used[v.ID] = true
	}
	ids := make(chan int)
	versions := make(chan versionCheck)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for c := range versions {
				path := fmt.Sprintf("/subjects/%s/versions/%d", url.PathEscape(c.k.subject), c.k.version)
				var got schemaAnswer
				if r := srv.get(t, path); r.code != http.StatusOK || !r.decode(t, path, &got) {
					t.Errorf("acknowledged version after the restart: GET %s: %s", path, r)
				} else if want := (schemaAnswer{ID: c.id, Version: c.k.version, Schema: led.idText[c.id]}); got != want {
					t.Errorf("GET %s after the restart: %+v; acknowledged %+v", path, got, want)
				}
			}
		})
		wg.Go(func() {
			for id := range ids {
				path := fmt.Sprintf("/schemas/ids/%d", id)
				r := srv.get(t, path)
				var got schemaAnswer
				switch {
				case !used[id] && r.code == http.StatusNotFound:
					// Its only subject was deleted permanently; the ID stays taken.
				case r.code != http.StatusOK || !r.decode(t, path, &got):
					t.Errorf("acknowledged schema ID after the restart: GET %s: %s (in use: %v)", path, r, used[id])
				case got.Schema != led.idText[id]:
					t.Errorf("GET %s after the restart answers %s; it was acknowledged as %s", path, got.Schema, led.idText[id])
				}
			}
		})
	}
	for _, c := range checks {
		versions <- c
	}
	close(versions)
	for id := range led.idText {
		ids <- id
	}
	close(ids)
	wg.Wait()

	stored := st.subjectVersions()
	for _, d := range led.dels {
		if _, ok := stored[d.name]; !ok {
			if r := srv.get(t, "/subjects/"+d.name+"/versions?deleted=true"); r.code != http.StatusNotFound {
				t.Errorf("%s has no stored version; GET its versions: %s", d.name, r)
			}
		}
	}
	for subject, want := range stored {
		path := "/subjects/" + url.PathEscape(subject) + "/versions?deleted=true"
		var got []int
		if r := srv.get(t, path); r.code != http.StatusOK || !r.decode(t, path, &got) {
			t.Errorf("GET %s: %s", path, r)
		} else if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GET %s after the restart (-stored +answered):\n%s", path, diff)
		}
	}

	for _, subject := range slices.Sorted(maps.Keys(led.govSubjects)) {
		var status struct{ Mode string }
		if r := srv.get(t, "/v1/subjects/"+subject+"/governance"); r.code != http.StatusOK || !r.decode(t, "status", &status) {
			t.Errorf("status of %s: %s", subject, r)
		} else if got, want := modeName(status.Mode), st.validationMode(subject); got != want {
			t.Errorf("%s is %s after the restart; it is stored %s", subject, got, want)
		}
	}
	cfg := led.cfg.name
	for _, c := range []struct {
		path, field, stored string
		notConfigured       int // the Confluent error code without a subject-level value
	}{
		{"/config/" + cfg, "compatibilityLevel", st.configs[cfg], 40408},
		{"/mode/" + cfg, "mode", st.regModes[cfg], 40409},
	} {
		var got map[string]any
		r := srv.get(t, c.path)
		if !r.decode(t, c.path, &got) {
			continue
		}
		want := map[string]any{c.field: c.stored}
		if c.stored == "" {
			want = map[string]any{"error_code": float64(c.notConfigured), "message": got["message"]}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GET %s after the restart (-stored +answered):\n%s", c.path, diff)
		}
	}
}
