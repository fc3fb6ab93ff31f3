#!/bin/sh
# build-static.sh OUT: the one way a release binary of schemagate is built. The container image's
# build stage runs exactly this (Dockerfile), and tests/packaging runs it and checks the result.
#
#   CGO_ENABLED=0    a static binary: no libc, no dynamic loader, so it runs on distroless or
#                    scratch and on any Linux of the same architecture
#   -trimpath        no build machine paths in the binary (reproducible builds)
#   -buildvcs=auto   the commit is stamped when the source is a git checkout (`schemagate
#                    version`); a source tree without .git builds all the same
#
# GOFLAGS is cleared so that the builder's environment cannot change the build; GOOS and GOARCH
# are honoured for cross builds. OUT is relative to the current directory.
set -eu
if [ "$#" -ne 1 ] || [ -z "$1" ]; then
	echo "usage: scripts/build-static.sh OUT" >&2
	exit 2
fi
case "$1" in
/*) out=$1 ;;
*) out=$(pwd)/$1 ;;
esac
cd "$(dirname "$0")/.."
GOFLAGS= CGO_ENABLED=0 exec go build -trimpath -buildvcs=auto -o "$out" ./cmd/schemagate
