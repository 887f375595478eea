package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// audience is browsers on the live channel: each keeps one websocket,
// reconnects when it closes (as a page would), and records the on_air
// messages it got.
type audience struct {
	url string

	mu         sync.Mutex
	clients    []*wsClient
	refused    map[string]int // dial failures by reason
	reconnects int
}

type wsClient struct {
	mu        sync.Mutex
	connected bool
	since     time.Time      // connected since
	onAir     map[string]int // "track/talk" -> times received
	messages  int
}

func (a *audience) start(ctx context.Context, n int) {
	a.refused = map[string]int{}
	for i := 0; i < n; i++ {
		c := &wsClient{onAir: map[string]int{}}
		a.mu.Lock()
		a.clients = append(a.clients, c)
		a.mu.Unlock()
		src := fmt.Sprintf("127.0.2.%d", 1+i/16) // 16 per source: inside the per-source burst
		go a.keep(ctx, c, src)
		if i%16 == 15 {
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func (a *audience) keep(ctx context.Context, c *wsClient, src string) {
	d := websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		NetDialContext:   (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}).DialContext,
	}
	first := true
	for ctx.Err() == nil {
		conn, res, err := d.DialContext(ctx, a.url, nil)
		if err != nil {
			reason := "dial"
			if res != nil {
				reason = fmt.Sprintf("http %d", res.StatusCode)
			}
			a.mu.Lock()
			a.refused[reason]++
			a.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		if !first {
			a.mu.Lock()
			a.reconnects++
			a.mu.Unlock()
		}
		first = false
		c.mu.Lock()
		c.connected, c.since = true, time.Now()
		c.mu.Unlock()
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				break
			}
			var m struct {
				Type  string `json:"type"`
				Track string `json:"track"`
				Talk  *struct {
					ID int `json:"id"`
				} `json:"talk"`
			}
			if json.Unmarshal(b, &m) != nil {
				continue
			}
			c.mu.Lock()
			c.messages++
			if m.Type == "on_air" && m.Talk != nil {
				c.onAir[fmt.Sprintf("%s/%d", m.Track, m.Talk.ID)]++
			}
			c.mu.Unlock()
		}
		stop()
		conn.Close()
		c.mu.Lock()
		c.connected = false
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// snapshot returns the clients connected since before t.
func (a *audience) connectedSince(t time.Time) []*wsClient {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []*wsClient
	for _, c := range a.clients {
		c.mu.Lock()
		if c.connected && c.since.Before(t) {
			out = append(out, c)
		}
		c.mu.Unlock()
	}
	return out
}

// switchCheck is one on-air change and the clients that were there for it.
type switchCheck struct {
	key     string
	at      time.Time
	clients []*wsClient
}

// missed counts the clients that were connected before the switch and
// still at check time, yet did not get its message.
func (sc switchCheck) missed() (present, missed int) {
	for _, c := range sc.clients {
		c.mu.Lock()
		stayed := c.connected && c.since.Before(sc.at)
		got := c.onAir[sc.key] > 0
		c.mu.Unlock()
		if !stayed {
			continue
		}
		present++
		if !got {
			missed++
		}
	}
	return
}

func (a *audience) totals() (clients, connected, messages, reconnects int, refused map[string]int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.clients {
		c.mu.Lock()
		if c.connected {
			connected++
		}
		messages += c.messages
		c.mu.Unlock()
	}
	r := map[string]int{}
	for k, v := range a.refused {
		r[k] = v
	}
	return len(a.clients), connected, messages, a.reconnects, r
}
