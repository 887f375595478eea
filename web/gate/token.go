package gate

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"
)

// A token is base64url (unpadded) of
//
//	version (1) | event ID (8) | session ref (8) | expiry, unix seconds (8) | HMAC-SHA256 (32)
//
// with the MAC over the first 25 bytes. The session ref is not the login
// session's secret but a digest of its identifier (SessionRef), so a token
// that leaks tells nothing about the session cookie.
const (
	tokenVersion = 1
	claimsLen    = 1 + 8 + 8 + 8
	rawTokenLen  = claimsLen + sha256.Size
	// TokenLen is the length of an encoded token.
	TokenLen = (rawTokenLen*8 + 5) / 6
)

// MinKeyBytes is the shortest accepted signing key.
const MinKeyBytes = 32

// Errors of Verify. Both are answered 401: the viewer must fetch a new token.
var (
	ErrMalformed = errors.New("playback token malformed or forged")
	ErrExpired   = errors.New("playback token expired")
)

// Claims are what a token says.
type Claims struct {
	EventID int64
	Session SessionRef
	Expires time.Time // whole seconds
}

// SessionRef identifies a login session inside tokens and the revocation
// set: the first 8 bytes of SHA-256 of the session's identifier.
type SessionRef [8]byte

// RefOf returns the SessionRef of a login session identifier (any stable,
// unique string the session store gives the session).
func RefOf(sessionID string) SessionRef {
	sum := sha256.Sum256([]byte("kast playback session\x00" + sessionID))
	var r SessionRef
	copy(r[:], sum[:])
	return r
}

// Signer issues and verifies tokens with one key. It is safe for
// concurrent use; Verify allocates nothing.
type Signer struct {
	pool sync.Pool // *macState
}

// macState is a pooled HMAC with its own input and output buffers, so
// that no caller's buffer reaches the hash.Hash interface (and the heap).
type macState struct {
	h   hash.Hash
	in  [claimsLen]byte
	sum [sha256.Size]byte
}

// NewSigner returns a Signer for key (at least MinKeyBytes long).
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < MinKeyBytes {
		return nil, errors.New("gate: playback signing key shorter than 32 bytes")
	}
	k := append([]byte(nil), key...)
	s := &Signer{}
	s.pool.New = func() any { return &macState{h: hmac.New(sha256.New, k)} }
	return s, nil
}

// mac writes the MAC of claims into raw[claimsLen:].
func (s *Signer) mac(raw *[rawTokenLen]byte) {
	st := s.pool.Get().(*macState)
	st.h.Reset()
	copy(st.in[:], raw[:claimsLen])
	st.h.Write(st.in[:])
	st.h.Sum(st.sum[:0])
	copy(raw[claimsLen:], st.sum[:])
	s.pool.Put(st)
}

// Issue returns the encoded token for c.
func (s *Signer) Issue(c Claims) string {
	var raw [rawTokenLen]byte
	raw[0] = tokenVersion
	binary.BigEndian.PutUint64(raw[1:9], uint64(c.EventID))
	copy(raw[9:17], c.Session[:])
	binary.BigEndian.PutUint64(raw[17:25], uint64(c.Expires.Unix()))
	s.mac(&raw)
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// Verify checks tok's MAC in constant time and its expiry against now, and
// returns its claims.
func (s *Signer) Verify(tok string, now time.Time) (Claims, error) {
	var raw, want [rawTokenLen]byte
	if len(tok) != TokenLen || !decode64(raw[:], tok) || raw[0] != tokenVersion {
		return Claims{}, ErrMalformed
	}
	copy(want[:claimsLen], raw[:claimsLen])
	s.mac(&want)
	if subtle.ConstantTimeCompare(raw[claimsLen:], want[claimsLen:]) != 1 {
		return Claims{}, ErrMalformed
	}
	c := Claims{
		EventID: int64(binary.BigEndian.Uint64(raw[1:9])),
		Expires: time.Unix(int64(binary.BigEndian.Uint64(raw[17:25])), 0),
	}
	copy(c.Session[:], raw[9:17])
	if !now.Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

// decode64 decodes unpadded base64url s into dst, which must be exactly
// the decoded length; it reports false for any other character or length,
// and for non-zero trailing bits (so one token has one spelling). Unlike
// encoding/base64 it reads a string without copying it.
func decode64(dst []byte, s string) bool {
	if len(s) != (len(dst)*8+5)/6 {
		return false
	}
	var acc uint32
	bits, j := 0, 0
	for i := 0; i < len(s); i++ {
		v := b64val[s[i]]
		if v == 0xff {
			return false
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			dst[j] = byte(acc >> bits)
			j++
		}
	}
	return acc&(1<<bits-1) == 0
}

var b64val = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// KeyStore keeps the signing key, so tokens survive a restart and every
// kast node sharing one database verifies the tokens any of them issued.
type KeyStore interface {
	// PlaybackKey returns the stored key, creating a random one of at
	// least MinKeyBytes on first use (atomically: two processes starting
	// together get the same key).
	PlaybackKey(ctx context.Context) ([]byte, error)
}

// LoadSigner returns a Signer for the key in ks.
func LoadSigner(ctx context.Context, ks KeyStore) (*Signer, error) {
	key, err := ks.PlaybackKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("gate: playback key: %w", err)
	}
	return NewSigner(key)
}
