// Package protoschema parses Protobuf schemas the way Confluent Schema Registry accepts them:
// .proto text (proto2, proto3 and edition 2023) or a base64 serialized FileDescriptorProto,
// with imports resolved from a caller-given map and the files Confluent resolves without
// references built in. It prints the parsed schema in a fixed layout (Canonical), in the
// ?normalize=true form (Normalized) and as Confluent's format=serialized (Serialized), and
// finds messages by Confluent message indexes.
//
// Policy worth knowing:
//
//   - The schema being parsed is named MainFile ("schema.proto"); error positions use it.
//   - Imports are resolved from the deps map first (import path → .proto text or base64
//     FileDescriptorProto), then from the built-in files: google/protobuf/*.proto,
//     google/type/*.proto, confluent/meta.proto and confluent/type/decimal.proto, the set
//     Confluent's ProtobufSchema resolves without references.
//   - Every error the compiler reports is returned (ParseError), in the compiler's order and
//     wording, each with file, line and column. Warnings (an unused import) are not errors.
//   - Text that is strict base64 of a FileDescriptorProto is read as one, as Confluent does
//     when its .proto parser fails.
//   - Message indexes follow the descriptor (protoreflect Index), as confluent-kafka-go and
//     the other descriptor-based clients compute them: synthetic map entry messages count.
package protoschema

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// MainFile is the file name the parsed schema gets: error positions and the serialized
// FileDescriptorProto of a schema given as text carry it.
const MainFile = "schema.proto"

// Limits bounds the work one schema text can cause. A zero field is no limit.
type Limits struct {
	// MaxBytes is the largest schema text accepted, in bytes (the main file only).
	MaxBytes int
	// MaxDepth is the deepest nesting of braces (messages, enums, oneofs, option values)
	// accepted in the text, and of messages in a serialized descriptor.
	MaxDepth int
}

// Schema is a parsed Protobuf schema.
type Schema struct {
	// File is the linked descriptor of the schema; its imports are linked too.
	File protoreflect.FileDescriptor
	// proto is File as a FileDescriptorProto without source info.
	proto *descriptorpb.FileDescriptorProto
}

// Problem is one error the compiler reported. Its String form is the stable
// "file:line:column: message" (or "file: message" without a position) that reaches clients.
type Problem struct {
	File    string
	Line    int // 1-based; 0 when the error has no position
	Column  int // 1-based; 0 when the error has no position
	Message string
}

// String formats the problem as "file:line:column: message".
func (p Problem) String() string {
	if p.Line == 0 {
		return p.File + ": " + p.Message
	}
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Message)
}

// ParseError says why a schema does not parse: every problem found, in the order reported.
// Its message may reach registry clients.
type ParseError struct {
	Problems []Problem
}

// Error joins the problems with "; ".
func (e *ParseError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// problemf returns a ParseError with one problem without a position.
func problemf(file, format string, args ...any) *ParseError {
	return &ParseError{Problems: []Problem{{File: file, Message: fmt.Sprintf(format, args...)}}}
}

// Parse compiles text, a .proto file or a base64 serialized FileDescriptorProto, with its
// imports taken from deps (import path → text in either form) or the built-in files. A bad
// schema is a *ParseError; a cancelled ctx is ctx.Err(). Parse never panics: a panic in the
// compiler becomes a ParseError.
func Parse(ctx context.Context, text string, deps map[string]string, lim Limits) (*Schema, error) {
	if lim.MaxBytes > 0 && len(text) > lim.MaxBytes {
		return nil, problemf(MainFile, "schema text is %d bytes, the limit is %d", len(text), lim.MaxBytes)
	}
	if _, ok := deps[MainFile]; ok {
		return nil, problemf(MainFile, "a reference may not be named %q: the schema itself has that name", MainFile)
	}
	main, err := mainResult(text, lim)
	if err != nil {
		return nil, err
	}
	var problems []Problem
	rep := reporter.NewReporter(func(err reporter.ErrorWithPos) error {
		problems = append(problems, problemOf(err))
		return nil // keep going: report every error
	}, nil)
	c := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(resolver{main: main, deps: deps}),
		Reporter:       rep,
		SourceInfoMode: protocompile.SourceInfoNone,
		MaxParallelism: 1,
	}
	var files []protoreflect.FileDescriptor
	err = guard(func() error {
		linked, err := c.Compile(ctx, MainFile)
		for _, f := range linked {
			files = append(files, f)
		}
		return err
	})
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, ctxErr
	}
	if len(problems) > 0 {
		return nil, &ParseError{Problems: problems}
	}
	if err != nil {
		var ewp reporter.ErrorWithPos
		if errors.As(err, &ewp) {
			return nil, &ParseError{Problems: []Problem{problemOf(ewp)}}
		}
		return nil, problemf(MainFile, "%s", err.Error())
	}
	if len(files) != 1 {
		return nil, problemf(MainFile, "the compiler returned %d files for one", len(files))
	}
	if main.Proto == nil {
		return newSchema(files[0])
	}
	// protocompile links a descriptor without checking what a parser would have refused
	// (names, for one): protodesc builds the file again and checks it, and whatever is
	// accepted must have a .proto form that compiles.
	fd, err := checkDescriptor(files[0].Imports(), main.Proto)
	if err != nil {
		return nil, err
	}
	s, err := newSchema(fd)
	if err != nil {
		return nil, err
	}
	if _, err := Parse(ctx, s.Canonical(), deps, Limits{}); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, problemf(MainFile, "invalid serialized descriptor: its .proto form does not compile: %s", err.Error())
	}
	return s, nil
}

// checkDescriptor builds fdp, a serialized descriptor, with protodesc against the imports
// protocompile linked for it.
func checkDescriptor(imports protoreflect.FileImports, fdp *descriptorpb.FileDescriptorProto) (protoreflect.FileDescriptor, error) {
	deps := new(protoregistry.Files)
	for i := range imports.Len() {
		addFile(deps, imports.Get(i).FileDescriptor)
	}
	var fd protoreflect.FileDescriptor
	err := guard(func() (err error) {
		fd, err = protodesc.NewFile(fdp, deps)
		return err
	})
	if err != nil {
		return nil, problemf(MainFile, "invalid serialized descriptor: %s", err.Error())
	}
	return fd, nil
}

// newSchema wraps a linked file.
func newSchema(fd protoreflect.FileDescriptor) (*Schema, error) {
	var fdp *descriptorpb.FileDescriptorProto
	if err := guard(func() error { fdp = protodesc.ToFileDescriptorProto(fd); return nil }); err != nil {
		return nil, problemf(MainFile, "%s", err.Error())
	}
	fdp.SourceCodeInfo = nil
	return &Schema{File: fd, proto: fdp}, nil
}

// Proto returns the schema as a FileDescriptorProto without source info. The caller must
// not modify it.
func (s *Schema) Proto() *descriptorpb.FileDescriptorProto { return s.proto }

// problemOf turns a compiler error into a Problem.
func problemOf(err reporter.ErrorWithPos) Problem {
	pos := err.GetPosition()
	msg := err.Error()
	if u := errors.Unwrap(err); u != nil {
		msg = u.Error()
	}
	file := pos.Filename
	if file == "" {
		file = MainFile
	}
	return Problem{File: file, Line: pos.Line, Column: pos.Col, Message: msg}
}

// errCompilerPanic is the error a guarded call returns when the compiler panicked.
var errCompilerPanic = errors.New("the Protobuf compiler failed on this schema")

// guard runs fn, a call into the third-party compiler fed with client input, and turns a
// panic into errCompilerPanic: a bad schema must never take the process down.
func guard(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w (%v)", errCompilerPanic, p)
		}
	}()
	return fn()
}
