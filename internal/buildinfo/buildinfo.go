// Package buildinfo reports what schemagate binary is running: its module version, the VCS
// commit it was built from and the Go release that built it, read from the build information
// the Go toolchain embeds (runtime/debug.ReadBuildInfo). Each value is Unknown when the binary
// does not carry it (a test binary, a build outside a checkout, a build with -buildvcs=false).
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Unknown stands for a value the build information does not carry.
const Unknown = "unknown"

// Info is what the build information says about the running binary.
type Info struct {
	// Version is the main module's version (v1.2.3 for a module built with go install
	// module@version), Unknown for a development build ("(devel)").
	Version string
	// Commit is the VCS revision the binary was built from (vcs.revision), with "-dirty"
	// appended when the checkout had uncommitted changes (vcs.modified).
	Commit string
	// GoVersion is the Go release that built the binary (go1.26.0).
	GoVersion string
}

// String is the one line `schemagate version` prints: "schemagate VERSION (commit COMMIT, GOVERSION)".
func (i Info) String() string {
	return "schemagate " + i.Version + " (commit " + i.Commit + ", " + i.GoVersion + ")"
}

// Read returns the running binary's build information.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(bi)
}

// Version is Read().Version.
func Version() string { return Read().Version }

// Commit is Read().Commit.
func Commit() string { return Read().Commit }

// GoVersion is Read().GoVersion.
func GoVersion() string { return Read().GoVersion }

// fromBuildInfo reads Info from bi (nil: none at all).
func fromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: Unknown, Commit: Unknown, GoVersion: runtime.Version()}
	if bi == nil {
		return info
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		info.Version = v
	}
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if s.Value != "" {
				info.Commit = s.Value
			}
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && info.Commit != Unknown {
		info.Commit += "-dirty"
	}
	return info
}
