package validate

import (
	"fmt"
	"slices"
)

// MaxProtobufMessageIndexes bounds the message-index array of a Confluent Protobuf frame: a path
// through nested message declarations longer than this is refused before anything is allocated
// for it. It matches DefaultMaxDepth, the deepest nesting a payload may have.
const MaxProtobufMessageIndexes = DefaultMaxDepth

// ParseProtobufMessageIndexes reads the message-index array that starts the body of a
// Confluent-framed Protobuf payload (the bytes after the magic byte and schema ID, as returned
// by [ParseConfluentFrame]) and returns the indexes and the serialized message after them.
//
// Policy, as Confluent's serializers write it (MessageIndexes.toByteArray in the Java client,
// the protobuf serde of confluent-kafka-go): a zig-zag varint count, then that many zig-zag
// varint indexes; each varint fits 32 bits (at most 5 bytes). The single byte 0 (a count of 0)
// is the shortcut for [0], the first message declared in the file. The first index picks a
// top-level message of the file, each next one a message nested in the previous one.
//
// A truncated or over-long varint, a negative count or index, or a count above
// [MaxProtobufMessageIndexes] or above the bytes left is an error wrapping [ErrNotFramed]; its
// message names the byte offset within body and reaches clients. rest aliases body.
func ParseProtobufMessageIndexes(body []byte) (indexes []int, rest []byte, err error) {
	indexes, end, err := appendProtobufMessageIndexes(nil, body, 0)
	if err != nil {
		return nil, nil, err
	}
	return indexes, body[end:], nil
}

// appendProtobufMessageIndexes is ParseProtobufMessageIndexes on data[start:], with byte offsets
// counted from the start of data (a framed payload as sent): it appends the indexes to dst and
// returns where the message starts. With a dst of room enough it allocates nothing.
func appendProtobufMessageIndexes(dst []int, data []byte, start int) (indexes []int, end int, err error) {
	count, n, err := readFrameZigZag32(data, start, "message-index count")
	if err != nil {
		return nil, 0, err
	}
	pos := start + n
	switch {
	case count == 0:
		return append(dst, 0), pos, nil
	case count < 0:
		return nil, 0, fmt.Errorf("%w: message-index count %d at byte offset %d is negative", ErrNotFramed, count, start)
	case count > MaxProtobufMessageIndexes:
		return nil, 0, fmt.Errorf("%w: message-index count %d at byte offset %d exceeds the limit of %d", ErrNotFramed, count, start, MaxProtobufMessageIndexes)
	case int(count) > len(data)-pos:
		return nil, 0, fmt.Errorf("%w: message-index count %d at byte offset %d is larger than the %d bytes left", ErrNotFramed, count, start, len(data)-pos)
	}
	indexes = slices.Grow(dst, int(count))
	for range count {
		at := pos
		v, used, err := readFrameZigZag32(data, at, "message index")
		if err != nil {
			return nil, 0, err
		}
		if v < 0 {
			return nil, 0, fmt.Errorf("%w: message index %d at byte offset %d is negative", ErrNotFramed, v, at)
		}
		indexes = append(indexes, int(v))
		pos += used
	}
	return indexes, pos, nil
}

// readFrameZigZag32 reads a zig-zag varint of at most 5 bytes that fits 32 bits from b[at:], as
// Kafka's ByteUtils.readVarint does, and returns it with the number of bytes it used.
func readFrameZigZag32(b []byte, at int, what string) (int32, int, error) {
	var u uint32
	for i := 0; ; i++ {
		if at+i >= len(b) {
			return 0, 0, fmt.Errorf("%w: truncated %s varint at byte offset %d", ErrNotFramed, what, at)
		}
		c := b[at+i]
		if i == 4 && c > 0x0f {
			return 0, 0, fmt.Errorf("%w: %s varint at byte offset %d overflows 32 bits", ErrNotFramed, what, at)
		}
		u |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			return int32(u>>1) ^ -int32(u&1), i + 1, nil
		}
	}
}
