package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFromBuildInfo(t *testing.T) {
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want Info
	}{
		{"no build information", nil, Info{Version: Unknown, Commit: Unknown, GoVersion: runtime.Version()}},
		{"development build without VCS", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}},
			Info{Version: Unknown, Commit: Unknown, GoVersion: "go1.26.0"}},
		{"release built from a clean checkout", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v1.4.0"},
			Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.modified", Value: "false"}}},
			Info{Version: "v1.4.0", Commit: "0123abc", GoVersion: "go1.26.1"}},
		{"checkout with uncommitted changes", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.modified", Value: "true"}}},
			Info{Version: Unknown, Commit: "0123abc-dirty", GoVersion: "go1.26.0"}},
		{"modified but no revision", &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.modified", Value: "true"}}},
			Info{Version: Unknown, Commit: Unknown, GoVersion: runtime.Version()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, fromBuildInfo(tc.bi)); diff != "" {
				t.Errorf("Info (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRead checks that the running binary's information is complete: every field set, the Go
// version the runtime reports.
func TestRead(t *testing.T) {
	got := Read()
	if got.Version == "" || got.Commit == "" || got.GoVersion != runtime.Version() {
		t.Errorf("Read() = %+v; want every field set and GoVersion %s", got, runtime.Version())
	}
	if got != (Info{Version: Version(), Commit: Commit(), GoVersion: GoVersion()}) {
		t.Errorf("Version, Commit, GoVersion disagree with Read() = %+v", got)
	}
}
