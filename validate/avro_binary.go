package validate

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/hamba/avro/v2"

	"github.com/schemagate/schemagate/internal/jsonpointer"
)

// ValidateAvroBinary checks that data is exactly one value of schema s in Avro binary
// encoding, by walking the bytes under the schema without building the value.
//
// Policy:
//   - Every byte must be consumed: trailing bytes and truncated input are decode errors.
//     (hamba/avro's Unmarshal accepts both, which is why this walker exists.)
//   - int must fit 32 bits and long 64 bits; a long varint is at most 10 bytes, an int
//     varint at most 5. Non-minimal varints are accepted, as every Avro decoder does.
//   - boolean is the byte 0 or 1; string and map keys are valid UTF-8; bytes and string
//     lengths are non-negative and no larger than the bytes left; fixed is exactly its size;
//     enum and union indexes are in range.
//   - Arrays and maps are blocks. A block count is bounded by the bytes left (unless the
//     items encode to zero bytes), a negative count is followed by the block's byte size,
//     which must match what the items used, and the payload as a whole may hold at most
//     max(len(data), lim.MaxPayloadBytes) array and map elements, so no count can force a
//     large allocation or unbounded work.
//   - Logical types are checked as their base types only (a decimal's precision is not).
//   - Records, arrays, maps and non-null union branches nest at most lim.MaxDepth deep.
//
// It reports at most one finding, of kind decode_error, at the first place decoding fails:
// the rest of the bytes cannot be interpreted. Its Path is a JSON pointer into the logical
// value (field names, array indexes, map keys; union branches add no segment) and its
// Message names the byte offset; both reach clients. A nil result means valid. Zero limits
// take the defaults. len(data) is not checked against lim.MaxPayloadBytes here (callers check
// the size before reading the payload); that limit only bounds the element count.
func ValidateAvroBinary(s avro.Schema, data []byte, lim Limits) []Finding {
	return validateAvroBinaryFrom(s, data, 0, lim)
}

// validateAvroBinaryFrom is ValidateAvroBinary on data[start:] (a framed payload's body) with
// byte offsets counted from the start of data, so they point into the payload as it was sent.
func validateAvroBinaryFrom(s avro.Schema, data []byte, start int, lim Limits) []Finding {
	lim = lim.WithDefaults()
	w := avroBinWalker{data: data, pos: start, maxDepth: lim.MaxDepth, maxElems: max(len(data), lim.MaxPayloadBytes)}
	if s == nil {
		w.fail("no schema to decode with")
	} else if w.walk(s, 0) && w.pos != len(data) {
		w.fail("%d trailing bytes after the value, starting at byte offset %d", len(data)-w.pos, w.pos)
	}
	if !w.failed {
		return nil
	}
	return []Finding{{Kind: KindDecodeError, Path: w.pointer(), Message: w.msg}}
}

// avroBinWalker is the state of one ValidateAvroBinary call. Paths cost nothing on the happy
// path: when decoding fails, each enclosing frame appends its segment to rev on the way
// out, so rev holds the path innermost first.
type avroBinWalker struct {
	data     []byte
	pos      int
	maxDepth int
	elems    int
	maxElems int

	failed bool
	msg    string
	rev    []string // path segments, innermost first, unescaped
}

// fail records the first failure and returns false so callers can `return w.fail(...)`.
func (w *avroBinWalker) fail(format string, args ...any) bool {
	if !w.failed {
		w.failed = true
		w.msg = fmt.Sprintf(format, args...)
	}
	return false
}

// unwind adds one path segment while returning from a failed walk.
func (w *avroBinWalker) unwind(seg string) bool {
	w.rev = append(w.rev, seg)
	return false
}

func (w *avroBinWalker) pointer() string {
	slices.Reverse(w.rev)
	return jsonpointer.FromTokens(w.rev)
}

func (w *avroBinWalker) walk(s avro.Schema, depth int) bool {
	switch s := s.(type) {
	case *avro.NullSchema:
		return true
	case *avro.PrimitiveSchema:
		return w.primitive(s.Type())
	case *avro.RecordSchema:
		if depth >= w.maxDepth {
			return w.tooDeep()
		}
		for _, f := range s.Fields() {
			if !w.walk(f.Type(), depth+1) {
				return w.unwind(f.Name())
			}
		}
		return true
	case *avro.EnumSchema:
		start := w.pos
		i, ok := w.readInt("enum index")
		if !ok {
			return false
		}
		if i < 0 || int(i) >= len(s.Symbols()) {
			return w.fail("enum index %d at byte offset %d is out of range: %s has %d symbols", i, start, s.FullName(), len(s.Symbols()))
		}
		return true
	case *avro.FixedSchema:
		_, ok := w.take(s.Size(), "fixed")
		return ok
	case *avro.UnionSchema:
		return w.union(s, depth)
	case *avro.ArraySchema:
		return w.blocks(s.Items(), nil, depth)
	case *avro.MapSchema:
		return w.blocks(nil, s.Values(), depth)
	case *avro.RefSchema:
		if s.Schema() == nil {
			return w.fail("unresolved named type reference")
		}
		return w.walk(s.Schema(), depth)
	default:
		if s == nil {
			return w.fail("nil schema")
		}
		return w.fail("unsupported schema type %q", s.Type())
	}
}

func (w *avroBinWalker) tooDeep() bool {
	return w.fail("value nested deeper than the limit of %d at byte offset %d", w.maxDepth, w.pos)
}

func (w *avroBinWalker) primitive(t avro.Type) bool {
	switch t {
	case avro.Null:
		return true
	case avro.Boolean:
		b, ok := w.take(1, "boolean")
		if ok && b[0] > 1 {
			return w.fail("boolean byte at byte offset %d is %d, want 0 or 1", w.pos-1, b[0])
		}
		return ok
	case avro.Int:
		_, ok := w.readInt("int")
		return ok
	case avro.Long:
		_, ok := w.readLong("long")
		return ok
	case avro.Float:
		_, ok := w.take(4, "float")
		return ok
	case avro.Double:
		_, ok := w.take(8, "double")
		return ok
	case avro.Bytes:
		_, ok := w.lengthPrefixed("bytes", "bytes length")
		return ok
	case avro.String:
		start := w.pos
		b, ok := w.lengthPrefixed("string", "string length")
		if ok && !utf8.Valid(b) {
			return w.fail("string at byte offset %d is not valid UTF-8", start)
		}
		return ok
	default:
		return w.fail("unsupported primitive type %q", t)
	}
}

func (w *avroBinWalker) union(s *avro.UnionSchema, depth int) bool {
	start := w.pos
	i, ok := w.readLong("union index")
	if !ok {
		return false
	}
	types := s.Types()
	if i < 0 || i >= int64(len(types)) {
		return w.fail("union index %d at byte offset %d is out of range: the union has %d branches", i, start, len(types))
	}
	branch := types[i]
	if branch.Type() == avro.Null {
		return true
	}
	if depth >= w.maxDepth {
		return w.tooDeep()
	}
	return w.walk(branch, depth+1)
}

// blocks walks an array (items != nil) or a map (values != nil).
func (w *avroBinWalker) blocks(items, values avro.Schema, depth int) bool {
	if depth >= w.maxDepth {
		return w.tooDeep()
	}
	elem := items
	if elem == nil {
		elem = values
	}
	index := 0
	for {
		start := w.pos
		count, ok := w.readLong("block count")
		if !ok {
			return false
		}
		if count == 0 {
			return true
		}
		size := int64(-1)
		if count < 0 {
			if count == math.MinInt64 {
				return w.fail("block count %d at byte offset %d is out of range", count, start)
			}
			count = -count
			sizeAt := w.pos
			if size, ok = w.readLong("block byte size"); !ok {
				return false
			}
			if size < 0 {
				return w.fail("block byte size %d at byte offset %d is negative", size, sizeAt)
			}
			if size > int64(len(w.data)-w.pos) {
				return w.fail("block byte size %d at byte offset %d is larger than the %d bytes left", size, sizeAt, len(w.data)-w.pos)
			}
		}
		left := int64(len(w.data) - w.pos)
		if count > left && (values != nil || !avroEncodesEmpty(items, 8)) {
			return w.fail("block count %d at byte offset %d is larger than the %d bytes left", count, start, left)
		}
		if count > int64(w.maxElems-w.elems) {
			return w.fail("block count %d at byte offset %d exceeds the limit of %d elements per payload", count, start, w.maxElems)
		}
		w.elems += int(count)
		blockStart := w.pos
		for ; count > 0; count-- {
			if values != nil {
				keyAt := w.pos
				key, ok := w.lengthPrefixed("map key", "map key length")
				if !ok {
					return false
				}
				if !utf8.Valid(key) {
					return w.fail("map key at byte offset %d is not valid UTF-8", keyAt)
				}
				if !w.walk(elem, depth+1) {
					return w.unwind(string(key))
				}
			} else if !w.walk(elem, depth+1) {
				return w.unwind(strconv.Itoa(index))
			}
			index++
		}
		if size >= 0 && int64(w.pos-blockStart) != size {
			return w.fail("block at byte offset %d declares %d bytes but its items use %d", start, size, w.pos-blockStart)
		}
	}
}

// avroEncodesEmpty reports whether a value of s may encode to zero bytes (null, an empty
// fixed, a record of such fields). Past the given nesting budget it answers true, which
// only relaxes the per-block count check; the per-payload element limit still holds.
func avroEncodesEmpty(s avro.Schema, budget int) bool {
	if budget <= 0 {
		return true
	}
	switch s := s.(type) {
	case *avro.NullSchema:
		return true
	case *avro.FixedSchema:
		return s.Size() == 0
	case *avro.RecordSchema:
		for _, f := range s.Fields() {
			if !avroEncodesEmpty(f.Type(), budget-1) {
				return false
			}
		}
		return true
	case *avro.RefSchema:
		return s.Schema() == nil || avroEncodesEmpty(s.Schema(), budget-1)
	case *avro.PrimitiveSchema:
		return s.Type() == avro.Null
	default:
		return false
	}
}

// take consumes n bytes.
func (w *avroBinWalker) take(n int, what string) ([]byte, bool) {
	if n < 0 || n > len(w.data)-w.pos {
		return nil, w.fail("truncated %s at byte offset %d: need %d bytes, %d left", what, w.pos, n, len(w.data)-w.pos)
	}
	b := w.data[w.pos : w.pos+n]
	w.pos += n
	return b, true
}

// lengthPrefixed consumes a long length and that many bytes. lenWhat names the length
// for messages; it is passed in rather than built so the happy path does not allocate.
func (w *avroBinWalker) lengthPrefixed(what, lenWhat string) ([]byte, bool) {
	start := w.pos
	n, ok := w.readLong(lenWhat)
	if !ok {
		return nil, false
	}
	if n < 0 {
		return nil, w.fail("%s length %d at byte offset %d is negative", what, n, start)
	}
	if n > int64(len(w.data)-w.pos) {
		return nil, w.fail("%s length %d at byte offset %d is larger than the %d bytes left", what, n, start, len(w.data)-w.pos)
	}
	b := w.data[w.pos : w.pos+int(n)]
	w.pos += int(n)
	return b, true
}

// readLong reads a zig-zag varint of at most 10 bytes that fits 64 bits.
func (w *avroBinWalker) readLong(what string) (int64, bool) {
	start := w.pos
	var u uint64
	for i := 0; ; i++ {
		if w.pos >= len(w.data) {
			return 0, w.fail("truncated %s varint at byte offset %d", what, start)
		}
		b := w.data[w.pos]
		w.pos++
		if i == 9 && b > 1 {
			if b&0x80 != 0 {
				return 0, w.fail("%s varint at byte offset %d is longer than 10 bytes", what, start)
			}
			return 0, w.fail("%s varint at byte offset %d overflows 64 bits", what, start)
		}
		u |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return int64(u>>1) ^ -int64(u&1), true
		}
	}
}

// readInt reads a zig-zag varint of at most 5 bytes that fits 32 bits.
func (w *avroBinWalker) readInt(what string) (int32, bool) {
	start := w.pos
	var u uint32
	for i := 0; ; i++ {
		if w.pos >= len(w.data) {
			return 0, w.fail("truncated %s varint at byte offset %d", what, start)
		}
		b := w.data[w.pos]
		w.pos++
		if i == 4 && b > 0x0f {
			return 0, w.fail("%s varint at byte offset %d overflows 32 bits", what, start)
		}
		u |= uint32(b&0x7f) << (7 * i)
		if b < 0x80 {
			return int32(u>>1) ^ -int32(u&1), true
		}
	}
}
