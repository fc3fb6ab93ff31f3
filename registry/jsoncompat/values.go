package jsoncompat

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// toRat converts a JSON number to an exact rational. ok is false for non-numbers and for
// numbers whose exponent is too large to expand safely.
func toRat(v any) (*big.Rat, bool) {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if len(s) > 400 {
			return nil, false
		}
		if i := strings.IndexAny(s, "eE"); i >= 0 {
			e, err := strconv.Atoi(s[i+1:])
			if err != nil || e > 400 || e < -400 {
				return nil, false
			}
		}
		return new(big.Rat).SetString(s)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
		return new(big.Rat).SetFloat64(x), true
	case int:
		return new(big.Rat).SetInt64(int64(x)), true
	case int64:
		return new(big.Rat).SetInt64(x), true
	}
	return nil, false
}

func isNumber(v any) bool {
	switch v.(type) {
	case json.Number, float64, int, int64:
		return true
	}
	return false
}

// equal is JSON Schema equality: numbers compare by value (1 == 1.0), objects by members.
// Every value visited costs one work unit; when the budget says stop, values are reported
// unequal, which only makes the comparison stricter.
func (c *checker) equal(a, b any) bool {
	if !c.meter.Spend(1) {
		c.exhausted = true
		return false
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !c.equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && c.objectsEqual(x, y)
	}
	if isNumber(a) && isNumber(b) {
		if na, ok := a.(json.Number); ok {
			if nb, ok := b.(json.Number); ok && na == nb {
				return true
			}
		}
		ra, okA := toRat(a)
		rb, okB := toRat(b)
		return okA && okB && ra.Cmp(rb) == 0
	}
	return false
}

// objectsEqual reports whether a and b have the same members, each jsonEqual.
func (c *checker) objectsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok || !c.equal(av, bv) {
			return false
		}
	}
	return true
}

// containsRef reports whether v has a reference keyword anywhere inside.
func containsRef(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "$ref" || k == "$dynamicRef" || k == "$recursiveRef" || containsRef(e) {
				return true
			}
		}
	case []any:
		return slices.ContainsFunc(x, containsRef)
	}
	return false
}

// typeOf returns the JSON type bit of a value (tInteger for integral numbers).
func typeOf(v any) uint8 {
	switch v.(type) {
	case nil:
		return tNull
	case bool:
		return tBoolean
	case map[string]any:
		return tObject
	case []any:
		return tArray
	case string:
		return tString
	}
	if r, ok := toRat(v); ok && r.IsInt() {
		return tInteger
	}
	if isNumber(v) {
		return tNumber
	}
	return 0
}

func acceptsType(mask uint8, v any) bool {
	t := typeOf(v)
	return t != 0 && normalizeTypes(mask)&t != 0
}

type regexpResult struct {
	re *regexp.Regexp // nil when Go cannot compile the pattern
}

// regexp compiles an ECMA-262 pattern with Go's RE2 syntax, which covers the common subset;
// nil means the pattern cannot be evaluated here.
func (c *checker) regexp(p string) *regexp.Regexp {
	if r, ok := c.regexps[p]; ok {
		return r.re
	}
	re, err := regexp.Compile(p)
	if err != nil {
		re = nil
	}
	c.regexps[p] = regexpResult{re}
	return re
}

func render(v any) string {
	b, err := json.Marshal(v)
	if err != nil || len(b) > 60 {
		if len(b) > 60 {
			return string(b[:57]) + "..."
		}
		return fmt.Sprint(v)
	}
	return string(b)
}

// checkValues decides compatibility for a writer that can only produce vals.
func (c *checker) checkValues(path string, W view, vals []any, R view, depth int) []Incompatibility {
	var failed []any
	for _, v := range vals {
		if c.validView(v, R, depth) != yes {
			failed = append(failed, v)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	list := make([]string, len(failed))
	for i, v := range failed {
		list[i] = render(v)
	}
	values := strings.Join(list, ", ")

	if renum, ok := R.base["enum"].([]any); ok {
		for _, v := range failed {
			if !slices.ContainsFunc(renum, func(e any) bool { return c.equal(e, v) }) {
				typ := enumArrayNarrowed
				for _, e := range renum {
					if !slices.ContainsFunc(vals, func(v any) bool { return c.equal(e, v) }) {
						typ = enumArrayChanged // the reader also has values the writer lacks
						break
					}
				}
				return []Incompatibility{inc(typ, join(path, "enum"),
					"the reader's enum at %s does not contain writer value(s) %s", path, values)}
			}
		}
	}
	if rc, ok := R.base["const"]; ok {
		for _, v := range failed {
			if !c.equal(rc, v) {
				return []Incompatibility{inc(enumArrayChanged, join(path, "const"),
					"the reader's const at %s is %s but the writer allows %s", path, render(rc), values)}
			}
		}
	}
	if rm, _ := typeMask(R.base); true {
		var wm uint8
		for _, v := range failed {
			wm |= typeOf(v)
		}
		if normalizeTypes(rm)&wm != wm {
			typ := typeChanged
			var all uint8
			for _, v := range vals {
				all |= typeOf(v)
			}
			if rm&^normalizeTypes(all) == 0 {
				typ = typeNarrowed
			}
			return []Incompatibility{inc(typ, path,
				"the reader at %s accepts types %s, which exclude writer value(s) %s", path, typeNames(rm), values)}
		}
	}
	p, typ := path, typeNarrowed
	if _, ok := W.base["enum"]; ok {
		p, typ = join(path, "enum"), enumArrayNarrowed
	} else if _, ok := W.base["const"]; ok {
		p, typ = join(path, "const"), enumArrayNarrowed
	}
	return []Incompatibility{inc(typ, p,
		"writer value(s) %s allowed at %s are not valid under the reader schema (or cannot be shown valid)", values, path)}
}

// tri is the result of validating a value: yes, no, or unknown (something not modelled).
type tri int8

const (
	unknown tri = iota - 1
	no
	yes
)

// and records a sub-result t in r, where unknown sticks, and reports whether validation can
// stop with no.
func (r *tri) and(t tri) bool {
	if t == unknown {
		*r = unknown
	}
	return t == no
}

// valid validates v against schema node n. It is used only on values a writer can produce,
// to decide compatibility; "unknown" is treated as incompatible by callers.
func (c *checker) valid(v any, n node, depth int) tri {
	if depth > maxDepth || !c.step() {
		return unknown
	}
	return c.validView(v, c.buildView(n), depth+1)
}

func (c *checker) validView(v any, V view, depth int) tri {
	if V.broken != "" {
		return unknown
	}
	if V.never {
		return no
	}
	res := c.validBase(v, V, depth)
	if res == no {
		return no
	}
	for _, a := range V.allOf {
		if res.and(c.valid(v, a, depth)) {
			return no
		}
	}
	if V.disjKw != "" {
		yesN, unk := 0, false
		for _, d := range V.disj {
			switch c.valid(v, d, depth) {
			case yes:
				yesN++
			case unknown:
				unk = true
			}
		}
		switch {
		case V.disjKw == "anyOf" && yesN > 0:
		case V.disjKw == "oneOf" && yesN > 1:
			return no
		case unk:
			res = unknown
		case yesN == 0 || (V.disjKw == "oneOf" && yesN != 1):
			return no
		}
	}
	if V.not != nil {
		switch c.valid(v, *V.not, depth) {
		case yes:
			return no
		case unknown:
			res = unknown
		}
	}
	return res
}

func (c *checker) validBase(v any, V view, depth int) tri {
	m := V.base
	res := yes
	child := func(val any, schema any) tri { return c.valid(val, node{v: schema, doc: V.doc}, depth) }
	for k, kv := range m {
		if unmodelled[k] || !wellFormed(k, kv) {
			res = unknown
		}
	}
	if mask, ok := typeMask(m); ok && !acceptsType(mask, v) {
		return no
	}
	if e, ok := m["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return c.equal(x, v) }) {
		return no
	}
	if cv, ok := m["const"]; ok && !c.equal(cv, v) {
		return no
	}
	switch x := v.(type) {
	case string:
		if !sizeWithin(m, utf8.RuneCountInString(x), "minLength", "maxLength") {
			return no
		}
		if p, ok := m["pattern"].(string); ok {
			re := c.regexp(p)
			if re == nil {
				res = unknown
			} else if !re.MatchString(x) {
				return no
			}
		}
	case map[string]any:
		if res.and(c.validObject(x, V, child)) {
			return no
		}
	case []any:
		if res.and(c.validArray(x, V, child, depth)) {
			return no
		}
	default:
		r, ok := toRat(v)
		if !ok {
			if isNumber(v) {
				res = unknown
			}
			break
		}
		if lo, ok := lowerBound(m); ok && !lo.admits(r, false) {
			return no
		}
		if hi, ok := upperBound(m); ok && !hi.admits(r, true) {
			return no
		}
		if mul, ok := positiveRat(m["multipleOf"]); ok && !new(big.Rat).Quo(r, mul).IsInt() {
			return no
		}
	}
	return res
}

func (c *checker) validObject(obj map[string]any, V view, child func(any, any) tri) tri {
	m := V.base
	res := yes
	for _, k := range stringList(m["required"]) {
		if _, ok := obj[k]; !ok {
			return no
		}
	}
	props, _ := m["properties"].(map[string]any)
	pats, _ := m["patternProperties"].(map[string]any)
	extra, extraPresent := m["additionalProperties"]
	if !extraPresent {
		extra, extraPresent = m["unevaluatedProperties"]
	}
	for k, val := range obj {
		matched := false
		if ps, ok := props[k]; ok {
			matched = true
			if res.and(child(val, ps)) {
				return no
			}
		}
		for p, ps := range pats {
			re := c.regexp(p)
			if re == nil {
				res = unknown
				continue
			}
			if re.MatchString(k) {
				matched = true
				if res.and(child(val, ps)) {
					return no
				}
			}
		}
		if !matched && extraPresent && res.and(child(val, extra)) {
			return no
		}
		if pn, ok := m["propertyNames"]; ok && res.and(child(k, pn)) {
			return no
		}
	}
	if !sizeWithin(m, len(obj), "minProperties", "maxProperties") {
		return no
	}
	for k, deps := range dependentRequired(m) {
		if _, ok := obj[k]; !ok {
			continue
		}
		for _, d := range deps {
			if _, ok := obj[d]; !ok {
				return no
			}
		}
	}
	for k, s := range dependentSchemas(m) {
		if _, ok := obj[k]; ok && res.and(child(obj, s)) {
			return no
		}
	}
	return res
}

// sizeWithin reports whether n, a string's length or an object's or array's count, meets the
// bounds the keywords minKw and maxKw of m set (where they are non-negative integers).
func sizeWithin(m map[string]any, n int, minKw, maxKw string) bool {
	size := big.NewRat(int64(n), 1)
	if r, ok := intKw(m, minKw); ok && size.Cmp(r) < 0 {
		return false
	}
	if r, ok := intKw(m, maxKw); ok && size.Cmp(r) > 0 {
		return false
	}
	return true
}

func (c *checker) validArray(arr []any, V view, child func(any, any) tri, depth int) tri {
	m := V.base
	res := yes
	tuple, _, rest := arrayLayout(V)
	for i, it := range arr {
		if i < len(tuple) {
			if res.and(c.valid(it, tuple[i], depth)) {
				return no
			}
			continue
		}
		switch rest.kind {
		case restClosed:
			return no
		case restSchema:
			if res.and(c.valid(it, rest.n, depth)) {
				return no
			}
		}
	}
	if !sizeWithin(m, len(arr), "minItems", "maxItems") {
		return no
	}
	if u, _ := m["uniqueItems"].(bool); u {
		for i := range arr {
			for j := i + 1; j < len(arr); j++ {
				if c.equal(arr[i], arr[j]) {
					return no
				}
			}
		}
	}
	if cs, ok := m["contains"]; ok {
		matches, unk := 0, false
		for _, it := range arr {
			switch child(it, cs) {
			case yes:
				matches++
			case unknown:
				unk = true
			}
		}
		lo := big.NewRat(1, 1)
		if r, ok := intKw(m, "minContains"); ok {
			lo = r
		}
		got := big.NewRat(int64(matches), 1)
		if unk {
			res = unknown
		} else if got.Cmp(lo) < 0 {
			return no
		} else if r, ok := intKw(m, "maxContains"); ok && got.Cmp(r) > 0 {
			return no
		}
	}
	return res
}
