package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/schemagate/schemagate/registry/compatbudget"
)

// avroGen draws random Avro schemas as JSON documents: primitives, records, enums, arrays,
// maps and nullable unions, nested a few levels deep. Named types get unique names.
type avroGen struct{ names int }

var avroPrimitiveNames = []string{"boolean", "int", "long", "float", "double", "bytes", "string"}

func (g *avroGen) draw(t *rapid.T, depth int) any {
	kinds := []string{"primitive", "union"}
	if depth < 3 {
		kinds = append(kinds, "record", "enum", "array", "map")
	}
	switch rapid.SampledFrom(kinds).Draw(t, "kind") {
	case "union":
		return []any{"null", rapid.SampledFrom(avroPrimitiveNames).Draw(t, "branch")}
	case "record":
		g.names++
		name := fmt.Sprintf("R%d", g.names) // taken before the fields draw names of their own
		n := rapid.IntRange(1, 4).Draw(t, "fields")
		fields := make([]any, n)
		for i := range fields {
			fields[i] = map[string]any{"name": fmt.Sprintf("f%d", i), "type": g.draw(t, depth+1)}
		}
		return map[string]any{"type": "record", "name": name, "fields": fields}
	case "enum":
		g.names++
		n := rapid.IntRange(1, 4).Draw(t, "symbols")
		syms := make([]any, n)
		for i := range syms {
			syms[i] = fmt.Sprintf("S%d", i)
		}
		return map[string]any{"type": "enum", "name": fmt.Sprintf("E%d", g.names), "symbols": syms}
	case "array":
		return map[string]any{"type": "array", "items": g.draw(t, depth+1)}
	case "map":
		return map[string]any{"type": "map", "values": g.draw(t, depth+1)}
	}
	return rapid.SampledFrom(avroPrimitiveNames).Draw(t, "primitive")
}

// drawRecord draws a top-level record schema.
func drawRecord(t *rapid.T, label string) string {
	g := &avroGen{}
	n := rapid.IntRange(1, 5).Draw(t, label+" fields")
	fields := make([]any, n)
	for i := range fields {
		fields[i] = map[string]any{"name": fmt.Sprintf("f%d", i), "type": g.draw(t, 1)}
	}
	b, _ := json.Marshal(map[string]any{"type": "record", "name": "Top", "fields": fields})
	return string(b)
}

func mustParse(t *rapid.T, text string) *parsedSchema {
	p, err := parse(context.Background(), SchemaTypeAvro, text, nil, testLimits, false)
	if err != nil {
		t.Fatalf("generated schema does not parse: %v\n%s", err, text)
	}
	return p
}

var allLevels = []CompatibilityLevel{CompatBackward, CompatBackwardTransitive, CompatForward, CompatForwardTransitive, CompatFull, CompatFullTransitive}

// A schema is always compatible with itself, under every level.
func TestPropertySelfCompatible(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := mustParse(t, drawRecord(t, "schema"))
		for _, level := range allLevels {
			if msgs := defaultCompatMessages(t, level, p, p, 1); len(msgs) != 0 {
				t.Fatalf("schema incompatible with itself under %s: %v", level, msgs)
			}
		}
	})
}

// FULL is exactly BACKWARD and FORWARD together, for any pair of schemas.
func TestPropertyFullIsBackwardAndForward(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		old, candidate := mustParse(t, drawRecord(t, "old")), mustParse(t, drawRecord(t, "new"))
		full := len(defaultCompatMessages(t, CompatFull, candidate, old, 1)) == 0
		backward := len(defaultCompatMessages(t, CompatBackward, candidate, old, 1)) == 0
		forward := len(defaultCompatMessages(t, CompatForward, candidate, old, 1)) == 0
		if full != (backward && forward) {
			t.Fatalf("FULL %v, BACKWARD %v, FORWARD %v", full, backward, forward)
		}
	})
}

// A schema compatible under a transitive level is compatible under its non-transitive one, and
// canonical text (hence the ID) does not depend on whitespace or key order.
func TestPropertyTransitiveImpliesNonTransitive(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := context.Background()
	subjects := 0
	rapid.Check(t, func(t *rapid.T) {
		subjects++
		subject := fmt.Sprintf("s%d", subjects)
		if _, err := r.SetConfig(ctx, subject, Config{Compatibility: CompatNone}); err != nil {
			t.Fatal(err)
		}
		for i := range rapid.IntRange(1, 3).Draw(t, "versions") {
			if _, err := r.Register(ctx, subject, avroIn(drawRecord(t, fmt.Sprintf("v%d", i)))); err != nil {
				t.Fatal(err)
			}
		}
		candidate := avroIn(drawRecord(t, "candidate"))
		for _, pair := range [][2]CompatibilityLevel{{CompatBackwardTransitive, CompatBackward}, {CompatForwardTransitive, CompatForward}, {CompatFullTransitive, CompatFull}} {
			verdict := map[CompatibilityLevel]bool{}
			for _, level := range pair {
				if _, err := r.SetConfig(ctx, subject, Config{Compatibility: level}); err != nil {
					t.Fatal(err)
				}
				msgs, err := r.CheckCompatibility(ctx, subject, 0, candidate)
				if err != nil {
					t.Fatal(err)
				}
				verdict[level] = len(msgs) == 0
			}
			if verdict[pair[0]] && !verdict[pair[1]] {
				t.Fatalf("compatible under %s but not under %s", pair[0], pair[1])
			}
		}
	})
}

// Canonical form is idempotent, and ID assignment is stable under whitespace and key-order
// changes.
func TestPropertyCanonicalAndIDStable(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := context.Background()
	n := 0
	rapid.Check(t, func(t *rapid.T) {
		text := drawRecord(t, "schema")
		p := mustParse(t, text)
		again := mustParse(t, p.canonical)
		if again.canonical != p.canonical {
			t.Fatalf("canonical form not idempotent:\n%s\n%s", p.canonical, again.canonical)
		}
		// The same schema re-spelled: indented, with the keys of every object reversed.
		var doc any
		if err := json.Unmarshal([]byte(text), &doc); err != nil {
			t.Fatal(err)
		}
		respelled := reversedKeys(doc, "  ")
		n++
		a, err := r.Register(ctx, fmt.Sprintf("a%d", n), avroIn(text))
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.Register(ctx, fmt.Sprintf("b%d", n), avroIn(respelled))
		if err != nil {
			t.Fatal(err)
		}
		if a.Schema.ID != b.Schema.ID {
			t.Fatalf("IDs %d and %d for one schema spelled two ways:\n%s\n%s", a.Schema.ID, b.Schema.ID, text, respelled)
		}
	})
}

// reversedKeys writes v as JSON with every object's keys in reverse order, indented.
func reversedKeys(v any, indent string) string {
	var sb strings.Builder
	var write func(v any, depth int)
	write = func(v any, depth int) {
		pad := "\n" + strings.Repeat(indent, depth+1)
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			// Reverse lexical order: the opposite of encoding/json's.
			for i := range keys {
				for j := i + 1; j < len(keys); j++ {
					if keys[j] > keys[i] {
						keys[i], keys[j] = keys[j], keys[i]
					}
				}
			}
			sb.WriteString("{")
			for i, k := range keys {
				if i > 0 {
					sb.WriteString(",")
				}
				kb, _ := json.Marshal(k)
				sb.WriteString(pad + string(kb) + " : ")
				write(v[k], depth+1)
			}
			sb.WriteString("\n" + strings.Repeat(indent, depth) + "}")
		case []any:
			sb.WriteString("[")
			for i, e := range v {
				if i > 0 {
					sb.WriteString(", ")
				}
				write(e, depth+1)
			}
			sb.WriteString("]")
		default:
			b, _ := json.Marshal(v)
			sb.Write(b)
		}
	}
	write(v, 0)
	return sb.String()
}

// defaultCompatMessages is compatMessages with a fresh default budget; the property schemas
// are small, so the budget is never exceeded and no error is expected.
func defaultCompatMessages(t *rapid.T, level CompatibilityLevel, candidate, old *parsedSchema, oldVersion int) []string {
	msgs, err := compatMessages(compatbudget.New(context.Background(), 0), level, candidate, old, oldVersion)
	if err != nil {
		t.Fatalf("compatMessages: %v", err)
	}
	return msgs
}
