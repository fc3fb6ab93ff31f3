package validate_test

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"pgregory.net/rapid"

	"github.com/schemagate/schemagate/validate"
)

// pbJSON encodes a message with protojson.Marshal, Any types resolved from pbFiles.
func pbJSON(tb testing.TB, m proto.Message, protoNames bool, types *dynamicpb.Types) []byte {
	tb.Helper()
	b, err := protojson.MarshalOptions{UseProtoNames: protoNames, Resolver: types}.Marshal(m)
	if err != nil {
		tb.Fatalf("protojson.Marshal: %v", err)
	}
	return b
}

// pbJSONAccepts reports protojson.Unmarshal's verdict on data.
func pbJSONAccepts(md protoreflect.MessageDescriptor, data []byte, types *dynamicpb.Types) error {
	return protojson.UnmarshalOptions{Resolver: types}.Unmarshal(data, dynamicpb.NewMessage(md))
}

func TestValidateProtobufJSONValid(t *testing.T) {
	types := pbTypes(t)
	for _, std := range []bool{false, true} {
		for _, tc := range pbValidCases() {
			for _, protoNames := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/protodesc=%t/proto_names=%t", tc.name, std, protoNames), func(t *testing.T) {
					md := pbMessage(t, tc.message, std)
					data := pbJSON(t, pbText(t, md, tc.text), protoNames, types)
					if got := validate.ValidateProtobufJSON(md, data, validate.Limits{}); got != nil {
						t.Errorf("protojson %s: findings %v", data, got)
					}
				})
			}
		}
	}
}

func TestValidateProtobufJSONFindings(t *testing.T) {
	types := pbTypes(t)
	for _, tc := range []struct {
		name    string
		message string
		data    string
		want    []validate.Finding
		// protojsonAccepts marks where the walker is stricter than protojson.Unmarshal on purpose.
		protojsonAccepts bool
	}{
		{"accepted spellings", "shop.Order", `{"id":"1e2","note":null,"items":[{"sku":"a","price":"NaN","qty":"-7","status":1}],
			"by_sku":{"k":{"sku":"k","price":"-Infinity"}},"labels":{"-1":"x","2":"y"},"codes":[1.0,"2",3e0],
			"deltas":["-9223372036854775808"],"history":["PAID",2],"Extra":{"tag":"t"},"phone":"18446744073709551615",
			"b":false,"u32":4294967295,"s32":-2147483648,"f32":0,"sf32":-1,"fl":3.4028234e38,"f64":"1","sf64":"-1",
			"raw":"AP8","weights":[1,"2.5","Infinity"],"stamps":[]}`, nil, false},
		{"proto names and JSON names both work", "evt.Event", `{"any_value":1,"anyValue":null}`,
			[]validate.Finding{{Kind: validate.KindConstraintViolation, Path: "/anyValue", Message: `field any_value is named twice ("any_value" before)`}}, false},
		{"surrogate pair", "evt.Event", `{"name":"\ud83d\ude00 \\ud800"}`, nil, false},
		{"lone high surrogate", "evt.Event", `{"tags":["\ud83d"]}`,
			[]validate.Finding{{Kind: validate.KindDecodeError, Message: `malformed JSON: \u escape at byte offset 10 is half of a UTF-16 surrogate pair`}}, false},
		{"lone low surrogate", "evt.Event", `{"name":"x\ude00\ud83d\ude00"}`,
			[]validate.Finding{{Kind: validate.KindDecodeError, Message: `at byte offset 10 is half`}}, false},
		{"not an object", "shop.Order", `[1]`,
			[]validate.Finding{{Kind: validate.KindTypeMismatch, Message: "expected an object for message shop.Order, got an array"}}, false},
		{"malformed JSON", "shop.Order", `{"id":1`,
			[]validate.Finding{{Kind: validate.KindDecodeError, Message: "malformed JSON"}}, false},
		{"unknown fields", "shop.Order", `{"id":1,"nope":1,"items":[{"sku":"a","colour":"red"}],"[shop.ext]":1}`,
			[]validate.Finding{
				{Kind: validate.KindUnknownField, Path: "/nope", Message: `message shop.Order has no field "nope"`},
				{Kind: validate.KindUnknownField, Path: "/items/0/colour", Message: `message shop.Item has no field "colour"`},
				{Kind: validate.KindUnknownField, Path: "/[shop.ext]"},
			}, false},
		{"missing required fields", "shop.Order", `{"id":null,"items":[{}],"child":{"id":1,"items":[{"sku":"x"},{"price":1}]}}`,
			[]validate.Finding{
				{Kind: validate.KindMissingField, Path: "/items/0/sku", Message: "required field sku of shop.Item is missing"},
				{Kind: validate.KindMissingField, Path: "/child/items/1/sku"},
				{Kind: validate.KindMissingField, Path: "/id", Message: "required field id of shop.Order is missing"},
			}, false},
		{"wrong JSON types", "shop.Order", `{"id":true,"note":1,"items":{},"b":"true","raw":5,"codes":[null],"by_sku":[]}`,
			[]validate.Finding{
				{Kind: validate.KindTypeMismatch, Path: "/id", Message: "expected an integer (a number or a string holding one), got a boolean"},
				{Kind: validate.KindTypeMismatch, Path: "/note", Message: "expected a string, got number 1"},
				{Kind: validate.KindTypeMismatch, Path: "/items", Message: "expected an array, got an object"},
				{Kind: validate.KindTypeMismatch, Path: "/b", Message: `expected a boolean, got string "true"`},
				{Kind: validate.KindTypeMismatch, Path: "/raw", Message: "expected a base64 string, got number 5"},
				{Kind: validate.KindTypeMismatch, Path: "/codes/0", Message: "expected an integer (a number or a string holding one), got null"},
				{Kind: validate.KindTypeMismatch, Path: "/by_sku", Message: "expected an object (a map), got an array"},
			}, false},
		{"numbers", "shop.Order", `{"id":"9223372036854775808","s32":1.5,"u32":-1,"codes":[" 1","0x10"],"fl":1e39,"f64":"1e21","weights":["nan"]}`,
			[]validate.Finding{
				{Kind: validate.KindConstraintViolation, Path: "/id", Message: "9223372036854775808 is out of range for int64"},
				{Kind: validate.KindTypeMismatch, Path: "/s32", Message: "expected an integer, got 1.5"},
				{Kind: validate.KindConstraintViolation, Path: "/u32", Message: "-1 is out of range for uint32"},
				{Kind: validate.KindTypeMismatch, Path: "/codes/0", Message: `got string " 1"`},
				{Kind: validate.KindTypeMismatch, Path: "/codes/1", Message: `got string "0x10"`},
				{Kind: validate.KindConstraintViolation, Path: "/fl", Message: "1e39 is out of range for float"},
				{Kind: validate.KindConstraintViolation, Path: "/f64", Message: "1e21 is out of range for fixed64"},
				{Kind: validate.KindTypeMismatch, Path: "/weights/0", Message: `got string "nan"`},
			}, false},
		{"enums", "shop.Order", `{"id":1,"history":["LOST",1.5,true,"1"]}`,
			[]validate.Finding{
				{Kind: validate.KindEnumViolation, Path: "/history/0", Message: `"LOST" is not a value of enum shop.Status`},
				{Kind: validate.KindTypeMismatch, Path: "/history/1", Message: "expected an enum value name or number, got 1.5"},
				{Kind: validate.KindTypeMismatch, Path: "/history/2", Message: "expected a value of enum shop.Status, got a boolean"},
				{Kind: validate.KindEnumViolation, Path: "/history/3", Message: `"1" is not a value of enum shop.Status`},
			}, false},
		{"closed enum number not defined", "shop.Order", `{"id":1,"history":[7,2.0]}`,
			[]validate.Finding{{Kind: validate.KindEnumViolation, Path: "/history/0", Message: "7 is not defined by the closed enum shop.Status"}}, true},
		{"open enum takes any number, not any name", "evt.Event", `{"level":77,"levels":["INFO","NOPE"]}`,
			[]validate.Finding{{Kind: validate.KindEnumViolation, Path: "/levels/1", Message: `"NOPE" is not a value of enum evt.Level`}}, false},
		{"bytes", "evt.Event", `{"blob":"AP8=","data":"-_8","list":[],"blobs":{"1":"not base64!"}}`,
			[]validate.Finding{{Kind: validate.KindConstraintViolation, Path: "/blobs/1", Message: `"not base64!" is not base64`}}, false},
		{"oneof set twice", "shop.Order", `{"id":1,"email":"a@b","phone":5}`,
			[]validate.Finding{{Kind: validate.KindConstraintViolation, Path: "/phone", Message: `oneof contact is already set by "email"`}}, false},
		{"oneof member null does not count", "shop.Order", `{"id":1,"email":null,"phone":5}`, nil, false},
		{"map keys", "evt.Event", `{"flags":{"true":1,"yes":2},"by_code":{"1":"INFO","01":"WARN","x":"INFO"},"blobs":{"-1":""}}`,
			[]validate.Finding{
				{Kind: validate.KindTypeMismatch, Path: "/flags/yes", Message: `map key "yes" is not a bool`},
				{Kind: validate.KindConstraintViolation, Path: "/by_code/01", Message: `map key "01" repeats "1"`},
				{Kind: validate.KindTypeMismatch, Path: "/by_code/x", Message: `map key "x" is not a sint32`},
				{Kind: validate.KindTypeMismatch, Path: "/blobs/-1", Message: `map key "-1" is not a uint64`},
			}, false},
		{"null elements and map values", "evt.Event", `{"list":[null],"attrs":{"a":null},"tags":[null],"meta":{"k":null},"items":[null]}`,
			[]validate.Finding{
				{Kind: validate.KindTypeMismatch, Path: "/list/0", Message: "expected an object for message evt.Attr, got null"},
				{Kind: validate.KindTypeMismatch, Path: "/attrs/a"},
				{Kind: validate.KindTypeMismatch, Path: "/tags/0", Message: "expected a string, got null"},
			}, false},
		{"well-known types", "evt.Event", `{"at":"2024-02-29T12:00:00.123456789+01:00","took":"-.5s","maybe":"x","meta":{"a":[1,{"b":null}]},
			"mask":"a.bC,d","nothing":{},"any_value":"s","items":[true,1e308],"count":"-5","flag":true,"data":"","detail":{}}`, nil, false},
		{"bad well-known types", "evt.Event", `{"at":"2024-02-30T00:00:00Z","took":"1.5","maybe":1,"meta":[],"mask":"a_b","nothing":{"x":1},
			"any_value":1e400,"items":{},"count":1.5}`,
			[]validate.Finding{
				{Kind: validate.KindConstraintViolation, Path: "/at", Message: `"2024-02-30T00:00:00Z" is not an RFC 3339 timestamp`},
				{Kind: validate.KindConstraintViolation, Path: "/took", Message: `"1.5" is not a duration`},
				{Kind: validate.KindTypeMismatch, Path: "/maybe", Message: "expected a string, got number 1"},
				{Kind: validate.KindTypeMismatch, Path: "/meta", Message: "expected an object (a map), got an array"},
				{Kind: validate.KindConstraintViolation, Path: "/mask", Message: `field mask path "a_b" is not a lowerCamel field path`},
				{Kind: validate.KindUnknownField, Path: "/nothing/x"},
				{Kind: validate.KindConstraintViolation, Path: "/any_value", Message: "1e400 is out of range for google.protobuf.Value (a double)"},
				{Kind: validate.KindTypeMismatch, Path: "/items", Message: "expected an array, got an object"},
				{Kind: validate.KindTypeMismatch, Path: "/count", Message: "expected an integer, got 1.5"},
			}, false},
		{"timestamp and duration limits", "evt.Event", `{"at":"10000-01-01T00:00:00Z","took":"315576000001s","list":[{"key":"a"}]}`,
			[]validate.Finding{
				{Kind: validate.KindConstraintViolation, Path: "/at", Message: "is not an RFC 3339 timestamp"},
				{Kind: validate.KindConstraintViolation, Path: "/took", Message: "is outside ±315576000000s"},
			}, false},
		{"timestamp with 10 fractional digits", "evt.Event", `{"at":"2024-01-01T00:00:00.1234567890Z"}`,
			[]validate.Finding{{Kind: validate.KindConstraintViolation, Path: "/at", Message: "has more than 9 fractional digits"}}, false},
		{"any", "evt.Event", `{"detail":{"@type":"type.googleapis.com/evt.Attr","key":"k","n":"3","bogus":1}}`,
			[]validate.Finding{{Kind: validate.KindUnknownField, Path: "/detail/bogus", Message: `message evt.Attr has no field "bogus"`}}, false},
		{"any holding a well-known type", "evt.Event", `{"detail":{"@type":"type.googleapis.com/google.protobuf.Duration","value":"1s"},
			"list":[{"key":"x"}]}`, nil, false},
		{"any problems", "evt.Event", `{"detail":{"key":"k"},"list":[]}`,
			[]validate.Finding{{Kind: validate.KindMissingField, Path: "/detail/@type"}}, false},
		{"any with an unresolvable type", "evt.Event", `{"detail":{"@type":"type.googleapis.com/other.Thing","x":1}}`,
			[]validate.Finding{{Kind: validate.KindConstraintViolation, Path: "/detail/@type", Message: `type URL "type.googleapis.com/other.Thing" names no message`}}, false},
		{"any well-known type without value", "evt.Event", `{"detail":{"@type":"type.googleapis.com/google.protobuf.Timestamp","v":1}}`,
			[]validate.Finding{
				{Kind: validate.KindUnknownField, Path: "/detail/v"},
				{Kind: validate.KindMissingField, Path: "/detail/value"},
			}, false},
		{"editions closed enum by number", "ed.Paint", `{"id":1,"shade":3,"inner":{"id":2,"shade":"SHADE_DARK"}}`,
			[]validate.Finding{{Kind: validate.KindEnumViolation, Path: "/shade", Message: "3 is not defined by the closed enum ed.Shade"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, std := range []bool{false, true} {
				md := pbMessage(t, tc.message, std)
				got := validate.ValidateProtobufJSON(md, []byte(tc.data), validate.Limits{})
				if diff := abDiff(tc.want, got); diff != "" {
					t.Errorf("protodesc=%t (-want +got):\n%s", std, diff)
				}
			}
			err := pbJSONAccepts(pbMessage(t, tc.message, true), []byte(tc.data), types)
			if (err == nil) != (tc.want == nil || tc.protojsonAccepts) {
				t.Errorf("protojson.Unmarshal: %v; the walker and protojson disagree", err)
			}
		})
	}
}

func TestValidateProtobufJSONMaxFindings(t *testing.T) {
	md := pbMessage(t, "evt.Event", true)
	got := validate.ValidateProtobufJSON(md, []byte(`{"a":1,"b":2,"c":3}`), validate.Limits{MaxFindings: 2})
	want := []validate.Finding{
		{Kind: validate.KindUnknownField, Path: "/a"},
		{Kind: validate.KindUnknownField, Path: "/b"},
	}
	if diff := abDiff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	deep := strings.Repeat(`{"next":`, 10) + "{}" + strings.Repeat("}", 10)
	got = validate.ValidateProtobufJSON(pbMessage(t, "evt.Attr", true), []byte(deep), validate.Limits{MaxDepth: 5})
	if len(got) != 1 || got[0].Kind != validate.KindDecodeError {
		t.Errorf("nested beyond MaxDepth: %v, want one decode_error", got)
	}
}

// TestValidateProtobufJSONProperty: whatever protojson.Marshal writes for a random message is
// valid; after a random mutation, the walker finds something whenever protojson.Unmarshal
// refuses, and refuses nothing protojson accepts but undefined numbers of closed enums.
func TestValidateProtobufJSONProperty(t *testing.T) {
	types := pbTypes(t)
	names := []string{"shop.Order", "evt.Event", "ed.Paint"}
	mds := map[string]protoreflect.MessageDescriptor{}
	for _, name := range names {
		mds[name] = pbMessage(t, name, true)
	}
	rapid.Check(t, func(t *rapid.T) {
		md := mds[rapid.SampledFrom(names).Draw(t, "message")]
		m := pbGenMessage(t, md, 0)
		data, err := protojson.MarshalOptions{UseProtoNames: rapid.Bool().Draw(t, "proto names"), Resolver: types}.Marshal(m)
		if err != nil {
			t.Fatalf("protojson.Marshal: %v", err)
		}
		if got := validate.ValidateProtobufJSON(md, data, validate.Limits{}); got != nil {
			t.Fatalf("protojson %s: findings %v", data, got)
		}
		var doc any
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		doc = pbMutate(t, doc)
		mutated, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		got := validate.ValidateProtobufJSON(md, mutated, validate.Limits{})
		perr := pbJSONAccepts(md, mutated, types)
		if perr != nil && got == nil {
			t.Fatalf("protojson refuses %s (%v) but the walker finds nothing", mutated, perr)
		}
		if perr == nil {
			for _, f := range got {
				if f.Kind != validate.KindEnumViolation {
					t.Fatalf("protojson accepts %s but the walker finds %v", mutated, got)
				}
			}
		}
	})
}

// pbJunk are values a mutation puts in place of another.
var pbJunk = []any{nil, true, false, json.Number("0"), json.Number("-1"), json.Number("1.5"), json.Number("1e30"),
	json.Number("4294967296"), "", "x", "NaN", "1", "AP8=", "2024-01-01T00:00:00Z", "1s", "PAID", "INFO", "SHADE_DARK",
	[]any{}, []any{json.Number("1")}, map[string]any{}, map[string]any{"zz": json.Number("1")}, map[string]any{"sku": "a"}}

// pbMutate replaces one value somewhere in doc, or adds a member to an object.
func pbMutate(t *rapid.T, doc any) any {
	switch v := doc.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		if len(keys) == 0 || rapid.IntRange(0, 5).Draw(t, "add a member") == 0 {
			v[rapid.SampledFrom([]string{"zz", "id", "name", "@type", "value", "true", "1", "sku"}).Draw(t, "new key")] = rapid.SampledFrom(pbJunk).Draw(t, "new value")
			return v
		}
		slices.Sort(keys)
		k := rapid.SampledFrom(keys).Draw(t, "key")
		if rapid.Bool().Draw(t, "descend") {
			v[k] = pbMutate(t, v[k])
		} else {
			v[k] = rapid.SampledFrom(pbJunk).Draw(t, "value")
		}
		return v
	case []any:
		if len(v) == 0 {
			return append(v, rapid.SampledFrom(pbJunk).Draw(t, "element"))
		}
		i := rapid.IntRange(0, len(v)-1).Draw(t, "index")
		if rapid.Bool().Draw(t, "descend") {
			v[i] = pbMutate(t, v[i])
		} else {
			v[i] = rapid.SampledFrom(pbJunk).Draw(t, "element")
		}
		return v
	}
	return rapid.SampledFrom(pbJunk).Draw(t, "replacement")
}

// pbGenMessage draws a random message of type md with dynamicpb.
func pbGenMessage(t *rapid.T, md protoreflect.MessageDescriptor, depth int) *dynamicpb.Message {
	m := dynamicpb.NewMessage(md)
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		m.Set(md.Fields().ByName("seconds"), protoreflect.ValueOfInt64(rapid.Int64Range(-62135596800, 253402300799).Draw(t, "seconds")))
		m.Set(md.Fields().ByName("nanos"), protoreflect.ValueOfInt32(rapid.Int32Range(0, 999_999_999).Draw(t, "nanos")))
		return m
	case "google.protobuf.Duration":
		secs := rapid.Int64Range(-315576000000, 315576000000).Draw(t, "seconds")
		nanos := rapid.Int32Range(0, 999_999_999).Draw(t, "nanos")
		if secs < 0 {
			nanos = -nanos
		}
		m.Set(md.Fields().ByName("seconds"), protoreflect.ValueOfInt64(secs))
		m.Set(md.Fields().ByName("nanos"), protoreflect.ValueOfInt32(nanos))
		return m
	case "google.protobuf.Any":
		return m // an empty Any; packed ones are in pbValidCases and the findings table
	case "google.protobuf.FieldMask":
		paths := rapid.SliceOfN(rapid.StringMatching(`[a-z]{1,3}(_[a-z]{1,3}){0,2}(\.[a-z]{1,3}){0,2}`), 0, 3).Draw(t, "paths")
		list := m.Mutable(md.Fields().ByName("paths")).List()
		for _, p := range paths {
			list.Append(protoreflect.ValueOfString(p))
		}
		return m
	case "google.protobuf.Value":
		pbGenValue(t, m, depth)
		return m
	}
	fields := md.Fields()
	oneofDone := map[int]bool{}
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.Cardinality() != protoreflect.Required && !rapid.Bool().Draw(t, "set "+string(fd.Name())) {
			continue
		}
		if od := fd.ContainingOneof(); od != nil {
			if oneofDone[od.Index()] {
				continue
			}
			oneofDone[od.Index()] = true
		}
		kidDepth := depth + 1
		if kidDepth > 3 && (fd.Message() != nil) && fd.Cardinality() != protoreflect.Required {
			continue
		}
		switch {
		case fd.IsList():
			list := m.Mutable(fd).List()
			for range rapid.IntRange(0, 3).Draw(t, "len") {
				list.Append(pbGenSingular(t, fd, list.NewElement(), kidDepth))
			}
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for range rapid.IntRange(0, 3).Draw(t, "entries") {
				k := pbGenSingular(t, fd.MapKey(), protoreflect.Value{}, kidDepth)
				mp.Set(k.MapKey(), pbGenSingular(t, fd.MapValue(), mp.NewValue(), kidDepth))
			}
		default:
			m.Set(fd, pbGenSingular(t, fd, m.NewField(fd), kidDepth))
		}
	}
	return m
}

// pbGenValue fills a google.protobuf.Value with a finite, shallow value.
func pbGenValue(t *rapid.T, m *dynamicpb.Message, depth int) {
	fields := m.Descriptor().Fields()
	kinds := []string{"null_value", "number_value", "string_value", "bool_value"}
	if depth < 3 {
		kinds = append(kinds, "struct_value", "list_value")
	}
	fd := fields.ByName(protoreflect.Name(rapid.SampledFrom(kinds).Draw(t, "value kind")))
	m.Set(fd, pbGenSingular(t, fd, m.NewField(fd), depth+1))
}

// pbGenSingular draws one value of fd's kind; fresh is a new message value for message kinds.
func pbGenSingular(t *rapid.T, fd protoreflect.FieldDescriptor, fresh protoreflect.Value, depth int) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return protoreflect.ValueOfMessage(pbGenMessage(t, fd.Message(), depth))
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(rapid.Bool().Draw(t, "bool"))
	case protoreflect.EnumKind:
		values := fd.Enum().Values()
		return protoreflect.ValueOfEnum(values.Get(rapid.IntRange(0, values.Len()-1).Draw(t, "enum")).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(rapid.Int32().Draw(t, "int32"))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(rapid.Int64().Draw(t, "int64"))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(rapid.Uint32().Draw(t, "uint32"))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(rapid.Uint64().Draw(t, "uint64"))
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(rapid.SampledFrom([]float32{0, -1.5, math.MaxFloat32, float32(math.Inf(1)), float32(math.NaN())}).Draw(t, "float"))
	case protoreflect.DoubleKind:
		if fd.ContainingMessage().FullName() == "google.protobuf.Value" {
			return protoreflect.ValueOfFloat64(rapid.Float64Range(-1e300, 1e300).Draw(t, "number"))
		}
		return protoreflect.ValueOfFloat64(rapid.Float64().Draw(t, "double"))
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(rapid.String().Draw(t, "string"))
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes(rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "bytes"))
	}
	t.Fatalf("no generator for %v", fd.Kind())
	return fresh
}

// FuzzProtobufJSON feeds arbitrary text to the JSON walker under fixed descriptors, to see if
// it can be made to panic, and checks it against protojson.Unmarshal: whatever the walker
// accepts must decode there.
func FuzzProtobufJSON(f *testing.F) {
	types := pbTypes(f)
	names := []string{"shop.Order", "evt.Event", "ed.Paint"}
	mds := make([]protoreflect.MessageDescriptor, len(names))
	for i, name := range names {
		mds[i] = pbMessage(f, name, true)
	}
	for _, tc := range pbValidCases() {
		i := slices.Index(names, tc.message)
		f.Add(uint8(i), string(pbJSON(f, pbText(f, mds[i], tc.text), false, types)))
	}
	f.Add(uint8(1), `{"detail":{"@type":"type.googleapis.com/google.protobuf.Any","value":{"@type":"type.googleapis.com/evt.Attr","n":1}}}`)
	f.Add(uint8(0), `{"id":"1e2","codes":[1.0,"2"],"by_sku":{"k":{"sku":"k"}},"labels":{"01":"a","1":"b"}}`)
	lim := validate.Limits{MaxDepth: 16, MaxFindings: 5}
	f.Fuzz(func(t *testing.T, which uint8, text string) {
		md := mds[int(which)%len(mds)]
		got := validate.ValidateProtobufJSON(md, []byte(text), lim)
		if len(got) > lim.MaxFindings {
			t.Fatalf("%d findings, cap %d", len(got), lim.MaxFindings)
		}
		if got == nil {
			if err := pbJSONAccepts(md, []byte(text), types); err != nil {
				t.Fatalf("walker accepts %s but protojson.Unmarshal refuses: %v", text, err)
			}
		}
	})
}

func BenchmarkValidateProtobufJSON(b *testing.B) {
	md := pbMessage(b, "shop.Order", true)
	types := pbTypes(b)
	for _, bc := range []struct {
		name string
		bin  []byte
	}{{"small", pbSmall(b, md)}, {"medium", pbMedium(b, md)}} {
		m := dynamicpb.NewMessage(md)
		if err := proto.Unmarshal(bc.bin, m); err != nil {
			b.Fatal(err)
		}
		data := pbJSON(b, m, false, types)
		b.Run(fmt.Sprintf("%s/%dB", bc.name, len(data)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if got := validate.ValidateProtobufJSON(md, data, validate.Limits{}); got != nil {
					b.Fatal(got)
				}
			}
		})
	}
}
