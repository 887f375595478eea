package main

import (
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/kastlive/kast/conference"
)

// banner is what kast prints at start: where to point OBS and where to
// watch, and on the first start the secrets, which are shown only then.
type banner struct {
	created    bool
	rtmpURL    string
	rtmpsURL   string
	streamKey  string
	adminToken string
	watchURL   string
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
		created:    boot.Created,
		streamKey:  boot.StreamKey,
		adminToken: boot.AdminToken,
		track:      boot.Track.Slug,
		dataDir:    cfg.DataDir,
		watchURL:   scheme + "://" + watchHost + "/watch/" + boot.Track.Slug,
	}
	if rtmpAddr != "" {
		b.rtmpURL = "rtmp://" + net.JoinHostPort(host, portOf(rtmpAddr)) + "/live"
	}
	if rtmpsAddr != "" {
		b.rtmpsURL = "rtmps://" + net.JoinHostPort(host, portOf(rtmpsAddr)) + "/live"
	}
	return b
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
		if b.created {
			fmt.Fprintf(&s, "    Stream Key  %s\n", b.streamKey)
		} else {
			fmt.Fprintf(&s, "    Stream Key  (shown at the first start; `kast -rotate-stream-key %s` prints a new one)\n", b.track)
		}
		s.WriteString("    Output: keyframe interval 1 s, x264 profile \"main\" or \"high\", no B-frames for the lowest latency\n")
	}
	fmt.Fprintf(&s, "\n  Watch: %s\n", b.watchURL)
	if b.created {
		fmt.Fprintf(&s, "\n  Admin token: %s\n", b.adminToken)
		fmt.Fprintf(&s, "\n  The stream key and admin token are shown only now; %s keeps just their hashes.\n", b.dataDir)
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
