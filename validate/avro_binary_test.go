package validate_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hamba/avro/v2"
	"pgregory.net/rapid"

	"github.com/schemagate/schemagate/validate"
)

// abAllTypes has a field of every Avro type, logical types and a named-type reference.
const abAllTypes = `{"type":"record","name":"All","namespace":"t","fields":[
 {"name":"n","type":"null"},
 {"name":"b","type":"boolean"},
 {"name":"i","type":"int"},
 {"name":"l","type":"long"},
 {"name":"f","type":"float"},
 {"name":"d","type":"double"},
 {"name":"by","type":"bytes"},
 {"name":"s","type":"string"},
 {"name":"e","type":{"type":"enum","name":"Color","symbols":["RED","GREEN","BLUE"]}},
 {"name":"fx","type":{"type":"fixed","name":"Four","size":4}},
 {"name":"a","type":{"type":"array","items":"int"}},
 {"name":"m","type":{"type":"map","values":"string"}},
 {"name":"u","type":["null","string","Color"]},
 {"name":"address","type":{"type":"record","name":"Address","fields":[
   {"name":"city","type":"string"},{"name":"zip","type":"int"}]}},
 {"name":"billing","type":"Address"},
 {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"date","type":{"type":"int","logicalType":"date"}},
 {"name":"dec","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
 {"name":"decfx","type":{"type":"fixed","name":"Dec8","size":8,"logicalType":"decimal","precision":18,"scale":2}},
 {"name":"id","type":{"type":"string","logicalType":"uuid"}}
]}`

// abLinkedList is a recursive schema: each node adds a record and a union level.
const abLinkedList = `{"type":"record","name":"Node","fields":[
 {"name":"value","type":"int"},{"name":"next","type":["null","Node"]}]}`

func abAllValue() map[string]any {
	return map[string]any{
		"n": nil, "b": true, "i": -42, "l": int64(math.MaxInt64), "f": float32(1.5), "d": math.Pi,
		"by": []byte{0, 1, 0xff}, "s": "héllo", "e": "BLUE", "fx": [4]byte{1, 2, 3, 4},
		"a":       []any{1, 2, 3, math.MinInt32, math.MaxInt32},
		"m":       map[string]any{"k": "v", "ключ": "значение"},
		"u":       map[string]any{"t.Color": "GREEN"},
		"address": map[string]any{"city": "Lyon", "zip": 69000},
		"billing": map[string]any{"city": "Paris", "zip": 75001},
		"ts":      time.UnixMilli(1_700_000_000_000).UTC(),
		"date":    time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		"dec":     big.NewRat(12345, 100),
		"decfx":   big.NewRat(-5, 2),
		"id":      "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
	}
}

type abValid struct {
	name   string
	schema string
	value  any
}

func abValidCases() []abValid {
	nested := map[string]any{"value": 3, "next": nil}
	for i := 2; i >= 0; i-- {
		nested = map[string]any{"value": i, "next": map[string]any{"Node": nested}}
	}
	return []abValid{
		{"all types", abAllTypes, abAllValue()},
		{"null", `"null"`, nil},
		{"boolean false", `"boolean"`, false},
		{"int min", `"int"`, math.MinInt32},
		{"int max", `"int"`, math.MaxInt32},
		{"long min", `"long"`, int64(math.MinInt64)},
		{"long max", `"long"`, int64(math.MaxInt64)},
		{"float", `"float"`, float32(-0.25)},
		{"double NaN", `"double"`, math.NaN()},
		{"empty string", `"string"`, ""},
		{"empty bytes", `"bytes"`, []byte{}},
		{"empty array", `{"type":"array","items":"string"}`, []any{}},
		{"empty map", `{"type":"map","values":"long"}`, map[string]any{}},
		{"array of null", `{"type":"array","items":"null"}`, []any{nil, nil, nil, nil, nil}},
		{"nested arrays", `{"type":"array","items":{"type":"array","items":"int"}}`, []any{[]any{1}, []any{}, []any{2, 3}}},
		{"union string branch", `["null","string"]`, map[string]any{"string": "x"}},
		{"union null branch", `["null","string"]`, nil},
		{"linked list", abLinkedList, nested},
	}
}

func abParse(tb testing.TB, schema string) avro.Schema {
	tb.Helper()
	s, err := avro.Parse(schema)
	if err != nil {
		tb.Fatalf("parse schema: %v", err)
	}
	return s
}

func abMarshal(tb testing.TB, s avro.Schema, v any) []byte {
	tb.Helper()
	b, err := avro.Marshal(s, v)
	if err != nil {
		tb.Fatalf("marshal: %v", err)
	}
	return b
}

// abDiff compares findings; a wanted Message only has to be a substring of the one got.
func abDiff(want, got []validate.Finding) string {
	got = append([]validate.Finding(nil), got...)
	for i := range got {
		if i < len(want) && strings.Contains(got[i].Message, want[i].Message) {
			got[i].Message = want[i].Message
		}
	}
	return cmp.Diff(want, got)
}

func TestValidateAvroBinaryValid(t *testing.T) {
	for _, tc := range abValidCases() {
		t.Run(tc.name, func(t *testing.T) {
			s := abParse(t, tc.schema)
			data := abMarshal(t, s, tc.value)
			if got := validate.ValidateAvroBinary(s, data, validate.Limits{}); got != nil {
				t.Errorf("valid encoding %x: findings %v", data, got)
			}
		})
	}
}

func TestValidateAvroBinaryTruncatedAndTrailing(t *testing.T) {
	for _, tc := range abValidCases() {
		t.Run(tc.name, func(t *testing.T) {
			s := abParse(t, tc.schema)
			data := abMarshal(t, s, tc.value)
			for n := range len(data) {
				got := validate.ValidateAvroBinary(s, data[:n], validate.Limits{})
				if len(got) != 1 || got[0].Kind != validate.KindDecodeError {
					t.Errorf("prefix of %d of %d bytes: got %v, want one decode_error", n, len(data), got)
				}
			}
			got := validate.ValidateAvroBinary(s, append(bytes.Clone(data), 0), validate.Limits{})
			want := []validate.Finding{{Kind: validate.KindDecodeError,
				Message: fmt.Sprintf("1 trailing bytes after the value, starting at byte offset %d", len(data))}}
			if diff := abDiff(want, got); diff != "" {
				t.Errorf("one trailing byte (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHambaUnmarshalIsLenient pins the hamba/avro behaviour that ValidateAvroBinary exists
// for: Unmarshal reports no error for truncated input or trailing bytes. If this test starts
// failing, hamba has become strict; the walker is still the validator.
func TestHambaUnmarshalIsLenient(t *testing.T) {
	s := abParse(t, `{"type":"record","name":"P","fields":[{"name":"a","type":"int"},{"name":"b","type":"string"}]}`)
	data := abMarshal(t, s, map[string]any{"a": 7, "b": "xyz"})
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"truncated after the first field", data[:1]},
		{"truncated to nothing", nil},
		{"two trailing bytes", append(bytes.Clone(data), 0x02, 0x04)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v map[string]any
			if err := avro.Unmarshal(s, tc.data, &v); err != nil {
				t.Errorf("hamba Unmarshal(%x) = %v; the lenient behaviour this validator works around is gone", tc.data, err)
			}
			if got := validate.ValidateAvroBinary(s, tc.data, validate.Limits{}); len(got) != 1 || got[0].Kind != validate.KindDecodeError {
				t.Errorf("ValidateAvroBinary(%x) = %v, want one decode_error", tc.data, got)
			}
		})
	}
}

// abZig zig-zag encodes n as an Avro varint.
func abZig(n int64) []byte {
	return binary.AppendUvarint(nil, uint64(n<<1)^uint64(n>>63))
}

func abCat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func abStr(s string) []byte { return abCat(abZig(int64(len(s))), []byte(s)) }

func TestValidateAvroBinaryErrors(t *testing.T) {
	rec := func(fields string) string {
		return `{"type":"record","name":"R","fields":[` + fields + `]}`
	}
	const color = `{"type":"enum","name":"Color","symbols":["RED","GREEN","BLUE"]}`
	const address = `{"type":"record","name":"Address","fields":[{"name":"city","type":"string"},{"name":"zip","type":"int"}]}`
	decode := func(path, msg string) []validate.Finding {
		return []validate.Finding{{Kind: validate.KindDecodeError, Path: path, Message: msg}}
	}
	tests := []struct {
		name   string
		schema string
		data   []byte
		lim    validate.Limits
		want   []validate.Finding
	}{
		{"union index out of range", `["null","string"]`, abZig(2), validate.Limits{},
			decode("", "union index 2 at byte offset 0 is out of range: the union has 2 branches")},
		{"union index negative", `["null","string"]`, abZig(-1), validate.Limits{},
			decode("", "union index -1 at byte offset 0 is out of range")},
		{"union field path", rec(`{"name":"x","type":"int"},{"name":"u","type":["null","int"]}`), abCat(abZig(1), abZig(5)), validate.Limits{},
			decode("/u", "union index 5 at byte offset 1")},
		{"enum index out of range", color, abZig(3), validate.Limits{},
			decode("", "enum index 3 at byte offset 0 is out of range: Color has 3 symbols")},
		{"enum index negative", color, abZig(-1), validate.Limits{},
			decode("", "enum index -1")},
		{"negative string length", `"string"`, abZig(-1), validate.Limits{},
			decode("", "string length -1 at byte offset 0 is negative")},
		{"negative bytes length", `"bytes"`, abZig(-3), validate.Limits{},
			decode("", "bytes length -3 at byte offset 0 is negative")},
		{"string longer than bytes left", `"string"`, abCat(abZig(5), []byte("abc")), validate.Limits{},
			decode("", "string length 5 at byte offset 0 is larger than the 3 bytes left")},
		{"bytes longer than bytes left", `"bytes"`, abCat(abZig(1<<40), []byte("abc")), validate.Limits{},
			decode("", "bytes length 1099511627776 at byte offset 0 is larger than the 3 bytes left")},
		{"invalid UTF-8 string", `"string"`, abCat(abZig(2), []byte{0xff, 0xfe}), validate.Limits{},
			decode("", "string at byte offset 0 is not valid UTF-8")},
		{"invalid UTF-8 in nested record", rec(`{"name":"address","type":` + address + `}`), abCat(abZig(2), []byte{0xc3, 0x28}, abZig(1)), validate.Limits{},
			decode("/address/city", "string at byte offset 0 is not valid UTF-8")},
		{"int varint overflows 32 bits", `"int"`, []byte{0xff, 0xff, 0xff, 0xff, 0x1f}, validate.Limits{},
			decode("", "int varint at byte offset 0 overflows 32 bits")},
		{"int varint longer than 5 bytes", `"int"`, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, validate.Limits{},
			decode("", "int varint at byte offset 0 overflows 32 bits")},
		{"long varint longer than 10 bytes", `"long"`, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, validate.Limits{},
			decode("", "long varint at byte offset 0 is longer than 10 bytes")},
		{"long varint overflows 64 bits", `"long"`, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, validate.Limits{},
			decode("", "long varint at byte offset 0 overflows 64 bits")},
		{"boolean byte 2", `"boolean"`, []byte{2}, validate.Limits{},
			decode("", "boolean byte at byte offset 0 is 2, want 0 or 1")},
		{"fixed truncated", `{"type":"fixed","name":"F","size":4}`, []byte{1, 2, 3}, validate.Limits{},
			decode("", "truncated fixed at byte offset 0: need 4 bytes, 3 left")},
		{"double truncated", `"double"`, make([]byte, 7), validate.Limits{},
			decode("", "truncated double at byte offset 0: need 8 bytes, 7 left")},
		{"array index path across blocks", `{"type":"array","items":"string"}`,
			abCat(abZig(2), abStr("a"), abStr("b"), abZig(2), abStr("c"), abZig(1), []byte{0xff}, abZig(0)), validate.Limits{},
			decode("/3", "string at byte offset 8 is not valid UTF-8")},
		{"map value path", rec(`{"name":"tags","type":{"type":"map","values":"int"}}`),
			abCat(abZig(1), abStr("a/b~c"), []byte{0xff, 0xff, 0xff, 0xff, 0x7f}, abZig(0)), validate.Limits{},
			decode("/tags/a~1b~0c", "int varint at byte offset 7 overflows 32 bits")},
		{"map key invalid UTF-8", `{"type":"map","values":"int"}`, abCat(abZig(1), abZig(1), []byte{0x80}, abZig(1), abZig(0)), validate.Limits{},
			decode("", "map key at byte offset 1 is not valid UTF-8")},
		{"huge array block count", `{"type":"array","items":"long"}`, abCat(abZig(1<<60), abZig(1), abZig(0)), validate.Limits{},
			decode("", "block count 1152921504606846976 at byte offset 0 is larger than the 2 bytes left")},
		{"huge map block count", `{"type":"map","values":"null"}`, abCat(abZig(1<<40), abStr("k")), validate.Limits{},
			decode("", "block count 1099511627776 at byte offset 0 is larger than the 2 bytes left")},
		{"huge block count of null items", `{"type":"array","items":"null"}`, abCat(abZig(1<<40), abZig(0)), validate.Limits{},
			decode("", "exceeds the limit of 1048576 elements per payload")},
		{"minimum long block count", `{"type":"array","items":"null"}`, abCat(abZig(math.MinInt64), abZig(0)), validate.Limits{},
			decode("", "block count -9223372036854775808 at byte offset 0 is out of range")},
		{"negative block count, size too small", `{"type":"array","items":"int"}`,
			abCat(abZig(-2), abZig(1), abZig(1), abZig(2), abZig(0)), validate.Limits{},
			decode("", "block at byte offset 0 declares 1 bytes but its items use 2")},
		{"negative block count, size larger than bytes left", `{"type":"array","items":"int"}`,
			abCat(abZig(-1), abZig(9), abZig(1), abZig(0)), validate.Limits{},
			decode("", "block byte size 9 at byte offset 1 is larger than the 2 bytes left")},
		{"negative block count, negative size", `{"type":"array","items":"int"}`,
			abCat(abZig(-1), abZig(-1), abZig(1), abZig(0)), validate.Limits{},
			decode("", "block byte size -1 at byte offset 1 is negative")},
		{"missing array terminator", `{"type":"array","items":"int"}`, abCat(abZig(1), abZig(1)), validate.Limits{},
			decode("", "truncated block count varint at byte offset 2")},
		{"trailing bytes", `"int"`, abCat(abZig(1), []byte{0, 0}), validate.Limits{},
			decode("", "2 trailing bytes after the value, starting at byte offset 1")},
		{"empty input for int", `"int"`, nil, validate.Limits{},
			decode("", "truncated int varint at byte offset 0")},
		{"array nested beyond MaxDepth", `{"type":"array","items":{"type":"array","items":{"type":"array","items":"int"}}}`,
			abCat(abZig(1), abZig(1), abZig(1), abZig(7), abZig(0), abZig(0), abZig(0)), validate.Limits{MaxDepth: 2},
			decode("/0/0", "value nested deeper than the limit of 2 at byte offset 2")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := validate.ValidateAvroBinary(abParse(t, tc.schema), tc.data, tc.lim)
			if diff := abDiff(tc.want, got); diff != "" {
				t.Errorf("data %x (-want +got):\n%s", tc.data, diff)
			}
		})
	}
}

func TestValidateAvroBinaryValidBlocks(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		data   []byte
	}{
		{"negative block count with byte size", `{"type":"array","items":"int"}`,
			abCat(abZig(-2), abZig(2), abZig(1), abZig(2), abZig(0))},
		{"map in two blocks, one sized", `{"type":"map","values":"string"}`,
			abCat(abZig(1), abStr("a"), abStr("x"), abZig(-1), abZig(4), abStr("b"), abStr("y"), abZig(0))},
		{"many null items in few bytes", `{"type":"array","items":"null"}`, abCat(abZig(1000), abZig(0))},
		{"non-minimal varint", `"int"`, []byte{0x82, 0x80, 0x00}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := validate.ValidateAvroBinary(abParse(t, tc.schema), tc.data, validate.Limits{}); got != nil {
				t.Errorf("data %x: findings %v", tc.data, got)
			}
		})
	}
}

func TestValidateAvroBinaryHugeCountDoesNotAllocate(t *testing.T) {
	s := abParse(t, `{"type":"array","items":{"type":"map","values":"string"}}`)
	data := abCat(abZig(math.MaxInt64), abZig(0))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	allocs := testing.AllocsPerRun(100, func() {
		if got := validate.ValidateAvroBinary(s, data, validate.Limits{}); len(got) != 1 {
			t.Fatalf("got %v, want one finding", got)
		}
	})
	runtime.ReadMemStats(&after)
	if allocs > 10 {
		t.Errorf("%v allocations per rejected payload, want at most 10 (the finding only)", allocs)
	}
	if perRun := (after.TotalAlloc - before.TotalAlloc) / 101; perRun > 4096 {
		t.Errorf("%d bytes allocated per rejected payload, want a few hundred", perRun)
	}
}

func TestValidateAvroBinaryRecursionDepth(t *testing.T) {
	s := abParse(t, abLinkedList)
	list := func(n int) any {
		node := map[string]any{"value": n, "next": nil}
		for i := n - 1; i >= 1; i-- {
			node = map[string]any{"value": i, "next": map[string]any{"Node": node}}
		}
		return node
	}
	// Each node is a record (one level) and, past the first, a union branch (one more).
	for _, tc := range []struct {
		nodes, maxDepth int
		want            []validate.Finding
	}{
		{nodes: 5, maxDepth: 9},
		{nodes: 5, maxDepth: 8, want: []validate.Finding{{Kind: validate.KindDecodeError,
			Path: "/next/next/next/next", Message: "value nested deeper than the limit of 8 at byte offset 8"}}},
		{nodes: 40, maxDepth: 0, want: []validate.Finding{{Kind: validate.KindDecodeError,
			Path: strings.Repeat("/next", 32), Message: "value nested deeper than the limit of 64 at byte offset 64"}}},
		{nodes: 1000, maxDepth: 2000},
	} {
		t.Run(fmt.Sprintf("%d nodes, max depth %d", tc.nodes, tc.maxDepth), func(t *testing.T) {
			data := abMarshal(t, s, list(tc.nodes))
			got := validate.ValidateAvroBinary(s, data, validate.Limits{MaxDepth: tc.maxDepth})
			if diff := abDiff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateAvroBinaryNilSchema(t *testing.T) {
	got := validate.ValidateAvroBinary(nil, []byte{1}, validate.Limits{})
	want := []validate.Finding{{Kind: validate.KindDecodeError, Message: "no schema"}}
	if diff := abDiff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func BenchmarkValidateAvroBinary(b *testing.B) {
	s := abParse(b, abAllTypes)
	small := abMarshal(b, s, abAllValue())
	medium := abAllValue()
	items := make([]any, 500)
	for i := range items {
		items[i] = i * 1_000_003
	}
	tags := map[string]any{}
	for i := range 60 {
		tags[fmt.Sprintf("tag-%02d", i)] = strings.Repeat("v", 20)
	}
	medium["a"], medium["m"] = items, tags
	for _, bc := range []struct {
		name string
		data []byte
	}{{"small", small}, {"medium", abMarshal(b, s, medium)}} {
		b.Run(fmt.Sprintf("%s/%dB", bc.name, len(bc.data)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.data)))
			for b.Loop() {
				if got := validate.ValidateAvroBinary(s, bc.data, validate.Limits{}); got != nil {
					b.Fatal(got)
				}
			}
		})
	}
}

// abPropertySchemas are fixed schemas for the property test, beside random ones.
var abPropertySchemas = []string{
	abAllTypes,
	abLinkedList,
	`{"type":"map","values":{"type":"array","items":["null","long",{"type":"record","name":"P","fields":[{"name":"x","type":"double"}]}]}}`,
	`{"type":"array","items":{"type":"record","name":"Empty","fields":[]}}`,
	`{"type":"record","name":"Tree","fields":[{"name":"label","type":"string"},{"name":"kids","type":{"type":"array","items":"Tree"}}]}`,
}

// TestValidateAvroBinaryProperty: whatever hamba/avro encodes validates clean, every strict
// prefix of it fails, and so does it with one more byte.
func TestValidateAvroBinaryProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var text string
		if rapid.Bool().Draw(t, "random schema") {
			names := 0
			text = abGenSchema(t, 0, &names)
		} else {
			text = rapid.SampledFrom(abPropertySchemas).Draw(t, "schema")
		}
		s, err := avro.Parse(text)
		if err != nil {
			t.Fatalf("parse %s: %v", text, err)
		}
		v := abGenValue(t, s, 0)
		data, err := avro.Marshal(s, v)
		if err != nil {
			t.Fatalf("marshal %#v under %s: %v", v, text, err)
		}
		if got := validate.ValidateAvroBinary(s, data, validate.Limits{}); got != nil {
			t.Fatalf("encoding %x of %#v under %s: findings %v", data, v, text, got)
		}
		for n := range len(data) {
			if got := validate.ValidateAvroBinary(s, data[:n], validate.Limits{}); len(got) != 1 || got[0].Kind != validate.KindDecodeError {
				t.Fatalf("prefix %x of %x under %s: got %v, want one decode_error", data[:n], data, text, got)
			}
		}
		extra := append(bytes.Clone(data), rapid.Byte().Draw(t, "extra"))
		if got := validate.ValidateAvroBinary(s, extra, validate.Limits{}); len(got) != 1 || got[0].Kind != validate.KindDecodeError {
			t.Fatalf("%x with a trailing byte under %s: got %v, want one decode_error", extra, text, got)
		}
	})
}

var abPrimitives = []string{"null", "boolean", "int", "long", "float", "double", "bytes", "string"}

// abGenSchema draws a random schema text; names counts named types so each is unique.
func abGenSchema(t *rapid.T, depth int, names *int) string {
	kinds := []string{"primitive", "enum", "fixed", "array", "map", "record", "union"}
	if depth >= 3 {
		kinds = kinds[:3]
	}
	name := func(prefix string) string { *names++; return fmt.Sprintf("%s%d", prefix, *names) }
	switch rapid.SampledFrom(kinds).Draw(t, "kind") {
	case "enum":
		n := rapid.IntRange(1, 4).Draw(t, "symbols")
		symbols := make([]string, n)
		for i := range symbols {
			symbols[i] = fmt.Sprintf("%q", fmt.Sprintf("S%d", i))
		}
		return fmt.Sprintf(`{"type":"enum","name":%q,"symbols":[%s]}`, name("E"), strings.Join(symbols, ","))
	case "fixed":
		return fmt.Sprintf(`{"type":"fixed","name":%q,"size":%d}`, name("F"), rapid.IntRange(0, 5).Draw(t, "size"))
	case "array":
		return fmt.Sprintf(`{"type":"array","items":%s}`, abGenSchema(t, depth+1, names))
	case "map":
		return fmt.Sprintf(`{"type":"map","values":%s}`, abGenSchema(t, depth+1, names))
	case "record":
		n := rapid.IntRange(0, 4).Draw(t, "fields")
		fields := make([]string, n)
		for i := range fields {
			fields[i] = fmt.Sprintf(`{"name":"f%d","type":%s}`, i, abGenSchema(t, depth+1, names))
		}
		return fmt.Sprintf(`{"type":"record","name":%q,"fields":[%s]}`, name("R"), strings.Join(fields, ","))
	case "union":
		prims := rapid.SliceOfNDistinct(rapid.SampledFrom(abPrimitives), 1, 4, rapid.ID[string]).Draw(t, "branches")
		branches := make([]string, len(prims))
		for i, p := range prims {
			branches[i] = fmt.Sprintf("%q", p)
		}
		if rapid.Bool().Draw(t, "record branch") {
			fields := fmt.Sprintf(`{"name":"v","type":%s}`, abGenSchema(t, depth+1, names))
			branches = append(branches, fmt.Sprintf(`{"type":"record","name":%q,"fields":[%s]}`, name("U"), fields))
		}
		return "[" + strings.Join(branches, ",") + "]"
	default:
		return fmt.Sprintf("%q", rapid.SampledFrom(abPrimitives).Draw(t, "primitive"))
	}
}

// abGenValue draws a value of s in the form avro.Marshal takes for generic data.
func abGenValue(t *rapid.T, s avro.Schema, depth int) any {
	deep := depth > 6 // past this, recursion stops: empty arrays, null union branches
	switch s := s.(type) {
	case *avro.RefSchema:
		return abGenValue(t, s.Schema(), depth)
	case *avro.NullSchema:
		return nil
	case *avro.PrimitiveSchema:
		if s.Logical() != nil {
			switch s.Logical().Type() {
			case avro.TimestampMillis, avro.Date:
				return time.UnixMilli(rapid.Int64Range(0, 4e12).Draw(t, "time")).UTC().Truncate(24 * time.Hour)
			case avro.Decimal:
				return big.NewRat(rapid.Int64Range(-99_999_999, 99_999_999).Draw(t, "unscaled"), 100)
			case avro.UUID:
				return "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
			}
		}
		switch s.Type() {
		case avro.Boolean:
			return rapid.Bool().Draw(t, "boolean")
		case avro.Int:
			return int(rapid.Int32().Draw(t, "int"))
		case avro.Long:
			return rapid.Int64().Draw(t, "long")
		case avro.Float:
			return rapid.Float32().Draw(t, "float")
		case avro.Double:
			return rapid.Float64().Draw(t, "double")
		case avro.Bytes:
			return rapid.SliceOfN(rapid.Byte(), 0, 20).Draw(t, "bytes")
		case avro.String:
			return rapid.StringN(0, 20, 80).Draw(t, "string")
		}
		return nil
	case *avro.EnumSchema:
		return rapid.SampledFrom(s.Symbols()).Draw(t, "symbol")
	case *avro.FixedSchema:
		if s.Logical() != nil {
			return big.NewRat(rapid.Int64Range(-1e9, 1e9).Draw(t, "unscaled"), 100)
		}
		arr := reflect.New(reflect.ArrayOf(s.Size(), reflect.TypeFor[byte]())).Elem()
		for i := range s.Size() {
			arr.Index(i).SetUint(uint64(rapid.Byte().Draw(t, "fixed byte")))
		}
		return arr.Interface()
	case *avro.ArraySchema:
		n := 0
		if !deep {
			n = rapid.IntRange(0, 4).Draw(t, "items")
		}
		items := make([]any, n)
		for i := range items {
			items[i] = abGenValue(t, s.Items(), depth+1)
		}
		return items
	case *avro.MapSchema:
		m := map[string]any{}
		if !deep {
			for range rapid.IntRange(0, 3).Draw(t, "entries") {
				m[rapid.StringN(0, 6, 24).Draw(t, "key")] = abGenValue(t, s.Values(), depth+1)
			}
		}
		return m
	case *avro.RecordSchema:
		m := map[string]any{}
		for _, f := range s.Fields() {
			m[f.Name()] = abGenValue(t, f.Type(), depth+1)
		}
		return m
	case *avro.UnionSchema:
		types := s.Types()
		i := rapid.IntRange(0, len(types)-1).Draw(t, "branch")
		if deep {
			if null, _ := s.Indices(); s.Nullable() {
				i = null
			}
		}
		if types[i].Type() == avro.Null {
			return nil
		}
		name := string(types[i].Type())
		if n, ok := types[i].(avro.NamedSchema); ok {
			name = n.FullName()
		} else if r, ok := types[i].(*avro.RefSchema); ok {
			name = r.Schema().FullName()
		}
		return map[string]any{name: abGenValue(t, types[i], depth+1)}
	}
	t.Fatalf("no generator for %T", s)
	return nil
}

// FuzzAvroBinary feeds arbitrary bytes to the walker under a fixed schema set, to see if it
// can be made to panic, and checks it against hamba/avro: anything the walker accepts must
// decode there, and no strict prefix of it may be accepted.
func FuzzAvroBinary(f *testing.F) {
	schemas := make([]avro.Schema, 0, len(abPropertySchemas)+3)
	for _, text := range append(abPropertySchemas, `"string"`, `{"type":"array","items":"null"}`, `["null","int","string"]`) {
		schemas = append(schemas, abParse(f, text))
	}
	f.Add(uint8(0), abMarshal(f, schemas[0], abAllValue()))
	f.Add(uint8(1), abMarshal(f, schemas[1], map[string]any{"value": 1, "next": map[string]any{"Node": map[string]any{"value": 2, "next": nil}}}))
	f.Add(uint8(2), abMarshal(f, schemas[2], map[string]any{"k": []any{nil, map[string]any{"long": int64(9)}, map[string]any{"P": map[string]any{"x": 1.5}}}}))
	f.Add(uint8(3), abCat(abZig(-3), abZig(0), abZig(0)))
	f.Add(uint8(4), abMarshal(f, schemas[4], map[string]any{"label": "root", "kids": []any{map[string]any{"label": "leaf", "kids": []any{}}}}))
	f.Add(uint8(5), abStr("héllo"))
	f.Add(uint8(6), abCat(abZig(1<<40), abZig(0)))
	f.Add(uint8(7), abCat(abZig(2), abStr("x")))
	lim := validate.Limits{MaxPayloadBytes: 4096, MaxDepth: 32}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		s := schemas[int(which)%len(schemas)]
		got := validate.ValidateAvroBinary(s, data, lim)
		if len(got) > 1 || (len(got) == 1 && got[0].Kind != validate.KindDecodeError) {
			t.Fatalf("got %v, want at most one decode_error", got)
		}
		if got != nil {
			return
		}
		var v any
		if err := avro.Unmarshal(s, data, &v); err != nil {
			t.Fatalf("walker accepts %x but hamba/avro fails: %v", data, err)
		}
		if len(data) > 0 && validate.ValidateAvroBinary(s, data[:len(data)-1], lim) == nil {
			t.Fatalf("walker accepts both %x and its prefix", data)
		}
	})
}

func ExampleValidateAvroBinary() {
	s := avro.MustParse(`{"type":"record","name":"User","fields":[
		{"name":"name","type":"string"},{"name":"tags","type":{"type":"array","items":"string"}}]}`)
	data, _ := avro.Marshal(s, map[string]any{"name": "Ada", "tags": []any{"a", "b"}})
	fmt.Println(validate.ValidateAvroBinary(s, data, validate.Limits{}))
	fmt.Println(validate.ValidateAvroBinary(s, data[:7], validate.Limits{}))
	fmt.Println(validate.ValidateAvroBinary(s, append(data, 0), validate.Limits{}))
	// Output:
	// []
	// [{decode_error /tags block byte size 4 at byte offset 5 is larger than the 1 bytes left}]
	// [{decode_error  1 trailing bytes after the value, starting at byte offset 11}]
}
