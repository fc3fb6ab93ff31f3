package governance

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/validate"
)

// Bounds on what one drift sample keeps.
const (
	// MaxSampleBytes is the most of a payload a drift sample keeps.
	MaxSampleBytes = 1 << 10
	// MaxSamplePathBytes is the longest finding path kept; longer paths are cut, so findings
	// deep in one long path share an entry.
	MaxSamplePathBytes = 512
	// MaxSampleMessageBytes is the longest finding message kept.
	MaxSampleMessageBytes = 1 << 10
)

type sampleKey struct {
	kind uint8
	path string
}

// sampleEntry aggregates the samples of one key between flushes. Times are unix seconds.
type sampleEntry struct {
	count       int64
	first, last int64
	message     string
	payload     []byte
	truncated   bool
}

// recordSamples adds a drift sample of each finding to st: only the first payload of each
// (kind, path) is kept, cut to MaxSampleBytes, and copied. at is the clock reading Record took
// for these findings (off the common path: valid payloads without findings do not read it).
func (e *Evidence) recordSamples(st *subjectState, findings []validate.Finding, payload []byte, at time.Time) {
	now := at.Unix()
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, f := range findings {
		key := sampleKey{kind: uint8(f.Kind.Index()), path: truncateBytes(f.Path, MaxSamplePathBytes)}
		ent := st.samples[key]
		if ent == nil {
			if e.sampleCount.Add(1) > e.maxSamples {
				e.sampleCount.Add(-1)
				e.dropped.Add(1)
				continue
			}
			if st.samples == nil {
				st.samples = make(map[sampleKey]*sampleEntry)
			}
			key.path = strings.Clone(key.path)
			ent = &sampleEntry{first: now, last: now}
			st.samples[key] = ent
		}
		ent.count++
		ent.last = max(ent.last, now)
		if msg := truncateBytes(f.Message, MaxSampleMessageBytes); msg != ent.message {
			ent.message = strings.Clone(msg)
		}
		if ent.payload == nil && len(payload) > 0 {
			n := min(len(payload), MaxSampleBytes)
			ent.payload = append(make([]byte, 0, n), payload[:n]...)
			ent.truncated = len(payload) > n
		}
	}
}

// takeSamples removes st's samples from memory and returns them. They still count against
// MaxSamples until the flush that took them succeeds (see releaseSamples), so that putting them
// back after a failed flush never exceeds the bound.
func (e *Evidence) takeSamples(st *subjectState) map[sampleKey]*sampleEntry {
	st.mu.Lock()
	defer st.mu.Unlock()
	m := st.samples
	st.samples = nil
	return m
}

// releaseSamples frees the places of stored samples.
func (e *Evidence) releaseSamples(batch []subjectBatch) {
	for _, b := range batch {
		e.sampleCount.Add(-int64(len(b.samples)))
	}
}

// restoreSamples puts the samples of a failed flush back into st, merged with what was recorded
// meanwhile (which is newer). An entry recorded meanwhile under a key of the failed flush took
// a second place, which the merge frees.
func (e *Evidence) restoreSamples(st *subjectState, old map[sampleKey]*sampleEntry) {
	if len(old) == 0 {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for k, newer := range st.samples {
		if ent, ok := old[k]; ok {
			mergeEntry(ent, newer)
			e.sampleCount.Add(-1)
		} else {
			old[k] = newer
		}
	}
	st.samples = old
}

// mergeEntry folds newer (recorded later) into ent.
func mergeEntry(ent, newer *sampleEntry) {
	ent.count += newer.count
	ent.first = min(ent.first, newer.first)
	if newer.last >= ent.last {
		ent.last = newer.last
		ent.message = newer.message
	}
	if ent.payload == nil {
		ent.payload, ent.truncated = newer.payload, newer.truncated
	}
}

const upsertDriftSQL = `INSERT INTO drift_samples
    (subject, kind, path, occurrences, first_seen, last_seen, last_message, sample, sample_truncated)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (subject, kind, path) DO UPDATE SET
    occurrences = drift_samples.occurrences + excluded.occurrences,
    first_seen = CASE WHEN excluded.first_seen < drift_samples.first_seen
        THEN excluded.first_seen ELSE drift_samples.first_seen END,
    last_seen = CASE WHEN excluded.last_seen > drift_samples.last_seen
        THEN excluded.last_seen ELSE drift_samples.last_seen END,
    last_message = CASE WHEN excluded.last_seen >= drift_samples.last_seen
        THEN excluded.last_message ELSE drift_samples.last_message END,
    sample = CASE WHEN drift_samples.sample = ''
        THEN excluded.sample ELSE drift_samples.sample END,
    sample_truncated = CASE WHEN drift_samples.sample = ''
        THEN excluded.sample_truncated ELSE drift_samples.sample_truncated END`

// writeSamples upserts the drift samples of batch in tx.
func (e *Evidence) writeSamples(ctx context.Context, tx *sql.Tx, batch []subjectBatch) error {
	var stmt *sql.Stmt
	for _, b := range batch {
		for k, ent := range b.samples {
			if stmt == nil {
				var err error
				if stmt, err = tx.PrepareContext(ctx, e.db.Dialect().Rebind(upsertDriftSQL)); err != nil {
					return fmt.Errorf("prepare drift sample upsert: %w", err)
				}
				defer stmt.Close()
			}
			truncated := 0
			if ent.truncated {
				truncated = 1
			}
			_, err := stmt.ExecContext(ctx,
				sanitizeText(b.subject, registry.MaxSubjectBytes), validate.Kinds()[k.kind], sanitizeText(k.path, MaxSamplePathBytes),
				ent.count, ent.first, ent.last, sanitizeText(ent.message, MaxSampleMessageBytes),
				base64.StdEncoding.EncodeToString(ent.payload), truncated)
			if err != nil {
				return fmt.Errorf("store drift sample of %q: %w", b.subject, err)
			}
		}
	}
	return nil
}

// Report is the drift report of one subject.
type Report struct {
	Subject string
	// Entries are sorted by Count, highest first, then by Kind and Path.
	Entries []DriftEntry
}

// DriftEntry aggregates the findings of one kind at one path.
type DriftEntry struct {
	Kind validate.Kind
	Path string
	// Count is how many findings were sampled.
	Count int64
	// FirstSeen and LastSeen bound when they were recorded, to the second (UTC).
	FirstSeen, LastSeen time.Time
	// Message is the message of the latest finding.
	Message string
	// Sample is the first payload recorded with a finding of this kind and path (nil when no
	// payload was given), at most MaxSampleBytes of it.
	Sample []byte
	// SampleTruncated reports that the payload was longer than the Sample.
	SampleTruncated bool
}

// DriftReport returns subject's drift samples: those stored by every replica, merged with those
// this replica has not flushed yet.
func (e *Evidence) DriftReport(ctx context.Context, subject string) (Report, error) {
	// Holding flushMu means no flush has samples in flight: each is in memory or stored.
	e.flushMu.Lock()
	defer e.flushMu.Unlock()
	rows, err := e.db.SQL().QueryContext(ctx, e.db.Dialect().Rebind(
		`SELECT kind, path, occurrences, first_seen, last_seen, last_message, sample, sample_truncated
FROM drift_samples WHERE subject = ?`), sanitizeText(subject, registry.MaxSubjectBytes))
	if err != nil {
		return Report{}, storeErr("reading drift samples", err)
	}
	defer rows.Close()
	type key struct {
		kind validate.Kind
		path string
	}
	entries := make(map[key]*DriftEntry)
	for rows.Next() {
		var (
			d           DriftEntry
			first, last int64
			truncated   int
			sample      string
		)
		if err := rows.Scan(&d.Kind, &d.Path, &d.Count, &first, &last, &d.Message, &sample, &truncated); err != nil {
			return Report{}, storeErr("reading drift samples", err)
		}
		// Samples are stored base64 (standard encoding, with padding): payloads are often
		// binary Avro, and the column is text.
		if d.Sample, err = base64.StdEncoding.DecodeString(sample); err != nil || len(d.Sample) == 0 {
			d.Sample = nil
		}
		if err != nil {
			return Report{}, storeErr("reading drift samples", fmt.Errorf("sample of %s at %q: %w", d.Kind, d.Path, err))
		}
		d.FirstSeen, d.LastSeen, d.SampleTruncated = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC(), truncated != 0
		entries[key{d.Kind, d.Path}] = &d
	}
	if err := rows.Err(); err != nil {
		return Report{}, storeErr("reading drift samples", err)
	}
	if v, ok := e.subjects.Load(subject); ok {
		st := v.(*subjectState)
		st.mu.Lock()
		for k, ent := range st.samples {
			mk := key{validate.Kinds()[k.kind], sanitizeText(k.path, MaxSamplePathBytes)}
			first, last := time.Unix(ent.first, 0).UTC(), time.Unix(ent.last, 0).UTC()
			sample := slices.Clone(ent.payload)
			message := sanitizeText(ent.message, MaxSampleMessageBytes)
			d, ok := entries[mk]
			if !ok {
				entries[mk] = &DriftEntry{Kind: mk.kind, Path: mk.path, Count: ent.count,
					FirstSeen: first, LastSeen: last, Message: message, Sample: sample,
					SampleTruncated: ent.truncated}
				continue
			}
			d.Count += ent.count
			if first.Before(d.FirstSeen) {
				d.FirstSeen = first
			}
			if !last.Before(d.LastSeen) {
				d.LastSeen, d.Message = last, message
			}
			if len(d.Sample) == 0 {
				d.Sample, d.SampleTruncated = sample, ent.truncated
			}
		}
		st.mu.Unlock()
	}
	r := Report{Subject: subject, Entries: make([]DriftEntry, 0, len(entries))}
	for _, d := range entries {
		r.Entries = append(r.Entries, *d)
	}
	slices.SortFunc(r.Entries, func(a, b DriftEntry) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(string(a.Kind), string(b.Kind)), strings.Compare(a.Path, b.Path))
	})
	return r, nil
}
