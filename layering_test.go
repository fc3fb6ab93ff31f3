package schemagate_test

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const module = "github.com/schemagate/schemagate"

// allowedImports is the layering of DESIGN.md: cmd → gateway → {governance, validate} →
// registry → store, and governance → store. A package may import only the packages listed for
// it (and anything outside the module). Generated and leaf packages import nothing of ours.
var allowedImports = map[string][]string{
	"cmd/schemagate":      {"gateway", "gateway/auth", "proto/schemagate/v1"},
	"gateway":             {"gateway/auth", "gateway/confluent", "governance", "governance/notify", "validate", "registry", "store", "proto/schemagate/v1"},
	"gateway/auth":        {},
	"gateway/confluent":   {"gateway/auth", "registry"},
	"governance":          {"registry", "store"},
	"governance/notify":   {},
	"validate":            {"registry", "internal/jsonpointer"},
	"registry":            {"store", "registry/avrocompat", "registry/jsoncompat", "internal/jsonpointer"},
	"registry/avrocompat": {},
	"registry/jsoncompat": {"internal/jsonpointer"},
	"store":               {},
	"store/storetest":     {"store"},
	"store/storefault":    {"store"},
	"tests/harness":       {},
	"proto/schemagate/v1": {},

	// Leaf helpers shared by the packages above.
	"internal/jsonpointer": {},
}

// TestLayering parses the imports of every non-test Go file and fails when a package imports a
// package of ours that its layer may not, or when a package appears that the table does not
// place in a layer.
func TestLayering(t *testing.T) {
	problems, seen, err := checkLayering(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	for pkg := range allowedImports {
		if !seen[pkg] {
			t.Errorf("no Go files found for %s: the walk is broken or the table is out of date", pkg)
		}
	}
}

// TestLayeringCatchesViolations runs the checker on a tree where registry imports gateway.
func TestLayeringCatchesViolations(t *testing.T) {
	problems, _, err := checkLayering("testdata/layering")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"registry/bad.go imports github.com/schemagate/schemagate/gateway: registry may import only [store registry/avrocompat registry/jsoncompat internal/jsonpointer]",
		"stray/x.go: package stray has no place in the layering table; add it to allowedImports",
	}
	if diff := cmp.Diff(want, problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// checkLayering walks root and returns every layering problem, and the packages it saw.
func checkLayering(root string) (problems []string, seen map[string]bool, err error) {
	fset := token.NewFileSet()
	seen = map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if name := d.Name(); rel != "." && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata" || name == "third_party") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		pkg := filepath.ToSlash(filepath.Dir(rel))
		allowed, known := allowedImports[pkg]
		if !known {
			problems = append(problems, fmt.Sprintf("%s: package %s has no place in the layering table; add it to allowedImports", rel, pkg))
			return nil
		}
		seen[pkg] = true
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			dep, ours := strings.CutPrefix(p, module+"/")
			if ours && !slices.Contains(allowed, dep) {
				problems = append(problems, fmt.Sprintf("%s imports %s: %s may import only %v", rel, p, pkg, allowed))
			}
		}
		return nil
	})
	return problems, seen, err
}

// TestLayeringTableIsAcyclic guards the table itself: walking the allowed imports from any
// package never returns to it.
func TestLayeringTableIsAcyclic(t *testing.T) {
	var visit func(pkg string, stack []string)
	visit = func(pkg string, stack []string) {
		if slices.Contains(stack, pkg) {
			t.Fatalf("layering cycle: %s -> %s", strings.Join(stack, " -> "), pkg)
		}
		for _, dep := range allowedImports[pkg] {
			visit(dep, append(stack, pkg))
		}
	}
	for pkg := range allowedImports {
		visit(pkg, nil)
	}
}
