package registry

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/schemagate/schemagate/internal/jsonpointer"
)

// avroAttributes are the attribute names the Avro specification reserves
// on schema objects and fields.
var avroAttributes = []string{
	"type", "name", "namespace", "doc", "aliases", "fields", "default", "order",
	"symbols", "items", "values", "size", "logicalType", "precision", "scale",
}

// checkAvroAttributeCase refuses schema objects with an attribute whose
// name differs from a reserved one only in case ("nAme", "Default").
//
// hamba/avro decodes attributes with mapstructure, which matches names
// case-insensitively, and when two keys fold to the same attribute it picks
// one in map iteration order, so the parsed schema (and our canonical text)
// would not even be deterministic. Avro attribute names are case-sensitive;
// other Avro implementations would ignore such keys or refuse the schema.
// Only schema positions are walked: keys inside default values and custom
// properties are data.
func checkAvroAttributeCase(v any, ptr string) string {
	switch v := v.(type) {
	case []any:
		for i, b := range v {
			if msg := checkAvroAttributeCase(b, ptr+"/"+strconv.Itoa(i)); msg != "" {
				return msg
			}
		}
	case map[string]any:
		for k := range v {
			for _, a := range avroAttributes {
				if k != a && strings.EqualFold(k, a) {
					return fmt.Sprintf("at %s: attribute %q must be spelled %q (Avro attribute names are case-sensitive)",
						jsonString(jsonpointer.Append(ptr, k)), k, a)
				}
			}
		}
		for _, k := range []string{"type", "items", "values"} {
			if sub, ok := v[k]; ok {
				if msg := checkAvroAttributeCase(sub, ptr+"/"+k); msg != "" {
					return msg
				}
			}
		}
		if fields, ok := v["fields"].([]any); ok {
			for i, f := range fields {
				if msg := checkAvroAttributeCase(f, ptr+"/fields/"+strconv.Itoa(i)); msg != "" {
					return msg
				}
			}
		}
	}
	return ""
}
