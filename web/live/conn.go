package live

import (
	"net/netip"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// conn is one viewer's websocket. The HTTP handler's goroutine reads from
// it (pongs, close, whatever the client sends, within limits); writer
// sends what the hub queues and the pings.
type conn struct {
	ws      *websocket.Conn
	send    chan *websocket.PreparedMessage
	done    chan struct{}
	once    sync.Once
	src     netip.Prefix
	room    *room
	variant int // which on-air variant (switch delay) this viewer gets
	reason  string
}

// queue hands m to the writer without waiting; false when the queue is
// full (the client is too slow) or the connection is closing.
func (c *conn) queue(m *websocket.PreparedMessage) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.send <- m:
		return true
	default:
		return false
	}
}

// close ends the connection once, sending a close frame with code and
// text first (best effort: it waits up to a second for a writer busy
// with a message, so the hub never calls it; see drop).
func (c *conn) close(code int, text string) bool {
	first := false
	c.once.Do(func() {
		first = true
		c.reason = text
		close(c.done)
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
		c.ws.Close()
	})
	return first
}

// drop ends the connection of a client too slow to take its messages,
// at once: a close frame would only queue behind them.
func (c *conn) drop() bool {
	first := false
	c.once.Do(func() {
		first = true
		c.reason = "too slow"
		close(c.done)
		c.ws.Close()
	})
	return first
}

// writer sends queued messages and pings until the connection ends.
func (c *conn) writer(cfg *Config) {
	ping := time.NewTicker(cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case m := <-c.send:
			c.ws.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
			if err := c.ws.WritePreparedMessage(m); err != nil {
				c.close(websocket.CloseGoingAway, "write failed")
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(cfg.WriteTimeout)); err != nil {
				c.close(websocket.CloseGoingAway, "ping failed")
				return
			}
		case <-c.done:
			return
		}
	}
}

// reader reads until the connection fails or the client breaks a limit.
// It returns the close code and reason.
func (c *conn) reader(cfg *Config) (int, string) {
	c.ws.SetReadLimit(cfg.MaxMessageBytes)
	c.ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
	})
	var rate bucket
	for {
		_, _, err := c.ws.NextReader()
		if err != nil {
			if err == websocket.ErrReadLimit {
				return websocket.CloseMessageTooBig, "message too big"
			}
			return websocket.CloseNormalClosure, ""
		}
		// The client is alive; a message counts against its rate.
		c.ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
		if !rate.take(time.Now(), cfg.MessageRate, cfg.MessageBurst) {
			return websocket.ClosePolicyViolation, "too many messages"
		}
	}
}
