package validate_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/schemagate/schemagate/validate"
)

// pbIndexes encodes message indexes as Confluent's serializers do: zig-zag varints (Kafka's
// ByteUtils.writeVarint, Go's binary.AppendVarint), count first, and the single byte 0 for [0].
func pbIndexes(indexes ...int) []byte {
	if len(indexes) == 1 && indexes[0] == 0 {
		return []byte{0}
	}
	b := binary.AppendVarint(nil, int64(len(indexes)))
	for _, i := range indexes {
		b = binary.AppendVarint(b, int64(i))
	}
	return b
}

func TestParseProtobufMessageIndexes(t *testing.T) {
	msg := []byte{0x08, 0x01}
	for _, tc := range []struct {
		name    string
		body    []byte
		indexes []int
		rest    []byte
		err     string
	}{
		{"the shortcut for the first message", pbCat([]byte{0}, msg), []int{0}, msg, ""},
		{"first message, long form", pbCat([]byte{2, 0}, msg), []int{0}, msg, ""},
		{"second top-level message", pbCat(pbIndexes(1), msg), []int{1}, msg, ""},
		{"nested message", pbCat(pbIndexes(2, 0, 3), msg), []int{2, 0, 3}, msg, ""},
		{"large index", pbIndexes(math.MaxInt32), []int{math.MaxInt32}, []byte{}, ""},
		{"empty message after the indexes", []byte{0}, []int{0}, []byte{}, ""},
		{"empty body", nil, nil, nil, "truncated message-index count varint at byte offset 0"},
		{"truncated count", []byte{0x80}, nil, nil, "truncated message-index count varint at byte offset 0"},
		{"truncated index", []byte{4, 2}, nil, nil, "message-index count 2 at byte offset 0 is larger than the 1 bytes left"},
		{"truncated index varint", []byte{2, 0x80}, nil, nil, "truncated message index varint at byte offset 1"},
		{"negative count", pbCat(binary.AppendVarint(nil, -1), msg), nil, nil, "message-index count -1 at byte offset 0 is negative"},
		{"negative index", pbCat(pbIndexes(1, 0)[:1], binary.AppendVarint(nil, -2), msg), nil, nil, "message index -2 at byte offset 1 is negative"},
		{"count above the limit", pbCat(binary.AppendVarint(nil, validate.MaxProtobufMessageIndexes+1), bytes.Repeat([]byte{0}, 100)), nil, nil,
			fmt.Sprintf("message-index count %d at byte offset 0 exceeds the limit of %d", validate.MaxProtobufMessageIndexes+1, validate.MaxProtobufMessageIndexes)},
		{"huge count", binary.AppendVarint(nil, math.MaxInt32), nil, nil, "exceeds the limit"},
		{"count varint beyond 32 bits", []byte{0xff, 0xff, 0xff, 0xff, 0x7f}, nil, nil, "message-index count varint at byte offset 0 overflows 32 bits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			indexes, rest, err := validate.ParseProtobufMessageIndexes(tc.body)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, validate.ErrNotFramed) {
					t.Fatalf("error %v, want one wrapping ErrNotFramed containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.indexes, indexes); diff != "" {
				t.Errorf("indexes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.rest, rest); diff != "" {
				t.Errorf("rest (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseProtobufMessageIndexesRoundTrip: whatever a Confluent serializer writes reads back.
func TestParseProtobufMessageIndexesRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		want := rapid.SliceOfN(rapid.IntRange(0, math.MaxInt32), 1, validate.MaxProtobufMessageIndexes).Draw(t, "indexes")
		msg := rapid.SliceOf(rapid.Byte()).Draw(t, "message")
		indexes, rest, err := validate.ParseProtobufMessageIndexes(pbCat(pbIndexes(want...), msg))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, indexes); diff != "" {
			t.Fatalf("indexes (-want +got):\n%s", diff)
		}
		if !bytes.Equal(rest, msg) {
			t.Fatalf("rest %x, want %x", rest, msg)
		}
	})
}

// FuzzProtobufMessageIndexes: never a panic; an accepted array is bounded, non-negative, and
// leaves a suffix of the body.
func FuzzProtobufMessageIndexes(f *testing.F) {
	f.Add([]byte{0, 8, 1})
	f.Add(pbIndexes(2, 0, 3))
	f.Add(binary.AppendVarint(nil, -1))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, body []byte) {
		indexes, rest, err := validate.ParseProtobufMessageIndexes(body)
		if err != nil {
			if !errors.Is(err, validate.ErrNotFramed) {
				t.Fatalf("error %v does not wrap ErrNotFramed", err)
			}
			return
		}
		if len(indexes) == 0 || len(indexes) > validate.MaxProtobufMessageIndexes {
			t.Fatalf("%d indexes", len(indexes))
		}
		for _, i := range indexes {
			if i < 0 {
				t.Fatalf("negative index in %v", indexes)
			}
		}
		if !bytes.HasSuffix(body, rest) || len(rest) >= len(body) {
			t.Fatalf("rest %x is not a strict suffix of %x", rest, body)
		}
	})
}

func ExampleParseProtobufMessageIndexes() {
	_, body, _ := validate.ParseConfluentFrame([]byte{0, 0, 0, 0, 7, 0x04, 0x02, 0x00, 0x08, 0x01})
	indexes, msg, err := validate.ParseProtobufMessageIndexes(body)
	fmt.Println(indexes, msg, err)
	// Output:
	// [1 0] [8 1] <nil>
}
