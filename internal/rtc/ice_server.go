package rtc

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
)

// ICEServer is a STUN or TURN server handed to clients (WHEP/WHIP Link
// headers, the watch page). kast itself does not use them: it is reached
// on its own, or its configured public addresses.
type ICEServer struct {
	URL        string // stun:host:port, turn:host:port?transport=udp, turns:...
	Username   string
	Credential string
}

// ParseICEServers parses a comma-separated list of STUN/TURN URLs, e.g.
// "stun:stun.example.org:3478,turn:user:secret@turn.example.org:3478?transport=udp".
// TURN credentials go before the host as user:credential@.
func ParseICEServers(s string) ([]ICEServer, error) {
	var out []ICEServer
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		srv, err := parseICEServer(item)
		if err != nil {
			return nil, err
		}
		out = append(out, srv)
	}
	return out, nil
}

func parseICEServer(item string) (ICEServer, error) {
	scheme, rest, ok := strings.Cut(item, ":")
	if !ok {
		return ICEServer{}, fmt.Errorf("ICE server %q: want stun:, turn: or turns: URL", item)
	}
	var srv ICEServer
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		cred := rest[:at]
		rest = rest[at+1:]
		user, pass, ok := strings.Cut(cred, ":")
		if !ok || user == "" {
			return ICEServer{}, fmt.Errorf("ICE server %s:...: credentials must be user:credential@", scheme)
		}
		u, err1 := url.PathUnescape(user)
		p, err2 := url.PathUnescape(pass)
		if err1 != nil || err2 != nil {
			return ICEServer{}, fmt.Errorf("ICE server %s:...: bad escape in credentials", scheme)
		}
		srv.Username, srv.Credential = u, p
	}
	srv.URL = scheme + ":" + rest
	uri, err := stun.ParseURI(srv.URL)
	if err != nil {
		return ICEServer{}, fmt.Errorf("ICE server %q: %v", srv.URL, err)
	}
	isTURN := uri.Scheme == stun.SchemeTypeTURN || uri.Scheme == stun.SchemeTypeTURNS
	if isTURN && srv.Username == "" {
		return ICEServer{}, fmt.Errorf("ICE server %q: TURN needs user:credential@", srv.URL)
	}
	if !isTURN && srv.Username != "" {
		return ICEServer{}, fmt.Errorf("ICE server %q: STUN takes no credentials", srv.URL)
	}
	return srv, nil
}

// LinkHeader returns the value of a Link header announcing the server,
// as WHIP (RFC 9725) and WHEP define it.
func (s ICEServer) LinkHeader() string {
	v := "<" + s.URL + `>; rel="ice-server"`
	if s.Username != "" {
		v += `; username="` + quoteEscape(s.Username) + `"; credential="` + quoteEscape(s.Credential) + `"; credential-type="password"`
	}
	return v
}

// WebRTC returns the server in pion's (and the browser's) form.
func (s ICEServer) WebRTC() webrtc.ICEServer {
	w := webrtc.ICEServer{URLs: []string{s.URL}}
	if s.Username != "" {
		w.Username, w.Credential = s.Username, s.Credential
	}
	return w
}

func quoteEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}
