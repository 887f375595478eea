package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// printTable writes the human-readable summary of a run.
func printTable(w io.Writer, r *result) {
	if r.Viewers == 0 {
		fmt.Fprintf(w, "published %s to %s for %.1fs at %.0f kbit/s\n", r.Source, r.RTMPURL, r.DurationS, r.PublishBitrateKbps)
		return
	}
	fmt.Fprintf(w, "%s: %d %s viewers, %.1fs (ramp %.1fs)\n", r.HLSURL, r.Viewers, r.Client, r.DurationS, r.RampS)
	if r.RTMPURL != "" {
		fmt.Fprintf(w, "publish: %s, %.0f kbit/s sent (%s), first playlist %.2fs after publish start\n",
			r.RTMPURL, r.PublishBitrateKbps, r.Source, r.FirstPlaylistS)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ms\tp50\tp95\tp99\tmax\tcount\t")
	row := func(name string, s summary) {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%.0f\t%d\t\n", name, s.P50, s.P95, s.P99, s.Max, s.Count)
	}
	row("delivery latency", r.DeliveryLatency)
	row("time to first frame", r.TTFF)
	row("gap between frames", r.FrameGap)
	tw.Flush()
	fmt.Fprintf(w, "viewers with frames %d/%d, frames %d, requests %d (%.0f/s), stalls %d, errors %d",
		r.ViewersWithFrames, r.Viewers, r.Frames, r.Requests, r.RequestsPerS, r.Stalls, r.Errors)
	for _, k := range sortedKinds(r.ErrorsByKind) {
		fmt.Fprintf(w, " %s=%d", k, r.ErrorsByKind[k])
	}
	fmt.Fprintln(w)
	if r.WHEPURL != "" {
		fmt.Fprintf(w, "whep: %d of %d viewers sampled (decrypted, latency from their SEIs); RTP packets %d, lost %d (%.3f%%)\n",
			r.WHEPSampled, r.Viewers, r.RTPPackets, r.RTPLost, r.RTPLossPct)
	}
	if r.OriginRequestsPerS > 0 {
		fmt.Fprintf(w, "origin: %.1f requests/s once every viewer had joined\n", r.OriginRequestsPerS)
	}
	if r.ServerPID != 0 {
		fmt.Fprintf(w, "server pid %d: %.1f%% of a core, %.5f CPU-s per viewer-s, RSS %.1f MB (max %.1f)\n",
			r.ServerPID, r.ServerCPUPct, r.ServerCPUPerViewer, r.ServerRSSMB, r.ServerRSSMaxMB)
	}
	fmt.Fprintf(w, "bench: %.1f%% of a core, RSS %.1f MB\n", r.BenchCPUPct, r.BenchRSSMB)
}
