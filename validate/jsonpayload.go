package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Errors of DecodeJSONPayload, always wrapped with the details (sizes, byte offsets). Their
// messages reach clients.
var (
	// ErrTooLarge is a payload over Limits.MaxPayloadBytes.
	ErrTooLarge = errors.New("payload too large")
	// ErrTooDeep is a JSON payload nested deeper than Limits.MaxDepth.
	ErrTooDeep = errors.New("payload nested too deeply")
	// ErrMalformedJSON is a payload that is not exactly one well-formed UTF-8 JSON value.
	ErrMalformedJSON = errors.New("malformed JSON")
)

// DecodeJSONPayload decodes a JSON payload into map[string]any, []any, json.Number,
// string, bool and nil, the form the JSON validators take.
//
// Policy, in order: a payload over lim.MaxPayloadBytes fails with ErrTooLarge before it is
// read; one whose arrays and objects nest deeper than lim.MaxDepth fails with ErrTooDeep,
// found by a scan before any value is built; then the payload must be valid UTF-8 and exactly
// one JSON value, surrounded by nothing but whitespace, or it fails with ErrMalformedJSON
// and the byte offset. Numbers stay json.Number so no precision is lost. Duplicate object
// keys are not rejected: the last one wins, as in encoding/json. Zero limits take the
// defaults.
func DecodeJSONPayload(b []byte, lim Limits) (any, error) {
	return decodeJSONPayloadFrom(b, 0, lim)
}

// decodeJSONPayloadFrom is DecodeJSONPayload on data[start:] (a framed payload's body) with
// byte offsets counted from the start of data, so they point into the payload as it was sent.
func decodeJSONPayloadFrom(data []byte, start int, lim Limits) (any, error) {
	lim = lim.WithDefaults()
	b := data[start:]
	if len(b) > lim.MaxPayloadBytes {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(b), lim.MaxPayloadBytes)
	}
	if err := payloadScan(b, start, lim.MaxDepth); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, payloadMalformed(err, b, start)
	}
	end := int(dec.InputOffset())
	for i := end; i < len(b); i++ {
		if !payloadIsSpace(b[i]) {
			return nil, fmt.Errorf("%w: data after the JSON value at byte offset %d", ErrMalformedJSON, start+i)
		}
	}
	return v, nil
}

// payloadMalformed turns a decoding error into an ErrMalformedJSON with a byte offset (plus
// base, where b starts in the payload).
func payloadMalformed(err error, b []byte, base int) error {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		// Offset counts the bytes read, the offending one included.
		return fmt.Errorf("%w: %s at byte offset %d", ErrMalformedJSON, syn.Error(), base+max(int(syn.Offset)-1, 0))
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%w: empty payload at byte offset %d", ErrMalformedJSON, base)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: unexpected end of input at byte offset %d", ErrMalformedJSON, base+len(b))
	default:
		return fmt.Errorf("%w: %s", ErrMalformedJSON, err.Error())
	}
}

// payloadScan checks UTF-8 and nesting depth without decoding: it counts brackets outside
// strings and ignores every other syntax error, which the decoder reports. Offsets in its
// errors are plus base, where b starts in the payload.
func payloadScan(b []byte, base, maxDepth int) error {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				return fmt.Errorf("%w: invalid UTF-8 at byte offset %d", ErrMalformedJSON, base+i)
			}
			i += n - 1
			continue
		}
		if inString {
			switch c {
			case '\\':
				// The escaped byte cannot end the string. A non-ASCII one (an invalid escape
				// the decoder reports) is left for the UTF-8 check.
				if i+1 < len(b) && b[i+1] < utf8.RuneSelf {
					i++
				}
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
			if depth > maxDepth {
				return fmt.Errorf("%w: nesting deeper than the limit of %d at byte offset %d", ErrTooDeep, maxDepth, base+i)
			}
		case ']', '}':
			if depth > 0 { // unbalanced closers are the decoder's to report
				depth--
			}
		}
	}
	return nil
}

func payloadIsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// jsonSizeOver reports whether v, a decoded JSON value, takes more than limit bytes encoded as
// compact JSON. It counts without encoding (string escapes are not counted, so the size is a
// lower bound) and stops as soon as the count passes limit, so a huge value costs no more
// than limit bytes of walking.
func jsonSizeOver(v any, limit int) bool {
	n := 0
	var walk func(v any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case nil:
			n += len("null")
		case bool:
			n += len("true")
			if !v {
				n++
			}
		case string:
			n += len(v) + 2
		case json.Number:
			n += len(v)
		case []any:
			n += 2 + max(len(v)-1, 0) // brackets and commas
			for _, e := range v {
				if n > limit || walk(e) {
					return true
				}
			}
		case map[string]any:
			n += 2 + max(len(v)-1, 0) // braces and commas
			for k, e := range v {
				n += len(k) + 3 // quotes and colon
				if n > limit || walk(e) {
					return true
				}
			}
		default: // other numbers: at least one digit
			n++
		}
		return n > limit
	}
	return walk(v)
}

// decodeJSONText decodes Request.JSONText: exactly one JSON value of valid UTF-8, numbers as
// json.Number. Unlike DecodeJSONPayload it does not limit nesting: the validators report a value
// nested too deep as a finding, the same for JSON text as for a decoded JSON value.
func decodeJSONText(b []byte) (any, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("not valid JSON: more than one value")
	}
	return v, nil
}
