package jsoncompat

import (
	"math/big"
	"regexp"
	"sort"
	"strconv"
)

// compareBase compares the plain assertions of two schemas that have no combinators left.
func (c *checker) compareBase(path string, W, R view, depth int) []Incompatibility {
	var out []Incompatibility
	for _, k := range sortedKeys(R.base) {
		rv := R.base[k]
		if !unmodelled[k] && wellFormed(k, rv) {
			continue
		}
		if wv, ok := W.base[k]; ok && c.sameSemantics(node{v: wv, doc: W.doc}, node{v: rv, doc: R.doc}) {
			continue
		}
		why := "uses " + k + ", which is not compared"
		if !unmodelled[k] {
			why = "has a malformed " + k
		}
		out = append(out, conservative(join(path, k), "the reader schema at "+path+" "+why))
	}

	wm, ok := typeMask(W.base)
	if !ok {
		wm = tAll
	}
	rm, _ := typeMask(R.base)
	if d, bad := compareTypes(path, wm, rm); bad {
		out = append(out, d)
	}
	// The writer is not limited to a finite set of values here (see finiteValues).
	if _, ok := R.base["enum"]; ok {
		out = append(out, inc(enumArrayNarrowed, join(path, "enum"),
			"the reader at %s only accepts enumerated values, the writer was not limited to them", path))
	}
	if _, ok := R.base["const"]; ok {
		out = append(out, inc(enumArrayNarrowed, join(path, "const"),
			"the reader at %s only accepts a constant value, the writer was not limited to it", path))
	}

	both := normalizeTypes(wm) & normalizeTypes(rm)
	if both&tString != 0 {
		out = append(out, c.compareString(path, W, R)...)
	}
	if both&(tNumber|tInteger) != 0 {
		out = append(out, c.compareNumber(path, W, R, wm)...)
	}
	if both&tObject != 0 {
		out = append(out, c.compareObject(path, W, R, depth)...)
	}
	if both&tArray != 0 {
		out = append(out, c.compareArray(path, W, R, depth)...)
	}
	return out
}

// compareTypes implements TYPE_EXTENDED (compatible), TYPE_NARROWED and TYPE_CHANGED, with
// integer a subset of number.
func compareTypes(path string, wm, rm uint8) (Incompatibility, bool) {
	if wm&^normalizeTypes(rm) == 0 {
		return Incompatibility{}, false
	}
	if rm&^normalizeTypes(wm) == 0 {
		return inc(typeNarrowed, path, "the reader at %s accepts types %s, fewer than the writer's %s",
			path, typeNames(rm), typeNames(wm)), true
	}
	return inc(typeChanged, path, "the reader at %s accepts types %s, the writer %s",
		path, typeNames(rm), typeNames(wm)), true
}

func (c *checker) compareString(path string, W, R view) []Incompatibility {
	var out []Incompatibility
	w, had := intKw(W.base, "maxLength")
	out = append(out, upperLimit(path, "maxLength", w, had, R, maxLengthAdded, maxLengthDecreased)...)
	w, had = intKw(W.base, "minLength")
	out = append(out, lowerLimit(path, "minLength", w, had, R, minLengthAdded, minLengthIncreased)...)
	if rp, ok := R.base["pattern"].(string); ok {
		wp, had := W.base["pattern"].(string)
		switch {
		case !had:
			out = append(out, inc(patternAdded, join(path, "pattern"), "the reader adds pattern %q at %s", rp, path))
		case wp != rp:
			out = append(out, inc(patternChanged, join(path, "pattern"), "the pattern at %s changed from %q to %q", path, wp, rp))
		}
	}
	return out
}

// upperLimit reports when the reader's maximum-like keyword kw admits less than the writer's
// effective maximum w (nil: none; had: the writer has kw itself).
func upperLimit(path, kw string, w *big.Rat, had bool, R view, added, decreased string) []Incompatibility {
	r, ok := intKw(R.base, kw)
	if !ok || (w != nil && w.Cmp(r) <= 0) {
		return nil
	}
	if w == nil || !had {
		return []Incompatibility{inc(added, join(path, kw), "the reader adds %s %s at %s", kw, r.RatString(), path)}
	}
	return []Incompatibility{inc(decreased, join(path, kw), "%s at %s decreased from %s to %s", kw, path, w.RatString(), r.RatString())}
}

// lowerLimit is upperLimit for minimum-like keywords; a missing writer minimum is 0.
func lowerLimit(path, kw string, w *big.Rat, had bool, R view, added, increased string) []Incompatibility {
	r, ok := intKw(R.base, kw)
	if !ok {
		return nil
	}
	ww := w
	if ww == nil {
		ww = new(big.Rat)
	}
	if ww.Cmp(r) >= 0 {
		return nil
	}
	if !had {
		return []Incompatibility{inc(added, join(path, kw), "the reader adds %s %s at %s", kw, r.RatString(), path)}
	}
	return []Incompatibility{inc(increased, join(path, kw), "%s at %s increased from %s to %s", kw, path, ww.RatString(), r.RatString())}
}

// bound is an effective numeric limit from minimum/exclusiveMinimum (or the maximum pair).
type bound struct {
	val  *big.Rat
	excl bool
	kw   string
}

func (b bound) admits(r *big.Rat, upper bool) bool {
	c := r.Cmp(b.val)
	if upper {
		c = -c
	}
	return c > 0 || (c == 0 && !b.excl)
}

// implies reports whether every number within w is within r.
func (w bound) implies(r bound, upper bool) bool {
	c := w.val.Cmp(r.val)
	if upper {
		c = -c
	}
	return c > 0 || (c == 0 && (!r.excl || w.excl))
}

// integral tightens a writer bound when the writer only produces integers.
func (b bound) integral(upper bool) bound {
	num, den := b.val.Num(), b.val.Denom()
	q := new(big.Int)
	if upper {
		q.Div(num, den) // floor (Euclidean division with a positive divisor)
		if b.excl && b.val.IsInt() {
			q.Sub(q, big.NewInt(1))
		}
	} else {
		q.Div(num, den)
		if !b.val.IsInt() || b.excl {
			q.Add(q, big.NewInt(1))
		}
	}
	return bound{val: new(big.Rat).SetInt(q), kw: b.kw}
}

func lowerBound(m map[string]any) (bound, bool) {
	return numBound(m, "minimum", "exclusiveMinimum", false)
}
func upperBound(m map[string]any) (bound, bool) {
	return numBound(m, "maximum", "exclusiveMaximum", true)
}

func numBound(m map[string]any, incKw, exKw string, upper bool) (bound, bool) {
	var b bound
	found := false
	if r, ok := toRat(m[incKw]); ok {
		b, found = bound{val: r, kw: incKw}, true
	}
	switch ex := m[exKw].(type) {
	case bool: // draft-04: a flag on minimum/maximum
		if ex && found {
			b.excl, b.kw = true, exKw
		}
	default:
		if r, ok := toRat(ex); ok {
			e := bound{val: r, excl: true, kw: exKw}
			if !found || !b.implies(e, upper) {
				b = e
			}
			found = true
		}
	}
	return b, found
}

func (c *checker) compareNumber(path string, W, R view, wm uint8) []Incompatibility {
	var out []Incompatibility
	intOnly := wm&tNumber == 0
	for _, upper := range []bool{false, true} {
		get := lowerBound
		if upper {
			get = upperBound
		}
		rb, ok := get(R.base)
		if !ok {
			continue
		}
		wb, wok := get(W.base)
		if wok && intOnly {
			wb = wb.integral(upper)
		}
		if wok && wb.implies(rb, upper) {
			continue
		}
		_, had := W.base[rb.kw]
		had = had && wok
		var typ, verb string
		switch {
		case rb.kw == "minimum" && had:
			typ, verb = minimumIncreased, "increased"
		case rb.kw == "minimum":
			typ, verb = minimumAdded, "added"
		case rb.kw == "exclusiveMinimum" && had:
			typ, verb = exclusiveMinimumIncreased, "increased"
		case rb.kw == "exclusiveMinimum":
			typ, verb = exclusiveMinimumAdded, "added"
		case rb.kw == "maximum" && had:
			typ, verb = maximumDecreased, "decreased"
		case rb.kw == "maximum":
			typ, verb = maximumAdded, "added"
		case had:
			typ, verb = exclusiveMaximumDecreased, "decreased"
		default:
			typ, verb = exclusiveMaximumAdded, "added"
		}
		if verb == "added" {
			out = append(out, inc(typ, join(path, rb.kw), "the reader adds %s %s at %s, rejecting numbers the writer allowed",
				rb.kw, rb.val.RatString(), path))
		} else {
			out = append(out, inc(typ, join(path, rb.kw), "%s at %s %s to %s, rejecting numbers the writer allowed",
				rb.kw, path, verb, rb.val.RatString()))
		}
	}

	rmul, ok := positiveRat(R.base["multipleOf"])
	if !ok {
		return out
	}
	p := join(path, "multipleOf")
	wmul, had := positiveRat(W.base["multipleOf"])
	switch {
	case had && new(big.Rat).Quo(wmul, rmul).IsInt():
		// MULTIPLE_OF_REDUCED: compatible.
	case had && new(big.Rat).Quo(rmul, wmul).IsInt():
		out = append(out, inc(multipleOfExpanded, p, "multipleOf at %s grew from %s to %s", path, wmul.RatString(), rmul.RatString()))
	case had:
		out = append(out, inc(multipleOfChanged, p, "multipleOf at %s changed from %s to %s", path, wmul.RatString(), rmul.RatString()))
	case intOnly && new(big.Rat).Inv(rmul).IsInt():
		// Every integer is a multiple of 1/n.
	default:
		out = append(out, inc(multipleOfAdded, p, "the reader adds multipleOf %s at %s", rmul.RatString(), path))
	}
	return out
}

// Content models.

type restKind int

const (
	restOpen restKind = iota
	restClosed
	restSchema
	restUnknown
)

// restSpec says what a schema allows where its explicit properties (or tuple items) end.
type restSpec struct {
	kind restKind
	n    node
	kw   string
}

func schemaRest(val any, d *doc, kw string) restSpec {
	if isTrivialSchema(val) {
		return restSpec{kind: restOpen, kw: kw}
	}
	if b, ok := val.(bool); ok && !b {
		return restSpec{kind: restClosed, kw: kw}
	}
	return restSpec{kind: restSchema, n: node{v: val, doc: d}, kw: kw}
}

// objectRest is the content model for properties neither declared nor matched by a pattern.
func objectRest(V view) restSpec {
	if ap, ok := V.base["additionalProperties"]; ok {
		return schemaRest(ap, V.doc, "additionalProperties")
	}
	if up, ok := V.base["unevaluatedProperties"]; ok {
		return schemaRest(up, V.doc, "unevaluatedProperties")
	}
	return restSpec{kind: restOpen, kw: "additionalProperties"}
}

type patSpec struct {
	p  string
	re *regexp.Regexp
	n  node
}

func (c *checker) patterns(V view) []patSpec {
	pp, _ := V.base["patternProperties"].(map[string]any)
	out := make([]patSpec, 0, len(pp))
	for _, p := range sortedKeys(pp) {
		out = append(out, patSpec{p: p, re: c.regexp(p), n: node{v: pp[p], doc: V.doc}})
	}
	return out
}

// modelFor returns how V treats an undeclared property named k: the pattern schemas that
// match it, or else its additional/unevaluated properties.
func (c *checker) modelFor(V view, k string) (restKind, []node) {
	var matched []node
	for _, ps := range c.patterns(V) {
		if ps.re == nil {
			return restUnknown, nil
		}
		if ps.re.MatchString(k) {
			matched = append(matched, ps.n)
		}
	}
	if len(matched) > 0 {
		return restSchema, matched
	}
	r := objectRest(V)
	if r.kind == restSchema {
		return restSchema, []node{r.n}
	}
	return r.kind, nil
}

func (c *checker) hasDefault(n node) bool {
	if m, ok := n.v.(map[string]any); ok {
		if _, ok := m["default"]; ok {
			return true
		}
	}
	d, ok := deref(n)
	m, isMap := d.v.(map[string]any)
	_, has := m["default"]
	return ok && isMap && has
}

// objectView is a view with the object keywords compareObject reads from it.
type objectView struct {
	view
	props    map[string]any  // properties
	required map[string]bool // required
	patterns []patSpec       // patternProperties
}

func (c *checker) objectView(V view) objectView {
	props, _ := V.base["properties"].(map[string]any)
	return objectView{view: V, props: props, required: setOf(stringList(V.base["required"])), patterns: c.patterns(V)}
}

func (c *checker) compareObject(path string, W, R view, depth int) []Incompatibility {
	wo, ro := c.objectView(W), c.objectView(R)
	out := c.compareProperties(path, wo, ro, depth)
	out = append(out, c.requiredAdded(path, wo, ro)...)
	out = append(out, c.comparePatterns(path, W, R, wo.props, wo.patterns, ro.patterns, depth)...)
	out = append(out, c.compareObjectRest(path, W, R, depth)...)
	out = append(out, comparePropertyCounts(path, wo, ro)...)
	out = append(out, c.compareDependencies(path, W, R, wo.required, depth)...)
	out = append(out, c.comparePropertyNames(path, wo, ro, depth)...)
	return out
}

// compareProperties compares the properties either side declares.
func (c *checker) compareProperties(path string, W, R objectView, depth int) []Incompatibility {
	var out []Incompatibility
	for _, k := range unionKeys(W.props, R.props) {
		pth := join(path, "properties", k)
		wv, inW := W.props[k]
		rv, inR := R.props[k]
		switch {
		case inW && inR:
			wn := node{v: wv, doc: W.doc}
			out = append(out, c.compare(pth, wn, node{v: rv, doc: R.doc}, depth)...)
			// The reader's patternProperties also apply to declared properties.
			for _, ps := range R.patterns {
				if ps.re == nil || !ps.re.MatchString(k) || c.hasSamePattern(W.patterns, ps) {
					continue
				}
				out = append(out, c.compare(pth, wn, ps.n, depth)...)
			}
		case inW:
			out = append(out, c.propertyRemoved(pth, k, node{v: wv, doc: W.doc}, R.view, depth)...)
		default:
			out = append(out, c.propertyAdded(pth, k, node{v: rv, doc: R.doc}, W.view, R.required[k], depth)...)
		}
	}
	return out
}

// requiredAdded reports the properties the reader requires and the writer did not, except
// those reported with the added property and those the reader gives a default.
func (c *checker) requiredAdded(path string, W, R objectView) []Incompatibility {
	var out []Incompatibility
	for _, k := range sortedKeys(R.required) {
		if W.required[k] {
			continue
		}
		rv, inR := R.props[k]
		if _, inW := W.props[k]; inR && !inW {
			continue // reported with the added property
		}
		if inR && c.hasDefault(node{v: rv, doc: R.doc}) {
			continue // REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED: compatible in Confluent
		}
		out = append(out, inc(requiredAttributeAdded, join(path, "required", k),
			"the reader requires property %q at %s, the writer did not", k, path))
	}
	return out
}

// comparePropertyCounts compares minProperties and maxProperties. The writer's required
// properties are a lower bound on its count, and a closed writer without patterns cannot
// exceed its declared properties.
func comparePropertyCounts(path string, W, R objectView) []Incompatibility {
	wmin, hadMin := intKw(W.base, "minProperties")
	if n := big.NewRat(int64(len(W.required)), 1); wmin == nil || n.Cmp(wmin) > 0 {
		wmin = n
	}
	out := lowerLimit(path, "minProperties", wmin, hadMin, R.view, minPropertiesAdded, minPropertiesIncreased)
	wmax, hadMax := intKw(W.base, "maxProperties")
	if objectRest(W.view).kind == restClosed && len(W.patterns) == 0 {
		if n := big.NewRat(int64(len(W.props)), 1); wmax == nil || n.Cmp(wmax) < 0 {
			wmax = n
		}
	}
	return append(out, upperLimit(path, "maxProperties", wmax, hadMax, R.view, maxPropertiesAdded, maxPropertiesDecreased)...)
}

// comparePropertyNames compares propertyNames. A reader that adds it is compatible only when
// the writer is closed, has no patterns and every declared name is valid.
func (c *checker) comparePropertyNames(path string, W, R objectView, depth int) []Incompatibility {
	rpn, ok := R.base["propertyNames"]
	if !ok || isTrivialSchema(rpn) {
		return nil
	}
	pth := join(path, "propertyNames")
	rn := node{v: rpn, doc: R.doc}
	if wpn, ok := W.base["propertyNames"]; ok {
		return c.compare(pth, node{v: wpn, doc: W.doc}, rn, depth)
	}
	covered := objectRest(W.view).kind == restClosed && len(W.patterns) == 0
	for _, k := range sortedKeys(W.props) {
		covered = covered && c.valid(k, rn, depth) == yes
	}
	if !covered {
		return []Incompatibility{inc(additionalPropertiesNarrowed, pth,
			"the reader adds propertyNames at %s, the writer did not restrict property names", path)}
	}
	return nil
}

func (c *checker) hasSamePattern(pats []patSpec, ps patSpec) bool {
	for _, q := range pats {
		if q.p == ps.p && c.sameSemantics(q.n, ps.n) {
			return true
		}
	}
	return false
}

// propertyAdded: the reader declares k, the writer did not (Confluent's rules for open,
// closed and partially open content models).
func (c *checker) propertyAdded(pth, k string, rn node, W view, required bool, depth int) []Incompatibility {
	reqMissing := required && !c.hasDefault(rn)
	var out []Incompatibility
	kind, nodes := c.modelFor(W, k)
	switch kind {
	case restOpen:
		if reqMissing || !isTrivialSchema(rn.v) {
			return []Incompatibility{inc(propertyAddedToOpenContentModel, pth,
				"property %q added at %s: the writer's open content model may already hold it with any value", k, pth)}
		}
		return nil
	case restSchema:
		covered := false
		for _, n := range nodes {
			if len(c.compare(pth, n, rn, depth)) == 0 {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, inc(propertyAddedNotCoveredByPartialModel, pth,
				"property %q added at %s is not covered by the writer's partially open content model", k, pth))
		}
	case restUnknown:
		out = append(out, inc(propertyAddedNotCoveredByPartialModel, pth,
			"property %q added at %s may match a writer patternProperties that cannot be evaluated; reported conservatively", k, pth))
	}
	if reqMissing {
		out = append(out, inc(requiredPropertyAddedToUnopenModel, pth,
			"required property %q added at %s: the writer never had to write it", k, pth))
	}
	return out
}

// propertyRemoved: the writer declared k, the reader does not.
func (c *checker) propertyRemoved(pth, k string, wn node, R view, depth int) []Incompatibility {
	kind, nodes := c.modelFor(R, k)
	if kind == restOpen && len(c.patterns(R)) > 0 {
		// Confluent counts a model with patternProperties as not open even where no pattern
		// matches and additionalProperties is absent; we follow it (the stricter reading).
		kind = restClosed
	}
	switch kind {
	case restClosed:
		if isFalseSchema(wn) {
			return nil // PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL
		}
		return []Incompatibility{inc(propertyRemovedFromClosedContentModel, pth,
			"property %q removed at %s: the reader's closed content model rejects it", k, pth)}
	case restSchema:
		for _, n := range nodes {
			if len(c.compare(pth, wn, n, depth)) > 0 {
				return []Incompatibility{inc(propertyRemovedNotCoveredByPartialModel, pth,
					"property %q removed at %s is not covered by the reader's partially open content model", k, pth)}
			}
		}
	case restUnknown:
		return []Incompatibility{inc(propertyRemovedNotCoveredByPartialModel, pth,
			"property %q removed at %s may match a reader patternProperties that cannot be evaluated; reported conservatively", k, pth)}
	}
	return nil // PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL or covered
}

func (c *checker) comparePatterns(path string, W, R view, wp map[string]any, wpats, rpats []patSpec, depth int) []Incompatibility {
	var out []Incompatibility
	inW := map[string]patSpec{}
	for _, ps := range wpats {
		inW[ps.p] = ps
	}
	inR := map[string]bool{}
	for _, ps := range rpats {
		inR[ps.p] = true
		pth := join(path, "patternProperties", ps.p)
		if wps, ok := inW[ps.p]; ok {
			out = append(out, c.compare(pth, wps.n, ps.n, depth)...)
			continue
		}
		if isTrivialSchema(ps.n.v) {
			continue
		}
		// A new reader pattern constrains whatever the writer may have put under matching names:
		// its declared properties, its other patterns (which may overlap), and its rest.
		covered := ps.re != nil
		for _, k := range sortedKeys(wp) {
			if covered && ps.re.MatchString(k) {
				covered = len(c.compare(join(path, "properties", k), node{v: wp[k], doc: W.doc}, ps.n, depth)) == 0
			}
		}
		for _, q := range wpats {
			covered = covered && len(c.compare(pth, q.n, ps.n, depth)) == 0
		}
		if covered {
			switch wr := objectRest(W); wr.kind {
			case restOpen:
				covered = false
			case restSchema:
				covered = len(c.compare(pth, wr.n, ps.n, depth)) == 0
			}
		}
		switch {
		case ps.re == nil:
			out = append(out, conservative(pth, "the reader adds patternProperties "+quote(ps.p)+", which cannot be evaluated here"))
		case !covered:
			out = append(out, inc(additionalPropertiesNarrowed, pth,
				"the reader adds patternProperties %q at %s, constraining properties the writer may have written", ps.p, path))
		}
	}
	for _, ps := range wpats {
		if inR[ps.p] {
			continue
		}
		// Properties the writer matched with this pattern fall to the reader's other patterns
		// (which may overlap) or its rest.
		pth := join(path, "patternProperties", ps.p)
		covered := true
		for _, q := range rpats {
			covered = covered && len(c.compare(pth, ps.n, q.n, depth)) == 0
		}
		switch rr := objectRest(R); rr.kind {
		case restClosed:
			covered = false
		case restSchema:
			covered = covered && len(c.compare(pth, ps.n, rr.n, depth)) == 0
		}
		if !covered {
			out = append(out, inc(propertyRemovedNotCoveredByPartialModel, pth,
				"the reader drops patternProperties %q at %s and does not accept what it allowed", ps.p, path))
		}
	}
	return out
}

// compareObjectRest compares additionalProperties/unevaluatedProperties: what may appear under
// names neither schema declares.
func (c *checker) compareObjectRest(path string, W, R view, depth int) []Incompatibility {
	wr, rr := objectRest(W), objectRest(R)
	if wr.kind == restClosed || rr.kind == restOpen {
		return nil // ADDITIONAL_PROPERTIES_ADDED / _EXTENDED are compatible
	}
	removed, narrowed := additionalPropertiesRemoved, additionalPropertiesNarrowed
	if rr.kw == "unevaluatedProperties" {
		removed, narrowed = unevaluatedPropertiesRemoved, unevaluatedPropertiesNarrowed
	}
	pth := join(path, rr.kw)
	switch {
	case rr.kind == restClosed:
		return []Incompatibility{inc(removed, pth, "the reader at %s allows no additional properties, the writer did", path)}
	case wr.kind == restOpen:
		return []Incompatibility{inc(narrowed, pth, "the reader constrains additional properties at %s, the writer left them open", path)}
	}
	return c.compare(pth, wr.n, rr.n, depth)
}

func (c *checker) compareDependencies(path string, W, R view, wreq map[string]bool, depth int) []Incompatibility {
	var out []Incompatibility
	wdr, rdr := dependentRequired(W.base), dependentRequired(R.base)
	for _, k := range sortedKeys(rdr) {
		rdeps := rdr[k]
		wdeps, had := wdr[k]
		wset := setOf(wdeps)
		var missing []string
		for _, d := range rdeps {
			if !wset[d] && !wreq[d] {
				missing = append(missing, d)
			}
		}
		if len(missing) == 0 {
			continue // DEPENDENCY_ARRAY_NARROWED / _REMOVED are compatible
		}
		kw := "dependencies"
		if m, ok := R.base["dependentRequired"].(map[string]any); ok && m[k] != nil {
			kw = "dependentRequired"
		}
		typ := dependencyArrayChanged
		rset := setOf(rdeps)
		switch {
		case !had:
			typ = dependencyArrayAdded
		case containsAll(rset, wdeps):
			typ = dependencyArrayExtended
		}
		out = append(out, inc(typ, join(path, kw, k), "the reader requires %v whenever %q is present at %s", missing, k, path))
	}
	wds, rds := dependentSchemas(W.base), dependentSchemas(R.base)
	for _, k := range sortedKeys(rds) {
		rs := rds[k]
		if isTrivialSchema(rs) {
			continue
		}
		kw := "dependencies"
		if m, ok := R.base["dependentSchemas"].(map[string]any); ok && m[k] != nil {
			kw = "dependentSchemas"
		}
		pth := join(path, kw, k)
		if ws, ok := wds[k]; ok {
			out = append(out, c.compare(pth, node{v: ws, doc: W.doc}, node{v: rs, doc: R.doc}, depth)...)
			continue
		}
		out = append(out, inc(dependencySchemaAdded, pth, "the reader adds a dependent schema for %q at %s", k, path))
	}
	return out
}

// arrayLayout returns a schema's tuple (prefixItems, or array-form items before 2020-12) and
// what it allows after the tuple.
func arrayLayout(V view) (tuple []node, tupleKw string, rest restSpec) {
	m := V.base
	nodes := func(a []any) []node {
		out := make([]node, len(a))
		for i, v := range a {
			out[i] = node{v: v, doc: V.doc}
		}
		return out
	}
	restKw := "items"
	if pi, ok := m["prefixItems"].([]any); ok {
		tuple, tupleKw = nodes(pi), "prefixItems"
		if it, ok := m["items"]; ok {
			return tuple, tupleKw, schemaRest(it, V.doc, "items")
		}
	} else if it, ok := m["items"].([]any); ok {
		tuple, tupleKw, restKw = nodes(it), "items", "additionalItems"
		if ai, ok := m["additionalItems"]; ok {
			return tuple, tupleKw, schemaRest(ai, V.doc, "additionalItems")
		}
	} else if it, ok := m["items"]; ok {
		return nil, "", schemaRest(it, V.doc, "items")
	}
	if ui, ok := m["unevaluatedItems"]; ok {
		return tuple, tupleKw, schemaRest(ui, V.doc, "unevaluatedItems")
	}
	return tuple, tupleKw, restSpec{kind: restOpen, kw: restKw}
}

func (c *checker) compareArray(path string, W, R view, depth int) []Incompatibility {
	var out []Incompatibility
	wt, wkw, wr := arrayLayout(W)
	rt, rkw, rr := arrayLayout(R)
	n := min(len(wt), len(rt))
	for i := range n {
		out = append(out, c.compare(join(path, rkw, i), wt[i], rt[i], depth)...)
	}
	for i := n; i < len(wt); i++ {
		// The reader dropped tuple position i: it falls under the reader's rest.
		pth := join(path, wkw, i)
		switch rr.kind {
		case restClosed:
			if !isFalseSchema(wt[i]) {
				out = append(out, inc(itemRemovedFromClosedContentModel, pth,
					"tuple item %d removed at %s: the reader's closed content model rejects it", i, path))
			}
		case restSchema:
			if len(c.compare(pth, wt[i], rr.n, depth)) > 0 {
				out = append(out, inc(itemRemovedNotCoveredByPartialModel, pth,
					"tuple item %d removed at %s is not covered by the reader's %s", i, path, rr.kw))
			}
		}
	}
	for i := n; i < len(rt); i++ {
		// The reader added tuple position i: the writer put whatever its rest allowed there.
		pth := join(path, rkw, i)
		switch wr.kind {
		case restOpen:
			if !isTrivialSchema(rt[i].v) {
				out = append(out, inc(itemAddedToOpenContentModel, pth,
					"tuple item %d added at %s: the writer's open content model allowed any value there", i, path))
			}
		case restSchema:
			if len(c.compare(pth, wr.n, rt[i], depth)) > 0 {
				out = append(out, inc(itemAddedNotCoveredByPartialModel, pth,
					"tuple item %d added at %s is not covered by the writer's %s", i, path, wr.kw))
			}
		}
	}
	if wr.kind != restClosed && rr.kind != restOpen {
		pth := join(path, rr.kw)
		removed, narrowed := additionalItemsRemoved, additionalItemsNarrowed
		if rr.kw == "unevaluatedItems" {
			removed, narrowed = unevaluatedItemsRemoved, unevaluatedItemsNarrowed
		} else if len(wt) == 0 && len(rt) == 0 && rr.kw == "items" {
			narrowed = schemaAdded // a plain list gained an items schema
		}
		switch {
		case rr.kind == restClosed:
			out = append(out, inc(removed, pth, "the reader at %s allows no further array items, the writer did", path))
		case wr.kind == restOpen:
			out = append(out, inc(narrowed, pth, "the reader constrains array items at %s, the writer left them open", path))
		default:
			out = append(out, c.compare(pth, wr.n, rr.n, depth)...)
		}
	}

	wmax, hadMax := intKw(W.base, "maxItems")
	if wr.kind == restClosed {
		if n := big.NewRat(int64(len(wt)), 1); wmax == nil || n.Cmp(wmax) < 0 {
			wmax = n
		}
	}
	out = append(out, upperLimit(path, "maxItems", wmax, hadMax, R, maxItemsAdded, maxItemsDecreased)...)
	wmin, hadMin := intKw(W.base, "minItems")
	out = append(out, lowerLimit(path, "minItems", wmin, hadMin, R, minItemsAdded, minItemsIncreased)...)
	if u, _ := R.base["uniqueItems"].(bool); u {
		if wu, _ := W.base["uniqueItems"].(bool); !wu && (wmax == nil || wmax.Cmp(big.NewRat(1, 1)) > 0) {
			out = append(out, inc(uniqueItemsAdded, join(path, "uniqueItems"), "the reader requires unique items at %s", path))
		}
	}
	out = append(out, c.compareContains(path, W, R, depth)...)
	return out
}

func (c *checker) compareContains(path string, W, R view, depth int) []Incompatibility {
	rc, ok := R.base["contains"]
	if !ok || !wellFormed("contains", rc) {
		return nil
	}
	var out []Incompatibility
	pth := join(path, "contains")
	one := big.NewRat(1, 1)
	rmin, ok := intKw(R.base, "minContains")
	if !ok {
		rmin = one
	}
	wc, hadContains := W.base["contains"]
	if rmin.Sign() > 0 {
		if !hadContains {
			out = append(out, inc(minContainsAdded, pth, "the reader requires items matching \"contains\" at %s, the writer did not", path))
		} else {
			out = append(out, c.compare(pth, node{v: wc, doc: W.doc}, node{v: rc, doc: R.doc}, depth)...)
			wmin, had := intKw(W.base, "minContains")
			if !had {
				wmin = one
			}
			if wmin.Cmp(rmin) < 0 {
				typ := minContainsIncreased
				if !had {
					typ = minContainsAdded
				}
				out = append(out, inc(typ, join(path, "minContains"), "minContains at %s rose to %s", path, rmin.RatString()))
			}
		}
	}
	if rmax, ok := intKw(R.base, "maxContains"); ok {
		wmax, had := intKw(W.base, "maxContains")
		same := hadContains && c.sameSemantics(node{v: wc, doc: W.doc}, node{v: rc, doc: R.doc})
		switch {
		case !had || !same:
			out = append(out, inc(maxContainsAdded, join(path, "maxContains"), "the reader limits matching items to %s at %s", rmax.RatString(), path))
		case wmax.Cmp(rmax) > 0:
			out = append(out, inc(maxContainsDecreased, join(path, "maxContains"), "maxContains at %s decreased from %s to %s", path, wmax.RatString(), rmax.RatString()))
		}
	}
	return out
}

// Keyword value helpers. Malformed values read as absent; compareBase reports malformed
// reader keywords and validBase treats them as unknown.

func intKw(m map[string]any, kw string) (*big.Rat, bool) {
	r, ok := toRat(m[kw])
	if !ok || !r.IsInt() || r.Sign() < 0 {
		return nil, false
	}
	return r, true
}

func positiveRat(v any) (*big.Rat, bool) {
	r, ok := toRat(v)
	return r, ok && r.Sign() > 0
}

func stringList(v any) []string {
	a, _ := v.([]any)
	var out []string
	for _, e := range a {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func setOf(s []string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, x := range s {
		m[x] = true
	}
	return m
}

func containsAll(set map[string]bool, xs []string) bool {
	for _, x := range xs {
		if !set[x] {
			return false
		}
	}
	return true
}

// dependentRequired merges dependentRequired and the array form of draft-07 dependencies.
func dependentRequired(m map[string]any) map[string][]string {
	out := map[string][]string{}
	for _, kw := range []string{"dependencies", "dependentRequired"} {
		deps, _ := m[kw].(map[string]any)
		for k, v := range deps {
			if a, ok := v.([]any); ok {
				out[k] = append(out[k], stringList(a)...)
			}
		}
	}
	return out
}

// dependentSchemas merges dependentSchemas and the schema form of draft-07 dependencies.
func dependentSchemas(m map[string]any) map[string]any {
	out := map[string]any{}
	for _, kw := range []string{"dependencies", "dependentSchemas"} {
		deps, _ := m[kw].(map[string]any)
		for k, v := range deps {
			if isSchemaValue(v) {
				if prev, ok := out[k]; ok {
					v = map[string]any{"allOf": []any{prev, v}}
				}
				out[k] = v
			}
		}
	}
	return out
}

func isSchemaValue(v any) bool {
	switch v.(type) {
	case bool, map[string]any:
		return true
	}
	return false
}

func isNonNegInt(v any) bool {
	r, ok := toRat(v)
	return ok && r.IsInt() && r.Sign() >= 0
}

// wellFormed reports whether a keyword's value has the shape the meta-schemas require.
func wellFormed(kw string, v any) bool {
	switch kw {
	case "type":
		_, ok := typeMask(map[string]any{"type": v})
		return ok
	case "enum", "prefixItems":
		a, ok := v.([]any)
		if ok && kw == "prefixItems" {
			for _, e := range a {
				if !isSchemaValue(e) {
					return false
				}
			}
		}
		return ok
	case "const":
		return true
	case "minLength", "maxLength", "minProperties", "maxProperties", "minItems", "maxItems", "minContains", "maxContains":
		return isNonNegInt(v)
	case "pattern", "$dynamicRef", "$recursiveRef":
		_, ok := v.(string)
		return ok
	case "minimum", "maximum":
		_, ok := toRat(v)
		return ok
	case "exclusiveMinimum", "exclusiveMaximum":
		_, isBool := v.(bool)
		_, isNum := toRat(v)
		return isBool || isNum
	case "multipleOf":
		_, ok := positiveRat(v)
		return ok
	case "properties", "patternProperties", "dependentSchemas":
		m, ok := v.(map[string]any)
		for _, e := range m {
			ok = ok && isSchemaValue(e)
		}
		return ok
	case "required":
		a, ok := v.([]any)
		for _, e := range a {
			_, isStr := e.(string)
			ok = ok && isStr
		}
		return ok
	case "dependentRequired", "dependencies":
		m, ok := v.(map[string]any)
		for _, e := range m {
			if a, isArr := e.([]any); isArr {
				ok = ok && wellFormed("required", a)
			} else {
				ok = ok && kw == "dependencies" && isSchemaValue(e)
			}
		}
		return ok
	case "items":
		if a, ok := v.([]any); ok {
			return wellFormed("prefixItems", a)
		}
		return isSchemaValue(v)
	case "uniqueItems":
		_, ok := v.(bool)
		return ok
	case "allOf", "anyOf", "oneOf":
		return false // only left in a base when not an array
	}
	return isSchemaValue(v)
}

func quote(s string) string { return strconv.Quote(s) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func unionKeys(a, b map[string]any) []string {
	set := map[string]bool{}
	for k := range a {
		set[k] = true
	}
	for k := range b {
		set[k] = true
	}
	return sortedKeys(set)
}
