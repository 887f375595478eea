package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kastlive/kast/internal/ladder"
	"github.com/kastlive/kast/internal/netlimit"
	"github.com/kastlive/kast/internal/rtc"
	"github.com/kastlive/kast/internal/transcode"
	"github.com/kastlive/kast/web"
)

// config is everything kast is started with. Each field has a flag and a
// KAST_* environment variable; a flag given on the command line wins.
type config struct {
	HTTPAddr        string
	HTTPSAddr       string
	HTTPRedirect    bool
	NetHTTP2        bool
	HSTS            time.Duration
	RTMPAddr        string
	RTMPSAddr       string
	TLSCert         string
	TLSKey          string
	Domains         string
	ACMEEmail       string
	ACMEDirectory   string
	ACMECA          string
	MetricsAddr     string
	WebRTCUDPAddr   string
	WebRTCTCPAddr   string
	WebRTCPublicIPs string
	ICEServers      string
	WebRTCBatch     int
	WebRTCGSO       bool
	WebRTCSenders   int
	WebRTCReencode  bool
	WebRTCPerSource int
	DataDir         string
	PublicHost      string
	SecureCookies   bool
	EmbedAncestors  string

	PartTarget    time.Duration
	SegmentTarget time.Duration
	HLSWindow     int
	HLSLinger     time.Duration
	HLSHoldHint   bool
	HLSStreamIvl  time.Duration

	Renditions       string
	RenditionsPreset string
	rungs            []transcode.Rung // parsed Renditions
	Record           bool
	RecordRetention  time.Duration
	RecordBudget     int64
	RecordMinFree    int64
	PlaybackTokenTTL time.Duration
	LiveSwitchDelay  time.Duration
	LivePerSource    int
	HTTPMaxConns     int
	HTTPPerSource    int
	LiveOrigins      string

	TimetableSyncAllowLoopback bool
	TrustedProxies             string
	proxies                    netlimit.Proxies

	LogFormat string
	LogLevel  string

	RotateStreamKey string
	PprofAddr       string

	// From the environment only: secrets do not belong on a command line.
	AdminToken   string
	StreamKey    string
	MetricsToken string

	set map[string]bool // flags given on the command line or in the environment
}

// TLS reports whether kast serves HTTPS (and RTMPS) itself.
func (c *config) TLS() bool { return c.TLSCert != "" || c.Domains != "" }

// envPrefix names the environment variables: -http-addr is KAST_HTTP_ADDR.
const envPrefix = "KAST_"

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseConfig reads flags from args and the environment from getenv.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("kast", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.HTTPAddr, "http-addr", ":8080", "HTTP listen address: pages, HLS, API, metrics")
	fs.StringVar(&c.HTTPSAddr, "https-addr", "", "HTTPS listen address when TLS is on (default :443 with -domain, :8443 with -tls-cert)")
	fs.BoolVar(&c.HTTPRedirect, "http-redirect", true, "with TLS on, the HTTP listener redirects to HTTPS (false: it also serves everything in cleartext, e.g. for a CDN's origin pulls)")
	fs.BoolVar(&c.NetHTTP2, "https-net-http2", false, "serve HTTP/2 with Go's net/http server instead of kast's own frame loop (more CPU per viewer; a fallback should a client not get along with kast's)")
	fs.DurationVar(&c.HSTS, "hsts", 365*24*time.Hour, "Strict-Transport-Security max-age sent over HTTPS (0: none; default a year with -domain, a day with -tls-cert, which is often a test certificate)")
	fs.StringVar(&c.RTMPAddr, "rtmp-addr", ":1935", "RTMP listen address for publishers (empty disables)")
	fs.StringVar(&c.RTMPSAddr, "rtmps-addr", "", "RTMPS listen address (default :1936 when TLS is on; empty with TLS off disables)")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "TLS certificate file (PEM) for HTTPS and RTMPS; reloaded when it changes")
	fs.StringVar(&c.TLSKey, "tls-key", "", "TLS private key file (PEM) for -tls-cert")
	fs.StringVar(&c.Domains, "domain", "", "domain name(s), comma-separated: HTTPS and RTMPS with certificates from an ACME CA (Let's Encrypt), HTTP-01 on :80")
	fs.StringVar(&c.ACMEEmail, "acme-email", "", "contact address given to the ACME CA (expiry notices)")
	fs.StringVar(&c.ACMEDirectory, "acme-directory", "", "ACME directory URL (default Let's Encrypt production)")
	fs.StringVar(&c.ACMECA, "acme-ca", "", "PEM file of the CA to trust for the ACME server's own HTTPS (a private CA)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "127.0.0.1:9464", "listen address of /metrics (loopback by default; empty: only with KAST_METRICS_TOKEN on the main listeners)")
	fs.StringVar(&c.WebRTCUDPAddr, "webrtc-udp-addr", ":8189", "the one UDP address of every WebRTC session (WHEP viewers); empty disables WebRTC")
	fs.StringVar(&c.WebRTCTCPAddr, "webrtc-tcp-addr", "", "also accept WebRTC over TCP (ICE-TCP) on this address, e.g. :8189, for networks that block UDP")
	fs.StringVar(&c.WebRTCPublicIPs, "webrtc-public-ips", "", "comma-separated public IPs or host names to advertise to WebRTC peers (a VM behind 1:1 NAT)")
	fs.IntVar(&c.WebRTCSenders, "webrtc-senders", 0, "sender goroutines WebRTC viewers are spread over (0: one per core)")
	fs.IntVar(&c.WebRTCPerSource, "webrtc-per-source", 64, "WHEP viewer sessions one source address (IPv6: one /64) may hold; past it an offer answers 429 (-1: no limit)")
	fs.BoolVar(&c.WebRTCReencode, "webrtc-reencode-bframes", false, "re-encode H.264 with B-frames (OBS's x264 default) without them for WebRTC viewers, one ffmpeg per such stream (~30 % of a core for 720p30) instead of refusing them; HLS keeps the original")
	fs.IntVar(&c.WebRTCBatch, "webrtc-write-batch", 0, "batch WebRTC writes: up to this many datagrams per sendmmsg (0: one sendto per packet, the default)")
	fs.BoolVar(&c.WebRTCGSO, "webrtc-gso", true, "send each video frame's packets to a WebRTC viewer in one sendmsg with UDP GSO where the kernel has it (Linux 4.18+); off with -webrtc-write-batch")
	fs.StringVar(&c.ICEServers, "ice-servers", "", "comma-separated STUN/TURN URLs handed to WebRTC clients, e.g. stun:stun.example.org:3478,turn:user:pass@turn.example.org:3478?transport=udp")
	fs.StringVar(&c.DataDir, "data-dir", "./data", "directory for the database")
	fs.BoolVar(&c.SecureCookies, "secure-cookies", false, "mark login cookies Secure on plain HTTP too (kast behind a TLS-terminating proxy); requests over TLS always get Secure cookies")
	fs.StringVar(&c.EmbedAncestors, "embed-frame-ancestors", "*", "Content-Security-Policy frame-ancestors of the embeddable player /embed/<event>/<track>: the sites allowed to put it in an iframe, space-separated (e.g. \"https://conf.example.org\"); * allows any")
	fs.StringVar(&c.PublicHost, "public-host", "", "host name printed in the OBS and watch URLs, and where HTTP redirects to HTTPS (default: this machine's address; the first -domain)")
	fs.DurationVar(&c.PartTarget, "part-target", 200*time.Millisecond, "LL-HLS part duration")
	fs.DurationVar(&c.SegmentTarget, "segment-target", time.Second, "minimum HLS segment duration; segments end on the first keyframe after it")
	fs.IntVar(&c.HLSWindow, "hls-window", 12, "segments listed in the playlist (at least 7)")
	fs.DurationVar(&c.HLSLinger, "hls-linger", 30*time.Second, "how long a playlist stays up after its publisher leaves, for reconnects")
	fs.DurationVar(&c.HLSStreamIvl, "hls-stream-interval", 50*time.Millisecond, "least time between two writes of a streamed hinted part; frames in between go out together (0: every frame at once, more CPU)")
	fs.BoolVar(&c.HLSHoldHint, "hls-hold-hinted-part", false, "answer the preload-hinted part when complete instead of streaming it frame by frame (less CPU, ~100 ms more latency for Apple players)")
	fs.StringVar(&c.Renditions, "renditions", "", "lower renditions made of every live track for weak networks, e.g. 480p,360p (bitrates: 480p:1200k); one ffmpeg per track, off when empty")
	fs.StringVar(&c.RenditionsPreset, "renditions-preset", transcode.DefaultPreset, "x264 preset of the renditions (ultrafast ... medium: more CPU, better pictures)")
	fs.BoolVar(&c.Record, "record", true, "record every publish to <data-dir>/recordings and serve the talks under /vod/")
	fs.Var(daysFlag{&c.RecordRetention}, "record-retention", "delete recordings that ended longer ago than this, e.g. 30d or 72h (0: keep)")
	fs.Var(bytesFlag{&c.RecordBudget}, "record-budget", "most disk space recordings may take, e.g. 200G; past it the oldest are deleted, never a live one (0: no budget)")
	c.RecordMinFree = 256 << 20
	fs.Var(bytesFlag{&c.RecordMinFree}, "record-min-free", "stop recording while the disk has less free space than this (0: until it is full)")
	fs.DurationVar(&c.PlaybackTokenTTL, "playback-token-ttl", 10*time.Minute, "lifetime of the playback tokens of registered events (a logout ends them at once; after a restart within this time)")
	fs.DurationVar(&c.LiveSwitchDelay, "live-switch-delay", 3*time.Second, "upper bound of the random delay the live channel suggests to players after an on-air change")
	fs.IntVar(&c.LivePerSource, "live-per-source", 64, "live channel connections per source address (IPv6: per /64)")
	fs.IntVar(&c.HTTPMaxConns, "http-max-conns", web.DefaultMaxConns, "HTTP and HTTPS connections open at once, past which new ones are closed at accept (-1: no limit)")
	fs.IntVar(&c.HTTPPerSource, "http-conns-per-source", web.DefaultConnsPerSource, "HTTP and HTTPS connections one source address (IPv6: one /64) may hold open; -trusted-proxies are exempt; a venue NAT puts many viewers behind one address (-1: no limit)")
	fs.StringVar(&c.LiveOrigins, "live-origins", "", "comma-separated browser origins besides kast's own allowed on the live channel (\"*\": any)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "", "comma-separated addresses or CIDR prefixes of reverse proxies (CDN, nginx) whose X-Forwarded-For names the client for the rate and connection limits; others' headers are ignored")
	fs.BoolVar(&c.TimetableSyncAllowLoopback, "timetable-sync-allow-loopback", false, "let timetable sync fetch from loopback addresses (a pretalx on this machine); link-local and metadata addresses stay refused")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.PprofAddr, "pprof-addr", "", "serve Go's pprof profiles on this address, e.g. 127.0.0.1:6060 (off by default; never expose it)")
	fs.StringVar(&c.RotateStreamKey, "rotate-stream-key", "", "print a new stream key for the track with this slug, then exit")
	fs.Usage = func() {
		fmt.Fprintf(out, "kast: live streaming for conferences. RTMP in, Low-Latency HLS out.\n\n")
		fmt.Fprintf(out, "Usage: kast [flags]\n\nEvery flag can also be set with the environment variable shown.\n\n")
		fs.VisitAll(func(f *flag.Flag) {
			if f.Name == "rotate-stream-key" {
				fmt.Fprintf(out, "  -%s\n    \t%s\n", f.Name, f.Usage)
				return
			}
			fmt.Fprintf(out, "  -%s (%s)\n    \t%s", f.Name, envName(f.Name), f.Usage)
			if f.DefValue != "" {
				fmt.Fprintf(out, " (default %q)", f.DefValue)
			}
			fmt.Fprintln(out)
		})
		fmt.Fprintf(out, "\nEnvironment only (secrets stay off the command line). Used instead of generated values on\nthe first start, and kept valid on later starts:\n")
		fmt.Fprintf(out, "  KAST_ADMIN_TOKEN  admin token to use instead of a generated one\n")
		fmt.Fprintf(out, "  KAST_STREAM_KEY   stream key of the default track instead of a generated one\n")
		fmt.Fprintf(out, "  KAST_METRICS_TOKEN  bearer token that also opens /metrics on the HTTP(S) listeners\n")
	}

	// Environment first, so that flags on the command line override it.
	var envErr error
	c.set = map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "rotate-stream-key" {
			return // an action, not a setting
		}
		if v := getenv(envName(f.Name)); v != "" && envErr == nil {
			c.set[f.Name] = true
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s=%q: %v", envName(f.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see kast -h)", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	c.AdminToken = getenv("KAST_ADMIN_TOKEN")
	c.StreamKey = getenv("KAST_STREAM_KEY")
	c.MetricsToken = getenv("KAST_METRICS_TOKEN")
	c.tlsDefaults()
	return c, c.validate()
}

func (c *config) validate() error {
	p, err := netlimit.ParseProxies(c.TrustedProxies)
	if err != nil {
		return fmt.Errorf("-trusted-proxies: %v", err)
	}
	c.proxies = p
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("-log-format %q: want text or json", c.LogFormat)
	}
	if c.RTMPSAddr != "" && !c.TLS() {
		return fmt.Errorf("-rtmps-addr needs -tls-cert and -tls-key, or -domain")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("-tls-cert and -tls-key go together")
	}
	if c.TLSCert != "" && c.Domains != "" {
		return fmt.Errorf("-domain gets certificates over ACME: leave -tls-cert and -tls-key out, or -domain")
	}
	rungs, err := ladder.ParseRungs(c.Renditions)
	if err != nil {
		return fmt.Errorf("-renditions: %v", err)
	}
	c.rungs = rungs
	switch c.RenditionsPreset {
	case "ultrafast", "superfast", "veryfast", "faster", "fast", "medium":
	default:
		return fmt.Errorf("-renditions-preset %q: want ultrafast, superfast, veryfast, faster, fast or medium", c.RenditionsPreset)
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		return fmt.Errorf("KAST_METRICS_TOKEN is too short: use at least 16 characters")
	}
	if _, err := rtc.ParseICEServers(c.ICEServers); err != nil {
		return fmt.Errorf("-ice-servers: %v", err)
	}
	if c.WebRTCUDPAddr == "" && c.WebRTCTCPAddr != "" {
		return fmt.Errorf("-webrtc-tcp-addr needs -webrtc-udp-addr")
	}
	if c.StreamKey != "" && len(c.StreamKey) < 16 {
		return fmt.Errorf("KAST_STREAM_KEY is too short: use at least 16 characters")
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		return fmt.Errorf("KAST_ADMIN_TOKEN is too short: use at least 16 characters")
	}
	return nil
}

// portOf returns the port of a listen address, "" if it has none.
func portOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		if _, err := strconv.Atoi(addr[i+1:]); err == nil {
			return addr[i+1:]
		}
	}
	return ""
}

// tlsDefaults fills the listen addresses TLS implies unless they were set:
// with -domain the ACME HTTP-01 challenge must be answered on port 80.
func (c *config) tlsDefaults() {
	if !c.TLS() {
		return
	}
	if !c.set["https-addr"] {
		c.HTTPSAddr = ":8443"
		if c.Domains != "" {
			c.HTTPSAddr = ":443"
		}
	}
	if c.Domains != "" && !c.set["http-addr"] {
		c.HTTPAddr = ":80"
	}
	if !c.set["rtmps-addr"] {
		c.RTMPSAddr = ":1936"
	}
	// HSTS pins every port of the host name in browsers for max-age: a
	// day until the operator says otherwise, unless the certificate comes
	// from a public CA over ACME.
	if !c.set["hsts"] && c.Domains == "" {
		c.HSTS = 24 * time.Hour
	}
}

// domainList returns the -domain names.
func (c *config) domainList() []string {
	var out []string
	for _, d := range strings.Split(c.Domains, ",") {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}
