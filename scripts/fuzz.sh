#!/bin/sh
# Runs every Go fuzz target of the module for FUZZTIME each (default 60s):
# `make fuzz` (a minute each) and `make fuzz-long` (ten minutes each). The
# targets are found with `go test -list`, so a new Fuzz function is fuzzed
# without touching this script. A crasher is written by `go test` into the
# package's testdata/fuzz/<Target>/ and then runs as a regression seed in
# every `go test`; commit it with the fix.
set -eu
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-60s}
failed=""
for pkg in $(go list ./...); do
	targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for target in $targets; do
		echo "fuzz: $pkg $target for $FUZZTIME"
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"; then
			failed="$failed $pkg.$target"
		fi
	done
done
if [ -n "$failed" ]; then
	echo "fuzz: failures in:$failed (crashers are in the packages' testdata/fuzz)" >&2
	exit 1
fi
echo "fuzz: every target ran $FUZZTIME without a failure"
