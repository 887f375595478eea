//go:build linux

package rtc

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// gsoSupported asks the socket whether the kernel knows UDP_SEGMENT.
func gsoSupported(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	_ = rc.Control(func(fd uintptr) {
		_, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
		ok = err == nil
	})
	return ok
}

// writeGSO sends run, datagrams of seg bytes (the last may be shorter),
// to ap in one sendmsg with a UDP_SEGMENT control message.
func writeGSO(c *net.UDPConn, run []byte, seg int, ap netip.AddrPort) error {
	var space [3]uint64 // aligned room for unix.CmsgSpace(2): 24 bytes on 64-bit, 16 on 32-bit
	oob := unsafe.Slice((*byte)(unsafe.Pointer(&space)), unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&space))
	h.Level = unix.IPPROTO_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(oob[unix.CmsgLen(0):], uint16(seg))
	_, _, err := c.WriteMsgUDPAddrPort(run, oob, ap)
	return err
}

// gsoRefused tells a kernel or device that cannot segment (EIO: no
// checksum offload; EINVAL: a size it does not take) from a lost write.
func gsoRefused(err error) bool {
	return errors.Is(err, unix.EIO) || errors.Is(err, unix.EINVAL)
}
