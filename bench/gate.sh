#!/usr/bin/env bash
# gate.sh measures what the playback gate costs per viewer: the media path
# (bench/gatedserver) pinned to core 0 without the gate, with the gate in
# front of a public event, and with a registered event whose viewers send
# the token as a cookie; the bench program on core 1. Rounds interleave
# the modes so that the shared machine's noise hits them alike.
# VIEWERS, DURATION, CLIENT and ROUNDS override the defaults.
set -eu
cd "$(dirname "$0")/.."
VIEWERS=${VIEWERS:-300}
DURATION=${DURATION:-20s}
CLIENT=${CLIENT:-hlsjs}
ROUNDS=${ROUNDS:-2}
go build -o bin/bench ./bench
go build -o bin/gatedserver ./bench/gatedserver
for round in $(seq "$ROUNDS"); do
	for mode in no-gate open gated; do
		flag=""
		case $mode in no-gate) flag=-no-gate ;; open) flag=-open ;; esac
		taskset -c 0 bin/gatedserver -rtmp 127.0.0.1:19380 -http 127.0.0.1:18083 $flag >/tmp/gated-bench.out &
		SRV=$!
		for _ in $(seq 50); do grep -q '^token' /tmp/gated-bench.out 2>/dev/null && break; sleep 0.1; done
		TOKEN=$(sed -n 's/^token //p' /tmp/gated-bench.out)
		(sleep "$(( ${DURATION%s} - 3 ))"; curl -s http://127.0.0.1:18083/metrics | grep '^kast_viewers' >/tmp/gated-bench.viewers) &
		taskset -c 1 bin/bench -rtmp rtmp://127.0.0.1:19380/live/bench -hls http://127.0.0.1:18083/hls/bench/index.m3u8 \
			-client "$CLIENT" -viewers "$VIEWERS" -ramp 5s -duration "$DURATION" -server-pid "$SRV" \
			-header "Cookie: kast_play=$TOKEN" -json >/tmp/gated-bench.json || true
		wait %2 2>/dev/null || true
		kill $SRV; wait $SRV 2>/dev/null || true
		python3 - "$mode" "$round" <<'PY'
import json, sys
r = json.load(open('/tmp/gated-bench.json'))
v = open('/tmp/gated-bench.viewers').read().strip()
keys = ['server_cpu_s_per_viewer_s', 'server_cpu_pct', 'server_cpu_s', 'viewer_s', 'requests', 'errors', 'stalls', 'server_rss_max_mb']
print(sys.argv[1], 'round', sys.argv[2], {k: r.get(k) for k in keys if k in r}, '| counted:', v or 'n/a')
PY
		sleep 2
	done
done
