package protoschema

import (
	"bytes"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/bufbuild/protocompile"
	"google.golang.org/genproto/googleapis/type/calendarperiod"
	"google.golang.org/genproto/googleapis/type/color"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/genproto/googleapis/type/datetime"
	"google.golang.org/genproto/googleapis/type/dayofweek"
	"google.golang.org/genproto/googleapis/type/decimal"
	"google.golang.org/genproto/googleapis/type/expr"
	"google.golang.org/genproto/googleapis/type/fraction"
	"google.golang.org/genproto/googleapis/type/interval"
	"google.golang.org/genproto/googleapis/type/latlng"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/genproto/googleapis/type/month"
	"google.golang.org/genproto/googleapis/type/phone_number"
	"google.golang.org/genproto/googleapis/type/postaladdress"
	"google.golang.org/genproto/googleapis/type/quaternion"
	"google.golang.org/genproto/googleapis/type/timeofday"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// builtinFS holds Confluent's confluent/meta.proto and confluent/type/decimal.proto, reduced
// to their declarations (packages, names, numbers and types as published; comments dropped).
//
//go:embed builtin
var builtinFS embed.FS

// googleTypes are the google/type/*.proto files Confluent resolves without a reference, as
// genproto compiled them from googleapis: served to the compiler as descriptors, so names,
// numbers and options are exactly the published ones.
var googleTypes = []protoreflect.FileDescriptor{
	calendarperiod.File_google_type_calendar_period_proto,
	color.File_google_type_color_proto,
	date.File_google_type_date_proto,
	datetime.File_google_type_datetime_proto,
	dayofweek.File_google_type_dayofweek_proto,
	decimal.File_google_type_decimal_proto,
	expr.File_google_type_expr_proto,
	fraction.File_google_type_fraction_proto,
	interval.File_google_type_interval_proto,
	latlng.File_google_type_latlng_proto,
	money.File_google_type_money_proto,
	month.File_google_type_month_proto,
	phone_number.File_google_type_phone_number_proto,
	postaladdress.File_google_type_postal_address_proto,
	quaternion.File_google_type_quaternion_proto,
	timeofday.File_google_type_timeofday_proto,
}

// builtin returns a built-in file by import path: a descriptor for google/type, else source.
func builtin(path string) (protocompile.SearchResult, bool) {
	for _, fd := range googleTypes {
		if fd.Path() == path {
			return protocompile.SearchResult{Proto: protodesc.ToFileDescriptorProto(fd)}, true
		}
	}
	if !strings.HasPrefix(path, "confluent/") {
		return protocompile.SearchResult{}, false
	}
	b, err := fs.ReadFile(builtinFS, "builtin/"+path)
	if err != nil {
		return protocompile.SearchResult{}, false
	}
	return protocompile.SearchResult{Source: bytes.NewReader(b)}, true
}

// BuiltinImports lists the import paths resolved without a reference besides
// google/protobuf/*.proto, sorted.
func BuiltinImports() []string {
	var paths []string
	for _, fd := range googleTypes {
		paths = append(paths, fd.Path())
	}
	_ = fs.WalkDir(builtinFS, "builtin", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, strings.TrimPrefix(p, "builtin/"))
		}
		return nil
	})
	slices.Sort(paths)
	return paths
}

// resolver finds the main file, then deps, then the built-in files; protocompile's
// standard imports come after it.
type resolver struct {
	main protocompile.SearchResult
	deps map[string]string
}

// FindFileByPath implements protocompile.Resolver.
func (r resolver) FindFileByPath(path string) (protocompile.SearchResult, error) {
	if path == MainFile {
		return r.main, nil
	}
	text, ok := r.deps[path]
	if !ok {
		if res, ok := builtin(path); ok {
			return res, nil
		}
		return protocompile.SearchResult{}, fmt.Errorf("no reference is named %q and no built-in file has that path", path)
	}
	if fdp := serialized(text); fdp != nil {
		fdp.Name = proto.String(path)
		return protocompile.SearchResult{Proto: fdp}, nil
	}
	return protocompile.SearchResult{Source: strings.NewReader(text)}, nil
}

// mainResult checks the schema text against lim and returns it as a search result: a
// descriptor when the text is a serialized FileDescriptorProto, else source.
func mainResult(text string, lim Limits) (protocompile.SearchResult, error) {
	if fdp := serialized(text); fdp != nil {
		if lim.MaxDepth > 0 {
			if d := messageDepth(fdp.GetMessageType(), 1, lim.MaxDepth); d > lim.MaxDepth {
				return protocompile.SearchResult{}, problemf(MainFile, "messages are nested deeper than the limit of %d", lim.MaxDepth)
			}
		}
		fdp.Name = proto.String(MainFile)
		return protocompile.SearchResult{Proto: fdp}, nil
	}
	if lim.MaxDepth > 0 {
		if line, col := braceDepthExceeded(text, lim.MaxDepth); line > 0 {
			return protocompile.SearchResult{}, &ParseError{Problems: []Problem{{
				File: MainFile, Line: line, Column: col,
				Message: "braces are nested deeper than the limit of " + strconv.Itoa(lim.MaxDepth),
			}}}
		}
	}
	return protocompile.SearchResult{Source: strings.NewReader(text)}, nil
}

// serialized returns the FileDescriptorProto that text encodes in standard base64, or nil
// when text is not that. Only text made of the base64 alphabet qualifies, so .proto text
// (which needs ';', '{' or white space to declare anything) is never mistaken for it.
func serialized(text string) *descriptorpb.FileDescriptorProto {
	if text == "" || strings.ContainsAny(text, " \t\r\n;{") {
		return nil
	}
	b, err := base64.StdEncoding.Strict().DecodeString(text)
	if err != nil {
		return nil
	}
	fdp := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(b, fdp); err != nil {
		return nil
	}
	return fdp
}

// messageDepth returns the deepest nesting of msgs (at depth d), stopping past limit.
func messageDepth(msgs []*descriptorpb.DescriptorProto, d, limit int) int {
	deepest := 0
	if len(msgs) > 0 {
		deepest = d
	}
	for _, m := range msgs {
		if deepest > limit {
			break
		}
		deepest = max(deepest, messageDepth(m.GetNestedType(), d+1, limit))
	}
	return deepest
}

// braceDepthExceeded returns the 1-based line and column of the first '{' that nests deeper
// than limit in .proto text, skipping strings and comments; 0, 0 when there is none. It
// does not check the syntax.
func braceDepthExceeded(text string, limit int) (line, col int) {
	depth, ln, lineStart := 0, 1, 0
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '\n':
			ln, lineStart = ln+1, i+1
		case c == '"' || c == '\'':
			for i++; i < len(text) && text[i] != c && text[i] != '\n'; i++ {
				if text[i] == '\\' {
					i++
				}
			}
		case c == '/' && i+1 < len(text) && text[i+1] == '/':
			for i < len(text) && text[i] != '\n' {
				i++
			}
			i--
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				return 0, 0
			}
			next := i + 2 + end + 1
			for j := i; j < next; j++ {
				if text[j] == '\n' {
					ln, lineStart = ln+1, j+1
				}
			}
			i = next
		case c == '{':
			depth++
			if depth > limit {
				return ln, i - lineStart + 1
			}
		case c == '}':
			depth--
		}
	}
	return 0, 0
}
