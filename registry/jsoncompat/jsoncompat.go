// Package jsoncompat decides whether a JSON Schema can read everything another JSON Schema
// allowed, using Confluent Schema Registry's JSON Schema compatibility rules and reporting
// each problem under Confluent's difference type name (TYPE_NARROWED,
// PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL, MAX_LENGTH_DECREASED, ENUM_ARRAY_NARROWED, ...).
//
// Policy:
//
//   - Only incompatible differences are reported. Compatible ones that Confluent records
//     (TYPE_EXTENDED, MAX_LENGTH_INCREASED, PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL,
//     OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL, ENUM_ARRAY_EXTENDED,
//     SUM_TYPE_EXTENDED, PRODUCT_TYPE_NARROWED, NOT_TYPE_NARROWED, ...) are not.
//   - Content models follow Confluent: an object is open when additionalProperties (and
//     unevaluatedProperties) is absent or true and it has no patternProperties, closed when it
//     is false, and partially open when it is a schema or patternProperties cover the name.
//     Adding a property with a non-empty schema to an open model is incompatible; removing a
//     property from a closed model is incompatible; a partially open model must cover the
//     added or removed property's schema.
//   - Combined schemas (oneOf/anyOf/allOf) are matched subschema by subschema, as Confluent
//     does (a maximum matching of compatible pairs).
//   - Where the rules above do not decide, or the schema uses something this package does not
//     model (if/then/else, $dynamicRef, an unresolvable $ref, a malformed keyword, a regular
//     expression Go cannot compile, very deep nesting, a comparison that exceeds the work
//     budget), an incompatibility is reported: a false alarm costs a user a retry with a
//     different compatibility level, a missed incompatibility costs them unreadable data.
//     Those reports use TYPE_CHANGED, or the closest Confluent name, and say "conservatively"
//     in their Description.
//   - Annotations (title, description, default, examples, $comment, format, ...) and unknown
//     keywords never make schemas incompatible. format is an annotation by default since
//     draft 2019-09 and Confluent does not compare it.
//
// Descriptions are meant for API clients: they name JSON pointers and keywords of the
// schemas, never anything internal.
package jsoncompat

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/schemagate/schemagate/internal/jsonpointer"
	"github.com/schemagate/schemagate/registry/compatbudget"
)

// Schema is a parsed JSON Schema document: the root value as decoded by encoding/json with
// UseNumber (map[string]any, []any, json.Number, string, bool, nil), plus the documents it may
// $ref by name (schema references registered in other subjects: a "$ref" whose value, or whose
// URL's last path segment, equals a key).
type Schema struct {
	Root any
	Refs map[string]any
}

// Incompatibility is one reason a document valid under the writer schema might not be valid
// under the reader schema.
type Incompatibility struct {
	Type        string // Confluent's difference type name, e.g. TYPE_NARROWED
	Path        string // JSON pointer into the schema, e.g. "#/properties/age"
	Description string // human sentence
}

// Check reports why a document valid under writer might not be valid under reader (i.e.
// whether reader can read everything writer allowed). Empty means compatible.
//
// Check never panics on malformed input and always terminates: $ref cycles are detected,
// nesting is bounded by maxDepth and total work by compatbudget.DefaultUnits; a comparison
// that needs more is reported conservatively as incompatible. Check(s, s) is always empty.
func Check(reader, writer Schema) []Incompatibility {
	out, err := CheckMetered(compatbudget.New(context.Background(), 0), reader, writer)
	if err != nil {
		return []Incompatibility{conservative("#", err.Error())}
	}
	return out
}

// CheckMetered is Check spending the work units of m: every schema pair compared, schema
// interpreted, JSON value visited in an equality test and subschema pair of anyOf/oneOf/allOf
// tried costs at least one. When m says stop (budget exceeded or context ended) it returns m's
// error and the reasons found so far, which prove nothing: the caller must treat the pair as
// not proven compatible.
func CheckMetered(m *compatbudget.Meter, reader, writer Schema) ([]Incompatibility, error) {
	c := newChecker(m)
	c.identical = c.equal(reader.Root, writer.Root) && c.objectsEqual(reader.Refs, writer.Refs)
	w := newSide(writer).rootNode()
	r := newSide(reader).rootNode()
	out := c.compare("#", w, r, 0)
	return dedup(out), m.Err()
}

// Limits that keep Check bounded on hostile input. Legitimate schemas stay far below them.
const (
	maxDepth   = 128 // nested comparisons or validations
	maxRefHops = 32  // $ref → $ref chains
)

// Confluent difference type names. Only the incompatible ones are ever reported.
const (
	typeNarrowed                            = "TYPE_NARROWED"
	typeChanged                             = "TYPE_CHANGED"
	schemaAdded                             = "SCHEMA_ADDED"
	maxLengthAdded                          = "MAX_LENGTH_ADDED"
	maxLengthDecreased                      = "MAX_LENGTH_DECREASED"
	minLengthAdded                          = "MIN_LENGTH_ADDED"
	minLengthIncreased                      = "MIN_LENGTH_INCREASED"
	patternAdded                            = "PATTERN_ADDED"
	patternChanged                          = "PATTERN_CHANGED"
	maximumAdded                            = "MAXIMUM_ADDED"
	maximumDecreased                        = "MAXIMUM_DECREASED"
	minimumAdded                            = "MINIMUM_ADDED"
	minimumIncreased                        = "MINIMUM_INCREASED"
	exclusiveMaximumAdded                   = "EXCLUSIVE_MAXIMUM_ADDED"
	exclusiveMaximumDecreased               = "EXCLUSIVE_MAXIMUM_DECREASED"
	exclusiveMinimumAdded                   = "EXCLUSIVE_MINIMUM_ADDED"
	exclusiveMinimumIncreased               = "EXCLUSIVE_MINIMUM_INCREASED"
	multipleOfAdded                         = "MULTIPLE_OF_ADDED"
	multipleOfExpanded                      = "MULTIPLE_OF_EXPANDED"
	multipleOfChanged                       = "MULTIPLE_OF_CHANGED"
	requiredAttributeAdded                  = "REQUIRED_ATTRIBUTE_ADDED"
	maxPropertiesAdded                      = "MAX_PROPERTIES_ADDED"
	maxPropertiesDecreased                  = "MAX_PROPERTIES_DECREASED"
	minPropertiesAdded                      = "MIN_PROPERTIES_ADDED"
	minPropertiesIncreased                  = "MIN_PROPERTIES_INCREASED"
	additionalPropertiesRemoved             = "ADDITIONAL_PROPERTIES_REMOVED"
	additionalPropertiesNarrowed            = "ADDITIONAL_PROPERTIES_NARROWED"
	unevaluatedPropertiesRemoved            = "UNEVALUATED_PROPERTIES_REMOVED"
	unevaluatedPropertiesNarrowed           = "UNEVALUATED_PROPERTIES_NARROWED"
	dependencyArrayAdded                    = "DEPENDENCY_ARRAY_ADDED"
	dependencyArrayExtended                 = "DEPENDENCY_ARRAY_EXTENDED"
	dependencyArrayChanged                  = "DEPENDENCY_ARRAY_CHANGED"
	dependencySchemaAdded                   = "DEPENDENCY_SCHEMA_ADDED"
	propertyAddedToOpenContentModel         = "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
	requiredPropertyAddedToUnopenModel      = "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
	propertyRemovedFromClosedContentModel   = "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"
	propertyRemovedNotCoveredByPartialModel = "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
	propertyAddedNotCoveredByPartialModel   = "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
	maxItemsAdded                           = "MAX_ITEMS_ADDED"
	maxItemsDecreased                       = "MAX_ITEMS_DECREASED"
	minItemsAdded                           = "MIN_ITEMS_ADDED"
	minItemsIncreased                       = "MIN_ITEMS_INCREASED"
	uniqueItemsAdded                        = "UNIQUE_ITEMS_ADDED"
	additionalItemsRemoved                  = "ADDITIONAL_ITEMS_REMOVED"
	additionalItemsNarrowed                 = "ADDITIONAL_ITEMS_NARROWED"
	unevaluatedItemsRemoved                 = "UNEVALUATED_ITEMS_REMOVED"
	unevaluatedItemsNarrowed                = "UNEVALUATED_ITEMS_NARROWED"
	itemAddedToOpenContentModel             = "ITEM_ADDED_TO_OPEN_CONTENT_MODEL"
	itemRemovedFromClosedContentModel       = "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL"
	itemRemovedNotCoveredByPartialModel     = "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
	itemAddedNotCoveredByPartialModel       = "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
	minContainsAdded                        = "MIN_CONTAINS_ADDED"
	minContainsIncreased                    = "MIN_CONTAINS_INCREASED"
	maxContainsAdded                        = "MAX_CONTAINS_ADDED"
	maxContainsDecreased                    = "MAX_CONTAINS_DECREASED"
	enumArrayNarrowed                       = "ENUM_ARRAY_NARROWED"
	enumArrayChanged                        = "ENUM_ARRAY_CHANGED"
	combinedTypeChanged                     = "COMBINED_TYPE_CHANGED"
	productTypeExtended                     = "PRODUCT_TYPE_EXTENDED"
	sumTypeNarrowed                         = "SUM_TYPE_NARROWED"
	combinedTypeSubschemasChanged           = "COMBINED_TYPE_SUBSCHEMAS_CHANGED"
	notTypeExtended                         = "NOT_TYPE_EXTENDED"
)

func inc(typ, path, format string, args ...any) Incompatibility {
	return Incompatibility{Type: typ, Path: path, Description: fmt.Sprintf(format, args...)}
}

// conservative reports something this package cannot decide.
func conservative(path, why string) Incompatibility {
	return inc(typeChanged, path, "%s; reported conservatively as incompatible", why)
}

// join appends JSON pointer tokens to path, escaping "~" and "/".
func join(path string, tokens ...any) string {
	var b strings.Builder
	b.WriteString(path)
	for _, t := range tokens {
		b.WriteByte('/')
		switch t := t.(type) {
		case int:
			b.WriteString(strconv.Itoa(t))
		case string:
			b.WriteString(jsonpointer.Escape(t))
		default:
			fmt.Fprint(&b, t)
		}
	}
	return b.String()
}

func dedup(in []Incompatibility) []Incompatibility {
	if len(in) == 0 {
		return nil
	}
	seen := make(map[Incompatibility]bool, len(in))
	out := in[:0:0]
	for _, x := range in {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// checker holds the state of one Check call.
type checker struct {
	identical  bool // reader and writer documents (root and refs) are equal
	meter      *compatbudget.Meter
	exhausted  bool // the meter said stop: results since are unproven
	cycleHits  int
	inProgress map[pairKey]bool
	memo       map[pairKey][]Incompatibility
	regexps    map[string]regexpResult
}

func newChecker(m *compatbudget.Meter) *checker {
	return &checker{
		meter:      m,
		inProgress: map[pairKey]bool{},
		memo:       map[pairKey][]Incompatibility{},
		regexps:    map[string]regexpResult{},
	}
}

type pairKey struct{ w, r viewKey }

// step counts one unit of work and reports whether the budget still allows it.
func (c *checker) step() bool {
	if !c.meter.Spend(1) {
		c.exhausted = true
		return false
	}
	return true
}

// sameSemantics reports whether two schema values certainly mean the same thing: they are
// equal JSON and any $ref inside them resolves in equal documents.
func (c *checker) sameSemantics(w, r node) bool {
	if !c.equal(w.v, r.v) {
		return false
	}
	return (c.identical && w.doc.name == r.doc.name) || !containsRef(w.v)
}

// compare reports why a value valid under the writer node w might be invalid under the reader
// node r. path points at r (and w, which usually sit at the same place).
func (c *checker) compare(path string, w, r node, depth int) []Incompatibility {
	if c.sameSemantics(w, r) {
		return nil
	}
	return c.compareViews(path, c.buildView(w), c.buildView(r), depth+1)
}

func (c *checker) viewVsNode(path string, W view, r node, depth int) []Incompatibility {
	return c.compareViews(path, W, c.buildView(r), depth+1)
}

func (c *checker) nodeVsView(path string, w node, R view, depth int) []Incompatibility {
	return c.compareViews(path, c.buildView(w), R, depth+1)
}

// compareViews is compare for interpreted schemas. It detects $ref cycles (a pair of schemas
// met again while it is still being compared is assumed compatible, as Confluent does: any
// real difference is reported where the cycle is entered) and memoizes results that did not
// depend on such an assumption.
func (c *checker) compareViews(path string, W, R view, depth int) []Incompatibility {
	if depth > maxDepth {
		return []Incompatibility{conservative(path, fmt.Sprintf("the schemas nest deeper than %d levels", maxDepth))}
	}
	if !c.step() {
		return []Incompatibility{conservative(path, "the comparison budget is exhausted")}
	}
	if W.never || R.trivial() {
		return nil
	}
	if W.broken != "" {
		return []Incompatibility{conservative(path, "the writer schema "+W.broken)}
	}
	if R.broken != "" {
		return []Incompatibility{conservative(path, "the reader schema "+R.broken)}
	}
	key := pairKey{W.key(), R.key()}
	keyed := W.id != 0 && R.id != 0
	if keyed {
		if c.inProgress[key] {
			c.cycleHits++
			return nil
		}
		if d, ok := c.memo[key]; ok {
			return rebase(d, path)
		}
		c.inProgress[key] = true
		defer delete(c.inProgress, key)
	}
	hits := c.cycleHits
	out := c.compareViewsUncached(path, W, R, depth)
	if keyed && hits == c.cycleHits && !c.exhausted {
		c.memo[key] = relative(out, path)
	}
	return out
}

func relative(in []Incompatibility, path string) []Incompatibility {
	out := make([]Incompatibility, len(in))
	for i, x := range in {
		if rest, ok := strings.CutPrefix(x.Path, path); ok {
			x.Path = "\x00" + rest
		}
		out[i] = x
	}
	return out
}

func rebase(in []Incompatibility, path string) []Incompatibility {
	out := make([]Incompatibility, len(in))
	for i, x := range in {
		if rest, ok := strings.CutPrefix(x.Path, "\x00"); ok {
			x.Path = path + rest
		}
		out[i] = x
	}
	return out
}

func (c *checker) compareViewsUncached(path string, W, R view, depth int) []Incompatibility {
	// A writer that can only produce a few values (enum, const, null/boolean types) is
	// compatible exactly when the reader accepts each of them.
	if vals, ok := c.finiteValues(W); ok {
		return c.checkValues(path, W, vals, R, depth)
	}
	if R.never {
		return []Incompatibility{inc(typeNarrowed, path, "the reader schema at %s accepts no value at all", path)}
	}

	// The reader is a conjunction of its base keywords and its combinators: the writer must
	// satisfy each part.
	if len(R.allOf) > 0 || R.disjKw != "" || R.not != nil {
		var out []Incompatibility
		var allOfFailed bool
		for j, rc := range R.allOf {
			d := c.viewVsNode(path+R.allOfAt[j], W, rc, depth)
			allOfFailed = allOfFailed || len(d) > 0
			out = append(out, d...)
		}
		if allOfFailed && W.allOfN > 0 && R.allOfN > W.allOfN {
			out = append(out, inc(productTypeExtended, join(path, "allOf"),
				"the reader's allOf at %s has more subschemas (%d) than the writer's (%d)", path, R.allOfN, W.allOfN))
		}
		if R.disjKw != "" {
			out = append(out, c.compareDisjunction(path, W, R, depth)...)
		}
		if R.not != nil {
			out = append(out, c.compareNot(path, W, R, depth)...)
		}
		return append(out, c.compareViews(path, W, R.without(noDisj|noAllOf|noNot), depth+1)...)
	}

	// The reader is plain. A writer disjunction is compatible when every alternative is (or
	// when what the alternatives share is).
	if W.disjKw != "" {
		rest := W.without(noDisj)
		var restDiffs []Incompatibility
		if !rest.trivial() {
			restDiffs = c.compareViews(path, rest, R, depth+1)
			if len(restDiffs) == 0 {
				return nil
			}
		}
		var out []Incompatibility
		for i, wb := range W.disj {
			out = append(out, c.nodeVsView(join(path, W.disjKw, i), wb, R, depth)...)
		}
		if len(out) == 0 {
			return nil
		}
		if restDiffs != nil {
			return restDiffs
		}
		return out
	}

	// A writer conjunction is compatible when one of its parts is. (Sufficient, not necessary:
	// parts are not merged unless their keywords are disjoint, see buildView.)
	if len(W.allOf) > 0 {
		base := W.without(noAllOf)
		first := c.compareViews(path, base, R, depth+1)
		if len(first) == 0 {
			return nil
		}
		for i, wc := range W.allOf {
			d := c.nodeVsView(path+W.allOfAt[i], wc, R, depth)
			if len(d) == 0 {
				return nil
			}
			if i == 0 && base.trivial() {
				first = d
			}
		}
		return first
	}

	// A writer "not" only removes values; ignoring it can only make us stricter.
	return c.compareBase(path, W, R, depth)
}

// compareDisjunction compares the reader's anyOf/oneOf with the writer.
func (c *checker) compareDisjunction(path string, W, R view, depth int) []Incompatibility {
	rkw := R.disjKw
	if len(R.disj) == 0 {
		return []Incompatibility{conservative(join(path, rkw), "the reader's "+rkw+" is empty")}
	}
	if W.disjKw == "" {
		// Confluent: a plain writer is compatible with a reader union when it is compatible
		// with one of the union's subschemas (SUM_TYPE_EXTENDED).
		var best []Incompatibility
		matches := 0
		for j, rb := range R.disj {
			d := c.viewVsNode(join(path, rkw, j), W, rb, depth)
			if len(d) == 0 {
				matches++
				if rkw == "anyOf" {
					break
				}
				continue
			}
			if best == nil || len(d) < len(best) {
				best = d
			}
		}
		switch {
		case matches == 1 || (matches > 1 && rkw == "anyOf"):
			return nil
		case matches > 1:
			// Every writer value would match several oneOf subschemas and so fail the reader.
			return []Incompatibility{inc(combinedTypeSubschemasChanged, path,
				"writer values at %s match %d of the reader's oneOf subschemas, and oneOf allows exactly one", path, matches)}
		case len(R.disj) == 1:
			return best
		default:
			return []Incompatibility{inc(typeChanged, path,
				"the writer schema at %s is compatible with none of the reader's %d %s subschemas", path, len(R.disj), rkw)}
		}
	}

	wkw := W.disjKw
	if wkw != rkw && rkw == "oneOf" && len(W.disj) > 1 {
		// anyOf → oneOf is COMBINED_TYPE_CHANGED; oneOf → anyOf is COMBINED_TYPE_EXTENDED.
		return []Incompatibility{inc(combinedTypeChanged, path,
			"the writer's %s at %s became oneOf in the reader", wkw, path)}
	}
	ws, rs := c.dedupNodes(W.disj), c.dedupNodes(R.disj)
	var out []Incompatibility
	if len(ws) > len(rs) {
		out = append(out, inc(sumTypeNarrowed, path,
			"the reader's %s at %s has fewer subschemas (%d) than the writer's (%d)", rkw, path, len(rs), len(ws)))
	}
	adj := make([][]bool, len(ws))
	for i := range ws {
		if c.exhausted {
			return append(out, conservative(path, "the comparison budget is exhausted"))
		}
		adj[i] = make([]bool, len(rs))
		for j := range rs {
			adj[i][j] = len(c.compare(join(path, wkw, i), ws[i], rs[j], depth)) == 0
		}
	}
	if m := maxMatching(c.meter, adj, len(rs)); m < min(len(ws), len(rs)) {
		out = append(out, inc(combinedTypeSubschemasChanged, path,
			"only %d of the writer's %d %s subschemas at %s can be paired with a compatible reader subschema", m, len(ws), wkw, path))
	}
	return out
}

// compareNot compares the reader's "not": the reader excludes values, which is compatible when
// the writer excluded at least those (NOT_TYPE_NARROWED) or never produced them.
func (c *checker) compareNot(path string, W, R view, depth int) []Incompatibility {
	p := join(path, "not")
	y := *R.not
	if W.not != nil {
		// Reversed: everything the reader excludes must already be excluded by the writer.
		if len(c.compare(p, y, *W.not, depth)) == 0 {
			return nil
		}
	} else {
		Y := c.buildView(y)
		if Y.never {
			return nil
		}
		wm, _ := typeMask(W.base)
		ym, _ := typeMask(Y.base)
		if Y.broken == "" && normalizeTypes(wm)&normalizeTypes(ym) == 0 {
			return nil
		}
	}
	return []Incompatibility{inc(notTypeExtended, p, "the reader's \"not\" at %s excludes values the writer allows", p)}
}

// maxMatching returns the size of a maximum matching in the bipartite graph adj (Kuhn), or a
// smaller size when m stops it (each edge looked at costs one unit).
func maxMatching(m *compatbudget.Meter, adj [][]bool, nRight int) int {
	owner := make([]int, nRight)
	for i := range owner {
		owner[i] = -1
	}
	var try func(i int, seen []bool) bool
	try = func(i int, seen []bool) bool {
		for j := range nRight {
			if !m.Spend(1) {
				return false
			}
			if !adj[i][j] || seen[j] {
				continue
			}
			seen[j] = true
			if owner[j] < 0 || try(owner[j], seen) {
				owner[j] = i
				return true
			}
		}
		return false
	}
	n := 0
	for i := range adj {
		if try(i, make([]bool, nRight)) {
			n++
		}
	}
	return n
}

func (c *checker) dedupNodes(in []node) []node {
	var out []node
	for _, n := range in {
		if !slices.ContainsFunc(out, func(o node) bool { return o.doc == n.doc && c.equal(o.v, n.v) }) {
			out = append(out, n)
		}
	}
	return out
}
