package protoschema

import (
	"encoding/base64"
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

// MessageByIndexes returns the message at a Confluent message-index path: the first index
// picks a top-level message, each further one a message nested in the previous. An empty
// path is the first message (the framing's single-0 shortcut).
func (s *Schema) MessageByIndexes(idx []int) (protoreflect.MessageDescriptor, error) {
	if len(idx) == 0 {
		idx = []int{0}
	}
	msgs := s.File.Messages()
	var md protoreflect.MessageDescriptor
	for depth, i := range idx {
		if i < 0 || i >= msgs.Len() {
			return nil, fmt.Errorf("message index %d at position %d is out of range: %d messages there", i, depth, msgs.Len())
		}
		md = msgs.Get(i)
		msgs = md.Messages()
	}
	return md, nil
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
	if md == nil {
		return nil
	}
	var idx []int
	for d := protoreflect.Descriptor(md); ; d = d.Parent() {
		if _, ok := d.(protoreflect.FileDescriptor); ok {
			break
		}
		idx = append(idx, d.Index())
	}
	slices.Reverse(idx)
	if same, err := s.MessageByIndexes(idx); err != nil || same != md {
		return nil // md belongs to another schema
	}
	return idx
}
