#!/bin/sh
# Copies the browser player (hls.js, installed by `npm ci` into node_modules)
# into web/assets/dist, where `go:embed` picks it up. Run from anywhere:
#   sh web/assets/build.sh
# Exits non-zero when node_modules/hls.js is missing (run `npm ci` first).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
src="$root/node_modules/hls.js/dist/hls.min.js"
dist="$here/dist"

if [ ! -f "$src" ]; then
	echo "build.sh: $src not found; run 'npm ci' in $root first" >&2
	exit 1
fi

mkdir -p "$dist"
# Copy through a temporary name so a concurrent `go build` never embeds half a file.
cp "$src" "$dist/hls.min.js.tmp"
mv "$dist/hls.min.js.tmp" "$dist/hls.min.js"
version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$root/node_modules/hls.js/package.json" | head -n 1)
echo "build.sh: hls.js ${version:-unknown} -> $dist/hls.min.js"
