package web

import (
	"net/http"
	"strings"

	"github.com/kastlive/kast/packager"
)

// hlsHandler serves /hls/<track>/<file> from the packager. It cuts the
// path itself rather than through http.StripPrefix, which copies the
// request: this runs for nearly every request of a live event.
type hlsHandler struct{ p *packager.Server }

func (h hlsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	track, name, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, hlsPrefix), "/")
	h.p.ServeFile(w, r, track, name)
}
