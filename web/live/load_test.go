package live

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kastlive/kast/conference"
)

// BenchmarkLiveOnAirPush holds -live.clients connections (default 3,000)
// from a separate process (so that the clients' memory is not counted)
// spread over 250 loopback addresses, reports the server's memory per
// connection, then pushes b.N on-air changes one after the other: each
// iteration lasts until every client has the message. The clients time
// each arrival against the change's "at" and report, per push, the p50,
// p99 and max delay.
//
//	go test -run XXX -bench LiveOnAirPush -benchtime 20x ./web/live
func BenchmarkLiveOnAirPush(b *testing.B) {
	n := 3000
	if v := os.Getenv("KAST_LIVE_CLIENTS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	feed := &conference.Feed{}
	h := &Hub{Feed: feed, Events: fakeEvents{"devconf": {ID: 1, Slug: "devconf", Tracks: []string{"main"}}}, Config: Config{MaxSwitchDelay: time.Second}}
	if err := h.Initialize(); err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/events/{event}/live", h)
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	before := memNow()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLiveLoadClients$", "-test.v")
	cmd.Env = append(os.Environ(), "KAST_LIVE_LOAD_URL=ws"+strings.TrimPrefix(srv.URL, "http")+"/api/v1/events/devconf/live", "KAST_LIVE_LOAD_N="+strconv.Itoa(n))
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(out)
	next := func(prefix string) string {
		for lines.Scan() {
			if l, ok := strings.CutPrefix(lines.Text(), prefix); ok {
				return l
			}
		}
		b.Fatalf("client process ended before %q: %v", prefix, lines.Err())
		return ""
	}
	next("connected ")
	for deadline := time.Now().Add(10 * time.Second); h.Stats().Conns < n && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	runtime.GC()
	after := memNow()
	conns := h.Stats().Conns
	if conns != n {
		b.Fatalf("%d of %d clients connected: %+v", conns, n, h.Stats())
	}

	var p50, p99, worst []float64
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: time.Now(), EventID: 1, Track: "main",
			Talk: &conference.Talk{ID: int64(i + 1), Title: "Talk " + strconv.Itoa(i+1)}})
		var r [3]float64
		fmt.Sscanf(next("push "), "%f %f %f", &r[0], &r[1], &r[2])
		p50, p99, worst = append(p50, r[0]), append(p99, r[1]), append(worst, r[2])
	}
	b.StopTimer()
	perConn := func(a, c uint64) float64 { return float64(int64(c)-int64(a)) / float64(n) }
	b.ReportMetric(perConn(before.heapStack, after.heapStack), "heap+stack-B/conn")
	b.ReportMetric(perConn(before.rss, after.rss), "rss-B/conn")
	b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(n), "goroutines/conn")
	slices.Sort(p50)
	b.ReportMetric(p50[len(p50)/2], "median-p50-ms")
	b.ReportMetric(slices.Max(p50), "worst-p50-ms")
	b.ReportMetric(slices.Max(p99), "worst-p99-ms")
	b.ReportMetric(slices.Max(worst), "max-ms")
	if s := h.Stats(); s.SlowDrops > 0 {
		b.Errorf("%d clients dropped as slow", s.SlowDrops)
	}
	b.Logf("%d clients: p50 %v ms, p99 %v ms, max %v ms per push", n, p50, p99, worst)
}

type mem struct {
	heapStack, rss uint64
	goroutines     int
}

func memNow() mem {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := mem{heapStack: ms.HeapInuse + ms.StackInuse, goroutines: runtime.NumGoroutine()}
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		f := strings.Fields(string(b))
		if len(f) > 1 {
			pages, _ := strconv.ParseUint(f[1], 10, 64)
			m.rss = pages * uint64(os.Getpagesize())
		}
	}
	return m
}

// TestLiveLoadClients is the client side of BenchmarkLiveOnAirPush, run
// in a child process; it does nothing otherwise.
func TestLiveLoadClients(t *testing.T) {
	url := os.Getenv("KAST_LIVE_LOAD_URL")
	if url == "" {
		t.Skip("the client process of BenchmarkLiveOnAirPush")
	}
	n, _ := strconv.Atoi(os.Getenv("KAST_LIVE_LOAD_N"))
	type arrival struct {
		talk  int64
		delay time.Duration
	}
	arrivals := make(chan arrival, n)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range n {
		d := websocket.Dialer{NetDial: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+i/250%200), byte(1+i%250))}}).Dial, HandshakeTimeout: 10 * time.Second}
		c, _, err := d.Dial(url, nil)
		if err != nil {
			failed.Add(1)
			t.Logf("client %d: %v", i, err)
			continue
		}
		defer c.Close()
		wg.Go(func() {
			for {
				_, b, err := c.ReadMessage()
				now := time.Now()
				if err != nil {
					return
				}
				var m struct {
					Type string
					At   time.Time
					Talk *struct{ ID int64 }
				}
				if json.Unmarshal(b, &m) == nil && m.Type == "on_air" && m.Talk != nil {
					arrivals <- arrival{m.Talk.ID, now.Sub(m.At)}
				}
			}
		})
	}
	if failed.Load() > 0 {
		t.Fatalf("%d clients could not connect", failed.Load())
	}
	fmt.Printf("connected %d\n", n)
	delays := make(map[int64][]time.Duration)
	for a := range arrivals {
		ds := append(delays[a.talk], a.delay)
		delays[a.talk] = ds
		if len(ds) == n {
			slices.Sort(ds)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			fmt.Printf("push %.2f %.2f %.2f\n", ms(ds[n/2]), ms(ds[n*99/100]), ms(ds[n-1]))
			delete(delays, a.talk)
		}
	}
}
