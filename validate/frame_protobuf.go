package validate

import (
	"fmt"
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
	count, n, err := readFrameZigZag32(body, 0, "message-index count")
	if err != nil {
		return nil, nil, err
	}
	switch {
	case count == 0:
		return []int{0}, body[n:], nil
	case count < 0:
		return nil, nil, fmt.Errorf("%w: message-index count %d at byte offset 0 is negative", ErrNotFramed, count)
	case count > MaxProtobufMessageIndexes:
		return nil, nil, fmt.Errorf("%w: message-index count %d at byte offset 0 exceeds the limit of %d", ErrNotFramed, count, MaxProtobufMessageIndexes)
	case int(count) > len(body)-n:
		return nil, nil, fmt.Errorf("%w: message-index count %d at byte offset 0 is larger than the %d bytes left", ErrNotFramed, count, len(body)-n)
	}
	indexes = make([]int, count)
	for i := range indexes {
		at := n
		v, used, err := readFrameZigZag32(body, at, "message index")
		if err != nil {
			return nil, nil, err
		}
		if v < 0 {
			return nil, nil, fmt.Errorf("%w: message index %d at byte offset %d is negative", ErrNotFramed, v, at)
		}
		indexes[i] = int(v)
		n += used
	}
	return indexes, body[n:], nil
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
