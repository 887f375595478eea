//go:build !linux

package rtmp

import "net"

// hasUnread reports whether the client has sent bytes that the server has
// not read yet; off Linux it does not know and says no.
func hasUnread(net.Conn) bool { return false }
