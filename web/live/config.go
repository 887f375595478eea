package live

import "time"

// Config bounds the live channel. Zero fields take the defaults noted.
type Config struct {
	// MaxSwitchDelay is the upper bound of the random delay suggested with
	// an on-air change (default 3 s; negative: none), so that thousands
	// of players do not all re-request at the same instant.
	MaxSwitchDelay time.Duration
	// CountInterval is how often viewer counts are computed and pushed
	// when they changed (default 2 s).
	CountInterval time.Duration
	// PingInterval between server pings (default 25 s, under the 60 s
	// idle timeout of common proxies); PongWait is how long a connection
	// may stay silent, pongs included, before it is closed (default 60 s).
	PingInterval time.Duration
	PongWait     time.Duration
	// WriteTimeout for one message (default 10 s): a client that does not
	// take it in time is dropped.
	WriteTimeout time.Duration
	// SendQueue is the number of messages queued per connection (default
	// 16); a connection whose queue is full is dropped.
	SendQueue int
	// MaxConns in all (default 20,000) and per source address (IPv6: per
	// /64; default 64).
	MaxConns     int
	MaxPerSource int
	// ConnectRate per source, connections a second, with a burst of
	// ConnectBurst (defaults 2 and 20).
	ConnectRate  float64
	ConnectBurst int
	// MaxMessageBytes a client may send in one message (default 512) and
	// MessageRate, messages a second with a burst of MessageBurst
	// (defaults 1 and 10): clients have nothing to say but an occasional
	// keepalive, so more closes the connection.
	MaxMessageBytes int64
	MessageRate     float64
	MessageBurst    int
	// AllowedOrigins are the browser origins (scheme://host[:port]) other
	// than kast's own that may connect; "*" allows any.
	AllowedOrigins []string
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.MaxSwitchDelay, 3*time.Second)
	def(&c.CountInterval, 2*time.Second)
	def(&c.PingInterval, 25*time.Second)
	def(&c.PongWait, 60*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	defInt := func(d *int, v int) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt(&c.SendQueue, 16)
	defInt(&c.MaxConns, 20_000)
	defInt(&c.MaxPerSource, 64)
	defInt(&c.ConnectBurst, 20)
	defInt(&c.MessageBurst, 10)
	if c.ConnectRate <= 0 {
		c.ConnectRate = 2
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 512
	}
	if c.MessageRate <= 0 {
		c.MessageRate = 1
	}
	if c.MaxSwitchDelay < 0 {
		c.MaxSwitchDelay = 0
	}
}
