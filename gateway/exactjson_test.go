package gateway

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzRewriteJSONPayloads feeds validate bodies to rewriteJSONPayloads to see if we can make it
// panic, and checks what it promises: a rewritten body is valid JSON in which each "json"
// member became "jsonText" holding exactly the member's text, every other member unchanged.
func FuzzRewriteJSONPayloads(f *testing.F) {
	for _, seed := range []string{
		`{"json":{"n":9007199254740993}}`,
		`{"json": [1, 2.50, -0, 1e400], "format":"PAYLOAD_FORMAT_JSON", "version":2}`,
		`{"json":null}`,
		`{"json":"\u00e9\ud83d\ude80"}`,
		`{"json":1,"jsonText":"2"}`,
		`{"data":"AAAA"}`,
		`{"requests":[{"json":{"a":1}},{"data":""},{"subject":"s","json":[]}],"subject":"s"}`,
		`{"requests":null}`,
		`[]`,
		`{`,
		`{"json":1}{"json":2}`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, batch bool) {
		out, ok := rewriteJSONPayloads(body, batch)
		if !ok {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("rewrote %q into invalid JSON %q", body, out)
		}
		var in, got map[string]json.RawMessage
		if err := json.Unmarshal(body, &in); err != nil {
			t.Fatalf("rewrote %q, which does not decode: %v", body, err)
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		wantItems, gotItems := []map[string]json.RawMessage{in}, []map[string]json.RawMessage{got}
		if batch {
			wantItems, gotItems = nil, nil // decoding into them would merge into in and got
			if err := json.Unmarshal(in["requests"], &wantItems); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(got["requests"], &gotItems); err != nil {
				t.Fatal(err)
			}
			delete(in, "requests")
			delete(got, "requests")
			if diff := cmp.Diff(normalized(in), normalized(got)); diff != "" {
				t.Fatalf("batch members changed (-in +out):\n%s", diff)
			}
		}
		if len(wantItems) != len(gotItems) {
			t.Fatalf("%d requests became %d", len(wantItems), len(gotItems))
		}
		for i, item := range wantItems {
			if raw, ok := item["json"]; ok && gotItems[i] != nil {
				if _, kept := gotItems[i]["json"]; !kept {
					var text string
					if err := json.Unmarshal(gotItems[i]["jsonText"], &text); err != nil || text != string(raw) {
						t.Fatalf("json member %q became jsonText %s (%v)", raw, gotItems[i]["jsonText"], err)
					}
					delete(item, "json")
					delete(gotItems[i], "jsonText")
				}
			}
			if diff := cmp.Diff(normalized(item), normalized(gotItems[i])); diff != "" {
				t.Fatalf("request %d: other members changed (-in +out):\n%s", i, diff)
			}
		}
	})
}

// normalized compacts each member's text, so a comparison ignores insignificant whitespace.
func normalized(m map[string]json.RawMessage) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		b, err := json.Marshal(v) // RawMessage marshals compacted
		if err != nil {
			b = v
		}
		out[k] = string(b)
	}
	return out
}
