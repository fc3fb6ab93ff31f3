package protoschema

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Serialized returns the schema as Confluent's format=serialized does: the standard base64
// of its FileDescriptorProto without source info, marshalled deterministically.
func (s *Schema) Serialized() string {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(s.proto)
	if err != nil {
		return "" // a linked descriptor always marshals
	}
	return base64.StdEncoding.EncodeToString(b)
}

// MessageByIndexes returns the message at a Confluent message-index path (see MessageAt). An
// empty path is the first message (the framing's single-0 shortcut).
func (s *Schema) MessageByIndexes(idx []int) (protoreflect.MessageDescriptor, error) {
	if len(idx) == 0 {
		idx = []int{0}
	}
	return MessageAt(s.File.Messages(), idx)
}

// MessageAt returns the message at a Confluent message-index path under top, the top-level
// messages of a file: the first index picks one of them, each next one a message nested in the
// previous. Indexes count the messages a schema declares, as Confluent's Java serializer and its
// JavaScript client (@confluentinc/schemaregistry) write them: the entry messages a compiler
// makes for map fields are not counted. confluent-kafka-go counts them too, so a path that is out
// of range counted the first way is read its way, when that names a declared message. The two
// readings differ only for a message nested after a map field; where both name a message, the
// first one is taken. It allocates nothing.
func MessageAt(top protoreflect.MessageDescriptors, indexes []int) (protoreflect.MessageDescriptor, error) {
	if len(indexes) == 0 {
		if md := nthMessage(top, 0, true); md != nil {
			return md, nil
		}
		return nil, errors.New("the schema declares no message")
	}
	md, depth := walkIndexes(top, indexes, true)
	if depth == len(indexes) {
		return md, nil
	}
	if all, n := walkIndexes(top, indexes, false); n == len(indexes) && !all.IsMapEntry() {
		return all, nil
	}
	return nil, fmt.Errorf("message index %d at position %d is out of range", indexes[depth], depth)
}

// walkIndexes follows indexes from top, counting declared messages only or every nested
// message; it returns the message reached and how many indexes it followed.
func walkIndexes(top protoreflect.MessageDescriptors, indexes []int, declared bool) (protoreflect.MessageDescriptor, int) {
	var md protoreflect.MessageDescriptor
	for depth, i := range indexes {
		next := nthMessage(top, i, declared)
		if next == nil {
			return md, depth
		}
		md, top = next, next.Messages()
	}
	return md, len(indexes)
}

// nthMessage returns message i of msgs, counting declared messages only (map entries skipped)
// or every one; nil when there is none.
func nthMessage(msgs protoreflect.MessageDescriptors, i int, declared bool) protoreflect.MessageDescriptor {
	if !declared {
		if i < 0 || i >= msgs.Len() {
			return nil
		}
		return msgs.Get(i)
	}
	for j := range msgs.Len() {
		if m := msgs.Get(j); !m.IsMapEntry() {
			if i == 0 {
				return m
			}
			i--
		}
	}
	return nil
}

// MessageByName returns the message with a full name ("pkg.Outer.Inner"); a leading dot is
// allowed.
func (s *Schema) MessageByName(name string) (protoreflect.MessageDescriptor, error) {
	if len(name) > 0 && name[0] == '.' {
		name = name[1:]
	}
	if md := findMessage(s.File.Messages(), protoreflect.FullName(name)); md != nil {
		return md, nil
	}
	return nil, fmt.Errorf("no message %q in the schema", name)
}

// findMessage searches msgs and their nested messages for a full name.
func findMessage(msgs protoreflect.MessageDescriptors, name protoreflect.FullName) protoreflect.MessageDescriptor {
	for i := range msgs.Len() {
		md := msgs.Get(i)
		if md.FullName() == name {
			return md
		}
		if found := findMessage(md.Messages(), name); found != nil {
			return found
		}
	}
	return nil
}

// Indexes returns the Confluent message-index path of md, a message of this schema: the
// reverse of MessageByIndexes. It returns nil when md is not declared in this schema.
func (s *Schema) Indexes(md protoreflect.MessageDescriptor) []int {
	if md == nil || md.IsMapEntry() {
		return nil
	}
	var idx []int
	for d := protoreflect.Descriptor(md); ; d = d.Parent() {
		if _, ok := d.(protoreflect.FileDescriptor); ok {
			break
		}
		// Declared messages before d in its parent, map entries not counted (see MessageAt).
		n := 0
		for i := range d.Index() {
			if !siblings(d).Get(i).IsMapEntry() {
				n++
			}
		}
		idx = append(idx, n)
	}
	slices.Reverse(idx)
	if same, err := s.MessageByIndexes(idx); err != nil || same != md {
		return nil // md belongs to another schema
	}
	return idx
}

// siblings returns the messages d is one of: its file's or its parent message's.
func siblings(d protoreflect.Descriptor) protoreflect.MessageDescriptors {
	if m, ok := d.Parent().(protoreflect.MessageDescriptor); ok {
		return m.Messages()
	}
	return d.ParentFile().Messages()
}
