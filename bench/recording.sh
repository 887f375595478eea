#!/usr/bin/env bash
# recording.sh measures what recording costs: kast pinned to core 0 with
# recording on and off, interleaved (on, off, on, off), the bench on
# core 1. Each round: a publish alone for PUBLISH_S (the recorder's CPU
# per 2.5 Mbit/s track), then VIEWERS hls.js-like viewers for 30 s
# (delivery latency). Prints one line per run; run `make build` and
# `go build -o bin/bench ./bench` first.
set -eu
cd "$(dirname "$0")/.."
VIEWERS=${VIEWERS:-1000}
PUBLISH_S=${PUBLISH_S:-60}
ROUNDS=${ROUNDS:-2}
KEY=bench-stream-key-0000
run() { # record
	KAST_RECORD=$1 RTMP_PORT=19360 HTTP_PORT=18100 CPUS=0 bench/kast.sh >/tmp/kast-rec-bench.out &
	local sh=$!
	for _ in $(seq 50); do grep -q '^pid' /tmp/kast-rec-bench.out 2>/dev/null && break; sleep 0.1; done
	local pid
	pid=$(sed -n 's/^pid //p' /tmp/kast-rec-bench.out)
	# The bench samples no server CPU without viewers: read /proc around the publish.
	local t0 t1
	t0=$(awk '{print $14+$15}' "/proc/$pid/stat")
	taskset -c 1 bin/bench -rtmp "rtmp://127.0.0.1:19360/live/$KEY" -viewers 0 -duration "${PUBLISH_S}s" >/dev/null 2>&1 || true
	t1=$(awk '{print $14+$15}' "/proc/$pid/stat")
	echo "{\"ticks\": $((t1 - t0)), \"hz\": $(getconf CLK_TCK), \"s\": $PUBLISH_S}" >/tmp/kast-rec-pub.json
	taskset -c 1 bin/bench -rtmp "rtmp://127.0.0.1:19360/live/$KEY" -hls http://127.0.0.1:18100/hls/main/index.m3u8 \
		-client hlsjs -viewers "$VIEWERS" -ramp 5s -duration 30s -server-pid "$pid" -json >/tmp/kast-rec-view.json 2>/dev/null || true
	kill "$sh" 2>/dev/null; wait "$sh" 2>/dev/null || true
	python3 - "$1" <<'PY'
import json, sys
p = json.load(open('/tmp/kast-rec-pub.json')); v = json.load(open('/tmp/kast-rec-view.json'))
l = v['delivery_latency_ms']
cpu = p['ticks'] / p['hz']
print(f"record={sys.argv[1]:5} publish-only CPU {100 * cpu / p['s']:.2f} % of a core ({cpu:.2f} CPU-s in {p['s']} s) | "
      f"{v['viewers']} viewers: CPU {v['server_cpu_pct']:.1f} %, latency p50/p95/p99/max {l['p50']:.0f}/{l['p95']:.0f}/{l['p99']:.0f}/{l['max']:.0f} ms, "
      f"errors {v['errors']}, stalls {v['stalls']}, RSS {v['server_rss_mb']:.0f} MB")
PY
	sleep 2
}
for _ in $(seq "$ROUNDS"); do run true; run false; done
