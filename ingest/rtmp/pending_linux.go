package rtmp

import (
	"net"
	"syscall"
	"unsafe"
)

// hasUnread reports whether the client has sent bytes that the server has
// not read yet (SIOCINQ). A connection's goroutine may be slow to read its
// C0+C1 on a busy server: the bytes waiting in the socket tell a talking
// client from an idle one all the same.
func hasUnread(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var n int32
	rc.Control(func(fd uintptr) {
		syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	})
	return n > 0
}
