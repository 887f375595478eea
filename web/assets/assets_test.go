package assets

import (
	"io/fs"
	"testing"
)

func TestFSHasReadme(t *testing.T) {
	if _, err := fs.Stat(FS, "README"); err != nil {
		t.Fatalf("dist/README not embedded: %v", err)
	}
}

func TestHLSBuiltMatchesFS(t *testing.T) {
	_, err := fs.Stat(FS, HLSFile)
	if HLSBuilt() != (err == nil) {
		t.Fatalf("HLSBuilt() = %v but Stat(%s) err = %v", HLSBuilt(), HLSFile, err)
	}
}
