package validate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrNotFramed is wrapped by every ParseConfluentFrame error: the payload is not in the
// Confluent wire format. Callers report it as a decode_error finding; its message reaches
// clients.
var ErrNotFramed = errors.New("not a Confluent-framed payload")

// confluentHeader is the magic byte 0 and the 4-byte big-endian schema ID.
const confluentHeader = 5

// ParseConfluentFrame splits a Confluent wire-format payload into its schema ID and body.
//
// Policy: the payload starts with the magic byte 0 and a 4-byte big-endian schema ID that
// is at least 1 and fits a signed 32-bit integer (Confluent IDs are Java ints); anything
// else is an error wrapping ErrNotFramed. The body may be empty (a null schema encodes to
// no bytes) and aliases b. The schema ID is not looked up here.
func ParseConfluentFrame(b []byte) (schemaID int, body []byte, err error) {
	if len(b) < confluentHeader {
		return 0, nil, fmt.Errorf("%w: %d bytes, need at least %d (magic byte 0 and a 4-byte schema ID)", ErrNotFramed, len(b), confluentHeader)
	}
	if b[0] != 0 {
		return 0, nil, fmt.Errorf("%w: magic byte is 0x%02x, want 0x00", ErrNotFramed, b[0])
	}
	id := binary.BigEndian.Uint32(b[1:confluentHeader])
	if id == 0 {
		return 0, nil, fmt.Errorf("%w: schema ID 0 is not a valid ID", ErrNotFramed)
	}
	if id > math.MaxInt32 {
		return 0, nil, fmt.Errorf("%w: schema ID %d does not fit a signed 32-bit integer", ErrNotFramed, id)
	}
	return int(id), b[confluentHeader:], nil
}
