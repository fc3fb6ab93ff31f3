package registry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// These fuzz targets cover the schema entry points FuzzParseAvro and FuzzParseJSONSchema do not:
// the normalizing parse, subject names, and the whole registration path (type, metadata, rule
// set, normalization, storage, lookup), to see if we can make them panic, store something they
// cannot read back, or leave a refused registration half-written. The seeds, here and in
// testdata/fuzz/<FuzzName>/, also run as ordinary tests.

// FuzzParseNormalized parses with normalization, as Register does when the input or the
// subject's config asks: an accepted schema's canonical text is a fixed point, and the text
// normalized is accepted without normalization too. Avro, JSON Schema and Protobuf.
func FuzzParseNormalized(f *testing.F) {
	for _, s := range avroSeeds {
		f.Add("AVRO", s)
	}
	for _, s := range jsonSchemaSeeds {
		f.Add("JSON", s)
	}
	f.Add("JSON", `{"type":"object","required":["b","a"],"properties":{"b":{"type":"integer","maximum":1e400},"a":{"enum":[1.0,1]}}}`)
	f.Add("JSON", `{"const":"\u0000\ud800","description":"<&>"}`)
	f.Add("JSON", `{"a":1,"a":2}`)
	for _, s := range []string{moneyText, moneyRespelled, "syntax = \"proto2\";\nmessage A { required int32 a = 2; optional string b = 1; oneof o { bool c = 3; } }\n",
		"syntax = \"proto3\";\nimport \"google/type/money.proto\";\nmessage P { map<string, google.type.Money> m = 1; enum E { Z = 0; } E e = 2; }\n"} {
		f.Add("PROTOBUF", s)
	}
	f.Fuzz(func(t *testing.T, typ, text string) {
		st, err := parseSchemaType(typ)
		if err != nil {
			return
		}
		p, err := parse(context.Background(), st, text, nil, testLimits, true)
		if err != nil {
			if !errors.Is(err, ErrInvalidSchema) {
				t.Fatalf("parse(%s, %q) error %v does not wrap ErrInvalidSchema", st, text, err)
			}
			return
		}
		again, err := parse(context.Background(), st, p.canonical, nil, testLimits, true)
		if err != nil {
			t.Fatalf("canonical text %q of %q does not parse: %v", p.canonical, text, err)
		}
		if again.canonical != p.canonical {
			t.Fatalf("normalized text is not a fixed point:\n in:    %q\n once:  %q\n twice: %q", text, p.canonical, again.canonical)
		}
		if _, err := parse(context.Background(), st, p.canonical, nil, testLimits, false); err != nil {
			t.Fatalf("normalized text %q is refused without normalization: %v", p.canonical, err)
		}
	})
}

// FuzzValidateSubject checks the subject rules against their definition: a name is reachable
// (validateSubject) exactly when it is non-empty, not "." or "..", at most MaxSubjectBytes,
// UTF-8 and free of control characters, and a new subject may take it (validateNewSubject) when
// it is also free of format (Cf) characters and in NFC; a refusal wraps ErrInvalidSubject.
func FuzzValidateSubject(f *testing.F) {
	for _, s := range []string{"orders-value", "", ".", "..", "...", "a/b", "a%2Fb", strings.Repeat("s", 256), "a\x00b", "x\xff", "é\u0085", "'; DROP TABLE schemas; --", "%_\\",
		"a\u200bb", "a\u202eb", "\ufeff", "caf\u00e9", "cafe\u0301"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, subject string) {
		reachable := subject != "" && subject != "." && subject != ".." && len(subject) <= MaxSubjectBytes && utf8.ValidString(subject) &&
			strings.IndexFunc(subject, unicode.IsControl) < 0
		creatable := reachable && strings.IndexFunc(subject, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) < 0 &&
			norm.NFC.IsNormalString(subject)
		for _, c := range []struct {
			name  string
			check func(string) error
			ok    bool
		}{{"validateSubject", validateSubject, reachable}, {"validateNewSubject", validateNewSubject, creatable}} {
			err := c.check(subject)
			if c.ok != (err == nil) {
				t.Fatalf("%s(%q) = %v; want accepted=%v", c.name, subject, err, c.ok)
			}
			if err != nil && (!errors.Is(err, ErrInvalidSubject) || !strings.HasPrefix(err.Error(), "invalid subject")) {
				t.Fatalf("%s(%q) = %v; want an ErrInvalidSubject saying so", c.name, subject, err)
			}
		}
	})
}

// registrySentinels are the errors a registration may be refused with; ErrStore is missing on
// purpose: no input may make the database fail.
var registrySentinels = []error{ErrInvalidSchema, ErrInvalidSubject, ErrInvalidVersion, ErrIncompatible,
	ErrReferenceNotFound, ErrOperationNotPermitted}

// FuzzRegister drives Register over a real store with fuzzed subject, type, text, metadata and
// normalization. A refusal wraps one of registrySentinels and leaves the subject's versions as
// they were; an accepted schema is read back by ID and by version as its canonical text, is
// found by LookupSchema, and registering it again is a no-op.
func FuzzRegister(f *testing.F) {
	for _, s := range avroSeeds {
		f.Add("s", "AVRO", s, "", false)
	}
	for _, s := range jsonSchemaSeeds {
		f.Add("j", "JSON", s, "", true)
	}
	f.Add("s", "avro", `{"type":"record","name":"R","fields":[{"name":"a","type":"string","doc":"\u0000"}]}`, `{"properties":{"owner":"a"}}`, false)
	f.Add("m", "JSON", `{"type":"object"}`, `[1]`, false)
	f.Add("'; DROP TABLE schemas; --", "AVRO", `"int"`, `{"a":{"b":[null]}}`, true)
	f.Add("x", "PROTOBUF", `syntax = "proto3";`, "", false)
	r, _ := newTestRegistry(f)
	f.Fuzz(func(t *testing.T, subject, typ, text, metadata string, normalize bool) {
		ctx := context.Background()
		in := SchemaInput{Type: SchemaType(typ), Text: text, Metadata: metadata, Normalize: normalize}
		before, _ := r.ListVersions(ctx, subject, true, false)
		sv, err := r.Register(ctx, subject, in)
		if err != nil {
			wrapped := false
			for _, s := range registrySentinels {
				wrapped = wrapped || errors.Is(err, s)
			}
			if !wrapped || err.Error() == "" {
				t.Fatalf("Register(%q, %+v) error %v wraps none of the registration errors", subject, in, err)
			}
			after, _ := r.ListVersions(ctx, subject, true, false)
			if len(after) != len(before) {
				t.Fatalf("refused Register(%q) changed the versions from %v to %v", subject, before, after)
			}
			return
		}
		byID, err := r.SchemaByID(ctx, sv.Schema.ID)
		if err != nil || byID.Text != sv.Schema.Text || byID.Metadata != sv.Schema.Metadata {
			t.Fatalf("SchemaByID(%d) = %+v, %v; want %+v", sv.Schema.ID, byID, err, sv.Schema)
		}
		got, err := r.SubjectVersion(ctx, subject, sv.Version, false)
		if err != nil || got.Schema.ID != sv.Schema.ID || got.Subject != subject {
			t.Fatalf("SubjectVersion(%q, %d) = %v, %v; want %v", subject, sv.Version, got, err, sv)
		}
		found, err := r.LookupSchema(ctx, subject, in, false)
		if err != nil || found.Version != sv.Version || found.Schema.ID != sv.Schema.ID {
			t.Fatalf("LookupSchema(%q) = %v, %v; want %v", subject, found, err, sv)
		}
		again, err := r.Register(ctx, subject, in)
		if err != nil || again.Version != sv.Version || again.Schema.ID != sv.Schema.ID {
			t.Fatalf("second Register(%q) = %v, %v; want %v", subject, again, err, sv)
		}
	})
}
