package jsoncompat

import (
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/schemagate/schemagate/internal/jsonpointer"
)

// side is one of the two schemas being compared: its root document and the documents its
// references name.
type side struct {
	refs map[string]any
	keys []string // sorted keys of refs
	docs map[string]*doc
	root *doc
}

// doc is one JSON document a schema node lives in; local "$ref"s resolve against its root.
type doc struct {
	name   string // "" for the root, "ref:<key>" for a referenced document
	root   any
	legacy bool // draft-07 or older: keywords next to "$ref" are ignored
	side   *side
}

// node is a schema value together with the document it belongs to.
type node struct {
	v   any
	doc *doc
}

func newSide(s Schema) *side {
	sd := &side{refs: s.Refs, docs: map[string]*doc{}}
	for k := range s.Refs {
		sd.keys = append(sd.keys, k)
	}
	sort.Strings(sd.keys)
	sd.root = &doc{name: "", root: s.Root, legacy: isLegacyDraft(s.Root), side: sd}
	return sd
}

func (s *side) rootNode() node { return node{v: s.root.root, doc: s.root} }

// isLegacyDraft reports whether root is a draft-07 or older schema: one whose "$schema" names
// such a draft, or one without "$schema", which the registry reads as draft-07 (as Confluent
// does).
func isLegacyDraft(root any) bool {
	m, _ := root.(map[string]any)
	id, _ := m["$schema"].(string)
	if id == "" {
		return true
	}
	for _, d := range []string{"draft-03", "draft-04", "draft-06", "draft-07"} {
		if strings.Contains(id, d) {
			return true
		}
	}
	return false
}

// document returns the document a non-fragment $ref base names: the root itself when it
// matches the root's $id, otherwise a reference whose key equals the base, or equals the last
// path segment of the base URL.
func (s *side) document(base string) *doc {
	if m, ok := s.root.root.(map[string]any); ok {
		if id, _ := m["$id"].(string); id != "" && strings.TrimSuffix(id, "#") == base {
			return s.root
		}
	}
	key, ok := s.findRef(base)
	if !ok {
		return nil
	}
	if d, ok := s.docs[key]; ok {
		return d
	}
	d := &doc{name: "ref:" + key, root: s.refs[key], legacy: isLegacyDraft(s.refs[key]), side: s}
	s.docs[key] = d
	return d
}

func (s *side) findRef(base string) (string, bool) {
	if _, ok := s.refs[base]; ok {
		return base, true
	}
	last := lastSegment(base)
	if _, ok := s.refs[last]; ok && last != "" {
		return last, true
	}
	for _, k := range s.keys {
		if strings.TrimPrefix(k, "./") == strings.TrimPrefix(base, "./") {
			return k, true
		}
	}
	return "", false
}

func lastSegment(ref string) string {
	p := ref
	if u, err := url.Parse(ref); err == nil {
		p = u.Path
		if p == "" {
			p = u.Opaque
		}
	}
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	return p
}

// lookup resolves ref relative to d.
func (d *doc) lookup(ref string) (node, bool) {
	base, frag, _ := strings.Cut(ref, "#")
	target := d
	if base != "" {
		if target = d.side.document(base); target == nil {
			return node{}, false
		}
	}
	frag, err := url.PathUnescape(frag)
	if err != nil {
		return node{}, false
	}
	if frag == "" {
		return node{v: target.root, doc: target}, true
	}
	if !strings.HasPrefix(frag, "/") {
		return node{}, false // plain-name fragments ($anchor) are not supported
	}
	v := target.root
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = jsonpointer.Unescape(tok)
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[tok]; !ok {
				return node{}, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return node{}, false
			}
			v = x[i]
		default:
			return node{}, false
		}
	}
	return node{v: v, doc: target}, true
}

// Keyword tables.
var (
	// baseKeywords are the assertions compared keyword by keyword.
	baseKeywords = map[string]bool{
		"type": true, "enum": true, "const": true,
		"minLength": true, "maxLength": true, "pattern": true,
		"minimum": true, "maximum": true, "exclusiveMinimum": true, "exclusiveMaximum": true, "multipleOf": true,
		"properties": true, "required": true, "additionalProperties": true, "patternProperties": true,
		"unevaluatedProperties": true, "minProperties": true, "maxProperties": true,
		"dependentRequired": true, "dependencies": true, "dependentSchemas": true, "propertyNames": true,
		"items": true, "prefixItems": true, "additionalItems": true, "unevaluatedItems": true,
		"minItems": true, "maxItems": true, "uniqueItems": true,
		"contains": true, "minContains": true, "maxContains": true,
		// Not modelled: always compared conservatively.
		"if": true, "then": true, "else": true, "$dynamicRef": true, "$recursiveRef": true,
	}
	unmodelled = map[string]bool{"if": true, "then": true, "else": true, "$dynamicRef": true, "$recursiveRef": true}
	// combinators are handled structurally.
	combinators = map[string]bool{"allOf": true, "anyOf": true, "oneOf": true, "not": true, "$ref": true}
)

// hasSiblingConstraints reports whether m has assertion keywords besides "$ref".
func hasSiblingConstraints(m map[string]any) bool {
	for k := range m {
		if k != "$ref" && (baseKeywords[k] || combinators[k]) {
			return true
		}
	}
	return false
}

// deref follows "$ref"s that stand alone (or, in draft-07 and older, whose siblings are
// ignored). ok is false when a reference cannot be resolved or loops.
func deref(n node) (node, bool) {
	for range maxRefHops {
		m, ok := n.v.(map[string]any)
		if !ok {
			return n, true
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return n, true
		}
		if !n.doc.legacy && hasSiblingConstraints(m) {
			return n, true
		}
		t, ok := n.doc.lookup(ref)
		if !ok {
			return n, false
		}
		n = t
	}
	return n, false
}

// view is a schema node interpreted for comparison: its plain assertions (base) and its
// combinators. A "$ref" with sibling assertions becomes one more allOf member.
type view struct {
	id      uintptr // identity of the map it was built from; 0 for none
	variant uint8   // which parts were dropped (noDisj, noAllOf, noNot)
	doc     *doc
	never   bool   // the false schema
	broken  string // why the schema cannot be interpreted; "" when it can
	base    map[string]any
	allOf   []node
	allOfAt []string // where each allOf member sits, relative to the schema ("/allOf/2", or "" for a $ref)
	allOfN  int      // length of the document's own allOf array
	disj    []node
	disjKw  string // "anyOf" or "oneOf" when disj is set
	not     *node
}

type viewKey struct {
	id      uintptr
	variant uint8
	doc     *doc
}

func (v view) key() viewKey { return viewKey{v.id, v.variant, v.doc} }

const (
	noDisj uint8 = 1 << iota
	noAllOf
	noNot
)

func (v view) without(parts uint8) view {
	u := v
	u.variant |= parts
	if parts&noDisj != 0 {
		u.disj, u.disjKw = nil, ""
	}
	if parts&noAllOf != 0 {
		u.allOf, u.allOfAt, u.allOfN = nil, nil, 0
	}
	if parts&noNot != 0 {
		u.not = nil
	}
	return u
}

// trivial reports whether v accepts every value.
func (v view) trivial() bool {
	return !v.never && v.broken == "" && len(v.base) == 0 && len(v.allOf) == 0 && v.disjKw == "" && v.not == nil
}

func mapID(m map[string]any) uintptr { return reflect.ValueOf(m).Pointer() }

func (c *checker) buildView(n node) view {
	d, ok := deref(n)
	if !ok {
		ref := ""
		if m, isMap := d.v.(map[string]any); isMap {
			ref, _ = m["$ref"].(string)
		}
		return view{broken: "has a $ref " + strconv.Quote(ref) + " that cannot be resolved"}
	}
	switch x := d.v.(type) {
	case bool:
		return view{doc: d.doc, never: !x}
	case map[string]any:
		return c.mapView(x, d.doc)
	default:
		return view{broken: "is not a JSON object or boolean"}
	}
}

func (c *checker) mapView(m map[string]any, d *doc) view {
	if !c.meter.Spend(1 + len(m)) {
		c.exhausted = true
		return view{broken: "is too complex to compare within the compatibility budget"}
	}
	v := view{id: mapID(m), doc: d, base: map[string]any{}}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var conj []node
	var conjAt []string
	for _, k := range keys {
		val := m[k]
		switch k {
		case "allOf", "anyOf", "oneOf":
			arr, ok := val.([]any)
			if !ok {
				v.base[k] = val // malformed: left in base, where it is reported
				continue
			}
			nodes := make([]node, len(arr))
			for i, it := range arr {
				nodes[i] = node{v: it, doc: d}
			}
			switch {
			case k == "allOf":
				conj = append(conj, nodes...)
				for i := range nodes {
					conjAt = append(conjAt, join("", "allOf", i))
				}
				v.allOfN = len(nodes)
			case v.disjKw == "":
				v.disjKw, v.disj = k, nodes
			default: // both anyOf and oneOf: the second is one more conjunct
				conj = append(conj, node{v: map[string]any{k: val}, doc: d})
				conjAt = append(conjAt, "")
			}
		case "not":
			v.not = &node{v: val, doc: d}
		case "$ref":
			if s, ok := val.(string); ok {
				conj = append(conj, node{v: map[string]any{"$ref": s}, doc: d})
				conjAt = append(conjAt, "")
			}
		default:
			if baseKeywords[k] {
				v.base[k] = val
			}
		}
	}
	for i, cn := range conj {
		if !v.merge(cn) {
			v.allOf = append(v.allOf, cn)
			v.allOfAt = append(v.allOfAt, conjAt[i])
		}
	}
	return v
}

// siblingGroups are keywords whose meaning depends on their siblings (additionalProperties
// sees only sibling properties, draft-04 exclusiveMinimum modifies the sibling minimum, ...):
// two of a group never merge from different schemas.
var siblingGroups = []map[string]bool{
	{"properties": true, "patternProperties": true, "additionalProperties": true},
	{"items": true, "prefixItems": true, "additionalItems": true},
	{"contains": true, "minContains": true, "maxContains": true},
	{"if": true, "then": true, "else": true},
	{"minimum": true, "exclusiveMinimum": true},
	{"maximum": true, "exclusiveMaximum": true},
}

// merge folds an allOf member into the base when that cannot change the meaning: the member
// is a plain schema in the same document whose keywords the base does not have yet, and no
// keyword of it reads a sibling the base has (siblingGroups). This lets the common "$ref plus a
// few keywords" and "allOf of disjoint parts" compare keyword by keyword instead of part by
// part. (unevaluatedProperties/unevaluatedItems do see through allOf, so they may merge.)
func (v *view) merge(cn node) bool {
	d, ok := deref(cn)
	if !ok {
		return false
	}
	switch x := d.v.(type) {
	case bool:
		return x // true adds nothing; false stays a conjunct
	case map[string]any:
		if d.doc != v.doc {
			return false
		}
		for k := range x {
			if combinators[k] {
				return false
			}
			if _, dup := v.base[k]; dup && baseKeywords[k] {
				return false
			}
			for _, g := range siblingGroups {
				if !g[k] {
					continue
				}
				for bk := range v.base {
					if g[bk] {
						return false
					}
				}
			}
		}
		for k, val := range x {
			if baseKeywords[k] {
				v.base[k] = val
			}
		}
		return true
	}
	return false
}

// isTrivialSchema reports whether val, without resolving anything, accepts every value.
func isTrivialSchema(val any) bool {
	switch x := val.(type) {
	case bool:
		return x
	case map[string]any:
		for k := range x {
			if baseKeywords[k] || combinators[k] {
				return false
			}
		}
		return true
	}
	return false
}

// isFalseSchema reports whether n is (a reference to) the false schema.
func isFalseSchema(n node) bool {
	d, ok := deref(n)
	b, isBool := d.v.(bool)
	return ok && isBool && !b
}

// JSON types as a bit set; "number" includes integers.
const (
	tNull uint8 = 1 << iota
	tBoolean
	tObject
	tArray
	tNumber
	tInteger
	tString
	tAll = tNull | tBoolean | tObject | tArray | tNumber | tInteger | tString
)

var typeBits = map[string]uint8{
	"null": tNull, "boolean": tBoolean, "object": tObject, "array": tArray,
	"number": tNumber, "integer": tInteger, "string": tString,
}

// typeMask returns the types the "type" keyword allows (all when absent). ok is false when
// "type" is malformed.
func typeMask(base map[string]any) (mask uint8, ok bool) {
	t, present := base["type"]
	if !present {
		return tAll, true
	}
	switch x := t.(type) {
	case string:
		b, known := typeBits[x]
		return b, known
	case []any:
		ok = true
		for _, e := range x {
			s, isStr := e.(string)
			b, known := typeBits[s]
			if !isStr || !known {
				ok = false
				continue
			}
			mask |= b
		}
		return mask, ok
	}
	return tAll, false
}

// normalizeTypes adds integer to a set that has number.
func normalizeTypes(m uint8) uint8 {
	if m&tNumber != 0 {
		m |= tInteger
	}
	return m
}

func typeNames(m uint8) string {
	if m == tAll {
		return "[any type]"
	}
	var names []string
	for _, n := range []string{"null", "boolean", "object", "array", "number", "integer", "string"} {
		if m&typeBits[n] != 0 {
			names = append(names, n)
		}
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// finiteValues returns every value the writer's base can produce when that set is finite:
// "const", "enum", or types limited to null and boolean. Values the writer's own "type"
// rejects are dropped. Other writer keywords are ignored, which can only add values.
func (c *checker) finiteValues(W view) ([]any, bool) {
	var vals []any
	cv, hasConst := W.base["const"]
	ev, hasEnum := W.base["enum"].([]any)
	mask, typeOK := typeMask(W.base)
	switch {
	case hasConst:
		vals = []any{cv}
		if hasEnum && !slices.ContainsFunc(ev, func(e any) bool { return c.equal(e, cv) }) {
			vals = nil
		}
	case hasEnum:
		vals = ev
	case typeOK && mask&^(tNull|tBoolean) == 0:
		if mask&tNull != 0 {
			vals = append(vals, nil)
		}
		if mask&tBoolean != 0 {
			vals = append(vals, false, true)
		}
		return vals, true
	default:
		return nil, false
	}
	if !typeOK {
		return vals, true
	}
	var out []any
	for _, v := range vals {
		if acceptsType(mask, v) && !slices.ContainsFunc(out, func(o any) bool { return c.equal(o, v) }) {
			out = append(out, v)
		}
	}
	return out, true
}
