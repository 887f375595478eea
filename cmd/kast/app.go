package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/ingest/rtmp"
	"github.com/kastlive/kast/ingest/whip"
	"github.com/kastlive/kast/internal/certs"
	"github.com/kastlive/kast/internal/ladder"
	"github.com/kastlive/kast/internal/rtc"
	"github.com/kastlive/kast/internal/transcode"
	"github.com/kastlive/kast/packager"
	"github.com/kastlive/kast/recorder"
	"github.com/kastlive/kast/relay"
	"github.com/kastlive/kast/store/sqlite"
	"github.com/kastlive/kast/web"
	apihttp "github.com/kastlive/kast/web/api"
	"github.com/kastlive/kast/web/gate"
	"github.com/kastlive/kast/web/live"
	"github.com/kastlive/kast/web/webrtc"
)

// shutdownTimeout bounds the graceful shutdown.
const shutdownTimeout = 10 * time.Second

// app is a running kast: the store, ingest, the packager and the web server.
type app struct {
	cfg    *config
	log    *slog.Logger
	store  conference.Store
	hub    *ingest.Hub
	hls    *packager.Server
	ladder *ladder.Ladder
	rec    *recorder.Recorder
	rtmp   *rtmp.Server
	rtmps  *rtmp.Server
	rtc    *rtc.Engine
	relay  *relay.Relay
	whip   *whip.Server
	whep   *webrtc.Handler
	web    *web.Server
	acme   *certs.ACME
	banner banner

	// feed carries conference changes (on-air, events, tracks) to the
	// in-process listeners; sched moves on-air by the timetable.
	feed      *conference.Feed
	sched     *conference.Scheduler
	stopSched context.CancelFunc

	// health watches every publisher for the organizer pages; chatFeed
	// carries chat and questions to the live channel.
	health   *ingest.HealthMonitor
	chatFeed *conference.ChatFeed

	// the playback gate, its access table, the live channel
	directory *gate.Directory
	gate      *gate.Gate
	live      *live.Hub
}

// run starts kast, prints where to publish and watch, and serves until ctx
// ends.
func run(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	a := &app{cfg: cfg, log: newLogger(cfg, stderr)}
	if cfg.RotateStreamKey != "" {
		return rotateStreamKey(ctx, cfg, stdout)
	}
	if err := a.start(ctx); err != nil {
		a.stop()
		return err
	}
	if cfg.PprofAddr != "" {
		servePprof(cfg.PprofAddr, a.log)
	}
	a.banner.print(stdout)
	started := []any{"http", a.web.Addr().String(), "rtmp", a.rtmpAddr()}
	if t := a.web.TLSAddr(); t != nil {
		started = append(started, "https", t.String(), "rtmps", a.rtmpsAddr())
	}
	a.log.Info("kast started", started...)
	<-ctx.Done()
	a.log.Info("shutting down")
	a.stop()
	a.log.Info("stopped")
	return nil
}

func (a *app) start(ctx context.Context) error {
	cfg := a.cfg
	st, err := sqlite.Open(filepath.Join(cfg.DataDir, "kast.db"))
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	a.store = st
	boot, err := st.Bootstrap(ctx, conference.BootstrapOptions{StreamKey: cfg.StreamKey, AdminToken: cfg.AdminToken})
	if err != nil {
		return fmt.Errorf("bootstrap store: %w", err)
	}

	a.hub = &ingest.Hub{}
	// Before the recorder, which cuts talks at the on-air changes on it.
	a.feed = &conference.Feed{}
	a.hls = &packager.Server{
		Hub:    a.hub,
		Logger: a.log.With("component", "hls"),
		Config: packager.Config{
			PartTarget:     cfg.PartTarget,
			SegmentTarget:  cfg.SegmentTarget,
			Window:         cfg.HLSWindow,
			Linger:         cfg.HLSLinger,
			HoldHintedPart: cfg.HLSHoldHint,
			StreamInterval: cfg.HLSStreamIvl,
		},
	}
	if cfg.Record {
		a.rec = &recorder.Recorder{
			Dir:       filepath.Join(cfg.DataDir, "recordings"),
			Retention: cfg.RecordRetention,
			Budget:    cfg.RecordBudget,
			MinFree:   cfg.RecordMinFree,
			Feed:      a.feed,
			// Read back when the feed lost changes.
			Conference: a.store,
			// A publish keeps the event its track had (the directory is
			// set before any publisher can connect).
			EventOf: func(track string) int64 {
				if a.directory == nil {
					return 0
				}
				acc, _ := a.directory.Track(track)
				return acc.EventID
			},
			Logger: a.log.With("component", "recorder"),
		}
		if cfg.RecordMinFree == 0 {
			a.rec.MinFree = -1 // 0 is "until the disk is full"; the recorder's 0 means its default
		}
		if err := a.rec.Initialize(); err != nil {
			a.rec = nil
			return fmt.Errorf("recordings: %w", err)
		}
		a.hls.Sink = a.rec
	}
	if err := a.hls.Initialize(); err != nil {
		return fmt.Errorf("hls: %w", err)
	}
	if len(cfg.rungs) > 0 {
		// After the packager: a stream's track is packaged before its
		// renditions are handed over.
		a.ladder = &ladder.Ladder{Hub: a.hub, Sink: a.hls, Rungs: cfg.rungs, Preset: cfg.RenditionsPreset,
			Logger: a.log.With("component", "renditions")}
		if err := a.ladder.Initialize(); err != nil {
			a.ladder = nil
			return fmt.Errorf("-renditions: %w", err)
		}
	}

	if err := a.startWebRTC(); err != nil {
		return err
	}

	a.sched = &conference.Scheduler{Store: a.store, Feed: a.feed, Log: a.log.With("component", "on-air")}
	a.health = &ingest.HealthMonitor{}
	a.health.Attach(a.hub)
	a.chatFeed = &conference.ChatFeed{}
	api := &apihttp.Handler{
		Store:         a.store,
		Hub:           a.hub,
		Feed:          a.feed,
		Scheduler:     a.sched,
		SecureCookies: cfg.SecureCookies,
		Log:           a.log.With("component", "api"),
		Chat:          &conference.Chat{Messages: st, Questions: st, Feed: a.chatFeed},
		Organizers:    st,
		Health:        a.health,

		SyncAllowLoopback: cfg.TimetableSyncAllowLoopback,
		Proxies:           cfg.proxies,
	}
	api.History = &apihttp.ViewerHistory{Tracks: a.trackSlugs, Count: api.ViewerCount}
	if a.rec != nil {
		api.Recordings = recordingLinks{a.rec}
	}
	api.Initialize()
	if err := a.startPlayback(ctx, st, api); err != nil {
		return err
	}
	a.live.FollowChat(a.chatFeed) // chat and questions to the viewers
	schedCtx, stopSched := context.WithCancel(context.Background())
	a.stopSched = stopSched
	go a.sched.Run(schedCtx)
	go a.expireSessions(schedCtx)
	go api.History.Run(schedCtx)

	tlsConfig, wrapHTTP, err := a.tlsSetup()
	if err != nil {
		return err
	}
	ws := &web.Server{
		Address:        cfg.HTTPAddr,
		MaxConns:       cfg.HTTPMaxConns,
		ConnsPerSource: cfg.HTTPPerSource,
		TrustedProxies: cfg.proxies,
		MetricsAddress: cfg.MetricsAddr,
		MetricsToken:   cfg.MetricsToken,
		Store:          a.store,
		Hub:            a.hub,
		Packager:       a.hls,
		WebRTC:         a.whep,
		Relay:          a.relay,
		Recorder:       a.rec,
		Logger:         a.log.With("component", "http"),
		RTMP:           a.rtmpStats,
		API:            api,
		Pages:          a.pages(api),
		Gate:           a.gate,
		Live:           a.live,
		Feed:           a.feed,
	}
	if a.gate != nil {
		// Recordings of a registered event take the credential its live
		// stream does (the talk's event decides, not the track's owner now).
		ws.RecordingGate = a.gate
		if a.whep != nil {
			a.whep.Gate = a.gate.CheckWHEP // WHEP takes the playback credential HLS does
		}
		api.OnLogout = a.gate.Revoke
	}
	if tlsConfig != nil {
		ws.TLSAddress, ws.TLSConfig = cfg.HTTPSAddr, tlsConfig
		ws.RedirectHTTP, ws.WrapHTTP, ws.HSTSMaxAge = cfg.HTTPRedirect, wrapHTTP, cfg.HSTS
		ws.CanonicalHost, ws.NetHTTP2 = cfg.PublicHost, cfg.NetHTTP2
		if d := cfg.domainList(); ws.CanonicalHost == "" && len(d) > 0 {
			ws.CanonicalHost = d[0]
		}
	}
	if err := ws.Initialize(); err != nil {
		return fmt.Errorf("http: %w", err)
	}
	a.web = ws
	if a.acme != nil {
		a.acme.Prefetch()
	}

	if cfg.RTMPAddr != "" {
		a.rtmp = a.newRTMP(cfg.RTMPAddr, nil)
		if err := a.rtmp.Initialize(); err != nil {
			a.rtmp = nil
			return fmt.Errorf("rtmp: %w", err)
		}
	}
	if cfg.RTMPSAddr != "" && tlsConfig != nil {
		a.rtmps = a.newRTMP(cfg.RTMPSAddr, &tls.Config{GetCertificate: tlsConfig.GetCertificate, MinVersion: tls.VersionTLS12})
		if err := a.rtmps.Initialize(); err != nil {
			a.rtmps = nil
			return fmt.Errorf("rtmps: %w", err)
		}
	}

	a.banner = newBanner(cfg, boot, a.watchAddr(), a.rtmpAddr(), a.rtmpsAddr())
	if a.whip != nil {
		a.banner.withWHIP()
	}
	return nil
}

// startWebRTC opens the shared WebRTC sockets and starts the WHEP relay;
// an empty -webrtc-udp-addr leaves WebRTC off.
func (a *app) startWebRTC() error {
	cfg := a.cfg
	if cfg.WebRTCUDPAddr == "" {
		return nil
	}
	ice, err := rtc.ParseICEServers(cfg.ICEServers)
	if err != nil {
		return err
	}
	var public []string
	for _, p := range strings.Split(cfg.WebRTCPublicIPs, ",") {
		if p = strings.TrimSpace(p); p != "" {
			public = append(public, p)
		}
	}
	a.rtc = &rtc.Engine{
		UDPAddr:     cfg.WebRTCUDPAddr,
		TCPAddr:     cfg.WebRTCTCPAddr,
		PublicAddrs: public,
		ICEServers:  ice,
		BatchSize:   cfg.WebRTCBatch,
		NoGSO:       !cfg.WebRTCGSO,
		Logger:      a.log.With("component", "webrtc"),
	}
	if err := a.rtc.Initialize(); err != nil {
		a.rtc = nil
		return fmt.Errorf("webrtc: %w", err)
	}
	tc, why := newTranscoder(a.log)
	a.relay = &relay.Relay{
		Engine:          a.rtc,
		Logger:          a.log.With("component", "relay"),
		Transcoder:      tc,
		NoTranscoderWhy: why,
		Shards:          cfg.WebRTCSenders,
		BFrames: func(v *ingest.Video) bool {
			d, ok := transcode.ReorderDepth(v)
			return ok && d > 0
		},
		ReencodeBFrames: newVideoTranscoder(cfg.WebRTCReencode, a.log),
		// Viewers wait for a reconnecting publisher as long as the
		// playlist does.
		Hub:    a.hub,
		Linger: cfg.HLSLinger,
	}
	if err := a.relay.Initialize(); err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	a.whip = &whip.Server{
		Engine:    a.rtc,
		Hub:       a.hub,
		Authorize: a.authorize,
		Logger:    a.log.With("component", "whip"),
	}
	if err := a.whip.Initialize(); err != nil {
		a.whip = nil
		return fmt.Errorf("whip: %w", err)
	}
	a.whep = &webrtc.Handler{
		Relay:        a.relay,
		WHIP:         a.whip,
		Tracks:       storeTracks{store: a.store, hub: a.hub},
		ICEServers:   ice,
		Logger:       a.log.With("component", "whep"),
		MaxPerSource: cfg.WebRTCPerSource,
		Proxies:      cfg.proxies,
	}
	return a.whep.Initialize()
}

// storeTracks answers WHEP's track lookups from the store and the hub.
type storeTracks struct {
	store conference.Store
	hub   *ingest.Hub
}

func (t storeTracks) Track(ctx context.Context, slug string) (*ingest.Stream, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := t.store.TrackBySlug(ctx, slug); errors.Is(err, conference.ErrNotFound) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	return t.hub.Live(slug), true, nil
}

func (a *app) newRTMP(addr string, tlsConfig *tls.Config) *rtmp.Server {
	return &rtmp.Server{
		Address:   addr,
		TLSConfig: tlsConfig,
		Hub:       a.hub,
		Logger:    a.log.With("component", "rtmp"),
		Authorize: a.authorize,
	}
}

// authorize maps a stream key to its track through the store.
func (a *app) authorize(ctx context.Context, key string) (string, error) {
	if key == "" {
		return "", ingest.ErrUnknownKey
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	t, err := a.store.TrackByStreamKey(ctx, key)
	if errors.Is(err, conference.ErrNotFound) {
		return "", ingest.ErrUnknownKey
	}
	if err != nil {
		return "", err
	}
	return t.Slug, nil
}

// rtmpStats sums the RTMP and RTMPS listeners' counters for /metrics.
func (a *app) rtmpStats() rtmp.Stats {
	var st rtmp.Stats
	for _, s := range []*rtmp.Server{a.rtmp, a.rtmps} {
		if s != nil {
			st = st.Add(s.Stats())
		}
	}
	return st
}

// expireSessions deletes expired login sessions once an hour.
func (a *app) expireSessions(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n, err := a.store.DeleteExpiredSessions(ctx, now); err != nil && ctx.Err() == nil {
				a.log.Warn("expire sessions", "err", err)
			} else if n > 0 {
				a.log.Info("expired sessions deleted", "count", n)
			}
		}
	}
}

// watchAddr is the address viewers should use: HTTPS when it is on.
func (a *app) watchAddr() string {
	if t := a.web.TLSAddr(); t != nil {
		return t.String()
	}
	return a.web.Addr().String()
}

func (a *app) rtmpsAddr() string {
	if a.rtmps == nil {
		return ""
	}
	return a.rtmps.Addr().String()
}

func (a *app) rtmpAddr() string {
	if a.rtmp == nil {
		return ""
	}
	return a.rtmp.Addr().String()
}

// stop shuts down in dependency order: no new publishers, then the
// packager (which releases blocked requests), then HTTP, then the store.
func (a *app) stop() {
	if a.stopSched != nil {
		a.stopSched()
	}
	if a.rtmp != nil {
		a.rtmp.Close()
	}
	if a.rtmps != nil {
		a.rtmps.Close()
	}
	if a.whip != nil {
		a.whip.Close()
	}
	if a.ladder != nil {
		a.ladder.Close()
	}
	// Publishers gone, their streams ended: WebRTC sessions follow.
	if a.whep != nil {
		a.whep.Close()
	}
	if a.relay != nil {
		a.relay.Close()
	}
	if a.rtc != nil {
		a.rtc.Close()
	}
	if a.hls != nil {
		a.hls.Close()
	}
	if a.rec != nil {
		a.rec.Close() // after the packager: its last segments are queued
	}
	if a.live != nil {
		a.live.Close() // hijacked connections: http.Server.Shutdown does not see them
	}
	if a.directory != nil {
		a.directory.Close()
	}
	if a.web != nil {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		if err := a.web.Shutdown(ctx); err != nil {
			a.log.Warn("http shutdown", "err", err)
		}
		cancel()
	}
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			a.log.Warn("store close", "err", err)
		}
	}
}

func rotateStreamKey(ctx context.Context, cfg *config, stdout io.Writer) error {
	st, err := sqlite.Open(filepath.Join(cfg.DataDir, "kast.db"))
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	t, err := st.TrackBySlug(ctx, cfg.RotateStreamKey)
	if err != nil {
		return fmt.Errorf("track %q: %w", cfg.RotateStreamKey, err)
	}
	key, err := st.RotateStreamKey(ctx, t.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "New stream key for track %q (the old one stops working now):\n  %s\n", t.Slug, key)
	return nil
}

func newLogger(cfg *config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel))); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
