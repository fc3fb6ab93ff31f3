package registry

import (
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestConcurrentRegistrationOfOneSchema(t *testing.T) {
	const n = 50
	r, _ := newTestRegistry(t)
	results := make([]SubjectVersion, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = r.Register(t.Context(), "orders-value", avroIn(userV1))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
	for i, sv := range results {
		if diff := cmp.Diff(results[0], sv); diff != "" {
			t.Errorf("goroutine %d got a different result (-first +this):\n%s", i, diff)
		}
	}
	if results[0].Version != 1 || results[0].Schema.ID != 1 {
		t.Errorf("result = %v, want version 1, id 1", results[0])
	}
	vs, err := r.Versions(t.Context(), "orders-value", true)
	if err != nil || !cmp.Equal(vs, []int{1}) {
		t.Errorf("Versions = %v, %v; want [1]", vs, err)
	}
	if got := testutil.ToFloat64(r.metrics.registered.WithLabelValues("AVRO")); got != 1 {
		t.Errorf("registered counter = %v, want 1", got)
	}
}

func TestConcurrentRegistrationOfManySchemas(t *testing.T) {
	const n = 50
	r, _ := newTestRegistry(t)
	results := make([]SubjectVersion, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			// Each adds its own optional field: compatible with every other under BACKWARD.
			text := fmt.Sprintf(`{"type":"record","name":"R","fields":[{"name":"f%d","type":["null","int"],"default":null}]}`, i)
			results[i], errs[i] = r.Register(t.Context(), "many", avroIn(text))
		})
	}
	close(start)
	wg.Wait()
	var versions, ids []int
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err) // SQLITE_BUSY must not leak out
		}
		versions = append(versions, results[i].Version)
		ids = append(ids, results[i].Schema.ID)
	}
	sort.Ints(versions)
	sort.Ints(ids)
	want := make([]int, n)
	for i := range want {
		want[i] = i + 1
	}
	if diff := cmp.Diff(want, versions); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
}
