package main

import (
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/kastlive/kast/conference"
)

// banner is what kast prints at start: where to point OBS and where to
// watch, and on the first start the secrets kast generated, which are
// shown only then. A secret the operator provisioned (KAST_STREAM_KEY,
// KAST_ADMIN_TOKEN) is never printed: the operator has it already, and
// kast's output often ends up in a journal or a CI log.
type banner struct {
	rtmpURL    string
	rtmpsURL   string
	streamKey  string // generated now, to show once; "" otherwise
	adminToken string // generated now, to show once; "" otherwise
	keySet     bool   // the stream key comes from KAST_STREAM_KEY
	tokenSet   bool   // the admin token comes from KAST_ADMIN_TOKEN
	watchURL   string
	base       string // scheme and host of the pages
	whipURL    string // "" when WHIP is off
	publishURL string // the browser publishing page
	track      string
	dataDir    string
}

func newBanner(cfg *config, boot conference.BootstrapResult, watchAddr, rtmpAddr, rtmpsAddr string) banner {
	host := cfg.PublicHost
	if d := cfg.domainList(); host == "" && len(d) > 0 {
		host = d[0]
	}
	if host == "" {
		host = guessHost()
	}
	scheme, watchPort := "http", portOf(watchAddr)
	if cfg.TLS() {
		scheme = "https"
	}
	watchHost := net.JoinHostPort(host, watchPort)
	if (scheme == "https" && watchPort == "443") || (scheme == "http" && watchPort == "80") {
		watchHost = host
	}
	b := banner{
		keySet:   cfg.StreamKey != "",
		tokenSet: cfg.AdminToken != "",
		track:    boot.Track.Slug,
		dataDir:  cfg.DataDir,
		watchURL: scheme + "://" + watchHost + "/watch/" + boot.Track.Slug,
	}
	if boot.Created && !b.keySet {
		b.streamKey = boot.StreamKey
	}
	if boot.Created && !b.tokenSet {
		b.adminToken = boot.AdminToken
	}
	if rtmpAddr != "" {
		b.rtmpURL = "rtmp://" + net.JoinHostPort(host, portOf(rtmpAddr)) + "/live"
	}
	if rtmpsAddr != "" {
		b.rtmpsURL = "rtmps://" + net.JoinHostPort(host, portOf(rtmpsAddr)) + "/live"
	}
	b.base = scheme + "://" + watchHost
	return b
}

// withWHIP adds where to publish over WebRTC: beside the watch page, over
// HTTPS when TLS is on, which browsers require to share a camera.
func (b *banner) withWHIP() {
	b.whipURL = b.base + "/whip/" + b.track
	b.publishURL = b.base + "/publish/" + b.track
}

func (b banner) print(w io.Writer) {
	var s strings.Builder
	s.WriteString("\nkast is running.\n\n")
	if b.rtmpURL != "" || b.rtmpsURL != "" {
		s.WriteString("  OBS: Settings > Stream > Service \"Custom...\"\n")
		switch {
		case b.rtmpsURL != "" && b.rtmpURL != "":
			fmt.Fprintf(&s, "    Server      %s  (or %s without TLS)\n", b.rtmpsURL, b.rtmpURL)
		case b.rtmpsURL != "":
			fmt.Fprintf(&s, "    Server      %s\n", b.rtmpsURL)
		default:
			fmt.Fprintf(&s, "    Server      %s\n", b.rtmpURL)
		}
		switch {
		case b.streamKey != "":
			fmt.Fprintf(&s, "    Stream Key  %s\n", b.streamKey)
		case b.keySet:
			s.WriteString("    Stream Key  the one in KAST_STREAM_KEY\n")
		default:
			fmt.Fprintf(&s, "    Stream Key  (shown at the first start; `kast -rotate-stream-key %s` prints a new one)\n", b.track)
		}
		s.WriteString("    Output: keyframe interval 1 s, x264 profile \"main\" or \"high\", no B-frames for the lowest latency\n")
	}
	if b.whipURL != "" {
		s.WriteString("\n  OBS 30+ over WebRTC: Settings > Stream > Service \"WHIP\"\n")
		fmt.Fprintf(&s, "    Server        %s\n", b.whipURL)
		s.WriteString("    Bearer Token  the stream key\n")
		fmt.Fprintf(&s, "  From a browser: %s\n", b.publishURL)
	}
	fmt.Fprintf(&s, "\n  Watch: %s\n", b.watchURL)
	if b.adminToken != "" {
		fmt.Fprintf(&s, "\n  Admin token: %s\n", b.adminToken)
	}
	switch {
	case b.streamKey != "" && b.adminToken != "":
		fmt.Fprintf(&s, "\n  The stream key and admin token are shown only now; %s keeps just their hashes.\n", b.dataDir)
	case b.streamKey != "":
		fmt.Fprintf(&s, "\n  The stream key is shown only now; %s keeps just its hash.\n", b.dataDir)
	case b.adminToken != "":
		fmt.Fprintf(&s, "\n  The admin token is shown only now; %s keeps just its hash.\n", b.dataDir)
	}
	s.WriteString("\n")
	io.WriteString(w, s.String())
}

// guessHost returns this machine's first non-loopback IPv4 address, so the
// printed URLs work from another machine on the network, or "localhost".
func guessHost() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "localhost"
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	return "localhost"
}
