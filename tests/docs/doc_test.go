// Package docs_test runs the shell examples of README.md and docs/operations/runbook.md against
// a real `schemagate serve`, as a reader would type them, and compares their output with the
// output the documents show, so an example that does not work as written fails `make test`.
//
// # How a document is read
//
// Every ```sh block runs, in order, in one working directory per document, unless the line
// before its fence is a directive:
//
//	<!-- docs-test: skip REASON -->       the block is not run (REASON is required)
//	<!-- docs-test: as PRINCIPAL -->      run with SCHEMAGATE_TOKEN set to that principal's token
//	<!-- docs-test: before HOOK -->       the test's HOOK prepares the server first
//
// (several separated by ";"). A block runs as one bash script, so a file or variable it creates
// is there for its later commands; blocks share the working directory, not variables. In a
// block, the comment lines right after a command (no blank line between) are the command's
// expected output, "# " stripped: "..." alone on a line matches any number of lines, "..."
// inside a line any text. A last expected line "[N]" is the command's exit status; without one
// it must exit 0. Other comments are prose.
//
// The documents address the server as 127.0.0.1:8081 (HTTP) and the CLI's default
// 127.0.0.1:9091 (gRPC); the test's server listens on free ports, so curl and the CLI are shell
// functions that send those addresses to it, and `go run ./cmd/schemagate` runs the test's
// build of the command.
package docs_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// block is one ```sh block of a document.
type block struct {
	line       int // of the opening fence
	directives []string
	steps      []step
}

// step is one command of a block with the output the document shows for it.
type step struct {
	line     int
	command  string // with its continuation and here-document lines
	want     []string
	wantExit int
	checked  bool // the document shows output or an exit status
}

var directiveRE = regexp.MustCompile(`^<!-- docs-test: (.+) -->$`)

// parseDoc returns the ```sh blocks of a Markdown document.
func parseDoc(text string) ([]block, error) {
	lines := strings.Split(text, "\n")
	var blocks []block
	prev := ""
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		indent := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " "))]
		if strings.HasPrefix(l, "```") && l != "```sh" {
			// Another language's block: skip to its end, so its contents are never fences.
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			}
			prev = ""
			continue
		}
		if l != "```sh" {
			if l != "" {
				prev = l
			}
			continue
		}
		b := block{line: i + 1}
		if m := directiveRE.FindStringSubmatch(prev); m != nil {
			for _, d := range strings.Split(m[1], ";") {
				b.directives = append(b.directives, strings.TrimSpace(d))
			}
		}
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		if end == len(lines) {
			return nil, fmt.Errorf("line %d: the ```sh block is not closed", i+1)
		}
		body := make([]string, 0, end-i-1)
		for _, bl := range lines[i+1 : end] {
			body = append(body, strings.TrimPrefix(bl, indent)) // a block inside a list item
		}
		steps, err := parseSteps(body, i+2)
		if err != nil {
			return nil, err
		}
		b.steps = steps
		blocks = append(blocks, b)
		i, prev = end, ""
	}
	return blocks, nil
}

var heredocRE = regexp.MustCompile(`<<-?\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?`)

// parseSteps splits a block's lines (the first is document line first) into commands with their
// expected output.
func parseSteps(lines []string, first int) ([]step, error) {
	var steps []step
	for i := 0; i < len(lines); {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
			i++
			continue
		}
		s := step{line: first + i}
		var cmd []string
		for {
			cmd = append(cmd, lines[i])
			cur := lines[i]
			i++
			if m := heredocRE.FindStringSubmatch(cur); m != nil {
				for i < len(lines) && strings.TrimSpace(lines[i]) != m[1] {
					cmd = append(cmd, lines[i])
					i++
				}
				if i == len(lines) {
					return nil, fmt.Errorf("line %d: here-document %s is not closed", s.line, m[1])
				}
				cmd = append(cmd, lines[i])
				i++
			}
			if !strings.HasSuffix(cur, `\`) || i == len(lines) {
				break
			}
		}
		s.command = strings.Join(cmd, "\n")
		for i < len(lines) && (lines[i] == "#" || strings.HasPrefix(lines[i], "# ")) {
			s.want = append(s.want, strings.TrimPrefix(strings.TrimPrefix(lines[i], "#"), " "))
			i++
		}
		if n := len(s.want); n > 0 {
			if m := regexp.MustCompile(`^\[(\d+)\]$`).FindStringSubmatch(s.want[n-1]); m != nil {
				s.wantExit, _ = strconv.Atoi(m[1])
				s.want = s.want[:n-1]
			}
			s.checked = true
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// matchOutput reports whether got (output lines) matches want (expected lines with "..."
// wildcards).
func matchOutput(want, got []string) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	if want[0] == "..." {
		for k := 0; k <= len(got); k++ {
			if matchOutput(want[1:], got[k:]) {
				return true
			}
		}
		return false
	}
	if len(got) == 0 || !lineRE(want[0]).MatchString(got[0]) {
		return false
	}
	return matchOutput(want[1:], got[1:])
}

// lineRE is the pattern of one expected line: literal text, "..." matching anything.
func lineRE(want string) *regexp.Regexp {
	parts := strings.Split(want, "...")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`^` + strings.Join(parts, ".*") + `$`)
}

// shellPrelude defines the shell functions that point the documents' addresses and commands at
// the test's server and build.
const shellPrelude = `exec 2>&1
schemagate() { "$SG_BIN" "$@" --server "$SG_GRPC"; }
go() { if [ "$1" = run ] && [ "$2" = ./cmd/schemagate ]; then shift 2; schemagate "$@"; else command go "$@"; fi; }
curl() { command curl "${@//127.0.0.1:8081/$SG_HTTP}"; }
`

// stepMarker separates the output of a block's commands: "@@docs-test STEP EXIT@@".
var stepMarker = regexp.MustCompile(`(?m)^@@docs-test (\d+) (\d+)@@$`)

// runBlock runs b's commands as one bash script in dir with env, and reports each command whose
// output or exit status differs from what the document shows.
func runBlock(t *testing.T, doc string, b block, dir string, env []string) {
	t.Helper()
	var script strings.Builder
	script.WriteString(shellPrelude)
	for i, s := range b.steps {
		fmt.Fprintf(&script, "%s\nprintf '\\n@@docs-test %d %%d@@\\n' $?\n", s.command, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if ctx.Err() != nil {
		t.Fatalf("%s:%d: the block did not finish in 2 minutes; output so far:\n%s", doc, b.line, out)
	}
	if err != nil {
		t.Fatalf("%s:%d: bash: %v\n%s", doc, b.line, err, out)
	}
	text := string(out)
	locs := stepMarker.FindAllStringSubmatchIndex(text, -1)
	if len(locs) != len(b.steps) {
		t.Fatalf("%s:%d: %d of %d commands finished (an exit in the block?); output:\n%s", doc, b.line, len(locs), len(b.steps), text)
	}
	start := 0
	for i, loc := range locs {
		s := b.steps[i]
		got := outputLines(text[start:loc[0]])
		start = loc[1]
		exit, _ := strconv.Atoi(text[loc[4]:loc[5]])
		if exit != s.wantExit {
			t.Errorf("%s:%d: %s\nexited %d; want %d. Output:\n%s", doc, s.line, s.command, exit, s.wantExit, strings.Join(got, "\n"))
			continue
		}
		if s.checked && !matchOutput(s.want, got) {
			t.Errorf("%s:%d: %s\noutput:\n%s\nwant (the document shows):\n%s", doc, s.line, s.command,
				strings.Join(got, "\n"), strings.Join(s.want, "\n"))
		}
	}
}

// outputLines splits a command's output into lines without trailing blanks or blank lines. A
// line that is a JSON document is compacted: protojson (the /v1 API) varies its spacing on
// purpose, so the documents show JSON without spaces between tokens.
func outputLines(s string) []string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), " \t\r")
		var compact bytes.Buffer
		if json.Compact(&compact, []byte(l)) == nil {
			l = compact.String()
		}
		lines = append(lines, l)
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	return lines
}
