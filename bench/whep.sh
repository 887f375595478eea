#!/usr/bin/env bash
# whep.sh runs the WHEP series of docs/benchmarks.md: kast and the pion
# shared-track baseline (bench/pionserver) one after the other with the
# same load generator, at each of VIEWERS (default "50 200"), then kast at
# BIG (default 500) viewers.
#
#   make build && go build -o bin/bench ./bench && go build -o bin/pionserver ./bench/pionserver
#   bash bench/whep.sh
#
# GSO_OFF=1 adds, after each kast row, kast with -webrtc-gso=false (the
# comparison of docs/benchmarks.md); PION=0 leaves the baseline out.
#
# The bench runs at nice -10 when allowed (root); kast and the baseline at
# the default priority. Prints the bench's table for every row.
set -eu
cd "$(dirname "$0")/.."
VIEWERS=${VIEWERS:-"50 200"}
BIG=${BIG:-500}
NICE=()
[ "$(id -u)" = 0 ] && NICE=(nice -n -10)
for b in bin/kast bin/bench bin/pionserver; do
	[ -x "$b" ] || { echo "$b not found (see the top of $0)" >&2; exit 1; }
done

run_kast() { # viewers ramp duration [kast flags]
	RTMP_PORT=11935 HTTP_PORT=18080 KAST_ARGS="${4:-}" bench/kast.sh >/tmp/kast-whep-bench.out 2>&1 &
	local sh=$!
	for _ in $(seq 50); do grep -q '^pid' /tmp/kast-whep-bench.out 2>/dev/null && break; sleep 0.1; done
	local pid
	pid=$(sed -n 's/^pid //p' /tmp/kast-whep-bench.out)
	echo "### kast ${4:-}, $1 viewers (ramp $2, $3); $(uptime)"
	"${NICE[@]}" bin/bench -rtmp rtmp://127.0.0.1:11935/live/bench-stream-key-0000 -client whep \
		-whep http://127.0.0.1:18080/whep/main -viewers "$1" -ramp "$2" -duration "$3" -server-pid "$pid" || true
	kill "$sh" 2>/dev/null; wait "$sh" 2>/dev/null || true
	sleep 3
}

run_pion() {
	bin/pionserver -rtmp 127.0.0.1:11938 -http 127.0.0.1:18083 >/tmp/pion-whep-bench.out 2>&1 &
	local pid=$!
	sleep 2
	echo "### pion shared track, $1 viewers (ramp $2, $3); $(uptime)"
	"${NICE[@]}" bin/bench -rtmp rtmp://127.0.0.1:11938/live/x -client whep \
		-whep http://127.0.0.1:18083/whep/main -viewers "$1" -ramp "$2" -duration "$3" -server-pid "$pid" || true
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
	sleep 3
}

for n in $VIEWERS; do
	run_kast "$n" 10s 30s
	[ "${GSO_OFF:-}" = 1 ] && run_kast "$n" 10s 30s -webrtc-gso=false
	[ "${PION:-1}" = 1 ] && run_pion "$n" 10s 30s
done
if [ "$BIG" != 0 ]; then
	run_kast "$BIG" 20s 45s
	[ "${GSO_OFF:-}" = 1 ] && run_kast "$BIG" 20s 45s -webrtc-gso=false
fi
