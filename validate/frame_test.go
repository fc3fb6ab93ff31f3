package validate_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/validate"
)

func TestParseConfluentFrame(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		wantID  int
		body    []byte
		wantErr string
	}{
		{"id 1 with body", []byte{0, 0, 0, 0, 1, 0x02, 0x04}, 1, []byte{0x02, 0x04}, ""},
		{"empty body", []byte{0, 0, 0, 1, 0}, 256, []byte{}, ""},
		{"largest id", []byte{0, 0x7f, 0xff, 0xff, 0xff, 9}, 1<<31 - 1, []byte{9}, ""},
		{"nil", nil, 0, nil, "not a Confluent-framed payload: 0 bytes, need at least 5 (magic byte 0 and a 4-byte schema ID)"},
		{"too short", []byte{0, 0, 0, 1}, 0, nil, "not a Confluent-framed payload: 4 bytes, need at least 5"},
		{"wrong magic byte", []byte{1, 0, 0, 0, 1}, 0, nil, "not a Confluent-framed payload: magic byte is 0x01, want 0x00"},
		{"JSON text", []byte(`{"a":1}`), 0, nil, "magic byte is 0x7b, want 0x00"},
		{"id 0", []byte{0, 0, 0, 0, 0, 1}, 0, nil, "not a Confluent-framed payload: schema ID 0 is not a valid ID"},
		{"id beyond int32", []byte{0, 0x80, 0, 0, 0}, 0, nil, "schema ID 2147483648 does not fit a signed 32-bit integer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, body, err := validate.ParseConfluentFrame(tc.in)
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, validate.ErrNotFramed) || !bytes.Contains([]byte(err.Error()), []byte(tc.wantErr)) {
					t.Fatalf("error %v, want one wrapping ErrNotFramed containing %q", err, tc.wantErr)
				}
				if id != 0 || body != nil {
					t.Errorf("on error got id %d, body %x; want 0, nil", id, body)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if id != tc.wantID {
				t.Errorf("id %d, want %d", id, tc.wantID)
			}
			if diff := cmp.Diff(tc.body, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzConfluentFrame checks, to see if it can be made to panic, that every input either
// splits into a valid ID and the bytes after the header, or fails with ErrNotFramed.
func FuzzConfluentFrame(f *testing.F) {
	for _, seed := range [][]byte{nil, {0, 0, 0, 0, 1}, {0, 0, 0, 0, 0}, {0, 0xff, 0xff, 0xff, 0xff, 1}, {1, 2, 3, 4, 5, 6}, {0, 0, 0, 0x10, 0x01, 0x02, 0x06, 'a', 'b', 'c'}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, body, err := validate.ParseConfluentFrame(b)
		if err != nil {
			if !errors.Is(err, validate.ErrNotFramed) {
				t.Fatalf("error %v does not wrap ErrNotFramed", err)
			}
			return
		}
		if id < 1 || id > 1<<31-1 || len(b) < 5 || b[0] != 0 || !bytes.Equal(body, b[5:]) {
			t.Fatalf("ParseConfluentFrame(%x) = %d, %x", b, id, body)
		}
		rebuilt := append([]byte{0, byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}, body...)
		if !bytes.Equal(rebuilt, b) {
			t.Fatalf("reframing %d, %x gives %x, want %x", id, body, rebuilt, b)
		}
	})
}

func ExampleParseConfluentFrame() {
	id, body, err := validate.ParseConfluentFrame([]byte{0, 0, 0, 0, 42, 0x06, 'A', 'd', 'a'})
	fmt.Println(id, body, err)
	_, _, err = validate.ParseConfluentFrame([]byte(`{"name":"Ada"}`))
	fmt.Println(errors.Is(err, validate.ErrNotFramed), err)
	// Output:
	// 42 [6 65 100 97] <nil>
	// true not a Confluent-framed payload: magic byte is 0x7b, want 0x00
}
