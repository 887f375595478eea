package web

import (
	"crypto/subtle"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kastlive/kast/ingest/whip"
	"github.com/kastlive/kast/web/fastpath"
)

// metricsHandler serves the Prometheus metrics of the hub, the packager,
// the Go runtime and the process.
func (s *Server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&kastCollector{s: s},
	)
	var ws *whip.Server
	if s.WebRTC != nil {
		ws = s.WebRTC.WHIP
	}
	if s.Relay != nil {
		reg.MustRegister(&webrtcCollector{r: s.Relay, whip: ws, whep: s.WebRTC})
	}
	if ws != nil {
		reg.MustRegister(&whipCollector{w: ws})
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// protectedMetrics serves /metrics on the main listeners to requests
// bearing MetricsToken; nil (no route) without a token, as the metrics
// name every track and count every viewer.
func (s *Server) protectedMetrics() http.Handler {
	if s.MetricsToken == "" {
		return nil
	}
	h := s.metricsHandler()
	want := []byte("Bearer " + s.MetricsToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kast metrics"`)
			http.Error(w, "metrics need the bearer token (-metrics-token)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// kastCollector reads kast's own counters at scrape time.
type kastCollector struct{ s *Server }

var (
	descPublishers  = prometheus.NewDesc("kast_publishers", "Publishers live now.", nil, nil)
	descReaders     = prometheus.NewDesc("kast_stream_readers", "Readers subscribed to live streams.", nil, nil)
	descIngestUnits = prometheus.NewDesc("kast_ingest_frames_total", "Access units received from publishers.", nil, nil)
	descIngestBytes = prometheus.NewDesc("kast_ingest_bytes_total", "Payload bytes received from publishers.", nil, nil)
	descDrops       = prometheus.NewDesc("kast_reader_dropped_frames_total", "Frames lost by readers that fell behind.", nil, nil)
	descFrames      = prometheus.NewDesc("kast_hls_frames_total", "Frames packaged into HLS.", []string{"kind"}, nil)
	descParts       = prometheus.NewDesc("kast_hls_parts_total", "HLS parts produced.", nil, nil)
	descSegments    = prometheus.NewDesc("kast_hls_segments_total", "HLS segments produced.", nil, nil)
	descBlocked     = prometheus.NewDesc("kast_hls_blocked_requests", "HLS requests waiting for a part now.", nil, nil)
	descRequests    = prometheus.NewDesc("kast_hls_requests_total", "HLS responses by kind and status (0: client went away).", []string{"kind", "status"}, nil)
	descViewers     = prometheus.NewDesc("kast_viewers", "Viewers per track, counted from their HLS requests (docs/api.md).", []string{"track", "protocol"}, nil)
	descLiveConns   = prometheus.NewDesc("kast_live_connections", "Live channel websocket connections now.", nil, nil)
	descLiveSent    = prometheus.NewDesc("kast_live_messages_total", "Messages queued to live channel connections.", nil, nil)
	descLiveDropped = prometheus.NewDesc("kast_live_dropped_total", "Live channel connections closed by kast, by reason.", []string{"reason"}, nil)
	descLiveRefused = prometheus.NewDesc("kast_live_refused_total", "Live channel connections refused, by reason.", []string{"reason"}, nil)
	descFeedDropped = prometheus.NewDesc("kast_feed_dropped_total", "Conference changes (on-air, events, tracks, talks) a listener lost for want of room; the gate and the recorder then reload from the store.", nil, nil)
	descFastConns   = prometheus.NewDesc("kast_http_fastpath_connections", "HTTP connections on the HLS fast path now.", []string{"listener"}, nil)
	descFastReqs    = prometheus.NewDesc("kast_http_fastpath_requests_total", "Requests served on the HLS fast path.", []string{"listener"}, nil)
	descFastH2Conns = prometheus.NewDesc("kast_http_fastpath_http2_connections", "HTTP/2 connections on the fast path's frame loop now (of kast_http_fastpath_connections).", []string{"listener"}, nil)
	descFastH2Reqs  = prometheus.NewDesc("kast_http_fastpath_http2_requests_total", "Fast-path requests that came over HTTP/2 (of kast_http_fastpath_requests_total).", []string{"listener"}, nil)
	descHandoffs    = prometheus.NewDesc("kast_http_handoffs_total", "Connections the fast path gave to net/http (other paths, unusual requests).", []string{"listener"}, nil)
	descAdoptions   = prometheus.NewDesc("kast_http_adoptions_total", "Connections taken back onto the fast path from net/http.", []string{"listener"}, nil)

	descRTMPConns    = prometheus.NewDesc("kast_rtmp_connections", "RTMP connections open now, before the stream key was accepted (unauthenticated) and after (publishing).", []string{"state"}, nil)
	descRTMPAccepted = prometheus.NewDesc("kast_rtmp_connections_accepted_total", "TCP connections taken by the RTMP listeners.", nil, nil)
	descRTMPDropped  = prometheus.NewDesc("kast_rtmp_connections_dropped_total", "RTMP connections closed by kast before they published, by reason (unauthenticated_full, source_full, handshake_timeout, protocol_error).", []string{"reason"}, nil)
	descRTMPRefused  = prometheus.NewDesc("kast_rtmp_connections_refused_total", "RTMP publish or play requests refused, by reason (unknown_key, auth_error, track_busy, publishers_full, play).", []string{"reason"}, nil)
)

// Recorder metrics.
var (
	descRecSegments = prometheus.NewDesc("kast_recording_segments_total", "Segments written to recordings.", nil, nil)
	descRecBytes    = prometheus.NewDesc("kast_recording_bytes_total", "Bytes of segments written to recordings.", nil, nil)
	descRecDropped  = prometheus.NewDesc("kast_recording_dropped_segments_total", "Segments not recorded (writer queue full, no room, write error).", nil, nil)
	descRecErrors   = prometheus.NewDesc("kast_recording_write_errors_total", "Failed writes of recordings.", nil, nil)
	descRecFull     = prometheus.NewDesc("kast_recording_stopped", "1 while recording is stopped for want of disk space or budget.", nil, nil)
	descHTTPConns   = prometheus.NewDesc("kast_http_connections", "HTTP(S) connections open now (both listeners).", nil, nil)
	descHTTPRefused = prometheus.NewDesc("kast_http_connections_refused_total", "HTTP(S) connections closed at accept by the limits (total: -http-max-conns; per_source: -http-conns-per-source).", []string{"reason"}, nil)
	descRecUsage    = prometheus.NewDesc("kast_recording_disk_bytes", "Bytes the recordings take on disk.", nil, nil)
	descRecDeleted  = prometheus.NewDesc("kast_recording_deleted_publishes_total", "Publishes deleted by the budget or the retention.", []string{"reason"}, nil)
)

func (c *kastCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPublishers, descReaders, descIngestUnits, descIngestBytes, descDrops,
		descFrames, descParts, descSegments, descBlocked, descRequests,
		descFastConns, descFastReqs, descFastH2Conns, descFastH2Reqs, descHandoffs, descAdoptions, descHTTPConns, descHTTPRefused,
		descRTMPConns, descRTMPAccepted, descRTMPDropped, descRTMPRefused,
		descRecSegments, descRecBytes, descRecDropped, descRecErrors, descRecFull, descRecUsage, descRecDeleted,
		descViewers, descLiveConns, descLiveSent, descLiveDropped, descLiveRefused, descFeedDropped} {
		ch <- d
	}
}

func (c *kastCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.s.Hub.Stats()
	ch <- prometheus.MustNewConstMetric(descPublishers, prometheus.GaugeValue, float64(h.Publishers))
	ch <- prometheus.MustNewConstMetric(descReaders, prometheus.GaugeValue, float64(h.Readers))
	ch <- prometheus.MustNewConstMetric(descIngestUnits, prometheus.CounterValue, float64(h.Units))
	ch <- prometheus.MustNewConstMetric(descIngestBytes, prometheus.CounterValue, float64(h.Bytes))
	ch <- prometheus.MustNewConstMetric(descDrops, prometheus.CounterValue, float64(h.ReaderDrops))

	for listener, fp := range map[string]*fastpath.Server{"http": c.s.fast, "https": c.s.secure} {
		if fp == nil {
			continue
		}
		f := fp.Stats()
		ch <- prometheus.MustNewConstMetric(descFastConns, prometheus.GaugeValue, float64(f.Conns), listener)
		ch <- prometheus.MustNewConstMetric(descFastReqs, prometheus.CounterValue, float64(f.Requests), listener)
		ch <- prometheus.MustNewConstMetric(descHandoffs, prometheus.CounterValue, float64(f.Handoffs), listener)
		ch <- prometheus.MustNewConstMetric(descAdoptions, prometheus.CounterValue, float64(f.Adoptions), listener)
		ch <- prometheus.MustNewConstMetric(descFastH2Conns, prometheus.GaugeValue, float64(f.H2Conns), listener)
		ch <- prometheus.MustNewConstMetric(descFastH2Reqs, prometheus.CounterValue, float64(f.H2Requests), listener)
	}

	cl := &c.s.connStats
	ch <- prometheus.MustNewConstMetric(descHTTPConns, prometheus.GaugeValue, float64(cl.open.Load()))
	ch <- prometheus.MustNewConstMetric(descHTTPRefused, prometheus.CounterValue, float64(cl.refusedTotal.Load()), "total")
	ch <- prometheus.MustNewConstMetric(descHTTPRefused, prometheus.CounterValue, float64(cl.refSrc.Load()), "per_source")

	if c.s.RTMP != nil {
		r := c.s.RTMP()
		ch <- prometheus.MustNewConstMetric(descRTMPConns, prometheus.GaugeValue, float64(r.Unauthenticated), "unauthenticated")
		ch <- prometheus.MustNewConstMetric(descRTMPConns, prometheus.GaugeValue, float64(r.Publishing), "publishing")
		ch <- prometheus.MustNewConstMetric(descRTMPAccepted, prometheus.CounterValue, float64(r.Accepted))
		for reason, n := range r.Dropped {
			ch <- prometheus.MustNewConstMetric(descRTMPDropped, prometheus.CounterValue, float64(n), reason)
		}
		for reason, n := range r.Refused {
			ch <- prometheus.MustNewConstMetric(descRTMPRefused, prometheus.CounterValue, float64(n), reason)
		}
	}

	if c.s.Recorder != nil {
		r := c.s.Recorder.Stats()
		full := 0.0
		if r.Full {
			full = 1
		}
		ch <- prometheus.MustNewConstMetric(descRecSegments, prometheus.CounterValue, float64(r.Segments))
		ch <- prometheus.MustNewConstMetric(descRecBytes, prometheus.CounterValue, float64(r.Bytes))
		ch <- prometheus.MustNewConstMetric(descRecDropped, prometheus.CounterValue, float64(r.Dropped))
		ch <- prometheus.MustNewConstMetric(descRecErrors, prometheus.CounterValue, float64(r.WriteErrors))
		ch <- prometheus.MustNewConstMetric(descRecFull, prometheus.GaugeValue, full)
		ch <- prometheus.MustNewConstMetric(descRecUsage, prometheus.GaugeValue, float64(r.UsageBytes))
		ch <- prometheus.MustNewConstMetric(descRecDeleted, prometheus.CounterValue, float64(r.Evicted), "budget")
		ch <- prometheus.MustNewConstMetric(descRecDeleted, prometheus.CounterValue, float64(r.Expired), "retention")
	}
	for track, n := range c.s.Packager.ViewerCounts() {
		ch <- prometheus.MustNewConstMetric(descViewers, prometheus.GaugeValue, float64(n), track, "hls")
	}
	if l := c.s.Live; l != nil {
		st := l.Stats()
		ch <- prometheus.MustNewConstMetric(descLiveConns, prometheus.GaugeValue, float64(st.Conns))
		ch <- prometheus.MustNewConstMetric(descLiveSent, prometheus.CounterValue, float64(st.Sent))
		ch <- prometheus.MustNewConstMetric(descLiveDropped, prometheus.CounterValue, float64(st.SlowDrops), "slow")
		ch <- prometheus.MustNewConstMetric(descLiveDropped, prometheus.CounterValue, float64(st.ClientDrop), "client_limit")
		for reason, n := range st.Refused {
			ch <- prometheus.MustNewConstMetric(descLiveRefused, prometheus.CounterValue, float64(n), reason)
		}
	}

	if f := c.s.Feed; f != nil {
		ch <- prometheus.MustNewConstMetric(descFeedDropped, prometheus.CounterValue, float64(f.Dropped()))
	}

	p := c.s.Packager.Metrics().Stats()
	ch <- prometheus.MustNewConstMetric(descFrames, prometheus.CounterValue, float64(p.VideoFrames), "video")
	ch <- prometheus.MustNewConstMetric(descFrames, prometheus.CounterValue, float64(p.AudioFrames), "audio")
	ch <- prometheus.MustNewConstMetric(descParts, prometheus.CounterValue, float64(p.Parts))
	ch <- prometheus.MustNewConstMetric(descSegments, prometheus.CounterValue, float64(p.Segments))
	ch <- prometheus.MustNewConstMetric(descBlocked, prometheus.GaugeValue, float64(p.Blocked))
	for kind, byStatus := range p.Requests {
		for status, n := range byStatus {
			ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(n), kind, strconv.Itoa(status))
		}
	}
}
