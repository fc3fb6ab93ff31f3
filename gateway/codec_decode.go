package gateway

import (
	"errors"
	"math"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// maxFastValueDepth is the deepest nesting (objects and arrays) of a Value the fast decoder
// takes; a deeper one goes to the standard decoder, whose own limit (10,000 protobuf messages,
// about 5,000 levels) decides.
const maxFastValueDepth = 512

// errNotFast is the fast decoder's answer to a message it leaves to the standard decoder:
// malformed wire bytes, or a message it does not take although it may be valid.
var errNotFast = errors.New("validation request left to the standard protobuf decoder")

// decodeValidation decodes b, the wire bytes of a ValidateRequest, ValidateBatchRequest or
// ValidateStreamRequest, into m, and each request's json Value into payloads (see
// validationCodec). It takes the encoding protobuf encoders write: each singular field at most
// once where the standard decoder would merge repeats (json, a stream's request, a Value's
// kind, a map entry's key and value), no unknown fields, wire types as declared, strings valid
// UTF-8; anything else is errNotFast, and m may be half written. Data fields alias b. A
// ValidateStreamRequest's request is decoded into m.Request when that is set (ValidateStream
// sets a zero one, allocated with the message) and m.Request is nil when b has none.
func decodeValidation(b []byte, m proto.Message, payloads *decodedPayloads) error {
	switch m := m.(type) {
	case *pb.ValidateRequest:
		return decodeRequest(b, m, payloads, "")
	case *pb.ValidateStreamRequest:
		var req []byte
		err := eachField(b, func(num protowire.Number, typ protowire.Type, _ uint64, s []byte) (err error) {
			switch {
			case num == fieldStreamRequestID && typ == protowire.BytesType:
				m.RequestId, err = utf8String(s)
			case num == fieldStreamRequest && typ == protowire.BytesType && req == nil:
				req = s
			default:
				err = errNotFast
			}
			return err
		})
		if err != nil {
			return err
		}
		if req == nil {
			m.Request = nil
			return nil
		}
		if m.Request == nil { // ValidateStream hands over a zero request to decode into
			m.Request = &pb.ValidateRequest{}
		}
		return decodeRequest(req, m.Request, payloads, "")
	case *pb.ValidateBatchRequest:
		items := make([]pb.ValidateRequest, countField(b, fieldBatchRequests))
		m.Requests = make([]*pb.ValidateRequest, 0, len(items))
		prev := ""
		return eachField(b, func(num protowire.Number, typ protowire.Type, _ uint64, s []byte) (err error) {
			switch {
			case num == fieldBatchRequests && typ == protowire.BytesType && len(m.Requests) < len(items):
				item := &items[len(m.Requests)]
				if err = decodeRequest(s, item, payloads, prev); err == nil {
					prev = item.Subject
					m.Requests = append(m.Requests, item)
				}
			case num == fieldBatchSubject && typ == protowire.BytesType:
				m.Subject, err = utf8String(s)
			default:
				err = errNotFast
			}
			return err
		})
	}
	return errNotFast
}

// decodeRequest decodes one ValidateRequest. prev is the subject of the batch's previous item:
// an item with the same subject shares its string rather than allocating one.
func decodeRequest(b []byte, req *pb.ValidateRequest, payloads *decodedPayloads, prev string) error {
	var value []byte
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, s []byte) (err error) {
		switch {
		case num == fieldRequestSubject && typ == protowire.BytesType:
			if !utf8.Valid(s) {
				return errNotFast
			}
			if string(s) == prev {
				req.Subject = prev
			} else {
				req.Subject = string(s)
			}
		case num == fieldRequestVersion && typ == protowire.VarintType:
			req.Version = int32(v)
		case num == fieldRequestSchemaID && typ == protowire.VarintType:
			req.SchemaId = int32(v)
		case num == fieldRequestFormat && typ == protowire.VarintType:
			req.Format = pb.PayloadFormat(int32(v))
		case num == fieldRequestData && typ == protowire.BytesType:
			req.Data = s[:len(s):len(s)] // set, even when empty: presence is tracked
		case num == fieldRequestJSON && typ == protowire.BytesType && value == nil:
			value = s
		case num == fieldRequestJSONText && typ == protowire.BytesType:
			req.JsonText, err = utf8String(s)
		case num == fieldRequestMessage && typ == protowire.BytesType:
			req.MessageName, err = utf8String(s)
		default:
			err = errNotFast
		}
		return err
	})
	if err != nil || value == nil {
		return err
	}
	v, err := decodeValue(value, 0)
	if err != nil {
		return err
	}
	payloads.put(req, v)
	return nil
}

// decodeValue decodes a google.protobuf.Value into the engine's JSON form, as jsonValue does
// from a structpb.Value: an empty Value is null. depth counts the objects and arrays around it.
func decodeValue(b []byte, depth int) (out any, err error) {
	kinds := 0
	err = eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, s []byte) (err error) {
		if kinds++; kinds > 1 {
			return errNotFast // a oneof set twice: last wins, or a merge; left to the standard decoder
		}
		switch {
		case num == fieldValueNull && typ == protowire.VarintType:
			out = nil
		case num == fieldValueNumber && typ == protowire.Fixed64Type:
			out = jsonNumber(math.Float64frombits(v))
		case num == fieldValueString && typ == protowire.BytesType:
			out, err = utf8String(s)
		case num == fieldValueBool && typ == protowire.VarintType:
			out = protowire.DecodeBool(v)
		case num == fieldValueStruct && typ == protowire.BytesType && depth < maxFastValueDepth:
			out, err = decodeStruct(s, depth+1)
		case num == fieldValueList && typ == protowire.BytesType && depth < maxFastValueDepth:
			out, err = decodeList(s, depth+1)
		default:
			err = errNotFast
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// decodeStruct decodes a google.protobuf.Struct into a JSON object; of two entries with one
// key the last wins, as in the standard decoder.
func decodeStruct(b []byte, depth int) (map[string]any, error) {
	out := make(map[string]any, countField(b, fieldStructFields))
	err := eachField(b, func(num protowire.Number, typ protowire.Type, _ uint64, entry []byte) error {
		if num != fieldStructFields || typ != protowire.BytesType {
			return errNotFast
		}
		var key, value []byte
		err := eachField(entry, func(num protowire.Number, typ protowire.Type, _ uint64, s []byte) error {
			switch {
			case num == fieldEntryKey && typ == protowire.BytesType && key == nil:
				key = s
			case num == fieldEntryValue && typ == protowire.BytesType && value == nil:
				value = s
			default:
				return errNotFast
			}
			return nil
		})
		if err != nil {
			return err
		}
		name, err := utf8String(key)
		if err != nil {
			return err
		}
		v, err := decodeValue(value, depth)
		out[name] = v
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// decodeList decodes a google.protobuf.ListValue into a JSON array.
func decodeList(b []byte, depth int) ([]any, error) {
	out := make([]any, 0, countField(b, fieldListValues))
	err := eachField(b, func(num protowire.Number, typ protowire.Type, _ uint64, s []byte) error {
		if num != fieldListValues || typ != protowire.BytesType {
			return errNotFast
		}
		v, err := decodeValue(s, depth)
		out = append(out, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachField calls fn with each field of b in order (see consumeField), and stops at the first
// error, consumeField's or fn's.
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, s []byte) error) error {
	for len(b) > 0 {
		num, typ, v, s, rest, err := consumeField(b)
		if err != nil {
			return err
		}
		if err := fn(num, typ, v, s); err != nil {
			return err
		}
		b = rest
	}
	return nil
}

// consumeField reads one field of b: its number and wire type, its value (v for varint and
// fixed64 fields, s for length-delimited ones) and the bytes after it. Groups, fixed32 fields
// and malformed bytes are errNotFast.
func consumeField(b []byte) (num protowire.Number, typ protowire.Type, v uint64, s, rest []byte, err error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return 0, 0, 0, nil, nil, errNotFast
	}
	b = b[n:]
	switch typ {
	case protowire.VarintType:
		v, n = protowire.ConsumeVarint(b)
	case protowire.Fixed64Type:
		v, n = protowire.ConsumeFixed64(b)
	case protowire.BytesType:
		s, n = protowire.ConsumeBytes(b)
	default:
		n = -1
	}
	if n < 0 {
		return 0, 0, 0, nil, nil, errNotFast
	}
	return num, typ, v, s, b[n:], nil
}

// countField counts the fields numbered num at the top level of b, to size a slice or map;
// it stops at the first malformed field (the decoder refuses it then).
func countField(b []byte, num protowire.Number) int {
	count := 0
	_ = eachField(b, func(n protowire.Number, _ protowire.Type, _ uint64, _ []byte) error {
		if n == num {
			count++
		}
		return nil
	})
	return count
}

// utf8String is s as a string; text that is not valid UTF-8 is errNotFast (the standard
// decoder refuses it, as protobuf's proto3 strings must be UTF-8).
func utf8String(s []byte) (string, error) {
	if !utf8.Valid(s) {
		return "", errNotFast
	}
	return string(s), nil
}
