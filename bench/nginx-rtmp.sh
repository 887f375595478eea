#!/usr/bin/env bash
# nginx-rtmp.sh starts Debian's nginx with libnginx-mod-rtmp in classic HLS
# mode (MPEG-TS, 1 s fragments) on 127.0.0.1, with its own config and prefix
# in a temporary directory, for the bench to measure:
#
#   bench/nginx-rtmp.sh &
#   go run ./bench -rtmp rtmp://127.0.0.1:1936/live/bench \
#       -hls http://127.0.0.1:8081/hls/bench.m3u8 -client classic -server-pid PID
#
# Ports: RTMP_PORT (default 1936), HTTP_PORT (default 8081). It prints
# "pid N" and the URLs, builds nothing, and stops nginx on SIGINT/SIGTERM/exit.
set -eu

RTMP_PORT=${RTMP_PORT:-1936}
HTTP_PORT=${HTTP_PORT:-8081}

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "nginx not found (apt-get install nginx libnginx-mod-rtmp)" >&2; exit 1; }
MODULE=
for m in /usr/lib/nginx/modules/ngx_rtmp_module.so /usr/share/nginx/modules/ngx_rtmp_module.so; do
	[ -f "$m" ] && MODULE=$m && break
done
[ -n "$MODULE" ] || { echo "ngx_rtmp_module.so not found (apt-get install libnginx-mod-rtmp)" >&2; exit 1; }

DIR=$(mktemp -d /tmp/kast-nginx-rtmp.XXXXXX)
mkdir -p "$DIR/hls" "$DIR/logs" "$DIR/tmp"
USER_LINE=
if [ "$(id -u)" = 0 ]; then USER_LINE="user root;"; fi

cat > "$DIR/nginx.conf" <<CONF
load_module $MODULE;
$USER_LINE
daemon off;
worker_processes 1;
pid $DIR/nginx.pid;
error_log $DIR/logs/error.log warn;
events { worker_connections 16384; }
rtmp {
    server {
        listen 127.0.0.1:$RTMP_PORT;
        chunk_size 4096;
        application live {
            live on;
            record off;
            hls on;
            hls_path $DIR/hls;
            hls_fragment 1s;
            hls_playlist_length 6s;
        }
    }
}
http {
    access_log off;
    client_body_temp_path $DIR/tmp/body;
    proxy_temp_path $DIR/tmp/proxy;
    fastcgi_temp_path $DIR/tmp/fastcgi;
    uwsgi_temp_path $DIR/tmp/uwsgi;
    scgi_temp_path $DIR/tmp/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    server {
        listen 127.0.0.1:$HTTP_PORT;
        location /hls/ {
            alias $DIR/hls/;
            types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
            add_header Cache-Control no-cache;
            add_header Access-Control-Allow-Origin *;
        }
    }
}
CONF

"$NGINX" -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/logs/error.log" &
NGINX_PID=$!

cleanup() {
	trap - INT TERM EXIT
	kill "$NGINX_PID" 2>/dev/null || true
	wait "$NGINX_PID" 2>/dev/null || true
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Wait until both ports answer.
i=0
until (exec 3<>/dev/tcp/127.0.0.1/$HTTP_PORT) 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 50 ] || ! kill -0 "$NGINX_PID" 2>/dev/null; then
		echo "nginx did not start:" >&2
		cat "$DIR/logs/error.log" >&2
		exit 1
	fi
	sleep 0.1
done 2>/dev/null

echo "pid $NGINX_PID"
echo "rtmp://127.0.0.1:$RTMP_PORT/live/bench"
echo "http://127.0.0.1:$HTTP_PORT/hls/bench.m3u8"
echo "dir $DIR"
wait "$NGINX_PID"
