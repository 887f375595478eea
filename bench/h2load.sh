#!/usr/bin/env bash
# h2load.sh measures kast's CPU per request by protocol with nghttp2's
# h2load as the client instead of the bench's Go viewers: cleartext
# HTTP/1.1, HTTPS HTTP/1.1, HTTPS HTTP/2 on kast's frame loop and on
# net/http's server (-https-net-http2). h2load's flow control is a
# browser's (windows of a gigabyte, so no WINDOW_UPDATE per read, where
# Go's client sends one per 4 KB it reads).
#
#   CONNS=100 RPS=10 DURATION=10 bash bench/h2load.sh
#
# kast on core 0, ffmpeg and h2load on core 1. Each mode fetches the init
# section (about 1 KB: the per-request cost) with CONNS connections at RPS
# requests per second each for DURATION seconds, then the newest complete
# 1-s segment (about 300 KB: the per-byte cost) SEGMENTS times, as fast as
# it goes; one request at a time per connection. Every request must
# succeed (the output says).
# Needs bin/kast (make build; KAST_BIN runs another build), ffmpeg, openssl,
# h2load (nghttp2-client).
set -eu
cd "$(dirname "$0")/.."
CONNS=${CONNS:-100}
RPS=${RPS:-10}
SEGMENTS=${SEGMENTS:-1000}
DURATION=${DURATION:-10}
DIR=$(mktemp -d /tmp/kast-h2load.XXXXXX)
KEY=bench-stream-key-0000
HTTP=18390 HTTPS=18743 RTMP=19590
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$DIR/key.pem" \
	-out "$DIR/cert.pem" -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
PID= FF=
cleanup() {
	[ -n "$FF" ] && kill $FF 2>/dev/null || true
	[ -n "$PID" ] && kill $PID 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$DIR"
}
trap cleanup EXIT

start_kast() { # extra flags
	[ -n "$PID" ] && { kill $PID; wait $PID 2>/dev/null || true; }
	[ -n "$FF" ] && { kill $FF; wait $FF 2>/dev/null || true; }
	rm -rf "$DIR/data"
	KAST_STREAM_KEY=$KEY taskset -c 0 "${KAST_BIN:-bin/kast}" -data-dir "$DIR/data" -log-level warn -record=false \
		-http-addr 127.0.0.1:$HTTP -https-addr 127.0.0.1:$HTTPS -http-redirect=false \
		-rtmp-addr 127.0.0.1:$RTMP -rtmps-addr 127.0.0.1:0 -metrics-addr "" -webrtc-udp-addr "" \
		-http-conns-per-source -1 -tls-cert "$DIR/cert.pem" -tls-key "$DIR/key.pem" "$@" >"$DIR/kast.out" 2>&1 &
	PID=$!
	for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$HTTP/healthz" && break; sleep 0.1; done
	taskset -c 1 ffmpeg -loglevel error -re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=f=440 \
		-c:v libx264 -preset veryfast -tune zerolatency -g 30 -b:v 2500k -c:a aac -f flv \
		"rtmp://127.0.0.1:$RTMP/live/$KEY" >/dev/null 2>&1 &
	FF=$!
	sleep 6
}

cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }

run() { # name base-url extra-h2load-flags
	local name=$1 base=$2
	shift 2
	# kast's own work meanwhile (the packager muxing the stream), per second,
	# comes off the figures.
	local b0 b1
	b0=$(cpu)
	sleep 3
	b1=$(cpu)
	for what in init seg; do
		# The newest complete segment, picked now: a segment leaves the
		# playlist, and the server, some 12 s after it was made.
		local pl path before after out load=(-D "$DURATION" --rps "$RPS")
		pl=$(curl -sk "$base/hls/main/media.m3u8")
		path=$(echo "$pl" | sed -n 's/.*EXT-X-MAP:URI="\([^"]*\)".*/\1/p' | head -1)
		if [ $what = seg ]; then
			path=$(echo "$pl" | grep '^seg-' | tail -1)
			load=(-n "$SEGMENTS")
		fi
		before=$(cpu)
		local t0 t1
		t0=$(date +%s.%N)
		out=$(taskset -c 1 h2load "${load[@]}" -c "$CONNS" -m 1 "$@" "$base/hls/main/$path" 2>&1)
		t1=$(date +%s.%N)
		after=$(cpu)
		after=$(awk -v a="$after" -v b0="$b0" -v b1="$b1" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f", a - (b1 - b0) / 3 * (t1 - t0) }')
		local done ok bytes
		done=$(echo "$out" | sed -n 's/^requests: .* \([0-9]*\) done, \([0-9]*\) succeeded.*/\1 \2/p')
		ok=${done#* }
		bytes=$(echo "$out" | sed -n 's/^traffic: .*(\([0-9]*\)) total.*/\1/p')
		awk -v n="$name" -v p="$path" -v c=$((after - before)) -v ok="$ok" -v d="$done" -v b="$bytes" -v hz="$(getconf CLK_TCK)" \
			'BEGIN { printf "%-28s %-22s requests %s (done, ok), %.1f MB, kast %.2f CPU-s, %.1f us per request\n", n, p, d, b/1e6, c/hz, ok ? c/hz/ok*1e6 : 0 }'
		echo "$out" | grep '^status codes' | sed 's/^/    /'
	done
}

start_kast
run "cleartext HTTP/1.1" "http://127.0.0.1:$HTTP" --h1
run "HTTPS HTTP/1.1" "https://127.0.0.1:$HTTPS" --h1
run "HTTPS HTTP/2 (frame loop)" "https://127.0.0.1:$HTTPS"
start_kast -https-net-http2
run "HTTPS HTTP/2 (net/http)" "https://127.0.0.1:$HTTPS"
