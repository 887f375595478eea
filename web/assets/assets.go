// Package assets embeds the browser files served under /assets/: the hls.js
// player copied into dist/ by build.sh (from npm), when it was built.
package assets

import (
	"embed"
	"io/fs"
)

//go:embed dist
var embedded embed.FS

// FS holds the embedded files at its root (dist/ stripped): "hls.min.js" when
// built, and "README".
var FS fs.FS = mustSub(embedded, "dist")

// HLSFile is the name of the hls.js build in FS.
const HLSFile = "hls.min.js"

// HLSBuilt reports whether hls.js was built into this binary.
func HLSBuilt() bool {
	fi, err := fs.Stat(FS, HLSFile)
	return err == nil && fi.Size() > 0
}

// mustSub returns the subtree dir of f; dir is a constant that always exists.
func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
