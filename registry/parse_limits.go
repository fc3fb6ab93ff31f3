package registry

import (
	"maps"
	"slices"
	"strconv"

	"github.com/schemagate/schemagate/internal/jsonpointer"
)

// checkCombinators refuses schema text whose Avro unions have more than lim.maxUnionBranches
// branches, or whose JSON Schema allOf/anyOf/oneOf list more than lim.maxCombinatorItems
// subschemas: compatibility checks compare such lists pair by pair, so their size is bounded
// where the schema enters. A zero limit is no limit (stored schemas are not checked again).
// The text is valid JSON already (checkText); Protobuf text is not JSON and has neither list.
func checkCombinators(typ SchemaType, text string, lim limits) error {
	if typ == SchemaTypeProtobuf || lim.maxUnionBranches <= 0 && lim.maxCombinatorItems <= 0 {
		return nil
	}
	root, err := decodeJSON(text)
	if err != nil {
		return nil // checkText and the parser report it
	}
	switch typ {
	case SchemaTypeAvro:
		if lim.maxUnionBranches > 0 {
			if at, n := largestList(root, "", true, lim.maxUnionBranches); at != "" {
				return errorf(ErrInvalidSchema, "invalid AVRO schema: the union at %s has %d branches, the limit is %d (schema_registry.max_union_branches)",
					at, n, lim.maxUnionBranches)
			}
		}
	case SchemaTypeJSON:
		if lim.maxCombinatorItems > 0 {
			if at, n := largestList(root, "", false, lim.maxCombinatorItems); at != "" {
				return errorf(ErrInvalidSchema, "invalid JSON schema: %s lists %d subschemas, the limit is %d (schema_registry.max_json_schema_combinator_items)",
					at, n, lim.maxCombinatorItems)
			}
		}
	}
	return nil
}

// avroNotUnion names the Avro attributes whose array values are not unions.
var avroNotUnion = map[string]bool{"fields": true, "symbols": true, "aliases": true, "default": true}

// jsonValueKeywords names the JSON Schema keywords whose values are data, not schemas.
var jsonValueKeywords = map[string]bool{"enum": true, "const": true, "default": true, "examples": true}

// largestList returns the JSON pointer (and length) of the first list longer than max: in Avro
// (avro true) an array in a type position, i.e. a union; in JSON Schema an allOf, anyOf or
// oneOf array. It returns "" when there is none.
func largestList(v any, at string, avro bool, max int) (string, int) {
	switch x := v.(type) {
	case []any:
		if avro && len(x) > max {
			return pointerOrRoot(at), len(x)
		}
		for i, e := range x {
			if p, n := largestList(e, at+"/"+strconv.Itoa(i), avro, max); p != "" {
				return p, n
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			e := x[k]
			if avro && avroNotUnion[k] && k != "fields" || !avro && jsonValueKeywords[k] {
				continue
			}
			child := at + "/" + jsonpointer.Escape(k)
			if avro && k == "fields" {
				// A list of field objects, not a union: look inside each field.
				fields, _ := e.([]any)
				for i, f := range fields {
					if p, n := largestList(f, child+"/"+strconv.Itoa(i), avro, max); p != "" {
						return p, n
					}
				}
				continue
			}
			if arr, ok := e.([]any); ok && !avro && (k == "allOf" || k == "anyOf" || k == "oneOf") && len(arr) > max {
				return child, len(arr)
			}
			if p, n := largestList(e, child, avro, max); p != "" {
				return p, n
			}
		}
	}
	return "", 0
}

// pointerOrRoot renders the root as "/".
func pointerOrRoot(at string) string {
	if at == "" {
		return "/"
	}
	return at
}
