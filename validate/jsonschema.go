package validate

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/schemagate/schemagate/internal/jsonpointer"
	"github.com/schemagate/schemagate/registry"
)

// JSON Schema validation.
//
// Findings are derived from the library's error tree (a *jsonschema.ValidationError whose Causes
// nest). Grouping nodes (the root, groups of sibling errors, allOf, $ref and friends) are
// descended into; every leaf becomes one or more findings:
//
//	additionalProperties false, unevaluatedProperties false,
//	propertyNames false                              → unknown_field, one per property,
//	                                                   Path = the property's pointer
//	required, dependentRequired, dependencies (list) → missing_field, one per missing property,
//	                                                   Path = the missing property's pointer
//	type                                             → type_mismatch
//	enum, const                                      → enum_violation
//	minimum, maximum, exclusiveMinimum/Maximum, multipleOf, minLength, maxLength, pattern,
//	minItems, maxItems, uniqueItems, minProperties, maxProperties, contains, minContains,
//	maxContains, format, propertyNames (other than false), additionalItems false,
//	items/unevaluatedItems false (an array longer than its tuple) → constraint_violation
//	false schema elsewhere, not, oneOf matching several alternatives, anything else → other
//
// anyOf and oneOf matching no alternative are reported as one finding at the combinator's
// location, not as every alternative's leaves (which would mostly be noise: a payload meant
// for alternative 1 fails alternative 0 in every field). Its kind is the kind every
// alternative's findings share when they all agree (so `"anyOf": [{"type": "string"},
// {"type": "null"}]` against a boolean is a type_mismatch "want string or null, got boolean"),
// and other when they differ; the message summarises each alternative's first finding.

// jsvBase names our own vocabulary; it is never fetched.
const jsvBase = "https://schemagate.invalid/validate/"

// Bounds on message sizes: values are shortened and long lists elided.
const (
	jsvMaxValueRunes   = 64
	jsvMaxListed       = 10
	jsvMaxAlternative  = 4
	jsvMaxMessageRunes = 1024
)

// JSONSchema is a compiled JSON Schema, safe for concurrent use.
type JSONSchema struct {
	sch *jsonschema.Schema
}

// CompileJSONSchema compiles root (a JSON Schema document as decoded with UseNumber) with refs
// (name → document, the schema's registered references) available to "$ref". Nothing is ever
// loaded from the network or the file system.
//
// `$schema` selects the draft (4, 6, 7, 2019-09 or 2020-12); without it the schema is compiled
// as draft-07, as the registry (and Confluent) read it. Each reference is added under its name resolved against the root's URL, so
// `"$ref": "<name>"` finds it. "format" is asserted in every draft; CompileJSONSchemaFormat
// chooses otherwise. The documents must not be modified afterwards.
func CompileJSONSchema(root any, refs map[string]any) (*JSONSchema, error) {
	return CompileJSONSchemaFormat(root, refs, registry.JSONFormatAssert)
}

// CompileJSONSchemaFormat is CompileJSONSchema with "format" treated as format says (config key
// schema_registry.json_schema.format): asserted in every draft, never asserted, or as the
// schema's draft and vocabularies say.
func CompileJSONSchemaFormat(root any, refs map[string]any, format registry.JSONSchemaFormat) (s *JSONSchema, err error) {
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, errors.New("compile JSON schema: internal error in the schema compiler")
		}
	}()
	// The library reports a failing "propertyNames" at a location that later validation can
	// overwrite (it keeps its working location slice instead of a copy); a vocabulary of ours
	// re-checks property names and records the object's location correctly. Enabling a
	// vocabulary makes the library check schemas against a narrower metaschema, so such schemas
	// are first compiled without it, as the registry does, for the full check.
	names := jsvMentions(root, "propertyNames", 0) || jsvMentionsAny(refs, "propertyNames")
	sch, err := jsvCompile(root, refs, format, false)
	if err == nil && names {
		sch, err = jsvCompile(root, refs, format, true)
	}
	if err != nil {
		return nil, err
	}
	return &JSONSchema{sch: sch}, nil
}

func jsvCompile(root any, refs map[string]any, format registry.JSONSchemaFormat, names bool) (*jsonschema.Schema, error) {
	keys := make([]string, 0, len(refs))
	for name := range refs {
		keys = append(keys, name)
	}
	sort.Strings(keys)
	list := make([]registry.JSONSchemaReference, len(keys))
	docs := make([]any, 0, len(keys)+1)
	for i, name := range keys {
		list[i] = registry.JSONSchemaReference{Name: name, Doc: refs[name]}
		docs = append(docs, refs[name])
	}
	// The registry's compiler set-up: same drafts, same references, nothing loaded from disk
	// or network. Payload validation also decides what "format" does.
	c, err := registry.NewJSONSchemaCompiler(list)
	if err != nil {
		return nil, fmt.Errorf("compile JSON schema: %s", registry.CleanJSONSchemaMessage(err.Error()))
	}
	compiled := registry.ConfigureFormat(c, format, append(docs, root)...)
	if names {
		c.RegisterVocabulary(jsvPropertyNamesVocab)
		c.AssertVocabs()
	}
	if err := c.AddResource(registry.JSONSchemaRootURL, root); err != nil {
		return nil, fmt.Errorf("compile JSON schema: %s", registry.CleanJSONSchemaMessage(err.Error()))
	}
	sch, err := c.Compile(registry.JSONSchemaRootURL)
	compiled()
	if err != nil {
		return nil, fmt.Errorf("compile JSON schema: %s", jsvDescribeCompileError(err))
	}
	return sch, nil
}

// jsvMentions reports whether key is a member name of some object in doc.
func jsvMentions(doc any, key string, depth int) bool {
	if depth > 10000 {
		return true
	}
	switch doc := doc.(type) {
	case map[string]any:
		if _, ok := doc[key]; ok {
			return true
		}
		for _, v := range doc {
			if jsvMentions(v, key, depth+1) {
				return true
			}
		}
	case []any:
		for _, v := range doc {
			if jsvMentions(v, key, depth+1) {
				return true
			}
		}
	}
	return false
}

func jsvMentionsAny(docs map[string]any, key string) bool {
	for _, doc := range docs {
		if jsvMentions(doc, key, 0) {
			return true
		}
	}
	return false
}

// jsvPropertyNamesVocab checks "propertyNames" a second time, reporting each failing name as
// a jsvPropertyName error located (correctly) at its object, the name's own errors as causes.
var jsvPropertyNamesVocab = &jsonschema.Vocabulary{
	URL: jsvBase + "vocab/property-names",
	Compile: func(ctx *jsonschema.CompilerContext, obj map[string]any) (jsonschema.SchemaExt, error) {
		if _, ok := obj["propertyNames"]; !ok {
			return nil, nil
		}
		return &jsvPropertyNamesExt{sch: ctx.Enqueue([]string{"propertyNames"})}, nil
	},
}

type jsvPropertyNamesExt struct {
	sch *jsonschema.Schema
}

// Validate implements jsonschema.SchemaExt.
func (x *jsvPropertyNamesExt) Validate(ctx *jsonschema.ValidatorContext, v any) {
	obj, ok := v.(map[string]any)
	if !ok || x.sch == nil || x.sch.DraftVersion < 6 { // draft-04 has no propertyNames
		return
	}
	for name := range obj {
		err := ctx.Validate(x.sch, name, []string{name})
		if err == nil {
			continue
		}
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			ctx.AddErrors([]*jsonschema.ValidationError{ve}, &jsvPropertyName{Property: name})
		} else {
			ctx.AddError(&jsvPropertyName{Property: name})
		}
	}
}

// jsvPropertyName is the error kind of jsvPropertyNamesExt.
type jsvPropertyName struct {
	Property string
}

// KeywordPath implements jsonschema.ErrorKind.
func (*jsvPropertyName) KeywordPath() []string { return []string{"propertyNames"} }

// LocalizedString implements jsonschema.ErrorKind.
func (k *jsvPropertyName) LocalizedString(p *message.Printer) string {
	return p.Sprintf("invalid property name %s", strconv.Quote(k.Property))
}

func jsvDescribeCompileError(err error) string {
	var lue *jsonschema.LoadURLError
	if errors.As(err, &lue) {
		return fmt.Sprintf("cannot resolve %s: it is neither a standard JSON Schema draft nor one of the schema's references",
			strconv.Quote(registry.CleanJSONSchemaMessage(lue.URL)))
	}
	var sve *jsonschema.SchemaValidationError
	var ve *jsonschema.ValidationError
	if errors.As(err, &sve) && errors.As(sve.Err, &ve) {
		var col jsvCollector
		col.walk(ve)
		var parts []string
		for i, f := range col.sorted() {
			if i == 5 {
				parts = append(parts, fmt.Sprintf("and %d more", len(col.findings)-i))
				break
			}
			where := "at root"
			if f.Path != "" {
				where = "at " + strconv.Quote(f.Path)
			}
			parts = append(parts, where+": "+f.Message)
		}
		if len(parts) > 0 {
			return "not a valid schema: " + strings.Join(parts, "; ")
		}
	}
	return registry.CleanJSONSchemaMessage(err.Error())
}

// Validate checks a JSON value (decoded with UseNumber) and returns every finding, capped at
// lim.MaxFindings, ordered by path; nil when valid. A value nested deeper than lim.MaxDepth
// is one constraint_violation finding and is not validated further.
func (s *JSONSchema) Validate(v any, lim Limits) []Finding {
	findings, _ := s.check(v, lim)
	return findings
}

// check is Validate that also returns how many findings there are in all, those past the cap
// included.
func (s *JSONSchema) check(v any, lim Limits) ([]Finding, int) {
	lim = lim.WithDefaults()
	one := func(f Finding) ([]Finding, int) { return []Finding{f}, 1 }
	if s == nil || s.sch == nil {
		return one(Finding{Kind: KindOther, Message: "no compiled JSON schema"})
	}
	if jsvTooDeep(v, lim.MaxDepth) {
		return one(Finding{Kind: KindConstraintViolation,
			Message: fmt.Sprintf("value is nested deeper than the limit of %d levels", lim.MaxDepth)})
	}
	err := s.validate(v)
	if err == nil {
		return nil, 0
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return one(Finding{Kind: KindOther, Message: registry.CleanJSONSchemaMessage(err.Error())})
	}
	col := jsvCollector{compiled: true}
	if perr := jsvGuard(func() { col.walk(ve) }); perr != nil {
		return one(Finding{Kind: KindOther, Message: "internal error while reporting validation errors"})
	}
	out := col.sorted()
	if len(out) == 0 {
		return one(Finding{Kind: KindOther, Message: "value does not match the schema"})
	}
	total := len(out)
	if total > lim.MaxFindings {
		out = out[:lim.MaxFindings:lim.MaxFindings]
	}
	return out, total
}

func (s *JSONSchema) validate(v any) (err error) {
	if perr := jsvGuard(func() { err = s.sch.Validate(v) }); perr != nil {
		return perr
	}
	return err
}

var errJSVPanic = errors.New("internal error in the JSON Schema validator")

func jsvGuard(fn func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errJSVPanic
		}
	}()
	fn()
	return nil
}

// jsvTooDeep reports whether v nests objects and arrays more than max levels deep (a top-level
// object or array is level 1; scalars add no level).
func jsvTooDeep(v any, max int) bool {
	switch v := v.(type) {
	case map[string]any:
		if max <= 0 {
			return true
		}
		for _, e := range v {
			if jsvTooDeep(e, max-1) {
				return true
			}
		}
	case []any:
		if max <= 0 {
			return true
		}
		for _, e := range v {
			if jsvTooDeep(e, max-1) {
				return true
			}
		}
	}
	return false
}

// jsvCollector turns a validation error tree into deduplicated findings.
type jsvCollector struct {
	// compiled reports whether the errors come from validating a payload against a compiled
	// schema (whose jsvPropertyName errors replace the library's propertyNames errors) rather
	// than from checking a schema against its metaschema.
	compiled bool
	findings []Finding
	seen     map[Finding]struct{}
}

func (c *jsvCollector) add(f Finding) {
	if c.seen == nil {
		c.seen = make(map[Finding]struct{})
	}
	if _, ok := c.seen[f]; ok {
		return
	}
	c.seen[f] = struct{}{}
	c.findings = append(c.findings, f)
}

// sorted returns the findings ordered by path (array indices numerically), kind, message.
func (c *jsvCollector) sorted() []Finding {
	slices.SortFunc(c.findings, func(a, b Finding) int {
		if n := jsvComparePointers(a.Path, b.Path); n != 0 {
			return n
		}
		if n := strings.Compare(string(a.Kind), string(b.Kind)); n != 0 {
			return n
		}
		return strings.Compare(a.Message, b.Message)
	})
	return c.findings
}

func (c *jsvCollector) walk(e *jsonschema.ValidationError) {
	if e == nil {
		return
	}
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.AllOf, *kind.Reference:
		if len(e.Causes) == 0 {
			c.add(Finding{Kind: KindOther, Path: jsonpointer.FromTokens(e.InstanceLocation), Message: "value does not match the schema"})
		}
		for _, cause := range e.Causes {
			c.walk(cause)
		}
	case *kind.AnyOf:
		c.combinator(e, "anyOf")
	case *kind.OneOf:
		if len(k.Subschemas) == 0 {
			c.combinator(e, "oneOf")
			return
		}
		c.leaf(e)
	default:
		c.leaf(e)
	}
}

// combinator reports an anyOf or oneOf none of whose alternatives matched: one finding at its
// location, of the kind all alternatives' findings share (other when they differ).
func (c *jsvCollector) combinator(e *jsonschema.ValidationError, keyword string) {
	path := jsonpointer.FromTokens(e.InstanceLocation)
	alts := make([][]Finding, len(e.Causes))
	var common Kind
	agree := true
	for i, cause := range e.Causes {
		sub := jsvCollector{compiled: c.compiled}
		sub.walk(cause)
		alts[i] = sub.sorted()
		for _, f := range alts[i] {
			if common == "" {
				common = f.Kind
			} else if f.Kind != common {
				agree = false
			}
		}
	}
	if common == "" || !agree {
		common = KindOther
	}
	if msg, ok := jsvMergedTypes(e); ok {
		c.add(Finding{Kind: KindTypeMismatch, Path: path, Message: msg})
		return
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "matches none of the %d %q alternatives", len(e.Causes), keyword)
	for i, fs := range alts {
		if i == jsvMaxAlternative {
			fmt.Fprintf(&sb, "; and %d more", len(alts)-i)
			break
		}
		if i == 0 {
			sb.WriteString(": ")
		} else {
			sb.WriteString("; ")
		}
		fmt.Fprintf(&sb, "%s[%d]: ", keyword, i)
		if len(fs) == 0 {
			sb.WriteString("does not match")
			continue
		}
		f := fs[0]
		if f.Path != path {
			fmt.Fprintf(&sb, "at %s ", strconv.Quote(f.Path))
		}
		sb.WriteString(f.Message)
		if len(fs) > 1 {
			fmt.Fprintf(&sb, " (+%d more)", len(fs)-1)
		}
	}
	msg := sb.String()
	if utf8.RuneCountInString(msg) > jsvMaxMessageRunes { // nested combinators
		msg = string([]rune(msg)[:jsvMaxMessageRunes]) + "…"
	}
	c.add(Finding{Kind: common, Path: path, Message: msg})
}

// jsvMergedTypes returns "want A or B, got C" when every alternative of e failed only on
// "type", at e's own location.
func jsvMergedTypes(e *jsonschema.ValidationError) (string, bool) {
	if len(e.Causes) == 0 {
		return "", false
	}
	var want []string
	got := ""
	for _, cause := range e.Causes {
		leaf := cause
		for len(leaf.Causes) == 1 {
			switch leaf.ErrorKind.(type) {
			case *kind.Schema, *kind.Group, *kind.AllOf, *kind.Reference:
				leaf = leaf.Causes[0]
				continue
			}
			break
		}
		t, ok := leaf.ErrorKind.(*kind.Type)
		if !ok || len(leaf.Causes) != 0 || !slices.Equal(leaf.InstanceLocation, e.InstanceLocation) {
			return "", false
		}
		got = t.Got
		for _, w := range t.Want {
			if !slices.Contains(want, w) {
				want = append(want, w)
			}
		}
	}
	return fmt.Sprintf("want %s, got %s", strings.Join(want, " or "), got), true
}

// leaf reports a leaf error: unknown and missing properties at each property's own path, every
// other kind of error as one finding at its location.
func (c *jsvCollector) leaf(e *jsonschema.ValidationError) {
	path := jsonpointer.FromTokens(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	// unknown_field --
	case *kind.AdditionalProperties:
		// The validator lists them in map order, which changes from run to run: sorted, the
		// findings (and which of them a cap keeps) are the same every time.
		for _, p := range slices.Sorted(slices.Values(k.Properties)) {
			c.add(Finding{Kind: KindUnknownField, Path: jsonpointer.Append(path, p), Message: "property " + jsvQuote(p) + " is not allowed"})
		}
	case *kind.PropertyNames:
		if c.compiled {
			return // reported by jsvPropertyNamesExt, at the right location
		}
		c.propertyName(path, k.Property, e.Causes)
	case *jsvPropertyName:
		c.propertyName(path, k.Property, e.Causes)

	// missing_field --
	case *kind.Required:
		for _, m := range k.Missing {
			c.add(Finding{Kind: KindMissingField, Path: jsonpointer.Append(path, m), Message: "missing property " + jsvQuote(m)})
		}
	case *kind.Dependency:
		c.missingDependents(path, k.Prop, k.Missing)
	case *kind.DependentRequired:
		c.missingDependents(path, k.Prop, k.Missing)

	default:
		fk, msg := jsvLeafFinding(e)
		c.add(Finding{Kind: fk, Path: path, Message: msg})
	}
}

// jsvLeafFinding returns the kind and message of a leaf error that is reported at its own
// location: type_mismatch, enum_violation, constraint_violation or other.
func jsvLeafFinding(e *jsonschema.ValidationError) (Kind, string) {
	switch k := e.ErrorKind.(type) {
	// type_mismatch --
	case *kind.Type:
		return KindTypeMismatch, fmt.Sprintf("want %s, got %s", strings.Join(k.Want, " or "), k.Got)

	// enum_violation --
	case *kind.Enum:
		if jsvHasContainer(k.Want) {
			return KindEnumViolation, fmt.Sprintf("%s is not one of the %s", jsvDisplay(k.Got), jsvCount(len(k.Want), "allowed value"))
		}
		return KindEnumViolation, fmt.Sprintf("want %s, got %s", jsvOneOf(k.Want), jsvDisplay(k.Got))
	case *kind.Const:
		if jsvHasContainer([]any{k.Want}) {
			return KindEnumViolation, fmt.Sprintf(`%s does not equal the "const" value`, jsvDisplay(k.Got))
		}
		return KindEnumViolation, fmt.Sprintf("want %s, got %s", jsvDisplay(k.Want), jsvDisplay(k.Got))

	// other, unless the false schema sits where it forbids a property or an item --
	case *kind.FalseSchema:
		return jsvFalseSchemaFinding(e)
	case *kind.Not:
		return KindOther, `must not match the "not" schema`
	case *kind.OneOf:
		return KindOther, fmt.Sprintf(`must match exactly one "oneOf" alternative but matches oneOf[%d] and oneOf[%d]`, k.Subschemas[0], k.Subschemas[1])
	case *kind.InvalidJsonValue:
		return KindOther, fmt.Sprintf("unsupported value of Go type %T", k.Value)
	case nil:
		return KindOther, "value does not match the schema"
	}
	if msg, ok := jsvConstraintMessage(e.ErrorKind); ok {
		return KindConstraintViolation, msg
	}
	return KindOther, jsvShorten(registry.CleanJSONSchemaMessage(e.ErrorKind.LocalizedString(jsvPrinter)))
}

// jsvConstraintMessage returns the message of a constraint_violation error (a bound, length,
// count, pattern or format), and false for any other kind of error.
func jsvConstraintMessage(k jsonschema.ErrorKind) (string, bool) {
	switch k := k.(type) {
	case *kind.Minimum:
		return fmt.Sprintf("must be >= %s but found %s", jsvRat(k.Want), jsvRat(k.Got)), true
	case *kind.Maximum:
		return fmt.Sprintf("must be <= %s but found %s", jsvRat(k.Want), jsvRat(k.Got)), true
	case *kind.ExclusiveMinimum:
		return fmt.Sprintf("must be > %s but found %s", jsvRat(k.Want), jsvRat(k.Got)), true
	case *kind.ExclusiveMaximum:
		return fmt.Sprintf("must be < %s but found %s", jsvRat(k.Want), jsvRat(k.Got)), true
	case *kind.MultipleOf:
		return fmt.Sprintf("must be a multiple of %s but found %s", jsvRat(k.Want), jsvRat(k.Got)), true
	case *kind.MinLength:
		return fmt.Sprintf("must be at least %s long but has %d", jsvCount(k.Want, "character"), k.Got), true
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %s long but has %d", jsvCount(k.Want, "character"), k.Got), true
	case *kind.Pattern:
		return fmt.Sprintf("must match pattern %s but found %s", jsvQuote(k.Want), jsvQuote(k.Got)), true
	case *kind.MinItems:
		return fmt.Sprintf("must have at least %s but has %d", jsvCount(k.Want, "item"), k.Got), true
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %s but has %d", jsvCount(k.Want, "item"), k.Got), true
	case *kind.AdditionalItems:
		return fmt.Sprintf("has %s more than the schema allows", jsvCount(k.Count, "item")), true
	case *kind.UniqueItems:
		return fmt.Sprintf("items must be unique but items %d and %d are equal", k.Duplicates[0], k.Duplicates[1]), true
	case *kind.MinProperties:
		return fmt.Sprintf("must have at least %s but has %d", jsvCount(k.Want, "property"), k.Got), true
	case *kind.MaxProperties:
		return fmt.Sprintf("must have at most %s but has %d", jsvCount(k.Want, "property"), k.Got), true
	case *kind.Contains:
		return `no item matches the "contains" schema`, true
	case *kind.MinContains:
		return fmt.Sprintf(`at least %s must match the "contains" schema but %d do`, jsvCount(k.Want, "item"), len(k.Got)), true
	case *kind.MaxContains:
		return fmt.Sprintf(`at most %s may match the "contains" schema but %d do`, jsvCount(k.Want, "item"), len(k.Got)), true
	case *kind.Format:
		msg := fmt.Sprintf("%s is not a valid %s", jsvDisplay(k.Got), k.Want)
		if k.Err != nil {
			msg += ": " + jsvShorten(k.Err.Error())
		}
		return msg, true
	}
	return "", false
}

// jsvFalseSchemaFinding reports the false schema by the keyword it sits under: a property
// that additionalProperties or unevaluatedProperties forbids is unknown_field, an item beyond
// what items and friends allow is constraint_violation, anything else is other.
func jsvFalseSchemaFinding(e *jsonschema.ValidationError) (Kind, string) {
	switch jsvParentKeyword(e.SchemaURL) {
	case "unevaluatedProperties", "additionalProperties":
		name := ""
		if n := len(e.InstanceLocation); n > 0 {
			name = e.InstanceLocation[n-1]
		}
		return KindUnknownField, "property " + jsvQuote(name) + " is not allowed"
	case "unevaluatedItems", "items", "additionalItems":
		return KindConstraintViolation, "array item not allowed: the array has more items than the schema allows"
	}
	return KindOther, jsvFalseMessage
}

const jsvFalseMessage = "no value is allowed here"

var jsvPrinter = message.NewPrinter(language.English)

// propertyName reports an object's property whose name fails "propertyNames": unknown_field
// when the names schema is false, constraint_violation otherwise.
func (c *jsvCollector) propertyName(path, name string, causes []*jsonschema.ValidationError) {
	sub := jsvCollector{compiled: c.compiled}
	for _, cause := range causes {
		sub.walk(cause)
	}
	fs := sub.sorted()
	forbidden := len(fs) > 0
	msgs := make([]string, 0, len(fs))
	for _, f := range fs {
		if f.Kind != KindOther || f.Message != jsvFalseMessage {
			forbidden = false
		}
		msgs = append(msgs, f.Message)
	}
	p := jsonpointer.Append(path, name)
	if forbidden {
		c.add(Finding{Kind: KindUnknownField, Path: p, Message: "property " + jsvQuote(name) + " is not allowed"})
		return
	}
	msg := "property name " + jsvQuote(name) + " is invalid"
	if len(msgs) > 0 {
		msg += ": " + strings.Join(msgs, "; ")
	}
	c.add(Finding{Kind: KindConstraintViolation, Path: p, Message: msg})
}

func (c *jsvCollector) missingDependents(path, prop string, missing []string) {
	for _, m := range missing {
		c.add(Finding{Kind: KindMissingField, Path: jsonpointer.Append(path, m),
			Message: "missing property " + jsvQuote(m) + " (required when " + jsvQuote(prop) + " is present)"})
	}
}

// jsvParentKeyword returns the keyword under which the (sub)schema at a location such as
// "https://x/y.json#/properties/a/unevaluatedProperties" sits: its last pointer token, unless
// that token is a property name, definition name or array index (then "").
func jsvParentKeyword(location string) string {
	i := strings.IndexByte(location, '#')
	if i < 0 {
		return ""
	}
	frag := location[i+1:]
	if frag == "" || frag[0] != '/' {
		return ""
	}
	tokens := strings.Split(frag[1:], "/")
	// Walk the pointer knowing which keywords are followed by a name or an index.
	last := ""
	for j := 0; j < len(tokens); j++ {
		kw := jsonpointer.Unescape(tokens[j])
		last = kw
		switch kw {
		case "properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies":
			j++ // a name follows
			last = ""
		case "allOf", "anyOf", "oneOf", "prefixItems":
			j++ // an index follows
			last = ""
		case "items", "additionalItems":
			if j+1 < len(tokens) && jsvIsIndex(tokens[j+1]) {
				j++
				last = ""
			}
		}
	}
	return last
}

func jsvIsIndex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// jsvComparePointers orders JSON pointers token by token, array indices numerically, a pointer
// before the pointers below it.
func jsvComparePointers(a, b string) int {
	for {
		if a == "" || b == "" {
			return len(a) - len(b)
		}
		// both start with '/'
		a, b = a[1:], b[1:]
		ta, tb := a, b
		if i := strings.IndexByte(a, '/'); i >= 0 {
			ta, a = a[:i], a[i:]
		} else {
			a = ""
		}
		if i := strings.IndexByte(b, '/'); i >= 0 {
			tb, b = b[:i], b[i:]
		} else {
			b = ""
		}
		if ta == tb {
			continue
		}
		if jsvIsIndex(ta) && jsvIsIndex(tb) && len(ta) != len(tb) {
			return len(ta) - len(tb)
		}
		return strings.Compare(ta, tb)
	}
}

// jsvQuote quotes s for a message, shortened.
func jsvQuote(s string) string {
	if utf8.RuneCountInString(s) > jsvMaxValueRunes {
		r := []rune(s)
		return strconv.Quote(string(r[:jsvMaxValueRunes])) + "…"
	}
	return strconv.Quote(s)
}

func jsvShorten(s string) string {
	const max = 4 * jsvMaxValueRunes
	if utf8.RuneCountInString(s) > max {
		return string([]rune(s)[:max]) + "…"
	}
	return s
}

// jsvDisplay renders a JSON value for a message: scalars as JSON (strings shortened),
// containers by their type.
func jsvDisplay(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case string:
		return jsvQuote(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case fmt.Stringer: // json.Number
		return jsvShorten(v.String())
	default:
		return jsvShorten(fmt.Sprint(v))
	}
}

// jsvCount renders "1 item", "2 items".
func jsvCount(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") {
		return strconv.Itoa(n) + " " + noun[:len(noun)-1] + "ies"
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func jsvHasContainer(values []any) bool {
	for _, v := range values {
		switch v.(type) {
		case map[string]any, []any:
			return true
		}
	}
	return false
}

// jsvOneOf renders an enum's values: "x" for one value, "one of x, y" for more.
func jsvOneOf(values []any) string {
	if len(values) == 1 {
		return jsvDisplay(values[0])
	}
	var sb strings.Builder
	sb.WriteString("one of ")
	for i, v := range values {
		if i == jsvMaxListed {
			fmt.Fprintf(&sb, " and %d more", len(values)-i)
			break
		}
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(jsvDisplay(v))
	}
	return sb.String()
}

// jsvRat renders an exact number: integers in full, others in the shortest float form.
func jsvRat(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return jsvShorten(r.Num().String())
	}
	f, _ := r.Float64()
	if math.IsInf(f, 0) || f == 0 {
		return jsvShorten(r.FloatString(6))
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
