package replicas_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/store/storetest"
)

// Shape of the burst: burstCalls registrations of burstSchemas distinct schemas into
// burstSubjects subjects, sent by burstClients concurrent clients spread over burstReplicas
// gateway processes on one store.
const (
	burstReplicas   = 3
	burstCalls      = 500
	burstSchemas    = 100
	burstSubjects   = 10
	burstClients    = 50
	burstMaxConns   = 30 // the PostgreSQL server's max_connections
	burstPerSubject = burstSchemas / burstSubjects
)

// TestBurstThreeReplicas: three replicas with the default pool on one store, and a burst of
// concurrent registrations. Every call answers 200 (none is refused because the database ran out
// of connections), each schema has one ID everywhere, and every subject's versions run 1..n
// without a gap or a duplicate. On PostgreSQL the server is a throwaway one with
// max_connections lowered to 30; on SQLite the replicas share one file.
func TestBurstThreeReplicas(t *testing.T) {
	url := burstStore(t)
	var reps []*replica
	for i := range burstReplicas {
		reps = append(reps, start(t, fmt.Sprintf("replica-%d", i), url, "log:\n  level: warn\n"))
	}

	// Call c registers schema c%100 into its subject on replica c%3: every schema five times,
	// from different clients and replicas.
	type answer struct {
		code int
		id   int
		body string
	}
	answers := make([]answer, burstCalls)
	calls := make(chan int)
	var wg sync.WaitGroup
	for range burstClients {
		wg.Go(func() {
			for c := range calls {
				schema := c % burstSchemas
				body, _ := json.Marshal(map[string]string{"schema": burstSchema(schema)})
				code, resp := reps[c%burstReplicas].Do(t, "POST", "/subjects/"+burstSubject(schema)+"/versions", "", string(body))
				var out struct{ ID int }
				_ = json.Unmarshal([]byte(resp), &out)
				answers[c] = answer{code: code, id: out.ID, body: resp}
			}
		})
	}
	started := time.Now()
	for c := range burstCalls {
		calls <- c
	}
	close(calls)
	wg.Wait()
	t.Logf("%d registrations from %d clients on %d replicas (%s) in %s", burstCalls, burstClients, burstReplicas,
		storetest.Backend(), time.Since(started).Round(time.Millisecond))

	statuses := map[int]int{}
	ids := map[int][]int{} // schema → the distinct IDs its registrations answered
	for c, a := range answers {
		statuses[a.code]++
		if a.code != 200 {
			if statuses[a.code] <= 3 {
				t.Logf("call %d: %d %s", c, a.code, a.body)
			}
			continue
		}
		if s := c % burstSchemas; !slices.Contains(ids[s], a.id) {
			ids[s] = append(ids[s], a.id)
		}
	}
	if diff := cmp.Diff(map[int]int{200: burstCalls}, statuses); diff != "" {
		t.Errorf("answers by HTTP status (-want +got):\n%s", diff)
	}
	owner := map[int]int{} // ID → schema
	for s := range burstSchemas {
		if len(ids[s]) > 1 {
			t.Errorf("schema %d answered IDs %v; want one", s, ids[s])
		}
		for _, id := range ids[s] {
			if prev, ok := owner[id]; ok {
				t.Errorf("ID %d answered for schemas %d and %d", id, prev, s)
			}
			owner[id] = s
		}
	}

	// Every replica shows each subject with versions 1..10, holding the subject's 10 schemas.
	wantVersions := make([]int, burstPerSubject)
	for i := range wantVersions {
		wantVersions[i] = i + 1
	}
	for _, r := range reps {
		for sub := range burstSubjects {
			subject := fmt.Sprintf("burst-%d-value", sub)
			code, body := r.Do(t, "GET", "/subjects/"+subject+"/versions", "", "")
			var versions []int
			_ = json.Unmarshal([]byte(body), &versions)
			if code != 200 || !cmp.Equal(versions, wantVersions) {
				t.Errorf("%s GET /subjects/%s/versions = %d %s; want 200 %v", r.name, subject, code, body, wantVersions)
				continue
			}
			// Each version holds one of the subject's schemas (named by its field) under the ID
			// its registrations answered.
			var want, got []string
			for s := sub; s < burstSchemas; s += burstSubjects {
				want = append(want, fmt.Sprintf("f%d id %v", s, ids[s]))
			}
			for _, v := range versions {
				code, body := r.Do(t, "GET", fmt.Sprintf("/subjects/%s/versions/%d", subject, v), "", "")
				var sv struct {
					ID     int
					Schema string
				}
				var schema struct{ Fields []struct{ Name string } }
				if code != 200 || json.Unmarshal([]byte(body), &sv) != nil || json.Unmarshal([]byte(sv.Schema), &schema) != nil || len(schema.Fields) != 1 {
					t.Fatalf("%s GET /subjects/%s/versions/%d = %d %s", r.name, subject, v, code, body)
				}
				got = append(got, fmt.Sprintf("%s id [%d]", schema.Fields[0].Name, sv.ID))
			}
			slices.Sort(want)
			slices.Sort(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s %s: the schemas of versions 1..%d (-want +got):\n%s", r.name, subject, burstPerSubject, diff)
			}
		}
	}
}

// burstSchema is the text of schema i: a record with one optional field of its own, so that
// every schema of a subject is backward compatible with the others.
func burstSchema(i int) string {
	return fmt.Sprintf(`{"type":"record","name":"R","fields":[{"name":"f%d","type":["null","int"],"default":null}]}`, i)
}

// burstSubject is the subject schema i is registered into.
func burstSubject(i int) string { return fmt.Sprintf("burst-%d-value", i%burstSubjects) }

// burstStore is the burst's store: on SQLite a fresh file; on PostgreSQL the postgres database
// of a throwaway server that scripts/with-postgres.sh starts with max_connections=30 for this
// test alone (a server shared with other tests could not be lowered), stopped when the test ends.
func burstStore(t *testing.T) string {
	t.Helper()
	if storetest.Backend() != "postgres" {
		return storetest.URL(t)
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "with-postgres.sh")
	// The server lives as long as the shell's stdin is open: closing it ends `cat`, and the
	// script then stops the server and removes its directory.
	cmd := exec.Command(script, "sh", "-c", `printf '%s\n' "$SCHEMAGATE_TEST_POSTGRES_URL"; exec cat >/dev/null`)
	cmd.Env = append(cmd.Environ(), fmt.Sprintf("SCHEMAGATE_PG_MAX_CONNECTIONS=%d", burstMaxConns))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", script, err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("%s: %v\n%s", script, err, stderr.String())
		}
	})
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("%s printed no URL: %v\n%s", script, err, stderr.String())
	}
	return strings.TrimSpace(url)
}
