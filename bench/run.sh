#!/usr/bin/env bash
# run.sh is `make bench`'s load part: kast pinned to core 0, the bench
# program on core 1, 300 viewers of each LL-HLS client kind.
# VIEWERS and DURATION override the defaults.
set -eu
cd "$(dirname "$0")/.."
VIEWERS=${VIEWERS:-300}
DURATION=${DURATION:-20s}
RTMP_PORT=${RTMP_PORT:-19350} HTTP_PORT=${HTTP_PORT:-18090} CPUS=0 bench/kast.sh >/tmp/kast-bench.out &
SH=$!
trap 'kill $SH 2>/dev/null; wait $SH 2>/dev/null' EXIT
for _ in $(seq 50); do grep -q '^pid' /tmp/kast-bench.out 2>/dev/null && break; sleep 0.1; done
PID=$(sed -n 's/^pid //p' /tmp/kast-bench.out)
for client in apple hlsjs; do
	taskset -c 1 bin/bench -rtmp "rtmp://127.0.0.1:${RTMP_PORT:-19350}/live/bench-stream-key-0000" \
		-hls "http://127.0.0.1:${HTTP_PORT:-18090}/hls/main/index.m3u8" \
		-client "$client" -viewers "$VIEWERS" -ramp 5s -duration "$DURATION" -server-pid "$PID"
	sleep 2
done
