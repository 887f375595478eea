package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// config is everything kast is started with. Each field has a flag and a
// KAST_* environment variable; a flag given on the command line wins.
type config struct {
	HTTPAddr      string
	RTMPAddr      string
	RTMPSAddr     string
	TLSCert       string
	TLSKey        string
	WebRTCUDPAddr string
	DataDir       string
	PublicHost    string

	PartTarget    time.Duration
	SegmentTarget time.Duration
	HLSWindow     int
	HLSLinger     time.Duration
	HLSHoldHint   bool
	HLSStreamIvl  time.Duration

	PlaybackTokenTTL time.Duration
	LiveSwitchDelay  time.Duration
	LivePerSource    int
	LiveOrigins      string

	LogFormat string
	LogLevel  string

	RotateStreamKey string
	PprofAddr       string

	// From the environment only: secrets do not belong on a command line.
	AdminToken string
	StreamKey  string
}

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
	fs.StringVar(&c.RTMPAddr, "rtmp-addr", ":1935", "RTMP listen address for publishers (empty disables)")
	fs.StringVar(&c.RTMPSAddr, "rtmps-addr", "", "RTMPS listen address, e.g. :1936 (needs -tls-cert and -tls-key)")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "TLS certificate file (PEM) for RTMPS")
	fs.StringVar(&c.TLSKey, "tls-key", "", "TLS private key file (PEM) for RTMPS")
	fs.StringVar(&c.WebRTCUDPAddr, "webrtc-udp-addr", ":8189", "UDP address for WebRTC media (reserved: WebRTC is not served yet)")
	fs.StringVar(&c.DataDir, "data-dir", "./data", "directory for the database")
	fs.StringVar(&c.PublicHost, "public-host", "", "host name printed in the OBS and watch URLs (default: this machine's address)")
	fs.DurationVar(&c.PartTarget, "part-target", 200*time.Millisecond, "LL-HLS part duration")
	fs.DurationVar(&c.SegmentTarget, "segment-target", time.Second, "minimum HLS segment duration; segments end on the first keyframe after it")
	fs.IntVar(&c.HLSWindow, "hls-window", 12, "segments listed in the playlist (at least 7)")
	fs.DurationVar(&c.HLSLinger, "hls-linger", 30*time.Second, "how long a playlist stays up after its publisher leaves, for reconnects")
	fs.DurationVar(&c.HLSStreamIvl, "hls-stream-interval", 50*time.Millisecond, "least time between two writes of a streamed hinted part; frames in between go out together (0: every frame at once, more CPU)")
	fs.BoolVar(&c.HLSHoldHint, "hls-hold-hinted-part", false, "answer the preload-hinted part when complete instead of streaming it frame by frame (less CPU, ~100 ms more latency for Apple players)")
	fs.DurationVar(&c.PlaybackTokenTTL, "playback-token-ttl", 10*time.Minute, "lifetime of the playback tokens of registered events (a logout ends them at once; after a restart within this time)")
	fs.DurationVar(&c.LiveSwitchDelay, "live-switch-delay", 3*time.Second, "upper bound of the random delay the live channel suggests to players after an on-air change")
	fs.IntVar(&c.LivePerSource, "live-per-source", 64, "live channel connections per source address (IPv6: per /64)")
	fs.StringVar(&c.LiveOrigins, "live-origins", "", "comma-separated browser origins besides kast's own allowed on the live channel (\"*\": any)")
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
	}

	// Environment first, so that flags on the command line override it.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "rotate-stream-key" {
			return // an action, not a setting
		}
		if v := getenv(envName(f.Name)); v != "" && envErr == nil {
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
	c.AdminToken = getenv("KAST_ADMIN_TOKEN")
	c.StreamKey = getenv("KAST_STREAM_KEY")
	return c, c.validate()
}

func (c *config) validate() error {
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("-log-format %q: want text or json", c.LogFormat)
	}
	if c.RTMPSAddr != "" && (c.TLSCert == "" || c.TLSKey == "") {
		return fmt.Errorf("-rtmps-addr needs -tls-cert and -tls-key")
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
