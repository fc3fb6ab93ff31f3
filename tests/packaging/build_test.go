package packaging

import (
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/tests/harness"
)

// repoRoot is the checkout this package's tests run in.
const repoRoot = "../.."

// buildScript is the one release build command: the Dockerfile's build stage runs it, and the
// tests run the binary it builds.
const buildScript = "scripts/build-static.sh"

// staticDir holds the binary staticBinary built; TestMain removes it.
var staticDir string

// staticBinary builds the schemagate command with scripts/build-static.sh once per test process
// and returns its path.
var staticBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "schemagate-static-")
	if err != nil {
		return "", err
	}
	staticDir = dir
	out := filepath.Join(dir, "schemagate")
	cmd := exec.Command(filepath.Join(repoRoot, buildScript), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New(buildScript + ": " + err.Error() + "\n" + string(b))
	}
	return out, nil
})

// builtStatic returns the binary scripts/build-static.sh built, failing the test when it did not
// build.
func builtStatic(t *testing.T) string {
	t.Helper()
	bin, err := staticBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// dynamicLinking lists what makes the ELF file at path depend on the system it runs on: a
// dynamic loader (PT_INTERP) and shared libraries (DT_NEEDED). A static binary has neither.
func dynamicLinking(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var deps []string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			deps = append(deps, "PT_INTERP")
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		return nil, err
	}
	for _, l := range libs {
		deps = append(deps, "DT_NEEDED "+l)
	}
	return deps, nil
}

// TestStaticBuild: scripts/build-static.sh builds a binary that needs no dynamic loader and no
// shared library (so it runs on distroless or scratch), with cgo off and without build-machine
// paths, that names the same version and commit as the test's own build. The check itself
// finds the loader and libc of the system's /bin/sh, so it is not vacuous.
func TestStaticBuild(t *testing.T) {
	bin := builtStatic(t)
	deps, err := dynamicLinking(bin)
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 0 {
		t.Errorf("%s links dynamically: %v", buildScript, deps)
	}
	if deps, err := dynamicLinking("/bin/sh"); err != nil || len(deps) == 0 {
		t.Errorf("/bin/sh (dynamic on Debian): %v, %v; the check finds nothing", deps, err)
	}

	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range info.Settings {
		if s.Key == "CGO_ENABLED" || s.Key == "-trimpath" {
			got[s.Key] = s.Value
		}
	}
	if diff := cmp.Diff(map[string]string{"CGO_ENABLED": "0", "-trimpath": "true"}, got); diff != "" {
		t.Errorf("build settings of %s (-want +got):\n%s", buildScript, diff)
	}

	want, _, _ := harness.Run(t, nil, "version")
	if res := runBinary(t, bin, "version"); res != (result{0, want, ""}) {
		t.Errorf("%s version: %+v; want what the test's build says, %q", bin, res, want)
	}
}

// checkoutFile returns the absolute path of the checkout's file name (slash-separated, from
// the repository root), for a process that runs in another directory.
func checkoutFile(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(repoRoot, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// result is what a one-shot run of a binary shows its caller.
type result struct {
	Code           int
	Stdout, Stderr string
}

// runBinary runs bin with args through the harness, as a container runtime runs a health
// check: a short command, not a server (servers start through harness.Start).
func runBinary(t *testing.T, bin string, args ...string) result {
	t.Helper()
	stdout, stderr, code := harness.RunBinary(t, bin, nil, args...)
	return result{code, stdout, stderr}
}

// mapPaths replaces, in each of args, a path under one of the keys of paths (the path itself
// or below it) with the same path under its value: the image's or the unit's paths, moved into
// the test's temporary directories.
func mapPaths(paths map[string]string, args ...string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		for from, to := range paths {
			if a == from || strings.HasPrefix(a, from+"/") {
				out[i] = to + strings.TrimPrefix(a, from)
			}
		}
		if name, value, ok := strings.Cut(a, "="); ok && out[i] == a { // NAME=/path
			if m := mapPaths(paths, value)[0]; m != value {
				out[i] = name + "=" + m
			}
		}
	}
	return out
}
