package main

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"os"
	"strings"
)

// writeHTMLReport writes a self-contained HTML page (inline SVG, no external
// assets) with the summary and charts of a run.
func writeHTMLReport(path string, r *result) error {
	var b strings.Builder
	var table bytes.Buffer
	printTable(&table, r)
	b.WriteString(`<!doctype html><html><head><meta charset="utf-8"><title>kast bench</title><style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222;max-width:800px}
pre{background:#f4f4f4;padding:1em;overflow:auto}
svg{display:block;margin:0 0 2em} h2{font-size:16px;margin:1.5em 0 .3em}
.grid{stroke:#ddd;stroke-width:1}.axis{font-size:11px;fill:#555}
</style></head><body>`)
	fmt.Fprintf(&b, "<h1>kast bench: %d %s viewers</h1><pre>%s</pre>", r.Viewers, html.EscapeString(r.Client), html.EscapeString(table.String()))

	xs := make([]float64, len(r.Series))
	col := func(f func(second) float64) []float64 {
		v := make([]float64, len(r.Series))
		for i, s := range r.Series {
			v[i] = f(s)
		}
		return v
	}
	for i, s := range r.Series {
		xs[i] = s.T
	}
	b.WriteString("<h2>Delivery latency per second (ms)</h2>")
	b.WriteString(lineChart(xs, []chartSeries{
		{"p50", "#1f77b4", col(func(s second) float64 { return s.LatencyP50 })},
		{"p99", "#d62728", col(func(s second) float64 { return s.LatencyP99 })},
	}))
	b.WriteString("<h2>Delivery latency distribution (frames per bin, ms)</h2>")
	b.WriteString(histogramChart(r.latencyHist))
	b.WriteString("<h2>Viewers</h2>")
	b.WriteString(lineChart(xs, []chartSeries{
		{"active viewers", "#2ca02c", col(func(s second) float64 { return float64(s.Viewers) })},
	}))
	b.WriteString("<h2>Errors and stalls per second</h2>")
	b.WriteString(lineChart(xs, []chartSeries{
		{"errors", "#d62728", col(func(s second) float64 { return float64(s.Errors) })},
		{"stalls", "#ff7f0e", col(func(s second) float64 { return float64(s.Stalls) })},
	}))
	b.WriteString("<h2>CPU (% of one core)</h2>")
	cpu := []chartSeries{{"bench", "#7f7f7f", col(func(s second) float64 { return s.BenchCPUPct })}}
	if r.ServerPID != 0 {
		cpu = append([]chartSeries{{"server", "#9467bd", col(func(s second) float64 { return s.ServerCPUPct })}}, cpu...)
	}
	b.WriteString(lineChart(xs, cpu))
	b.WriteString("</body></html>\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

type chartSeries struct {
	name  string
	color string
	ys    []float64
}

const (
	chartW, chartH           = 760, 220
	padL, padR, padT, padB   = 56, 12, 20, 28
	plotW, plotH             = chartW - padL - padR, chartH - padT - padB
	histBins                 = 50
	chartFontAttr            = `class="axis"`
	chartNoData              = `<p>no data</p>`
	chartLegendStep, chartDX = 110, 8
)

// niceMax rounds v up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func chartFrame(b *strings.Builder, ymax float64) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`, chartW, chartH, chartW, chartH)
	for i := 0; i <= 4; i++ {
		y := float64(padT) + float64(plotH)*float64(4-i)/4
		fmt.Fprintf(b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, padL+plotW, y, y)
		fmt.Fprintf(b, `<text %s x="%d" y="%.1f" text-anchor="end">%s</text>`, chartFontAttr, padL-4, y+4, fmtNum(ymax*float64(i)/4))
	}
}

func fmtNum(v float64) string {
	if v == math.Trunc(v) || v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

// lineChart draws series against xs (seconds).
func lineChart(xs []float64, series []chartSeries) string {
	if len(xs) == 0 {
		return chartNoData
	}
	ymax := 0.0
	for _, s := range series {
		for _, y := range s.ys {
			ymax = max(ymax, y)
		}
	}
	ymax = niceMax(ymax)
	xmax := max(xs[len(xs)-1], 1)
	var b strings.Builder
	chartFrame(&b, ymax)
	for i := 0; i <= 5; i++ {
		x := float64(padL) + float64(plotW)*float64(i)/5
		fmt.Fprintf(&b, `<text %s x="%.1f" y="%d" text-anchor="middle">%.0fs</text>`, chartFontAttr, x, chartH-8, xmax*float64(i)/5)
	}
	for k, s := range series {
		var pts strings.Builder
		for i, y := range s.ys {
			px := float64(padL) + float64(plotW)*xs[i]/xmax
			py := float64(padT) + float64(plotH)*(1-y/ymax)
			fmt.Fprintf(&pts, "%.1f,%.1f ", px, py)
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, s.color, pts.String())
		lx := padL + chartDX + k*chartLegendStep
		fmt.Fprintf(&b, `<rect x="%d" y="4" width="10" height="10" fill="%s"/><text %s x="%d" y="13">%s</text>`,
			lx, s.color, chartFontAttr, lx+14, html.EscapeString(s.name))
	}
	b.WriteString("</svg>")
	return b.String()
}

// histogramChart draws the latency distribution up to about the p99.9.
func histogramChart(h *histogram) string {
	if h == nil || h.Count() == 0 {
		return chartNoData
	}
	hi := niceMax(ms(h.Quantile(0.999)) * 1.1)
	bins := make([]float64, histBins)
	for i := range h.counts {
		n := h.counts[i].Load()
		if n == 0 {
			continue
		}
		mid := float64(histLow(i)+histHigh(i)) / 2 / 1000
		j := int(mid / hi * histBins)
		if j >= histBins {
			j = histBins - 1
		}
		bins[j] += float64(n)
	}
	ymax := 0.0
	for _, v := range bins {
		ymax = max(ymax, v)
	}
	ymax = niceMax(ymax)
	var b strings.Builder
	chartFrame(&b, ymax)
	bw := float64(plotW) / histBins
	for j, v := range bins {
		hgt := float64(plotH) * v / ymax
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#1f77b4"/>`,
			float64(padL)+bw*float64(j)+0.5, float64(padT+plotH)-hgt, bw-1, hgt)
	}
	for i := 0; i <= 5; i++ {
		x := float64(padL) + float64(plotW)*float64(i)/5
		fmt.Fprintf(&b, `<text %s x="%.1f" y="%d" text-anchor="middle">%s</text>`, chartFontAttr, x, chartH-8, fmtNum(hi*float64(i)/5))
	}
	b.WriteString("</svg>")
	return b.String()
}
