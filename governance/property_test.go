package governance

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/schemagate/schemagate/validate"
)

// TestPropertyFlushInterleavings: for any interleaving of Record, successful and failing Flush
// (failing before the transaction or in its middle) and clock moves, the stored buckets, the
// heartbeats and the drift counts are exactly those of a model in which each successful flush
// stores everything recorded since the previous successful one, in the bucket of its own time.
func TestPropertyFlushInterleavings(t *testing.T) {
	db, _ := openDB(t)
	var iteration atomic.Int64
	rapid.Check(t, func(rt *rapid.T) {
		ctx := context.Background()
		n := iteration.Add(1)
		replica := fmt.Sprintf("r%d", n)
		subjects := []string{fmt.Sprintf("i%d-a", n), fmt.Sprintf("i%d-b", n)}
		// Each iteration lives in its own day, so heartbeats of iterations do not mix.
		start := t0.Add(time.Duration(n) * 24 * time.Hour)
		clock := newClock(start.Add(time.Duration(rapid.IntRange(0, 299).Draw(rt, "offset")) * time.Second))
		e, err := NewEvidence(EvidenceOptions{DB: db, Replica: replica, Clock: clock.Now})
		if err != nil {
			rt.Fatal(err)
		}
		type counts struct {
			validations, violations int64
			findings                [validate.NumKinds]int64
		}
		type bk struct {
			subject string
			start   int64
		}
		pending := map[string]*counts{}
		stored := map[bk]*counts{}
		pendingBeats := map[int64]bool{}
		storedBeats := map[int64]bool{}
		drift := map[string]int64{} // subject kind path → count
		kindGen := rapid.SampledFrom(append(validate.Kinds(), "bogus"))
		var lift func()
		defer func() {
			if lift != nil {
				lift()
			}
		}()
		succeed := func() {
			b := e.bucketOf(clock.Now())
			pendingBeats[b] = true
			for s, c := range pending {
				k := bk{s, b}
				if stored[k] == nil {
					stored[k] = &counts{}
				}
				stored[k].validations += c.validations
				stored[k].violations += c.violations
				for i := range c.findings {
					stored[k].findings[i] += c.findings[i]
				}
			}
			clear(pending)
			for b := range pendingBeats {
				storedBeats[b] = true
			}
			clear(pendingBeats)
		}
		rt.Repeat(map[string]func(*rapid.T){
			"record": func(rt *rapid.T) {
				s := rapid.SampledFrom(subjects).Draw(rt, "subject")
				var found []validate.Finding
				for _, k := range rapid.SliceOfN(kindGen, 0, 3).Draw(rt, "kinds") {
					path := rapid.SampledFrom([]string{"", "/a", "/b/0"}).Draw(rt, "path")
					found = append(found, validate.Finding{Kind: k, Path: path})
					drift[fmt.Sprintf("%s %s %s", s, validate.Kinds()[k.Index()], path)]++
				}
				e.Record(s, "p", found, nil)
				c := pending[s]
				if c == nil {
					c = &counts{}
					pending[s] = c
				}
				c.validations++
				if validate.Invalid(found) {
					c.violations++
				}
				for _, f := range found {
					c.findings[f.Kind.Index()]++
				}
			},
			"flush": func(rt *rapid.T) {
				err := e.Flush(ctx)
				if lift != nil {
					if err == nil {
						rt.Fatal("flush with failing heartbeats succeeded")
					}
					pendingBeats[e.bucketOf(clock.Now())] = true
					return
				}
				if err != nil {
					rt.Fatal(err)
				}
				succeed()
			},
			"flushCancelled": func(rt *rapid.T) {
				c, cancel := context.WithCancel(ctx)
				cancel()
				if e.Flush(c) == nil {
					rt.Fatal("flush with cancelled context succeeded")
				}
				pendingBeats[e.bucketOf(clock.Now())] = true
			},
			"toggleFailure": func(rt *rapid.T) {
				if lift != nil {
					lift()
					lift = nil
				} else {
					lift = failHeartbeats(t, db, replica)
				}
			},
			"advance": func(rt *rapid.T) {
				clock.Advance(time.Duration(rapid.IntRange(0, 700).Draw(rt, "seconds")) * time.Second)
			},
		})
		if lift != nil {
			lift()
			lift = nil
		}
		if err := e.Flush(ctx); err != nil {
			rt.Fatal(err)
		}
		succeed()

		for _, s := range subjects {
			got, err := e.Buckets(ctx, s, time.Time{})
			if err != nil {
				rt.Fatal(err)
			}
			want := 0
			for k, c := range stored {
				if k.subject == s && c.validations > 0 {
					want++
				}
			}
			if len(got) != want {
				rt.Fatalf("%s: %d buckets stored, model has %d", s, len(got), want)
			}
			for _, b := range got {
				c := stored[bk{s, b.Start.Unix()}]
				if c == nil || b.Validations != c.validations || b.Violations != c.violations {
					rt.Fatalf("%s bucket %v: stored %+v, model %+v", s, b.Start, b, c)
				}
				for i, name := range validate.Kinds() {
					if b.Findings[name] != c.findings[i] {
						rt.Fatalf("%s bucket %v kind %s: stored %d, model %d", s, b.Start, name, b.Findings[name], c.findings[i])
					}
				}
			}
			r, err := e.DriftReport(ctx, s)
			if err != nil {
				rt.Fatal(err)
			}
			seen := 0
			for _, d := range r.Entries {
				if want := drift[fmt.Sprintf("%s %s %s", s, d.Kind, d.Path)]; d.Count != want {
					rt.Fatalf("drift %s %s %q: count %d, model %d", s, d.Kind, d.Path, d.Count, want)
				}
				seen++
			}
			want = 0
			for k := range drift {
				if len(k) > len(s) && k[:len(s)+1] == s+" " {
					want++
				}
			}
			if seen != want {
				rt.Fatalf("drift entries of %s: %d, model %d", s, seen, want)
			}
		}
		rows, err := db.SQL().QueryContext(ctx, db.Dialect().Rebind(`SELECT bucket_start FROM evidence_heartbeats WHERE replica = ?`), replica)
		if err != nil {
			rt.Fatal(err)
		}
		defer rows.Close()
		got := map[int64]bool{}
		for rows.Next() {
			var b int64
			if err := rows.Scan(&b); err != nil {
				rt.Fatal(err)
			}
			got[b] = true
		}
		if len(got) != len(storedBeats) {
			rt.Fatalf("heartbeats %v, model %v", got, storedBeats)
		}
		for b := range storedBeats {
			if !got[b] {
				rt.Fatalf("heartbeat %v missing; stored %v", time.Unix(b, 0).UTC(), got)
			}
		}
	})
}
