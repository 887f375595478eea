#!/usr/bin/env bash
# kast.sh starts a kast built from this checkout (bin/kast, `make build`)
# on 127.0.0.1 with a throwaway data directory, for the bench to measure:
#
#   bench/kast.sh &
#   go run ./bench -rtmp rtmp://127.0.0.1:1935/live/bench-stream-key-0000 \
#       -hls http://127.0.0.1:8080/hls/main/index.m3u8 -client apple -server-pid PID
#
# Ports: RTMP_PORT (default 1935), HTTP_PORT (default 8080). CPUS, when set,
# pins kast to those cores with taskset (e.g. CPUS=0) so that the bench on
# the other core does not compete with it. Prints "pid N" and the URLs and
# stops kast on SIGINT/SIGTERM/exit. KAST_ARGS adds flags (word-split), e.g.
# KAST_ARGS=-webrtc-gso=false. The per-source connection limits are
# off: every bench viewer comes from 127.0.0.1.
set -eu

RTMP_PORT=${RTMP_PORT:-1935}
HTTP_PORT=${HTTP_PORT:-8080}
KEY=bench-stream-key-0000
BIN=$(cd "$(dirname "$0")/.." && pwd)/bin/kast
[ -x "$BIN" ] || { echo "$BIN not found: run make build" >&2; exit 1; }

DIR=$(mktemp -d /tmp/kast-bench.XXXXXX)
PIN=()
if [ -n "${CPUS:-}" ]; then PIN=(taskset -c "$CPUS"); fi
KAST_STREAM_KEY=$KEY "${PIN[@]}" "$BIN" -data-dir "$DIR" -log-level warn \
	-http-addr "127.0.0.1:$HTTP_PORT" -rtmp-addr "127.0.0.1:$RTMP_PORT" -metrics-addr "" -webrtc-udp-addr 127.0.0.1:0 \
	-http-conns-per-source -1 -webrtc-per-source -1 ${KAST_ARGS:-} >"$DIR/stdout" 2>"$DIR/stderr" &
PID=$!
cleanup() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
trap 'exit 0' INT TERM

for _ in $(seq 50); do
	curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/healthz" && break
	sleep 0.1
done
echo "pid $PID"
echo "rtmp://127.0.0.1:$RTMP_PORT/live/$KEY"
echo "http://127.0.0.1:$HTTP_PORT/hls/main/index.m3u8"
wait "$PID"
