package rtmp

import (
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
)

// safeError describes err for a log line, keeping out anything the client
// sent: gortmplib quotes whole commands in some errors ("unexpected
// command: &{... tcUrl:rtmp://host/live/KEY ...}") and net/url quotes the
// publish URL, stream key included. secrets (the stream key, once known)
// are replaced wherever they still appear.
func safeError(err error, secrets ...string) string {
	var ne net.Error
	var ue *url.Error
	var ce *chunkError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ce):
		return ce.Error()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection closed"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &ue):
		return "invalid URL"
	}
	msg := err.Error()
	if i := strings.IndexAny(msg, "{\"'&[<"); i >= 0 {
		msg = strings.TrimRight(msg[:i], ": ")
	}
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "<key>")
		}
	}
	return msg
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
