package protocompat

import (
	"context"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// compile compiles text as "root.proto" with deps as importable files and the well-known
// types built in.
func compile(t fataler, text string, deps map[string]string) protoreflect.FileDescriptor {
	t.Helper()
	fd, err := compileErr(text, deps)
	if err != nil {
		t.Fatalf("compile:\n%s\n: %v", text, err)
	}
	return fd
}

func compileErr(text string, deps map[string]string) (protoreflect.FileDescriptor, error) {
	srcs := map[string]string{"root.proto": text}
	for k, v := range deps {
		srcs[k] = v
	}
	c := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
		Accessor: protocompile.SourceAccessorFromMap(srcs),
	})}
	files, err := c.Compile(context.Background(), "root.proto")
	if err != nil {
		return nil, err
	}
	return files[0], nil
}

// fataler is the part of testing.TB and *rapid.T that compile uses.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// p3 and p2 prefix a proto3 or proto2 syntax statement.
func p3(body string) string { return "syntax = \"proto3\";\n" + body }
func p2(body string) string { return "syntax = \"proto2\";\n" + body }

// types lists the Types of found, in order.
func types(found []Incompatibility) []string {
	var out []string
	for _, in := range found {
		out = append(out, in.Type)
	}
	return out
}
