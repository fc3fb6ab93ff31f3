package validate_test

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/schemagate/schemagate/validate"
)

type pbValid struct {
	name    string
	message string // full name
	text    string // text format
}

// pbValidCases is the corpus of valid messages, encoded by proto.Marshal.
func pbValidCases() []pbValid {
	return []pbValid{
		{"order with every field", "shop.Order", `id: -7 note: "héllo"
			items { sku: "a" price: 1.5 qty: 2 status: PAID } items { sku: "b" }
			by_sku { key: "a" value { sku: "a" status: SHIPPED } } by_sku { key: "" value { sku: "" } }
			labels { key: -3 value: "minus three" } labels { key: 9 value: "" }
			codes: [1, -1, 2147483647, -2147483648] deltas: [0, -1, 9223372036854775807, -9223372036854775808]
			history: [NEW, PAID, SHIPPED]
			Extra { tag: "x" item { sku: "g" } }
			email: "a@b.c" b: true u32: 4294967295 s32: -2147483648 f32: 7 sf32: -7 fl: -0.25
			f64: 18446744073709551615 sf64: -9 raw: "\x00\xff" weights: [1, 2.5, -3] stamps: [1, 2]
			child { id: 2 child { id: 3 items { sku: "deep" } } }`},
		{"order with only the required field", "shop.Order", `id: 0`},
		{"order with a phone", "shop.Order", `id: 1 phone: 18446744073709551615`},
		{"empty item list and empty group", "shop.Order", `id: 1 Extra {}`},
		{"event with every field", "evt.Event", `name: "évènement" seq: -9223372036854775808 big: 18446744073709551615
			level: WARN tags: ["a", "", "ü"]
			attrs { key: "k" value { key: "v" next { n: 3 z: -4 } } }
			at { seconds: 1700000000 nanos: 5 } took { seconds: -3 nanos: -500 } maybe { value: "m" }
			meta { fields { key: "x" value { list_value { values { number_value: 1 } values { string_value: "s" } } } } }
			detail { type_url: "type.googleapis.com/evt.Attr" value: "\x0a\x01k" }
			mask { paths: ["a.b", "c"] } nothing {} blob: "\x00\x01" ratio: -1e300 score: 3.5 opt: 0
			list { key: "first" } list { } list { n: -1 }
			any_value { bool_value: true } items { values { null_value: NULL_VALUE } }
			count { value: -5 } flag { value: true } data { value: "\xfe" }
			flags { key: true value: 1 } flags { key: false value: -1 }
			levels: [INFO, WARN] attr { key: "o" } by_code { key: -2 value: INFO } blobs { key: 1 value: "b" }`},
		{"empty event", "evt.Event", ``},
		{"event with text oneof", "evt.Event", `text: "t"`},
		{"editions paint", "ed.Paint", `id: 1 loose: "ok" strict: "ok" shade: SHADE_LIGHT
			inner { id: 2 inner { id: 3 } } packed_by_default: [1, 2, 300]`},
	}
}

func TestValidateProtobufBinaryValid(t *testing.T) {
	for _, std := range []bool{false, true} {
		for _, tc := range pbValidCases() {
			t.Run(fmt.Sprintf("%s/protodesc=%t", tc.name, std), func(t *testing.T) {
				md := pbMessage(t, tc.message, std)
				data := pbBinary(t, md, tc.text)
				if got := validate.ValidateProtobufBinary(md, data, validate.Limits{}); got != nil {
					t.Errorf("valid encoding %x: findings %v", data, got)
				}
			})
		}
	}
}

// pbTopLevelBoundaries returns the offsets of data at which a top-level field starts or the
// message ends: the only prefixes of a message that are messages themselves.
func pbTopLevelBoundaries(tb testing.TB, data []byte) map[int]bool {
	tb.Helper()
	at := map[int]bool{0: true}
	for pos := 0; pos < len(data); {
		num, typ, n := protowire.ConsumeTag(data[pos:])
		if n < 0 {
			tb.Fatalf("bad tag at %d in %x", pos, data)
		}
		m := protowire.ConsumeFieldValue(num, typ, data[pos+n:])
		if m < 0 {
			tb.Fatalf("bad value at %d in %x", pos, data)
		}
		pos += n + m
		at[pos] = true
	}
	return at
}

// TestValidateProtobufBinaryPrefixes cuts every valid payload at every offset. A prefix that
// stops inside a top-level field is a decode_error; one that stops between top-level fields is
// a message on its own, which the walker judges as proto.Unmarshal does (required fields may
// be missing from it). The descriptors are protobuf-go's: with protocompile's, proto.Unmarshal
// does not see editions' LEGACY_REQUIRED fields (their RequiredNumbers misses them).
func TestValidateProtobufBinaryPrefixes(t *testing.T) {
	for _, tc := range pbValidCases() {
		t.Run(tc.name, func(t *testing.T) {
			md := pbMessage(t, tc.message, true)
			data := pbBinary(t, md, tc.text)
			boundary := pbTopLevelBoundaries(t, data)
			for n := range len(data) {
				got := validate.ValidateProtobufBinary(md, data[:n], validate.Limits{})
				protoErr := proto.Unmarshal(data[:n], dynamicpb.NewMessage(md))
				if !boundary[n] && !pbHasKind(got, validate.KindDecodeError) {
					t.Errorf("prefix of %d of %d bytes (inside a field): got %v, want a decode_error", n, len(data), got)
				}
				if validate.Invalid(got) != (protoErr != nil) {
					t.Errorf("prefix of %d of %d bytes: findings %v, proto.Unmarshal error %v", n, len(data), got, protoErr)
				}
			}
		})
	}
}

func pbHasKind(findings []validate.Finding, kind validate.Kind) bool {
	for _, f := range findings {
		if f.Kind == kind {
			return true
		}
	}
	return false
}

// pbCat concatenates wire fragments.
func pbCat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// pbTag is a tag; pbVarintField, pbBytesField whole fields.
func pbTag(num protowire.Number, typ protowire.Type) []byte {
	return protowire.AppendTag(nil, num, typ)
}

func pbVarintField(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(pbTag(num, protowire.VarintType), v)
}

func pbBytesField(num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(pbTag(num, protowire.BytesType), v)
}

func TestValidateProtobufBinaryFindings(t *testing.T) {
	id1 := pbVarintField(1, 1) // shop.Order.id = 1
	item := func(parts ...[]byte) []byte { return pbBytesField(3, pbCat(parts...)) }
	sku := pbBytesField(1, []byte("s"))
	for _, tc := range []struct {
		name    string
		message string
		data    []byte
		lim     validate.Limits
		want    []validate.Finding
	}{
		{"field number 0", "shop.Order", pbCat(id1, []byte{0x00, 0x01}), validate.Limits{},
			[]validate.Finding{{Kind: validate.KindDecodeError, Message: "field number 0 at byte offset 2 is outside 1 to 536870911"}}},
		{"field number above 2^29-1", "shop.Order", pbCat(id1, protowire.AppendVarint(nil, uint64(protowire.MaxValidNumber+1)<<3)), validate.Limits{},
			[]validate.Finding{{Kind: validate.KindDecodeError, Message: "field number 536870912 at byte offset 2 is outside 1 to 536870911"}}},
		{"wire type 6", "shop.Order", pbCat(id1, []byte{0x0e}), validate.Limits{},
			[]validate.Finding{{Kind: validate.KindDecodeError, Message: "tag at byte offset 2 has the reserved wire type 6"}}},
		{"wire type 7", "shop.Order", pbCat(id1, []byte{0x0f}), validate.Limits{},
			[]validate.Finding{{Kind: validate.KindDecodeError, Message: "reserved wire type 7"}}},
		{"stray end-group", "shop.Order", pbCat(id1, pbTag(9, protowire.EndGroupType)), validate.Limits{},
			[]validate.Finding{{Kind: validate.KindDecodeError, Message: "end-group tag for field 9 at byte offset 2 closes no open group"}}},
		{"group without its end", "shop.Order", pbCat(id1, pbTag(9, protowire.StartGroupType), pbBytesField(10, []byte("t"))), validate.Limits{},
			[]validate.Finding{{Kind: validate.KindDecodeError, Path: "/extra", Message: "truncated group: no end-group tag for field 9"}}},
		{"unknown fields are reported and skipped", "shop.Order",
			pbCat(pbVarintField(99, 5), id1, pbTag(100, protowire.StartGroupType), pbVarintField(1, 1), pbTag(100, protowire.EndGroupType), item(sku, pbVarintField(7, 1))),
			validate.Limits{},
			[]validate.Finding{
				{Kind: validate.KindUnknownField, Message: "field number 99 (varint) at byte offset 0 is not declared by shop.Order"},
				{Kind: validate.KindUnknownField, Message: "field number 100 (start-group)"},
				{Kind: validate.KindUnknownField, Path: "/items/0", Message: "field number 7 (varint) at byte offset 16 is not declared by shop.Item"},
			}},
		{"wrong wire type", "shop.Order", pbCat(id1, pbVarintField(2, 3), pbBytesField(14, []byte{1}), item(sku, protowire.AppendFixed32(pbTag(2, protowire.Fixed32Type), 0))), validate.Limits{},
			[]validate.Finding{
				{Kind: validate.KindTypeMismatch, Path: "/note", Message: "field note (string) at byte offset 2 has wire type varint, want length-delimited"},
				{Kind: validate.KindTypeMismatch, Path: "/b", Message: "field b (bool) at byte offset 4 has wire type length-delimited, want varint"},
				{Kind: validate.KindTypeMismatch, Path: "/items/0/price", Message: "field price (double) at byte offset 12 has wire type fixed32, want fixed64"},
			}},
		{"packed form of a field declared unpacked", "shop.Order", pbCat(id1, pbBytesField(6, []byte{1, 2, 3})), validate.Limits{}, nil},
		{"unpacked form of a field declared packed", "shop.Order", pbCat(id1, pbVarintField(7, 1), pbVarintField(7, 2)), validate.Limits{}, nil},
		{"both oneof members set", "shop.Order", pbCat(id1, pbBytesField(12, []byte("e")), pbVarintField(13, 5)), validate.Limits{}, nil},
		{"singular field repeated", "shop.Order", pbCat(id1, id1, id1), validate.Limits{}, nil},
		{"missing required fields, nested ones only where present", "shop.Order",
			pbCat(item(sku), item(pbVarintField(3, 2)), pbBytesField(23, nil)), validate.Limits{},
			[]validate.Finding{
				{Kind: validate.KindMissingField, Path: "/items/1/sku", Message: "required field sku (number 1) of shop.Item is missing"},
				{Kind: validate.KindMissingField, Path: "/child/id", Message: "required field id (number 1) of shop.Order is missing"},
				{Kind: validate.KindMissingField, Path: "/id", Message: "required field id (number 1) of shop.Order is missing"},
			}},
		{"closed enum value not defined", "shop.Order",
			pbCat(id1, pbVarintField(8, 1), pbVarintField(8, 7), pbBytesField(8, []byte{2, 9}), item(sku, pbVarintField(4, 3))), validate.Limits{},
			[]validate.Finding{
				{Kind: validate.KindEnumViolation, Path: "/history/1", Message: "value 7 at byte offset 5 is not defined by the closed enum shop.Status"},
				{Kind: validate.KindEnumViolation, Path: "/history/3", Message: "value 9 at byte offset 9"},
				{Kind: validate.KindEnumViolation, Path: "/items/0/status", Message: "value 3"},
			}},
		{"open enum accepts any value", "evt.Event", pbCat(pbVarintField(4, 77), pbBytesField(25, []byte{5, 6})), validate.Limits{}, nil},
		{"invalid UTF-8 in a proto3 string", "evt.Event", pbCat(pbBytesField(1, []byte{0xff}), pbBytesField(5, []byte("ok")), pbBytesField(5, []byte{0xc3})), validate.Limits{},
			[]validate.Finding{
				{Kind: validate.KindDecodeError, Path: "/name", Message: "string at byte offset 1 is not valid UTF-8"},
				{Kind: validate.KindDecodeError, Path: "/tags/1", Message: "string at byte offset 8 is not valid UTF-8"},
			}},
		{"invalid UTF-8 in a proto2 string is accepted", "shop.Order", pbCat(id1, pbBytesField(2, []byte{0xff})), validate.Limits{}, nil},
		{"editions: NONE accepts, VERIFY refuses invalid UTF-8", "ed.Paint", pbCat(pbVarintField(1, 1), pbBytesField(2, []byte{0xff}), pbBytesField(3, []byte{0xff})), validate.Limits{},
			[]validate.Finding{{Kind: validate.KindDecodeError, Path: "/strict", Message: "string at byte offset 6 is not valid UTF-8"}}},
		{"editions: closed enum, legacy required, delimited message", "ed.Paint",
			pbCat(pbVarintField(4, 3), pbTag(5, protowire.StartGroupType), pbTag(5, protowire.EndGroupType)), validate.Limits{},
			[]validate.Finding{
				{Kind: validate.KindEnumViolation, Path: "/shade", Message: "value 3 at byte offset 1 is not defined by the closed enum ed.Shade"},
				{Kind: validate.KindMissingField, Path: "/inner/id", Message: "required field id"},
				{Kind: validate.KindMissingField, Path: "/id", Message: "required field id"},
			}},
		{"editions: delimited message sent length-delimited", "ed.Paint", pbCat(pbVarintField(1, 1), pbBytesField(5, nil)), validate.Limits{},
			[]validate.Finding{{Kind: validate.KindTypeMismatch, Path: "/inner", Message: "has wire type length-delimited, want start-group"}}},
		{"length beyond the enclosing message", "shop.Order", pbCat(id1, pbBytesField(3, pbCat(sku, pbTag(1, protowire.BytesType), []byte{5, 'a'}))), validate.Limits{},
			[]validate.Finding{{Kind: validate.KindDecodeError, Path: "/items/0/sku", Message: "string or bytes length 5 at byte offset 8 is larger than the 1 bytes left"}}},
		{"truncated fixed64", "shop.Order", pbCat(id1, pbTag(20, protowire.Fixed64Type), []byte{1, 2, 3}), validate.Limits{},
			[]validate.Finding{{Kind: validate.KindDecodeError, Path: "/f64", Message: "truncated fixed64 value at byte offset 4: need 8 bytes, 3 left"}}},
		{"varint of 11 bytes", "shop.Order", pbCat(pbTag(1, protowire.VarintType), bytes.Repeat([]byte{0xff}, 10), []byte{0}), validate.Limits{},
			[]validate.Finding{{Kind: validate.KindDecodeError, Path: "/id", Message: "value varint at byte offset 1 overflows 64 bits"}}},
		{"packed run not a whole number of floats", "shop.Order", pbCat(id1, pbBytesField(24, []byte{0, 0, 0x80, 0x3f, 0})), validate.Limits{},
			[]validate.Finding{{Kind: validate.KindDecodeError, Path: "/weights/1", Message: "truncated fixed32 value at byte offset 9: need 4 bytes, 1 left"}}},
		{"map paths by key", "shop.Order",
			pbCat(id1,
				pbBytesField(4, pbCat(pbBytesField(1, []byte("k1")), pbBytesField(2, sku))),
				pbBytesField(4, pbCat(pbBytesField(2, pbVarintField(4, 9)), pbBytesField(1, []byte("k/2")))),
				pbBytesField(5, pbCat(pbVarintField(1, uint64(math.MaxUint64-1)), pbVarintField(3, 0)))),
			validate.Limits{},
			[]validate.Finding{
				{Kind: validate.KindEnumViolation, Path: "/by_sku/k~12/status", Message: "value 9"},
				{Kind: validate.KindMissingField, Path: "/by_sku/k~12/sku", Message: "required field sku"},
				{Kind: validate.KindUnknownField, Path: "/labels/-2", Message: "field number 3 (varint)"},
			}},
		{"map entries without their message value: the value's empty message lacks its required fields", "shop.Order",
			pbCat(id1, pbBytesField(4, pbBytesField(1, []byte("k"))), pbBytesField(4, nil),
				pbBytesField(4, pbCat(pbBytesField(1, []byte("ok")), pbBytesField(2, sku)))),
			validate.Limits{},
			[]validate.Finding{
				{Kind: validate.KindMissingField, Path: "/by_sku/k/sku", Message: "required field sku (number 1) of shop.Item is missing"},
				{Kind: validate.KindMissingField, Path: "/by_sku//sku", Message: "required field sku (number 1) of shop.Item is missing"},
			}},
		{"map keys of other kinds", "evt.Event",
			pbCat(pbBytesField(28, pbCat(pbVarintField(1, protowire.EncodeZigZag(-3)), pbBytesField(2, nil))),
				pbBytesField(24, pbCat(pbVarintField(1, 1), pbBytesField(2, nil))),
				pbBytesField(29, pbBytesField(2, []byte{1}))),
			validate.Limits{},
			[]validate.Finding{
				{Kind: validate.KindTypeMismatch, Path: "/by_code/-3", Message: "field value (enum)"},
				{Kind: validate.KindTypeMismatch, Path: "/flags/true", Message: "field value (int64)"},
			}},
		{"depth limit", "shop.Order", pbCat(id1, pbBytesField(23, pbCat(id1, pbBytesField(23, id1)))), validate.Limits{MaxDepth: 2},
			[]validate.Finding{{Kind: validate.KindDecodeError, Path: "/child/child", Message: "message nested deeper than the limit of 2 at byte offset 10"}}},
		{"unknown groups nest within the depth limit", "shop.Order",
			pbCat(id1, pbTag(50, protowire.StartGroupType), pbTag(51, protowire.StartGroupType), pbTag(51, protowire.EndGroupType), pbTag(50, protowire.EndGroupType)),
			validate.Limits{MaxDepth: 2},
			[]validate.Finding{
				{Kind: validate.KindUnknownField, Message: "field number 50"},
				{Kind: validate.KindDecodeError, Message: "group nested deeper than the limit of 2"},
			}},
		{"findings capped", "shop.Order", pbCat(id1, pbVarintField(90, 1), pbVarintField(91, 1), pbVarintField(92, 1)), validate.Limits{MaxFindings: 2},
			[]validate.Finding{
				{Kind: validate.KindUnknownField, Message: "field number 90"},
				{Kind: validate.KindUnknownField, Message: "field number 91"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, std := range []bool{false, true} {
				md := pbMessage(t, tc.message, std)
				got := validate.ValidateProtobufBinary(md, tc.data, tc.lim)
				if diff := abDiff(tc.want, got); diff != "" {
					t.Errorf("protodesc=%t, data %x (-want +got):\n%s", std, tc.data, diff)
				}
			}
		})
	}
}

// TestProtobufGoMapKeyPanic pins a protobuf-go behaviour found by FuzzProtobufBinary: a map
// entry whose key field comes again with another wire type makes proto.Unmarshal into a
// dynamicpb message panic, so payloads are not decoded with it to validate them. The walker
// reports a type_mismatch. If the panic is gone, protobuf-go has fixed it: drop this test.
func TestProtobufGoMapKeyPanic(t *testing.T) {
	md := pbMessage(t, "evt.Event", true)
	entry := pbCat(pbBytesField(1, []byte("k")), protowire.AppendFixed64(pbTag(1, protowire.Fixed64Type), 0))
	data := pbBytesField(6, entry)
	want := []validate.Finding{{Kind: validate.KindTypeMismatch, Path: "/attrs/k", Message: "field key (string) at byte offset 5 has wire type fixed64, want length-delimited"}}
	if diff := abDiff(want, validate.ValidateProtobufBinary(md, data, validate.Limits{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	panicked := func() (p bool) {
		defer func() { p = recover() != nil }()
		_ = proto.Unmarshal(data, dynamicpb.NewMessage(md))
		return false
	}()
	if !panicked {
		t.Errorf("proto.Unmarshal(%x) no longer panics", data)
	}
}

func TestValidateProtobufBinaryNilDescriptor(t *testing.T) {
	got := validate.ValidateProtobufBinary(nil, []byte{8, 1}, validate.Limits{})
	want := []validate.Finding{{Kind: validate.KindDecodeError, Message: "no message descriptor to decode with"}}
	if diff := abDiff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestValidateProtobufBinaryManyRequiredFields: a message with more required fields than the
// 64-bit set tracks still finds the missing ones beyond it.
func TestValidateProtobufBinaryManyRequiredFields(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("syntax = \"proto2\";\nmessage Wide {\n")
	for i := 1; i <= 70; i++ {
		fmt.Fprintf(&sb, "  required int32 f%d = %d;\n", i, i)
	}
	sb.WriteString("}\n")
	files := map[string]string{"wide.proto": sb.String()}
	for _, std := range []bool{false, true} {
		md := pbMessageIn(t, files, "Wide", std)
		var all []byte
		for i := 70; i >= 1; i-- {
			all = append(all, pbVarintField(protowire.Number(i), uint64(i))...)
		}
		if got := validate.ValidateProtobufBinary(md, all, validate.Limits{}); got != nil {
			t.Errorf("protodesc=%t, all 70 fields: %v", std, got)
		}
		var some []byte
		for i := 1; i <= 70; i++ {
			if i != 3 && i != 68 {
				some = append(some, pbVarintField(protowire.Number(i), 0)...)
			}
		}
		want := []validate.Finding{
			{Kind: validate.KindMissingField, Path: "/f3", Message: "required field f3 (number 3) of Wide is missing"},
			{Kind: validate.KindMissingField, Path: "/f68", Message: "required field f68 (number 68) of Wide is missing"},
		}
		if diff := abDiff(want, validate.ValidateProtobufBinary(md, some, validate.Limits{})); diff != "" {
			t.Errorf("protodesc=%t (-want +got):\n%s", std, diff)
		}
	}
}

// pbMedium is a medium-sized order (~4 KiB) for the benchmarks and the allocation test.
func pbMedium(tb testing.TB, md protoreflect.MessageDescriptor) []byte {
	var sb strings.Builder
	sb.WriteString(`id: 123456789 note: "a medium order" email: "buyer@example.com" `)
	for i := range 90 {
		fmt.Fprintf(&sb, `items { sku: "sku-%04d" price: %d.25 qty: %d status: PAID } `, i, i, i%7)
	}
	for i := range 30 {
		fmt.Fprintf(&sb, `by_sku { key: "sku-%04d" value { sku: "sku-%04d" } } labels { key: %d value: "label" } `, i, i, i)
	}
	for i := range 100 {
		fmt.Fprintf(&sb, `codes: %d deltas: %d `, i*1000, -i*7)
	}
	return pbBinary(tb, md, sb.String())
}

func pbSmall(tb testing.TB, md protoreflect.MessageDescriptor) []byte {
	return pbBinary(tb, md, `id: 42 note: "small order" items { sku: "sku-0001" price: 9.5 qty: 2 status: PAID }
		items { sku: "sku-0002" price: 19.99 qty: 1 } by_sku { key: "sku-0001" value { sku: "sku-0001" } }
		labels { key: 1 value: "gift" } codes: [1, 2, 3] deltas: [-1, 5] history: [NEW, PAID]
		Extra { tag: "promo" } email: "buyer@example.com" b: true fl: 1.5 f64: 99 raw: "\x01\x02\x03"
		child { id: 7 note: "split shipment" items { sku: "sku-0003" price: 4.25 } }`)
}

// TestValidateProtobufBinaryDoesNotAllocate: a valid payload is walked without allocating, with
// the descriptors of protobuf-go (protodesc) as with those of protocompile.
func TestValidateProtobufBinaryDoesNotAllocate(t *testing.T) {
	for _, std := range []bool{false, true} {
		md := pbMessage(t, "shop.Order", std)
		for name, data := range map[string][]byte{"small": pbSmall(t, md), "medium": pbMedium(t, md)} {
			validate.ValidateProtobufBinary(md, data, validate.Limits{}) // warm lazily built descriptor tables
			allocs := testing.AllocsPerRun(20, func() {
				if got := validate.ValidateProtobufBinary(md, data, validate.Limits{}); got != nil {
					t.Fatal(got)
				}
			})
			if allocs != 0 {
				t.Errorf("protodesc=%t, %s (%d bytes): %v allocations per valid payload, want 0", std, name, len(data), allocs)
			}
		}
	}
}

func BenchmarkValidateProtobufBinary(b *testing.B) {
	for _, std := range []bool{false, true} {
		md := pbMessage(b, "shop.Order", std)
		impl := "protocompile"
		if std {
			impl = "protodesc"
		}
		for _, bc := range []struct {
			name string
			data []byte
		}{{"small", pbSmall(b, md)}, {"medium", pbMedium(b, md)}} {
			b.Run(fmt.Sprintf("%s/%s/%dB", bc.name, impl, len(bc.data)), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(bc.data)))
				for b.Loop() {
					if got := validate.ValidateProtobufBinary(md, bc.data, validate.Limits{}); got != nil {
						b.Fatal(got)
					}
				}
			})
		}
	}
}

// BenchmarkProtobufUnmarshal is the reference point: proto.Unmarshal into a dynamicpb message.
func BenchmarkProtobufUnmarshal(b *testing.B) {
	md := pbMessage(b, "shop.Order", true)
	for _, bc := range []struct {
		name string
		data []byte
	}{{"small", pbSmall(b, md)}, {"medium", pbMedium(b, md)}} {
		b.Run(fmt.Sprintf("%s/%dB", bc.name, len(bc.data)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.data)))
			for b.Loop() {
				if err := proto.Unmarshal(bc.data, dynamicpb.NewMessage(md)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzProtobufBinary feeds arbitrary bytes to the walker under fixed descriptors, to see if it
// can be made to panic, and checks it against proto.Unmarshal: whatever the walker accepts
// must decode there (required fields included).
func FuzzProtobufBinary(f *testing.F) {
	names := []string{"shop.Order", "evt.Event", "ed.Paint", "shop.Item"}
	mds := make([]protoreflect.MessageDescriptor, len(names))
	for i, name := range names {
		mds[i] = pbMessage(f, name, true)
	}
	for _, tc := range pbValidCases() {
		for i, name := range names {
			if name == tc.message {
				f.Add(uint8(i), pbBinary(f, mds[i], tc.text))
			}
		}
	}
	lim := validate.Limits{MaxDepth: 16, MaxFindings: 5}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		md := mds[int(which)%len(mds)]
		got := validate.ValidateProtobufBinary(md, data, lim)
		if len(got) > lim.MaxFindings {
			t.Fatalf("%d findings, cap %d", len(got), lim.MaxFindings)
		}
		if got != nil {
			return // proto.Unmarshal is only asked about accepted input: it can panic on some other
		}
		if err := (proto.UnmarshalOptions{RecursionLimit: lim.MaxDepth + 1}).Unmarshal(data, dynamicpb.NewMessage(md)); err != nil {
			t.Fatalf("walker accepts %x but proto.Unmarshal fails: %v", data, err)
		}
	})
}

// TestValidateProtobufBinaryManyMessageTypes: required fields are found right past the
// walker's small per-type cache (20 types, each visited twice, in turn).
func TestValidateProtobufBinaryManyMessageTypes(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("syntax = \"proto2\";\nmessage Root {\n")
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&sb, "  optional M%d m%d = %d;\n", i, i, i)
	}
	sb.WriteString("}\n")
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&sb, "message M%d { optional int32 a = 1; required int32 r%d = %d; }\n", i, i, i+1)
	}
	md := pbMessageIn(t, map[string]string{"many.proto": sb.String()}, "Root", true)
	var data []byte
	var want []validate.Finding
	for round := range 2 {
		for i := 1; i <= 20; i++ {
			if round == 1 && i%5 == 0 {
				data = append(data, pbBytesField(protowire.Number(i), pbVarintField(1, 1))...)
				want = append(want, validate.Finding{Kind: validate.KindMissingField, Path: fmt.Sprintf("/m%d/r%d", i, i),
					Message: fmt.Sprintf("required field r%d (number %d) of M%d is missing", i, i+1, i)})
				continue
			}
			data = append(data, pbBytesField(protowire.Number(i), pbVarintField(protowire.Number(i+1), 7))...)
		}
	}
	if diff := abDiff(want, validate.ValidateProtobufBinary(md, data, validate.Limits{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestValidateProtobufBinaryDeepPath: a path deeper than the walker keeps inline is still
// rendered whole.
func TestValidateProtobufBinaryDeepPath(t *testing.T) {
	md := pbMessage(t, "evt.Attr", true)
	const depth = 50
	data := pbBytesField(1, []byte{0xff}) // key: invalid UTF-8
	for range depth {
		data = pbBytesField(2, data) // next
	}
	want := []validate.Finding{{Kind: validate.KindDecodeError, Path: strings.Repeat("/next", depth) + "/key", Message: "is not valid UTF-8"}}
	if diff := abDiff(want, validate.ValidateProtobufBinary(md, data, validate.Limits{MaxDepth: depth + 1})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	want = []validate.Finding{{Kind: validate.KindDecodeError, Path: strings.Repeat("/next", depth), Message: "message nested deeper than the limit of 50"}}
	if diff := abDiff(want, validate.ValidateProtobufBinary(md, data, validate.Limits{MaxDepth: depth})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
