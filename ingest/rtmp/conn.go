package rtmp

import (
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
	server *Server
	nc     net.Conn
	log    *slog.Logger
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

func (c *conn) run() {
	defer c.nc.Close()
	c.log = c.server.Logger.With("remote", c.nc.RemoteAddr().String())

	sc := &gortmplib.ServerConn{RW: &deadlineConn{Conn: c.nc, timeout: c.server.WriteTimeout}}
	c.nc.SetReadDeadline(time.Now().Add(c.server.HandshakeTimeout))
	if err := sc.Initialize(); err != nil {
		c.log.Debug("rtmp handshake failed", "err", err)
		return
	}
	if err := sc.AcceptConn(); err != nil {
		c.log.Debug("rtmp connect failed", "err", err)
		return
	}
	if !sc.Publish {
		c.reject(sc, "NetStream.Play.Failed", "playback over RTMP is not offered: watch over HLS or WebRTC")
		c.log.Info("rtmp play refused", "url", redactURL(sc.URL.String()))
		return
	}

	key := streamKey(sc.URL.Path)
	track, err := c.server.Authorize(c.server.ctx, key)
	if err != nil {
		c.reject(sc, "NetStream.Publish.Unauthorized", "unknown stream key")
		c.log.Warn("publish refused", "reason", err.Error(), "app", appName(sc.URL.Path))
		return
	}
	pub, err := c.server.Hub.Claim(track, "rtmp "+c.nc.RemoteAddr().String(), func() {
		c.log.Warn("publisher silent: a new connection with its key takes over")
		c.nc.Close()
	})
	if err != nil {
		c.reject(sc, "NetStream.Publish.BadName", err.Error())
		c.log.Warn("publish refused", "track", track, "reason", err.Error())
		return
	}
	if err := sc.AcceptAction(); err != nil {
		pub.Close(err)
		return
	}

	c.log = c.log.With("track", track)
	start := time.Now()
	c.log.Info("publish started")
	err = c.readMedia(sc, pub)
	reason := describeEnd(err)
	pub.Close(errors.New(reason))
	c.log.Info("publish ended", "reason", reason, "duration", time.Since(start).Round(time.Millisecond).String(),
		"bytes", sc.BytesReceived())
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
		c.nc.SetReadDeadline(time.Now().Add(c.server.ReadTimeout))
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
		c.log.Debug("rtmp reject not sent", "err", err)
	}
	// Give the client a moment to read the status before the close.
	c.nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	io.Copy(io.Discard, io.LimitReader(c.nc, 64<<10))
}

// describeEnd turns the error that ended a publish into a log reason.
func describeEnd(err error) string {
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
	return fmt.Sprintf("error: %v", err)
}

// streamKey returns the last element of the publish path: for
// rtmp://host/live/KEY the path is /live/KEY.
func streamKey(path string) string {
	path = strings.TrimRight(path, "/")
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func appName(path string) string {
	path = strings.TrimPrefix(path, "/")
	if i := strings.IndexByte(path, '/'); i >= 0 {
		return path[:i]
	}
	return ""
}

// redactURL hides the stream key in a URL before it is logged.
func redactURL(u string) string {
	if i := strings.LastIndexByte(u, '/'); i >= 0 && i+1 < len(u) {
		return u[:i+1] + "<key>"
	}
	return u
}
