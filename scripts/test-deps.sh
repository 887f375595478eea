#!/bin/sh
# Installs what the tests drive and is missing: ffmpeg (publisher and HLS
# reader), Debian's Chromium (browser tests), nginx, Varnish, pebble (ACME), zbar-tools
# (QR decoder), python3-aiortc (a WHIP publisher), curl and nghttp2-client (nghttp,
# h2load: HTTP/2 clients), node + npm and the pinned
# node packages (hls.js, playwright-core). As root it uses apt-get and npm; as
# another user it says what to install and carries on (tests then skip what
# they cannot run, except under CI=true, where a missing tool fails).
set -eu
cd "$(dirname "$0")/.."

missing=""
command -v ffmpeg >/dev/null 2>&1 || missing="$missing ffmpeg"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
# ip (network namespaces: the RTMP flood test from one IPv6 /64, as root).
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
# aiortc, a WHIP publisher kast did not write (Debian's package, for
# /usr/bin/python3, whatever python3 is first on PATH).
/usr/bin/python3 -c 'import aiortc' >/dev/null 2>&1 || missing="$missing python3-aiortc"
# nginx-rtmp is the baseline the bench compares with; bench tests drive it.
[ -x /usr/sbin/nginx ] || missing="$missing nginx"
[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || [ -f /usr/share/nginx/modules/ngx_rtmp_module.so ] ||
	missing="$missing libnginx-mod-rtmp"
# pebble (and pebble-challtestsrv) is the ACME CA the HTTPS test gets a certificate from.
command -v pebble >/dev/null 2>&1 || missing="$missing pebble"
# Varnish is the other shared cache the bench's cache test runs (deploy/varnish).
[ -x /usr/sbin/varnishd ] || missing="$missing varnish"
# zbarimg decodes the ticket QR code the pages render (a reader nobody here wrote).
command -v zbarimg >/dev/null 2>&1 || missing="$missing zbar-tools"
# curl, nghttp and h2load drive the fast path's HTTP/2 frame loop as clients not written in Go.
command -v curl >/dev/null 2>&1 || missing="$missing curl"
command -v nghttp >/dev/null 2>&1 && command -v h2load >/dev/null 2>&1 || missing="$missing nghttp2-client"

if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "test-deps: installing$missing"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
	else
		echo "test-deps: missing$missing; install them with: sudo apt-get install$missing" >&2
		if [ "${CI:-}" = true ]; then exit 1; fi
	fi
fi

if command -v npm >/dev/null 2>&1; then
	if [ ! -f node_modules/hls.js/package.json ] || [ ! -f node_modules/playwright-core/package.json ] ||
		[ package-lock.json -nt node_modules/.package-lock.json ]; then
		echo "test-deps: npm ci"
		npm ci --no-audit --no-fund --loglevel=error
	fi
	sh web/assets/build.sh
fi
