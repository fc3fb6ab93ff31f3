package packaging

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/schemagate/schemagate/tests/harness"
)

// instruction is one instruction of a Dockerfile: its keyword in upper case and the rest of
// its line, continuation lines joined.
type instruction struct{ keyword, args string }

// stage is one FROM of a Dockerfile and the instructions after it.
type stage struct {
	from         string
	instructions []instruction
}

// all returns the arguments of every instruction of s with keyword.
func (s stage) all(keyword string) []string {
	var args []string
	for _, in := range s.instructions {
		if in.keyword == keyword {
			args = append(args, in.args)
		}
	}
	return args
}

// last returns the arguments of the last instruction of s with keyword ("" when there is
// none): the one in force for ENTRYPOINT, CMD, USER, WORKDIR and HEALTHCHECK.
func (s stage) last(keyword string) string {
	all := s.all(keyword)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1]
}

// parseDockerfile reads the stages of a Dockerfile: comments and blank lines are dropped, a
// line ending in a backslash continues on the next.
func parseDockerfile(text string) ([]stage, error) {
	var stages []stage
	var line string
	for n, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if line == "" && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if cont, ok := strings.CutSuffix(l, `\`); ok {
			line += cont + " "
			continue
		}
		line += l
		keyword, args, _ := strings.Cut(line, " ")
		line = ""
		in := instruction{strings.ToUpper(keyword), strings.TrimSpace(args)}
		if in.keyword == "FROM" {
			stages = append(stages, stage{from: in.args})
			continue
		}
		if len(stages) == 0 {
			return nil, fmt.Errorf("line %d: %s before FROM", n+1, in.keyword)
		}
		stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, in)
	}
	return stages, nil
}

// execForm decodes an instruction's JSON array (ENTRYPOINT ["a", "b"]).
func execForm(t *testing.T, keyword, args string) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil || len(argv) == 0 {
		t.Fatalf("Dockerfile %s %s: want the exec form, a JSON array (the image has no shell): %v", keyword, args, err)
	}
	return argv
}

// withoutOptions drops the --name=value options that start an instruction's arguments (RUN
// --mount=…, COPY --from=…, HEALTHCHECK --interval=…) and returns them apart.
func withoutOptions(args string) (options map[string]string, rest string) {
	options = map[string]string{}
	for strings.HasPrefix(args, "--") {
		opt, after, _ := strings.Cut(args, " ")
		name, value, _ := strings.Cut(strings.TrimPrefix(opt, "--"), "=")
		options[name] = value
		args = strings.TrimSpace(after)
	}
	return options, args
}

// TestImage reads the Dockerfile and runs what it describes: its build stage builds with
// scripts/build-static.sh and nothing else, so the binary the test builds with that script is
// the image's; the image runs as a non-root user, keeps its data on the /data volume, exposes
// 8081 and 9091 and checks its health with `schemagate healthcheck`. The binary then starts
// with the image's environment, working directory, default command and configuration file
// (image paths mapped into temporary directories, the ports the harness picks), stores its
// database under /data and logs as that configuration says; the health check passes while it
// runs and fails (exit 3) once it has stopped.
func TestImage(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages, err := parseDockerfile(string(text))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile: %d stages, want a build stage and a runtime stage", len(stages))
	}
	build, image := stages[0], stages[len(stages)-1]

	// The build: exactly one command builds, the script, and the image takes its output.
	var builds []string
	for _, run := range build.all("RUN") {
		if _, cmd := withoutOptions(run); strings.Contains(cmd, "go build") || strings.Contains(cmd, buildScript) {
			builds = append(builds, cmd)
		}
	}
	if len(builds) != 1 || !strings.HasPrefix(builds[0], buildScript+" ") {
		t.Fatalf("Dockerfile build stage builds with %q; want one RUN %s OUT", builds, buildScript)
	}
	buildOut := strings.TrimPrefix(builds[0], buildScript+" ")
	entrypoint := execForm(t, "ENTRYPOINT", image.last("ENTRYPOINT"))
	copies := map[string]string{} // image path → where it comes from: "build:PATH" or a file of the checkout
	for _, c := range image.all("COPY") {
		opts, paths := withoutOptions(c)
		src, dst, ok := strings.Cut(paths, " ")
		if !ok {
			t.Fatalf("Dockerfile COPY %s: want SRC DST", c)
		}
		if opts["from"] != "" {
			src = opts["from"] + ":" + src
		}
		copies[dst] = src
	}
	if got, want := copies[entrypoint[0]], "build:"+buildOut; got != want {
		t.Fatalf("the image's entrypoint %s comes from %q, want the build script's output %q", entrypoint[0], got, want)
	}

	// What a user relies on, as the Dockerfile says it.
	env := map[string]string{}
	for _, e := range image.all("ENV") {
		name, value, _ := strings.Cut(e, "=")
		env[name] = value
	}
	hcOpts, hc := withoutOptions(image.last("HEALTHCHECK"))
	hcCmd, hcArgs, _ := strings.Cut(hc, " ")
	got := imageContract{
		NonRoot:     !slices.Contains([]string{"", "0", "root", "0:0", "root:root"}, image.last("USER")),
		Volumes:     execForm(t, "VOLUME", image.last("VOLUME")),
		Expose:      strings.Fields(image.last("EXPOSE")),
		DataDir:     env["SCHEMAGATE_SERVER_DATA_DIR"],
		Healthcheck: execForm(t, "HEALTHCHECK CMD", hcArgs),
		HealthStart: hcOpts["start-period"] != "",
	}
	want := imageContract{
		NonRoot:     true,
		Volumes:     []string{"/data"},
		Expose:      []string{"8081", "9091"},
		DataDir:     "/data",
		Healthcheck: []string{entrypoint[0], "healthcheck"},
		HealthStart: true,
	}
	if hcCmd != "CMD" {
		t.Errorf("HEALTHCHECK %s: want CMD [...]", hc)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Dockerfile (-want +got):\n%s", diff)
	}

	// Run it: the image's paths are moved into temporary directories, its files are the
	// checkout's files it copies.
	bin := builtStatic(t)
	paths := map[string]string{"/data": t.TempDir(), entrypoint[0]: bin}
	for dst, src := range copies {
		if !strings.Contains(src, ":") {
			paths[dst] = checkoutFile(t, src)
		}
	}
	cmdArgs := mapPaths(paths, execForm(t, "CMD", image.last("CMD"))...)
	if cmdArgs[0] != "serve" {
		t.Fatalf("the image's command is %q, want serve …", cmdArgs)
	}
	var envList []string
	for name, value := range env {
		envList = append(envList, name+"="+value)
	}
	dataDir := mapPaths(paths, env["SCHEMAGATE_SERVER_DATA_DIR"])[0]
	srv := harness.Start(t, harness.Options{
		Name:    "image",
		Binary:  bin,
		DataDir: dataDir,
		Dir:     mapPaths(paths, image.last("WORKDIR"))[0],
		Env:     mapPaths(paths, envList...),
		Args:    cmdArgs[1:],
	})
	// The harness's ports, not the image's 8081: other tests run on this machine.
	probe := append(mapPaths(paths, got.Healthcheck...), "--url", srv.URL()+"/readyz")
	if res := runBinary(t, probe[0], probe[1:]...); res != (result{0, "ready\n", ""}) {
		t.Errorf("the image's health check on a running server: %+v, want exit 0 and ready", res)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "schemagate.db")); err != nil {
		t.Errorf("the database is not under the image's /data: %v", err)
	}
	if !strings.Contains(srv.Log(), `"msg":"schemagate serving"`) {
		t.Errorf("the server does not log JSON, as the image's configuration says:\n%s", srv.Log())
	}

	if err := srv.Stop(t); err != nil {
		t.Fatalf("stop: %v (exit 0 expected on SIGTERM, what docker stop sends)", err)
	}
	res := runBinary(t, probe[0], probe[1:]...)
	if res.Code != 3 || res.Stdout != "" || !strings.Contains(res.Stderr, "connection refused") {
		t.Errorf("the image's health check on a stopped server: %+v, want exit 3 and the refused connection on stderr", res)
	}
}

// imageContract is what the image promises its users.
type imageContract struct {
	NonRoot     bool     // USER is not root
	Volumes     []string // VOLUME
	Expose      []string // EXPOSE: HTTP and gRPC
	DataDir     string   // SCHEMAGATE_SERVER_DATA_DIR, on the volume
	Healthcheck []string // HEALTHCHECK CMD: the binary's own probe, no shell
	HealthStart bool     // HEALTHCHECK --start-period: migrations at start are not unhealthy
}
