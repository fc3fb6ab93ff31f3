package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/store"
)

func ExampleRegistry_Register() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "schemagate-example")
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "schemagate.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	reg, err := registry.New(db, registry.Options{Registerer: prometheus.NewRegistry()})
	if err != nil {
		fmt.Println(err)
		return
	}

	sv, err := reg.Register(ctx, "users-value", registry.SchemaInput{Text: `{
		"type": "record", "name": "User", "namespace": "com.example",
		"fields": [{"name": "id", "type": {"type": "long"}}]
	}`})
	fmt.Println(sv.Subject, sv.Version, sv.Schema.ID, sv.Schema.Type, err)
	fmt.Println(sv.Schema.Text)

	_, err = reg.Register(ctx, "users-value", registry.SchemaInput{
		Text: `{"type":"record","name":"User","fields":[{"name":"age","type":"integr"}]}`})
	fmt.Println(err)
	// Output:
	// users-value 1 1 AVRO <nil>
	// {"name":"com.example.User","type":"record","fields":[{"name":"id","type":"long"}]}
	// invalid AVRO schema: record "User" field "age": unknown type "integr"
}

func ExampleDescribeJSON() {
	for _, v := range []any{nil, true, json.Number("1.5"), "x", []any{}, map[string]any{}, 7} {
		fmt.Println(registry.DescribeJSON(v))
	}
	// Output:
	// null
	// a boolean
	// a number
	// a string
	// an array
	// an object
	// int
}
