package web

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kastlive/kast/ingest/whip"
)

// whipCollector reads the WHIP publishers' counters at scrape time.
type whipCollector struct{ w *whip.Server }

var (
	descWHIPSessions = prometheus.NewDesc("kast_whip_sessions", "WHIP publishing sessions now, by state (connecting: ICE/DTLS not done yet).", []string{"state"}, nil)
	descWHIPEnded    = prometheus.NewDesc("kast_whip_sessions_failed_total", "WHIP sessions that never carried media, by reason (connect_timeout, dropped_pending: the oldest unconnected one when too many were connecting).", []string{"reason"}, nil)
	descWHIPPackets  = prometheus.NewDesc("kast_whip_packets_received_total", "RTP packets received from WHIP publishers.", nil, nil)
	descWHIPBytes    = prometheus.NewDesc("kast_whip_bytes_received_total", "RTP bytes received from WHIP publishers.", nil, nil)
	descWHIPLost     = prometheus.NewDesc("kast_whip_packets_lost_total", "RTP packets from WHIP publishers given up as lost after waiting for their retransmission.", nil, nil)
	descWHIPLate     = prometheus.NewDesc("kast_whip_packets_late_total", "RTP packets from WHIP publishers that were duplicates or came after their turn.", nil, nil)
	descWHIPDamaged  = prometheus.NewDesc("kast_whip_pictures_damaged_total", "Pictures from WHIP publishers dropped because part of them was lost or malformed.", nil, nil)
	descWHIPKeyReqs  = prometheus.NewDesc("kast_whip_keyframe_requests_total", "PLI/FIR sent to WHIP publishers.", nil, nil)
)

func (c *whipCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descWHIPSessions, descWHIPEnded, descWHIPPackets, descWHIPBytes, descWHIPLost,
		descWHIPLate, descWHIPDamaged, descWHIPKeyReqs} {
		ch <- d
	}
}

func (c *whipCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.w.Stats()
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	gauge(descWHIPSessions, float64(s.Sessions-s.Pending), "connected")
	gauge(descWHIPSessions, float64(s.Pending), "connecting")
	counter(descWHIPEnded, s.ConnectFailed, "connect_timeout")
	counter(descWHIPEnded, s.Dropped, "dropped_pending")
	counter(descWHIPPackets, s.Packets)
	counter(descWHIPBytes, s.Bytes)
	counter(descWHIPLost, s.Lost)
	counter(descWHIPLate, s.Late)
	counter(descWHIPDamaged, s.Damaged)
	counter(descWHIPKeyReqs, s.KeyframeRequests)
}
