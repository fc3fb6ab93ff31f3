package schemagatev1

import (
	"bytes"
	_ "embed" // the OpenAPI document generated beside this file
)

//go:embed schemagate.swagger.json
var openAPIDocument []byte

// OpenAPIDocument returns the OpenAPI v2 document that protoc-gen-openapiv2 generated from the
// .proto files in this package. The caller owns the returned copy.
func OpenAPIDocument() []byte { return bytes.Clone(openAPIDocument) }
