package pages

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strconv"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/web/api"
)

//go:embed templates/*.html
var templateFiles embed.FS

// templates holds one parsed set per page, each with the shared layout.
var templates = parseTemplates("index.html", "watch.html", "publish.html", "notfound.html", "error.html",
	"event.html", "track.html", "embed.html", "register.html", "login.html", "me.html",
	"admin.html", "admin_event.html", "checkin.html", "events.html")

// page is the data every template receives: the layout reads Title, the
// viewer and the event for its navigation, the page body reads Data.
type page struct {
	Title string
	Data  any
	// Viewer is who is logged in (zero: nobody).
	Viewer api.Viewer
	// Event, when set, gets links in the header.
	Event *conference.Event
	// Scripts are the page's own scripts (asset names), loaded deferred.
	Scripts []string
	// Bare leaves out the header (the embeddable player).
	Bare bool
	// Frame is the frame-ancestors policy: "" means 'self'.
	Frame string
	// Status is the HTTP status (0: 200).
	Status int
}

// parseTemplates parses each named page together with layout.html.
func parseTemplates(names ...string) map[string]*template.Template {
	funcs := template.FuncMap{"asset": AssetURL, "clock": clock, "epochms": epochMS, "isotime": isoTime,
		"dayname": dayName, "speakers": speakerNames, "kbps": kbps, "add": func(a, b int) int { return a + b }}
	m := make(map[string]*template.Template, len(names))
	for _, n := range names {
		m[n] = template.Must(template.New("layout.html").Funcs(funcs).
			ParseFS(templateFiles, "templates/layout.html", "templates/"+n, "templates/player.html"))
	}
	return m
}

// render executes the named page into a buffer and writes it with status,
// so a template error never leaves a half-written page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	var buf bytes.Buffer
	if err := templates[name].Execute(&buf, p); err != nil {
		h.log().Error("pages: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	frame := p.Frame
	if frame == "" {
		frame = "'self'"
	}
	hd.Set("Content-Security-Policy", "frame-ancestors "+frame)
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}
