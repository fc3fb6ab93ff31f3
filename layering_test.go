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

// floors is the layering of DESIGN.md, one column, top first:
// cmd → gateway → governance → validate → registry → store. A package stands on the floor of
// its top directory (gateway/auth on gateway's). It may import packages of any floor below its
// own, and on its own floor only packages of the same top directory (gateway/confluent may
// import gateway/auth); never a floor above.
var floors = []string{"cmd", "gateway", "governance", "validate", "registry", "store"}

// leaves are packages that import nothing of ours and that any package may import: generated
// code and small helpers.
var leaves = []string{"proto/schemagate/v1", "tests/harness", "tests/srfake", "internal/jsonpointer", "internal/buildinfo"}

// floorOf returns the floor of pkg (0 is the top) and whether it has one.
func floorOf(pkg string) (int, bool) {
	top, _, _ := strings.Cut(pkg, "/")
	i := slices.Index(floors, top)
	return i, i >= 0
}

// importProblem says why pkg may not import dep ("" when it may).
func importProblem(pkg, dep string) string {
	if slices.Contains(leaves, pkg) {
		return fmt.Sprintf("%s is a leaf and may import nothing of ours", pkg)
	}
	if slices.Contains(leaves, dep) {
		return ""
	}
	from, _ := floorOf(pkg)
	to, ok := floorOf(dep)
	switch {
	case !ok:
		return fmt.Sprintf("%s has no place in the layering", dep)
	case to < from:
		return fmt.Sprintf("%s is on floor %s, above %s's floor %s", dep, floors[to], pkg, floors[from])
	}
	return ""
}

// TestLayering parses the imports of every non-test Go file and fails when a package imports a
// package of ours that its floor may not, or when a package has no place in the layering; and
// when a floor or leaf has no Go files (the walk would be broken).
func TestLayering(t *testing.T) {
	problems, seen, err := checkLayering(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	for _, want := range append(slices.Clone(floors), leaves...) {
		if !slices.ContainsFunc(seen, func(pkg string) bool { return pkg == want || strings.HasPrefix(pkg, want+"/") }) {
			t.Errorf("no Go files found for %s: the walk is broken or the layering is out of date", want)
		}
	}
}

// TestLayeringCatchesViolations runs the checker on a tree where registry imports gateway,
// validate imports governance (one floor up), a leaf imports a package of ours and a package
// stands outside the layering.
func TestLayeringCatchesViolations(t *testing.T) {
	problems, _, err := checkLayering("testdata/layering")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"proto/schemagate/v1/x.go imports github.com/schemagate/schemagate/store: proto/schemagate/v1 is a leaf and may import nothing of ours",
		"registry/bad.go imports github.com/schemagate/schemagate/gateway: gateway is on floor gateway, above registry's floor registry",
		"stray/x.go: package stray has no place in the layering; put it on a floor or make it a leaf",
		"validate/up.go imports github.com/schemagate/schemagate/governance: governance is on floor governance, above validate's floor validate",
	}
	if diff := cmp.Diff(want, problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// checkLayering walks root and returns every layering problem, and the packages it saw.
func checkLayering(root string) (problems, seen []string, err error) {
	fset := token.NewFileSet()
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
		if _, onFloor := floorOf(pkg); !onFloor && !slices.Contains(leaves, pkg) {
			problems = append(problems, fmt.Sprintf("%s: package %s has no place in the layering; put it on a floor or make it a leaf", rel, pkg))
			return nil
		}
		if !slices.Contains(seen, pkg) {
			seen = append(seen, pkg)
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if dep, ours := strings.CutPrefix(p, module+"/"); ours {
				if why := importProblem(pkg, dep); why != "" {
					problems = append(problems, fmt.Sprintf("%s imports %s: %s", rel, p, why))
				}
			}
		}
		return nil
	})
	return problems, seen, err
}
