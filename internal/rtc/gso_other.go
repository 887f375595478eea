//go:build !linux

package rtc

import (
	"errors"
	"net"
	"net/netip"
)

func gsoSupported(*net.UDPConn) bool { return false }

func writeGSO(*net.UDPConn, []byte, int, netip.AddrPort) error {
	return errors.ErrUnsupported
}

func gsoRefused(error) bool { return true }
