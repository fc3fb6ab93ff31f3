package gateway

import (
	"encoding/json"
	"unicode/utf8"
)

// rewriteJSONPayloads keeps the numbers of /v1 JSON payloads exact. grpc-gateway decodes a
// validate body's "json" member into a google.protobuf.Value, whose numbers are doubles: an
// integer beyond 2^53 would be rounded and 2147483648 would read 2.147483648e+09. On the two
// validate routes (POST /v1/subjects/{subject}/validate and :batch) boundedBodies calls it to
// move each "json" member, as the raw text the client sent, into "jsonText"
// (ValidateRequest.json_text) before grpc-gateway sees the body; the engine decodes that text
// with exact numbers.
//
// It rewrites a ValidateRequest body (or, for batch, the requests of a ValidateBatchRequest
// body), moving each "json" member into "jsonText" as a JSON string of its raw text. ok is
// false, and body must be used unchanged, when nothing was rewritten: a body it cannot rewrite
// (not a JSON object, a member that is not valid UTF-8, both "json" and "jsonText" set) goes on
// unchanged, so grpc-gateway and the engine refuse it as they would have.
func rewriteJSONPayloads(body []byte, batch bool) (out []byte, ok bool) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, false
	}
	if !batch {
		if !moveJSONMember(top) {
			return nil, false
		}
		out, err := json.Marshal(top)
		return out, err == nil
	}
	var requests []map[string]json.RawMessage
	if err := json.Unmarshal(top["requests"], &requests); err != nil {
		return nil, false
	}
	moved := false
	for _, item := range requests {
		if item != nil && moveJSONMember(item) {
			moved = true
		}
	}
	if !moved {
		return nil, false
	}
	items, err := json.Marshal(requests)
	if err != nil {
		return nil, false
	}
	top["requests"] = items
	out, err = json.Marshal(top)
	return out, err == nil
}

// moveJSONMember replaces m's "json" member with "jsonText", the member's text as a JSON
// string, and reports whether it did.
func moveJSONMember(m map[string]json.RawMessage) bool {
	raw, ok := m["json"]
	_, hasText := m["jsonText"]
	_, hasTextSnake := m["json_text"]
	if !ok || hasText || hasTextSnake || !utf8.Valid(raw) {
		return false
	}
	text, err := json.Marshal(string(raw))
	if err != nil {
		return false
	}
	delete(m, "json")
	m["jsonText"] = text
	return true
}
