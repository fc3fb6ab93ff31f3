package validate_test

import (
	"bytes"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/validate"
)

// TestHostileAvroLengthsDoNotAllocate feeds Avro binary whose declared lengths and counts are
// huge, negative or overflowing: each is one decode_error naming the byte offset, and the
// walker allocates only the finding, never in proportion to what was declared.
func TestHostileAvroLengthsDoNotAllocate(t *testing.T) {
	rec := func(fields string) string { return `{"type":"record","name":"R","fields":[` + fields + `]}` }
	decode := func(path, msg string) []validate.Finding {
		return []validate.Finding{{Kind: validate.KindDecodeError, Path: path, Message: msg}}
	}
	overflow := bytes.Repeat([]byte{0xff}, 9) // nine continuation bytes of a varint
	tests := []struct {
		name   string
		schema string
		data   []byte
		want   []validate.Finding
	}{
		{"string length MaxInt64", `"string"`, abCat(abZig(math.MaxInt64), []byte("abc")),
			decode("", "string length 9223372036854775807 at byte offset 0 is larger than the 3 bytes left")},
		{"string length MaxInt64-1 in a 1 MiB payload", `"string"`, abCat(abZig(math.MaxInt64-1), make([]byte, 1<<20)),
			decode("", "string length 9223372036854775806 at byte offset 0 is larger than the 1048576 bytes left")},
		{"string length MinInt64", `"string"`, abZig(math.MinInt64),
			decode("", "string length -9223372036854775808 at byte offset 0 is negative")},
		{"bytes length MaxInt64", `"bytes"`, abZig(math.MaxInt64),
			decode("", "bytes length 9223372036854775807 at byte offset 0 is larger than the 0 bytes left")},
		{"bytes length -1", `"bytes"`, abCat(abZig(-1), []byte{1, 2}),
			decode("", "bytes length -1 at byte offset 0 is negative")},
		{"bytes length one more than left", `"bytes"`, abCat(abZig(4), []byte{1, 2, 3}),
			decode("", "bytes length 4 at byte offset 0 is larger than the 3 bytes left")},
		{"nested string length MaxInt64", rec(`{"name":"a","type":"int"},{"name":"s","type":"string"}`), abCat(abZig(1), abZig(math.MaxInt64)),
			decode("/s", "string length 9223372036854775807 at byte offset 1 is larger than the 0 bytes left")},
		{"array count MaxInt64", `{"type":"array","items":"string"}`, abCat(abZig(math.MaxInt64), abStr("a")),
			decode("", "block count 9223372036854775807 at byte offset 0 is larger than the 2 bytes left")},
		{"array count MinInt64", `{"type":"array","items":"string"}`, abZig(math.MinInt64),
			decode("", "block count -9223372036854775808 at byte offset 0 is out of range")},
		{"array count -MaxInt64 with byte size MaxInt64", `{"type":"array","items":"string"}`, abCat(abZig(-math.MaxInt64), abZig(math.MaxInt64)),
			decode("", "block byte size 9223372036854775807 at byte offset 10 is larger than the 0 bytes left")},
		{"array count -MaxInt64 with a small byte size", `{"type":"array","items":"string"}`, abCat(abZig(-math.MaxInt64), abZig(2), abStr("a")),
			decode("", "block count 9223372036854775807 at byte offset 0 is larger than the 2 bytes left")},
		{"array of null, count MaxInt64", `{"type":"array","items":"null"}`, abCat(abZig(math.MaxInt64), abZig(0)),
			decode("", "block count 9223372036854775807 at byte offset 0 exceeds the limit of 1048576 elements per payload")},
		{"array of empty records, many blocks", `{"type":"array","items":{"type":"record","name":"E","fields":[]}}`,
			abCat(abZig(1<<19), abZig(1<<19), abZig(1), abZig(0)),
			decode("", "block count 1 at byte offset 6 exceeds the limit of 1048576 elements per payload")},
		{"map count MaxInt64", `{"type":"map","values":"null"}`, abCat(abZig(math.MaxInt64), abStr("k")),
			decode("", "block count 9223372036854775807 at byte offset 0 is larger than the 2 bytes left")},
		{"map key length MaxInt64", `{"type":"map","values":"null"}`, abCat(abZig(1), abZig(math.MaxInt64)),
			decode("", "map key length 9223372036854775807 at byte offset 1 is larger than the 0 bytes left")},
		{"map key length negative", `{"type":"map","values":"null"}`, abCat(abZig(1), abZig(-7), abZig(0)),
			decode("", "map key length -7 at byte offset 1 is negative")},
		{"long varint of 11 bytes", `"long"`, abCat(overflow, []byte{0x80, 0x01}),
			decode("", "long varint at byte offset 0 is longer than 10 bytes")},
		{"long varint beyond 64 bits", `"long"`, abCat(overflow, []byte{0x7f}),
			decode("", "long varint at byte offset 0 overflows 64 bits")},
		{"string length varint beyond 64 bits", `"string"`, abCat(overflow, []byte{0x02}),
			decode("", "string length varint at byte offset 0 overflows 64 bits")},
		{"block count varint never ends", `{"type":"array","items":"int"}`, bytes.Repeat([]byte{0x80}, 1<<16),
			decode("", "block count varint at byte offset 0 is longer than 10 bytes")},
		{"int varint beyond 32 bits", `"int"`, []byte{0x80, 0x80, 0x80, 0x80, 0x10},
			decode("", "int varint at byte offset 0 overflows 32 bits")},
		{"enum index varint beyond 32 bits", `{"type":"enum","name":"E","symbols":["A"]}`, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
			decode("", "enum index varint at byte offset 0 overflows 32 bits")},
		{"union index MaxInt64", `["null","string"]`, abZig(math.MaxInt64),
			decode("", "union index 9223372036854775807 at byte offset 0 is out of range: the union has 2 branches")},
		{"union index MinInt64", `["null","string"]`, abZig(math.MinInt64),
			decode("", "union index -9223372036854775808 at byte offset 0 is out of range: the union has 2 branches")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := abParse(t, tc.schema)
			got := validate.ValidateAvroBinary(s, tc.data, validate.Limits{})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("data %.40x (-want +got):\n%s", tc.data, diff)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			allocs := testing.AllocsPerRun(20, func() { validate.ValidateAvroBinary(s, tc.data, validate.Limits{}) })
			runtime.ReadMemStats(&after)
			if allocs > 10 {
				t.Errorf("%v allocations per rejected payload; want at most 10 (the finding only)", allocs)
			}
			if perRun := (after.TotalAlloc - before.TotalAlloc) / 21; perRun > 4096 {
				t.Errorf("%d bytes allocated per rejected payload; want a few hundred", perRun)
			}
		})
	}
}

// TestHostileJSONPayloadNesting sends JSON nested far beyond the limit: DecodeJSONPayload finds
// it with a scan before any value is built (so without recursion and without allocating per
// level), and the validators of decoded values stop at the limit.
func TestHostileJSONPayloadNesting(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		wantErr error
		wantMsg string
	}{
		{"64 arrays", strings.Repeat("[", 64) + strings.Repeat("]", 64), nil, ""},
		{"65 arrays", strings.Repeat("[", 65) + strings.Repeat("]", 65), validate.ErrTooDeep,
			"payload nested too deeply: nesting deeper than the limit of 64 at byte offset 64"},
		{"10,000 objects", strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000), validate.ErrTooDeep,
			"nesting deeper than the limit of 64 at byte offset 320"},
		{"1 MiB of unclosed brackets", strings.Repeat("[", 1<<20), validate.ErrTooDeep, "at byte offset 64"},
		{"brackets inside strings do not count", `["` + strings.Repeat("[", 1000) + `"]`, nil, ""},
		{"escaped quotes do not end a string", `["\"` + strings.Repeat("[", 1000) + `"]`, nil, ""},
		{"invalid UTF-8 before the nesting", "[\"\xff\"" + strings.Repeat("[", 100), validate.ErrMalformedJSON, "malformed JSON: invalid UTF-8 at byte offset 2"},
		{"NUL outside a string", "[1,\x00]", validate.ErrMalformedJSON, "malformed JSON: invalid character '\\x00' looking for beginning of value at byte offset 3"},
		{"NUL escaped in a string is a string", `["a\u0000b"]`, nil, ""},
		{"1 MiB + 1 byte", `"` + strings.Repeat("a", 1<<20-1) + `"`, validate.ErrTooLarge, "payload too large: 1048577 bytes, the limit is 1048576"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := validate.DecodeJSONPayload([]byte(tc.payload), validate.Limits{})
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("DecodeJSONPayload: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || err.Error() != tc.wantMsg && !strings.HasSuffix(err.Error(), tc.wantMsg) {
				t.Fatalf("DecodeJSONPayload = %v; want %v ending in %q", err, tc.wantErr, tc.wantMsg)
			}
		})
	}

	// A value nested 10,000 deep, already decoded (as from a protobuf Value): each validator
	// stops at the limit with one finding instead of walking, or overflowing, the stack.
	deep := any("leaf")
	for range 10000 {
		deep = []any{deep}
	}
	js, err := validate.CompileJSONSchema(map[string]any{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]validate.Finding{{Kind: validate.KindConstraintViolation, Message: "value is nested deeper than the limit of 64 levels"}},
		js.Validate(deep, validate.Limits{})); diff != "" {
		t.Errorf("JSON Schema validation (-want +got):\n%s", diff)
	}
	avroArrays := abParse(t, `{"type":"array","items":{"type":"array","items":"string"}}`)
	got := validate.ValidateAvroJSON(avroArrays, deep, validate.Limits{})
	want := []validate.Finding{{Kind: validate.KindTypeMismatch, Path: "/0/0", Message: "expected a string, got an array"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Avro JSON validation (-want +got):\n%s", diff)
	}
	recursive := abParse(t, `{"type":"record","name":"N","fields":[{"name":"n","type":["null",{"type":"array","items":"N"}]}]}`)
	node := any(map[string]any{"n": nil})
	for range 10000 {
		node = map[string]any{"n": map[string]any{"array": []any{node}}}
	}
	got = validate.ValidateAvroJSON(recursive, node, validate.Limits{})
	if len(got) != 1 || got[0].Kind != validate.KindDecodeError || got[0].Message != "value nested deeper than the limit of 64" {
		t.Errorf("recursive Avro JSON 10,000 deep = %v; want one decode_error at the limit", got)
	}
}

// TestHostileEnumSymbols checks values outside an enum, in every encoding: enum_violation for
// JSON values, decode_error for a binary index (the bytes cannot say which symbol was meant).
func TestHostileEnumSymbols(t *testing.T) {
	const color = `{"type":"enum","name":"Color","symbols":["RED","GREEN"]}`
	s := abParse(t, color)
	for _, tc := range []struct {
		name  string
		value any
		want  []validate.Finding
	}{
		{"unknown symbol", "BLUE", []validate.Finding{{Kind: validate.KindEnumViolation, Message: `"BLUE" is not a symbol of enum Color ("RED", "GREEN")`}}},
		{"case differs", "red", []validate.Finding{{Kind: validate.KindEnumViolation, Message: `"red" is not a symbol of enum Color`}}},
		{"NUL appended", "RED\x00", []validate.Finding{{Kind: validate.KindEnumViolation, Message: `"RED\x00" is not a symbol of enum Color`}}},
		{"invalid UTF-8", "R\xffD", []validate.Finding{{Kind: validate.KindEnumViolation, Message: `is not a symbol of enum Color`}}},
		{"empty", "", []validate.Finding{{Kind: validate.KindEnumViolation, Message: `"" is not a symbol of enum Color`}}},
		{"a number", 0, []validate.Finding{{Kind: validate.KindTypeMismatch, Message: "expected a symbol of enum Color"}}},
	} {
		got := validate.ValidateAvroJSON(s, tc.value, validate.Limits{})
		if diff := abDiff(tc.want, got); diff != "" {
			t.Errorf("Avro JSON %s (-want +got):\n%s", tc.name, diff)
		}
	}
	if diff := abDiff([]validate.Finding{{Kind: validate.KindDecodeError, Message: "enum index 2 at byte offset 0 is out of range: Color has 2 symbols"}},
		validate.ValidateAvroBinary(s, abZig(2), validate.Limits{})); diff != "" {
		t.Errorf("Avro binary index 2 (-want +got):\n%s", diff)
	}

	js, err := validate.CompileJSONSchema(map[string]any{"enum": []any{"RED", "GREEN"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{"BLUE", "RED\x00", "R\xffD", nil} {
		got := js.Validate(v, validate.Limits{})
		if len(got) != 1 || got[0].Kind != validate.KindEnumViolation {
			t.Errorf("JSON Schema enum with %q = %v; want one enum_violation", v, got)
		}
	}
}
