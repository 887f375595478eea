package web

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kastlive/kast/ingest/whip"
	"github.com/kastlive/kast/relay"
	"github.com/kastlive/kast/web/webrtc"
)

// webrtcCollector reads the relay's counters at scrape time, and the
// number of WHIP sessions when whip is set.
type webrtcCollector struct {
	r    *relay.Relay
	whip *whip.Server
	whep *webrtc.Handler // nil in tests that serve no WHEP
}

var (
	descRTCSessions   = prometheus.NewDesc("kast_webrtc_sessions", "WebRTC sessions now, by direction (whep: viewers, whip: publishers).", []string{"direction"}, nil)
	descRTCForwarders = prometheus.NewDesc("kast_webrtc_forwarders", "Streams with WebRTC viewers now (each packetized once).", nil, nil)
	descRTCPackets    = prometheus.NewDesc("kast_webrtc_packets_sent_total", "RTP packets sent to WebRTC viewers.", nil, nil)
	descRTCBytes      = prometheus.NewDesc("kast_webrtc_bytes_sent_total", "RTP bytes (before SRTP) sent to WebRTC viewers.", nil, nil)
	descRTCDrops      = prometheus.NewDesc("kast_webrtc_dropped_packets_total", "Packets WebRTC viewers did not get, by reason (shard_behind, wait_keyframe, write_error).", []string{"reason"}, nil)
	descRTCNacked     = prometheus.NewDesc("kast_webrtc_nacked_packets_total", "Packets WebRTC viewers asked for again (NACK).", nil, nil)
	descRTCNackServed = prometheus.NewDesc("kast_webrtc_nack_served_total", "NACKed packets retransmitted from the stream's history.", nil, nil)
	descRTCKeyframes  = prometheus.NewDesc("kast_webrtc_keyframe_requests_total", "PLI/FIR received from WebRTC viewers.", nil, nil)
	descRTCSRs        = prometheus.NewDesc("kast_webrtc_sender_reports_total", "RTCP sender reports sent to WebRTC viewers.", nil, nil)
	descRTCResumed    = prometheus.NewDesc("kast_webrtc_viewers_resumed_total", "WebRTC viewers that went on with their track's next stream in the same session (the publisher reconnected).", nil, nil)
	descTranscoders   = prometheus.NewDesc("kast_transcoders", "AAC to Opus transcoders running now (one per stream with WebRTC viewers).", nil, nil)
	descTcStarts      = prometheus.NewDesc("kast_transcoder_starts_total", "AAC to Opus transcoders started.", nil, nil)
	descTcFailures    = prometheus.NewDesc("kast_transcoder_failures_total", "AAC to Opus transcoders that failed to start or died.", nil, nil)
	descTcCPU         = prometheus.NewDesc("kast_transcoder_cpu_seconds_total", "CPU time used by AAC to Opus transcoders.", nil, nil)
	descNoOpus        = prometheus.NewDesc("kast_webrtc_audio_unavailable_total", "WebRTC viewers sent video only because AAC could not become Opus, by reason.", []string{"why"}, nil)
	descRefused       = prometheus.NewDesc("kast_webrtc_refused_total", "WHEP offers refused, by reason (bframes: the stream has B-frames; the speaker should set bframes=0).", []string{"reason"}, nil)
	descVideoTc       = prometheus.NewDesc("kast_video_transcoders", "H.264 re-encodes without B-frames running now for WebRTC viewers (-webrtc-reencode-bframes; one per stream).", nil, nil)
	descVideoTcFail   = prometheus.NewDesc("kast_video_transcoder_failures_total", "Re-encodes without B-frames that failed to start or stopped.", nil, nil)
	descVideoTcCPU    = prometheus.NewDesc("kast_video_transcoder_cpu_seconds_total", "CPU time used by the re-encodes without B-frames.", nil, nil)
	descWHEPLimited   = prometheus.NewDesc("kast_whep_sessions_limited_total", "WHEP offers refused or sessions ended by the limits, by reason (per_source: 429; full: 503; unconnected_dropped: a session still connecting ended to make room; connect_timeout: no ICE/DTLS within 15 s).", []string{"reason"}, nil)
	descGSO           = prometheus.NewDesc("kast_webrtc_gso", "1 when WebRTC packets to a viewer leave in one sendmsg per run of a frame (UDP GSO), 0 when each has its own.", nil, nil)
	descGSOSends      = prometheus.NewDesc("kast_webrtc_gso_sends_total", "sendmsg calls that carried several of a viewer's packets (UDP GSO).", nil, nil)
	descGSODatagrams  = prometheus.NewDesc("kast_webrtc_gso_datagrams_total", "Packets sent in those calls.", nil, nil)
	descLoss          = prometheus.NewDesc("kast_webrtc_viewer_loss_ratio", "Fraction of packets lost per receiver report of a WebRTC viewer.", nil, nil)
	descRTT           = prometheus.NewDesc("kast_webrtc_viewer_rtt_seconds", "Round-trip time to WebRTC viewers, per receiver report.", nil, nil)
)

func (c *webrtcCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRTCSessions, descRTCForwarders, descRTCPackets, descRTCBytes, descRTCDrops,
		descRTCNacked, descRTCNackServed, descRTCKeyframes, descRTCSRs, descRTCResumed, descTranscoders, descTcStarts, descTcFailures,
		descTcCPU, descNoOpus, descRefused, descVideoTc, descVideoTcFail, descVideoTcCPU, descWHEPLimited, descGSO, descGSOSends, descGSODatagrams, descLoss, descRTT} {
		ch <- d
	}
}

func (c *webrtcCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.r.Stats()
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, l...)
	}
	gauge(descRTCSessions, float64(s.Viewers), "whep")
	if c.whip != nil {
		gauge(descRTCSessions, float64(c.whip.Stats().Sessions), "whip")
	}
	gauge(descRTCForwarders, float64(s.Forwarders))
	counter(descRTCPackets, float64(s.PacketsSent))
	if c.r.Engine != nil {
		on, sends, dgrams := c.r.Engine.GSOStats()
		g := 0.0
		if on {
			g = 1
		}
		gauge(descGSO, g)
		counter(descGSOSends, float64(sends))
		counter(descGSODatagrams, float64(dgrams))
	}
	counter(descRTCBytes, float64(s.BytesSent))
	for reason, n := range s.Drops {
		counter(descRTCDrops, float64(n), reason)
	}
	counter(descRTCNacked, float64(s.NACKedPackets))
	counter(descRTCNackServed, float64(s.NACKsServed))
	counter(descRTCKeyframes, float64(s.KeyframeRequests))
	counter(descRTCSRs, float64(s.SenderReports))
	counter(descRTCResumed, float64(s.Resumed))
	gauge(descTranscoders, float64(s.TranscodersRunning))
	counter(descTcStarts, float64(s.TranscoderStarts))
	counter(descTcFailures, float64(s.TranscoderFailures))
	counter(descTcCPU, s.TranscoderCPU)
	if s.AudioWithoutOpus > 0 {
		counter(descNoOpus, float64(s.AudioWithoutOpus), s.AudioWithoutOpusWhy)
	}
	counter(descRefused, float64(s.RefusedBFrames), "bframes")
	if c.whep != nil {
		l := c.whep.Limits()
		counter(descWHEPLimited, float64(l.RefusedPerSource), "per_source")
		counter(descWHEPLimited, float64(l.RefusedFull), "full")
		counter(descWHEPLimited, float64(l.DroppedUnconnected), "unconnected_dropped")
		counter(descWHEPLimited, float64(l.ConnectTimeouts), "connect_timeout")
	}
	gauge(descVideoTc, float64(s.VideoTranscodersRunning))
	counter(descVideoTcFail, float64(s.VideoTranscoderFailures))
	counter(descVideoTcCPU, s.VideoTranscoderCPU)
	for _, h := range []struct {
		d *prometheus.Desc
		h relay.Histogram
	}{{descLoss, s.Loss}, {descRTT, s.RTT}} {
		buckets := make(map[float64]uint64, len(h.h.Bounds))
		for i, b := range h.h.Bounds {
			buckets[b] = h.h.Counts[i]
		}
		ch <- prometheus.MustNewConstHistogram(h.d, h.h.Count, h.h.Sum, buckets)
	}
}
