package validate_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/validate"
)

func TestDecodeJSONPayload(t *testing.T) {
	small := validate.Limits{MaxPayloadBytes: 16, MaxDepth: 3}
	tests := []struct {
		name    string
		in      string
		lim     validate.Limits
		want    any
		wantErr error
		msg     string
	}{
		{"object with numbers kept exact", `{"a": 12345678901234567890, "b": [1.5, true, null, "x"]}`, validate.Limits{},
			map[string]any{"a": json.Number("12345678901234567890"), "b": []any{json.Number("1.5"), true, nil, "x"}}, nil, ""},
		{"scalar with whitespace around", " \t\n\"s\"\r\n ", validate.Limits{}, "s", nil, ""},
		{"depth at the limit", `[[{"a": 1}]]`, small, []any{[]any{map[string]any{"a": json.Number("1")}}}, nil, ""},
		{"brackets inside strings do not count", `["[[[[", "\"{{{"]`, validate.Limits{MaxDepth: 1}, []any{"[[[[", `"{{{`}, nil, ""},
		{"too large", `"0123456789abcdef"`, small, nil, validate.ErrTooLarge, "payload too large: 18 bytes, the limit is 16"},
		{"too deep", `[[[[1]]]]`, small, nil, validate.ErrTooDeep, "nesting deeper than the limit of 3 at byte offset 3"},
		{"too deep, default limit", strings.Repeat("[", 65) + strings.Repeat("]", 65), validate.Limits{}, nil, validate.ErrTooDeep, "limit of 64 at byte offset 64"},
		{"empty", ``, validate.Limits{}, nil, validate.ErrMalformedJSON, "malformed JSON: empty payload at byte offset 0"},
		{"only whitespace", "  ", validate.Limits{}, nil, validate.ErrMalformedJSON, "empty payload"},
		{"trailing value", `{"a": 1} {"b": 2}`, validate.Limits{}, nil, validate.ErrMalformedJSON, "malformed JSON: data after the JSON value at byte offset 9"},
		{"trailing garbage", `1 x`, validate.Limits{}, nil, validate.ErrMalformedJSON, "at byte offset 2"},
		{"truncated", `{"a": [1, 2`, validate.Limits{}, nil, validate.ErrMalformedJSON, "unexpected end of input at byte offset 11"},
		{"syntax error", `{"a" 1}`, validate.Limits{}, nil, validate.ErrMalformedJSON, "invalid character '1' after object key at byte offset 5"},
		{"invalid UTF-8", "[\"a\xff\"]", validate.Limits{}, nil, validate.ErrMalformedJSON, "invalid UTF-8 at byte offset 3"},
		{"invalid escape before non-ASCII", "[\"\\\u00e9\"]", validate.Limits{}, nil, validate.ErrMalformedJSON, "invalid character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := validate.DecodeJSONPayload([]byte(tc.in), tc.lim)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("error %v, want one wrapping %v containing %q", err, tc.wantErr, tc.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// ajJSONDepth is the nesting depth of arrays and objects in a decoded value.
func ajJSONDepth(v any) int {
	d := 0
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			d = max(d, ajJSONDepth(e))
		}
		return d + 1
	case map[string]any:
		for _, e := range v {
			d = max(d, ajJSONDepth(e))
		}
		return d + 1
	}
	return 0
}

// FuzzJSONPayload checks DecodeJSONPayload against encoding/json, to see if it can be made to
// panic: it accepts exactly the valid UTF-8 JSON texts within the limits.
func FuzzJSONPayload(f *testing.F) {
	for _, seed := range []string{`{"a": [1, 2.5e3, "x\"]"]}`, `[[[[[]]]]]`, `"\u00e9"`, `1 2`, "[\"\xff\"]", ``, `{"a":}`, `  null  `} {
		f.Add([]byte(seed))
	}
	lim := validate.Limits{MaxPayloadBytes: 512, MaxDepth: 4}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := validate.DecodeJSONPayload(b, lim)
		if err != nil {
			if !errors.Is(err, validate.ErrTooLarge) && !errors.Is(err, validate.ErrTooDeep) && !errors.Is(err, validate.ErrMalformedJSON) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
		}
		valid := json.Valid(b) && utf8.Valid(b) && len(b) <= lim.MaxPayloadBytes
		if valid {
			var ref any
			if jerr := json.Unmarshal(b, &ref); jerr == nil && ajJSONDepth(ref) > lim.MaxDepth {
				valid = false
			}
		}
		if valid != (err == nil) {
			t.Fatalf("DecodeJSONPayload(%q) error %v, but encoding/json says valid=%v", b, err, valid)
		}
		if err == nil && ajJSONDepth(v) > lim.MaxDepth {
			t.Fatalf("decoded value deeper than %d", lim.MaxDepth)
		}
	})
}
