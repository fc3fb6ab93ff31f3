package registry

import (
	"errors"
	"testing"
)

// Fuzz targets feed canonicalize, to see if we can make it panic (only the
// calls into the third-party parsers are guarded, so a panic in our own
// code fails the target); the seeds also run as ordinary tests. Every
// accepted schema must canonicalize to a fixed point.

var avroSeeds = []string{
	`"string"`,
	`{"type":"int"}`,
	`["null","string"]`,
	`{"type":"record","name":"User","namespace":"com.x","fields":[{"name":"id","type":"long","default":1},{"name":"tags","type":{"type":"array","items":"string"},"default":[]}]}`,
	`{"type":"record","name":"User","fields":[{"name":"age","type":"integr"}]}`,
	`{"type":"record","name":"D","fields":[{"name":"b","type":"bytes","default":"\u00ff"},{"name":"f","type":{"type":"fixed","name":"F","size":1},"default":"a"}]}`,
	`{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}`,
	`{"type":"fixed","name":"Money","size":8,"logicalType":"decimal","precision":10,"scale":2}`,
	`{"type":"map","values":{"type":"record","name":"V","fields":[{"name":"v","type":["null","V"]}]}}`,
	`{"type":["null","int"]}`,
	`{"type":{"type":"int"}}`,
	`{"type":"record","name":"A","fields":[{"name":"a","type":"A","default":{}}]}`,
	`{"type":"bytes","logicalType":"decimal","precision":-1}`,
	`null`, `1`, `[]`, `{}`, `""`, `[[]]`,
	`{"type":"record","name":"A","aliases":["B"],"fields":[{"name":"x","type":"B"}]}`,
	`{"type":"record","name":"R","namespace":"x","fields":[{"name":"e","type":{"type":"record","namespace":"","name":"Z","fields":[{"name":"f","type":["null","Z"]}]}}]}`,
	`{"type":"enum","name":"int","symbols":["A"]}`,
}

var jsonSchemaSeeds = []string{
	`true`, `false`, `{}`, `1`, `[]`, `null`,
	`{"type":"object","properties":{"a":{"type":"string","minLength":1}},"required":["a"]}`,
	`{"$schema":"http://json-schema.org/draft-04/schema#","minimum":1,"exclusiveMinimum":true}`,
	`{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"a":{}},"$ref":"#/definitions/a"}`,
	`{"$ref":"#"}`,
	`{"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/a"}}}`,
	`{"pattern":"(?<"}`,
	`{"$id":"http://x/y","$ref":"z"}`,
	`{"$dynamicRef":"#meta","$dynamicAnchor":"meta"}`,
	`{"$schema":"https://json-schema.org/draft/2019-09/schema","$recursiveRef":"#"}`,
	`{"format":"email","contentEncoding":"base64"}`,
	`{"$ref":"file:///etc/passwd"}`,
}

func checkAccepted(t *testing.T, typ SchemaType, text string, parse func(string) (string, error)) {
	t.Helper()
	if err := checkText(typ, text, testLimits); err != nil {
		return
	}
	canonical, err := parse(text)
	if err != nil {
		if !errors.Is(err, ErrInvalidSchema) {
			t.Fatalf("error %v does not wrap ErrInvalidSchema", err)
		}
		return
	}
	again, err := parse(canonical)
	if err != nil {
		t.Fatalf("canonical text %q of %q does not parse: %v", canonical, text, err)
	}
	if again != canonical {
		t.Fatalf("canonical text is not a fixed point:\n in:    %q\n once:  %q\n twice: %q", text, canonical, again)
	}
}

func FuzzParseAvro(f *testing.F) {
	for _, s := range avroSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkAccepted(t, SchemaTypeAvro, text, func(s string) (string, error) { return canonicalize(SchemaTypeAvro, s, nil, testLimits) })
	})
}

func FuzzParseJSONSchema(f *testing.F) {
	for _, s := range jsonSchemaSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkAccepted(t, SchemaTypeJSON, text, func(s string) (string, error) { return canonicalize(SchemaTypeJSON, s, nil, testLimits) })
	})
}
