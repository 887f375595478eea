package pages

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kastlive/kast/web/assets"
)

// staticFiles are the page scripts and styles, served under /assets/ next to
// the built files of package assets.
//
//go:embed static
var staticFiles embed.FS

// servedExts are the file types /assets/ serves; anything else is 404.
var servedExts = map[string]bool{".js": true, ".css": true, ".svg": true, ".ico": true, ".png": true}

// asset is one file ready to serve: its bytes and, once asked for, a gzipped copy.
type asset struct {
	name string
	data []byte

	gzOnce sync.Once
	gz     []byte
}

// assetSet is every servable file and the version hash over all of them.
type assetSet struct {
	files   map[string]*asset
	version string
}

var (
	assetsOnce   sync.Once
	loadedAssets *assetSet
)

// allAssets loads the page statics and the built assets once.
func allAssets() *assetSet {
	assetsOnce.Do(func() {
		s := &assetSet{files: map[string]*asset{}}
		static, _ := fs.Sub(staticFiles, "static")
		for _, fsys := range []fs.FS{assets.FS, static} { // page statics win on a name clash
			_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() || !servedExts[path.Ext(p)] {
					return err
				}
				b, err := fs.ReadFile(fsys, p)
				if err != nil {
					return err
				}
				s.files[p] = &asset{name: p, data: b}
				return nil
			})
		}
		h := sha256.New()
		for _, n := range sortedKeys(s.files) {
			h.Write([]byte(n))
			h.Write([]byte{0})
			h.Write(s.files[n].data)
		}
		s.version = hex.EncodeToString(h.Sum(nil))[:12]
		loadedAssets = s
	})
	return loadedAssets
}

// AssetURL returns the URL of an embedded file under /assets/ with a version
// query that changes whenever any embedded file does, so responses to it can
// be cached for a year.
func AssetURL(name string) string {
	return "/assets/" + name + "?v=" + url.QueryEscape(allAssets().version)
}

// serveAsset serves one embedded file. Requests carrying the current version
// query are cached as immutable; others must revalidate (ETag).
func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	set := allAssets()
	a := set.files[name]
	if a == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		h.notFound(w, r)
		return
	}
	hd := w.Header()
	if r.URL.Query().Get("v") == set.version {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Vary", "Accept-Encoding")
	data, etag := a.data, `"`+set.version+`"`
	if acceptsGzip(r) && len(a.data) > 1024 {
		data, etag = a.gzipped(), `"`+set.version+`-gz"`
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("ETag", etag)
	// ServeContent sets Content-Type from the name and handles conditional
	// and range requests.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

// gzipped returns the file gzip-compressed, compressing it on first use.
func (a *asset) gzipped() []byte {
	a.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(a.data)
		zw.Close()
		a.gz = buf.Bytes()
	})
	return a.gz
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip
// (listed with a non-zero q, or matched by "*").
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		enc = strings.TrimSpace(enc)
		if !strings.EqualFold(enc, "gzip") && enc != "*" {
			continue
		}
		_, q, ok := strings.Cut(strings.ReplaceAll(params, " ", ""), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}

// sortedKeys returns m's keys in order, so the version hash is deterministic.
func sortedKeys(m map[string]*asset) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
