#!/usr/bin/env bash
# tls.sh measures kast's CPU per hls.js-like viewer over cleartext HTTP,
# HTTPS with HTTP/1.1 and HTTP/2 (the fast path over TLS; KAST_ARGS=
# -https-net-http2 for net/http's HTTP/2), and behind nginx terminating TLS: kast pinned to core 0,
# nginx (when used) and the bench program on core 1, rounds interleaved.
#
#   VIEWERS=300 DURATION=20s ROUNDS=2 bash bench/tls.sh
#
# Needs bin/kast and bin/bench (make build; go build -o bin/bench ./bench),
# openssl and, for the nginx rows, Debian's nginx.
# KAST_ARGS adds flags to kast (word-split), e.g. -pprof-addr 127.0.0.1:6060;
# KAST_BIN runs another build of kast (default bin/kast).
set -eu
cd "$(dirname "$0")/.."
VIEWERS=${VIEWERS:-300}
DURATION=${DURATION:-20s}
ROUNDS=${ROUNDS:-2}
MODES=${MODES:-"clear h1 h2 nginx"} # which rows to run
DIR=$(mktemp -d /tmp/kast-tls-bench.XXXXXX)
KEY=bench-stream-key-0000
HTTP=18190 HTTPS=18543 RTMP=19390 NGINX=18643
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$DIR/key.pem" \
	-out "$DIR/cert.pem" -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
KAST_STREAM_KEY=$KEY taskset -c 0 "${KAST_BIN:-bin/kast}" -data-dir "$DIR/data" -log-level warn -record=false \
	-http-addr 127.0.0.1:$HTTP -https-addr 127.0.0.1:$HTTPS -http-redirect=false \
	-rtmp-addr 127.0.0.1:$RTMP -rtmps-addr 127.0.0.1:0 -metrics-addr "" -webrtc-udp-addr 127.0.0.1:0 \
	-http-conns-per-source -1 -webrtc-per-source -1 ${KAST_ARGS:-} \
	-tls-cert "$DIR/cert.pem" -tls-key "$DIR/key.pem" >"$DIR/kast.out" 2>&1 &
PID=$!
NGINX_PID=
cleanup() {
	kill $PID 2>/dev/null || true
	[ -n "$NGINX_PID" ] && kill $NGINX_PID 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$DIR"
}
trap cleanup EXIT
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$HTTP/healthz" && break; sleep 0.1; done

if command -v nginx >/dev/null 2>&1; then
	mkdir -p "$DIR/nginx"
	cat >"$DIR/nginx/nginx.conf" <<CONF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
daemon off;
worker_processes 1;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $DIR/nginx/body;
    proxy_temp_path $DIR/nginx/proxy;
    fastcgi_temp_path $DIR/nginx/fastcgi;
    uwsgi_temp_path $DIR/nginx/uwsgi;
    scgi_temp_path $DIR/nginx/scgi;
    upstream kast { server 127.0.0.1:$HTTP; keepalive 512; }
    server {
        listen 127.0.0.1:$NGINX ssl http2;
        ssl_certificate $DIR/cert.pem;
        ssl_certificate_key $DIR/key.pem;
        location / {
            proxy_pass http://kast;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 15s;
        }
    }
}
CONF
	taskset -c 1 nginx -c "$DIR/nginx/nginx.conf" -p "$DIR/nginx" &
	NGINX_PID=$!
	sleep 0.5
fi

run() { # name url extra-flags
	local name=$1 url=$2
	shift 2
	echo "== $name"
	taskset -c 1 bin/bench -rtmp "rtmp://127.0.0.1:$RTMP/live/$KEY" -hls "$url" -client hlsjs \
		-viewers "$VIEWERS" -ramp 5s -duration "$DURATION" -server-pid $PID -insecure "$@" | grep -E "latency|viewers with|server pid|^bench:"
	sleep 2
}
for r in $(seq "$ROUNDS"); do
	echo "### round $r"
	for m in $MODES; do
		case $m in
		clear) run "cleartext HTTP/1.1" "http://127.0.0.1:$HTTP/hls/main/index.m3u8" ;;
		h1) run "HTTPS HTTP/1.1 (fast path over TLS)" "https://127.0.0.1:$HTTPS/hls/main/index.m3u8" ;;
		h2) run "HTTPS HTTP/2" "https://127.0.0.1:$HTTPS/hls/main/index.m3u8" -http2 ;;
		h2go) run "HTTPS HTTP/2, Go's client flow control" "https://127.0.0.1:$HTTPS/hls/main/index.m3u8" -http2 -http2-go-flow ;;
		nginx) [ -n "$NGINX_PID" ] && run "nginx TLS (HTTP/2) -> kast cleartext, kast's CPU only" \
			"https://127.0.0.1:$NGINX/hls/main/index.m3u8" -http2 ;;
		esac
	done
done
