package rtmp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/message"

	"github.com/kastlive/kast/ingest"
)

// conn is one connection to the RTMP server.
type conn struct {
	server   *Server
	raw      net.Conn // the TCP connection: closing it drops c at once
	nc       net.Conn // raw, or TLS over it
	accepted time.Time
	seq      uint64
	log      *slog.Logger

	// Admission state, guarded by server.mu.
	stage      int
	prev, next *conn
	src        *source
	dropped    string // why kast dropped it, if it did
}

// deadlineConn sets a write deadline before every write, so a publisher
// that stops reading cannot block the server.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(p)
}

// rtmpIO is what gortmplib reads from (the chunk rewriter) and writes to.
type rtmpIO struct {
	io.Reader
	io.Writer
}

// abort closes the connection with a reset, which frees it at once on
// both ends (no FIN handshake, no TIME_WAIT): for connections dropped
// before they said anything worth an answer.
func (c *conn) abort() {
	if tc, ok := c.raw.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.raw.Close()
}

func (c *conn) logger() *slog.Logger {
	if c.log == nil {
		c.log = c.server.Logger.With("remote", c.raw.RemoteAddr().String())
	}
	return c.log
}

func (c *conn) run() {
	s := c.server
	defer s.wg.Done()
	defer s.release(c)
	defer c.raw.Close()

	c.nc = c.raw
	if s.TLSConfig != nil {
		c.nc = tls.Server(c.raw, s.TLSConfig)
	}
	c.raw.SetDeadline(c.accepted.Add(s.HandshakeTimeout))
	rw := newChunkRewriter(c.nc, func() {
		s.advance(c, stageHandshake)
		c.raw.SetReadDeadline(c.accepted.Add(s.PublishTimeout))
	})
	sc := &gortmplib.ServerConn{RW: rtmpIO{Reader: rw, Writer: &deadlineConn{Conn: c.nc, timeout: s.WriteTimeout}}}
	if err := sc.Initialize(); err != nil {
		c.preAuthFailed("rtmp handshake or connect failed", err)
		return
	}
	s.advance(c, stageConnect)
	if err := sc.AcceptConn(); err != nil {
		c.preAuthFailed("rtmp publish request failed", err)
		return
	}
	if !sc.Publish {
		s.refuse(RefusePlay)
		c.reject(sc, "NetStream.Play.Failed", "playback over RTMP is not offered: watch over HLS or WebRTC")
		c.logger().Info("rtmp play refused")
		return
	}

	key := streamKey(sc.URL.Path)
	track, err := s.Authorize(s.ctx, key)
	if err != nil {
		reason, desc := RefuseUnknownKey, "unknown stream key"
		if !errors.Is(err, ingest.ErrUnknownKey) {
			reason, desc = RefuseAuthError, "the stream key could not be checked: try again"
		}
		s.refuse(reason)
		c.reject(sc, "NetStream.Publish.Unauthorized", desc)
		c.logger().Warn("publish refused", "reason", safeError(err, key))
		return
	}
	if ok, full := s.authorize(c); !ok {
		if full {
			s.refuse(RefusePublishersFull)
			c.reject(sc, "NetStream.Publish.BadName", "too many publishers on this server")
			c.logger().Warn("publish refused", "track", track, "reason", "too many publishers", "max", s.MaxPublishers)
		}
		return // or dropped while the key was checked
	}
	rw.SetAuthorized()

	// kick runs on another goroutine (a takeover, a key rotation): it
	// gets its own logger, not c.log.
	c.log = c.logger().With("track", track)
	kickLog := c.log
	pub, err := s.Hub.Claim(track, "rtmp "+c.raw.RemoteAddr().String(), func() {
		kickLog.Warn("publisher disconnected: a new connection with its key took over, or its key changed")
		c.raw.Close()
	})
	if err != nil {
		s.refuse(RefuseTrackBusy)
		c.reject(sc, "NetStream.Publish.BadName", err.Error())
		c.log.Warn("publish refused", "reason", safeError(err, key))
		return
	}
	if err := sc.AcceptAction(); err != nil {
		pub.Close(err)
		return
	}

	start := time.Now()
	c.log.Info("publish started", "since_connect", start.Sub(c.accepted).Round(time.Millisecond).String())
	err = c.readMedia(sc, pub)
	reason := describeEnd(err, key)
	pub.Close(errors.New(reason))
	args := []any{"reason", reason, "duration", time.Since(start).Round(time.Millisecond).String(), "bytes", sc.BytesReceived()}
	if n := rw.ExtendedChunks(); n > 0 {
		args = append(args, "extended_chunk_headers", n)
	}
	c.log.Info("publish ended", args...)
}

// preAuthFailed counts and logs (at debug level: a flood must not fill
// the log) a connection that ended before it was authorized.
func (c *conn) preAuthFailed(what string, err error) {
	reason := c.server.failed(c, err)
	c.logger().Debug(what, "err", safeError(err), "dropped", reason)
}

func (c *conn) readMedia(sc *gortmplib.ServerConn, pub *ingest.Publisher) error {
	var stream *ingest.Stream
	d := &flvDemuxer{
		onMedia: func(m ingest.Media) {
			stream = pub.Start(m)
			c.log.Info("stream media", "media", m.String(), "codecs", strings.Join(m.Codecs(), ","))
		},
		onUnit: func(u *ingest.Unit) { stream.Write(u) },
	}
	for {
		c.raw.SetReadDeadline(time.Now().Add(c.server.ReadTimeout))
		msg, err := sc.Read()
		if err != nil {
			return err
		}
		if err := d.push(msg, time.Now()); err != nil {
			return err
		}
	}
}

// reject tells the client why its publish or play is refused.
func (c *conn) reject(sc *gortmplib.ServerConn, code, description string) {
	err := sc.Write(&message.CommandAMF0{
		ChunkStreamID:   5,
		MessageStreamID: 0x1000000,
		Name:            "onStatus",
		CommandID:       0,
		Arguments: []any{
			nil,
			amf0.Object{
				{Key: "level", Value: "error"},
				{Key: "code", Value: code},
				{Key: "description", Value: description},
			},
		},
	})
	if err != nil {
		c.logger().Debug("rtmp reject not sent", "err", safeError(err))
	}
	// Give the client a moment to read the status before the close.
	c.raw.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	io.Copy(io.Discard, io.LimitReader(c.nc, 64<<10))
}

// describeEnd turns the error that ended a publish into a log reason,
// without the stream key.
func describeEnd(err error, key string) string {
	var ne net.Error
	switch {
	case err == nil:
		return "ended"
	case errors.Is(err, errUnpublished):
		return "publisher stopped"
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return "connection closed"
	case errors.As(err, &ne) && ne.Timeout():
		return "no data from publisher (timeout)"
	}
	return fmt.Sprintf("error: %s", safeError(err, key))
}
