package conference

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are argon2id's costs. DefaultPasswordParams follow OWASP's
// password storage guidance for argon2id (19 MiB, 2 passes, 1 lane): about
// 30-60 ms per hash on one core here.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultPasswordParams are the costs of new password hashes.
var DefaultPasswordParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// hashSlots bounds the argon2 computations running at once: each holds
// Memory KiB, and a burst of logins must not take the machine's memory
// (200 at once would be 3.8 GB). Waiting callers queue, in context order.
var hashSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

func withHashSlot(ctx context.Context, f func()) error {
	select {
	case hashSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-hashSlots }()
	f()
	return nil
}

// HashPassword returns the argon2id hash of pw as a PHC string
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash) with a fresh random salt.
func HashPassword(ctx context.Context, pw string, p PasswordParams) (string, error) {
	salt := make([]byte, p.SaltLen)
	_, _ = rand.Read(salt)
	var key []byte
	if err := withHashSlot(ctx, func() { key = argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen) }); err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// errBadHash: a stored hash that is not an argon2id PHC string kast wrote.
var errBadHash = errors.New("conference: malformed password hash")

// VerifyPassword reports in constant time whether pw matches hash (made by
// HashPassword, with whatever parameters were current then).
func VerifyPassword(ctx context.Context, pw, hash string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, errBadHash
	}
	var p PasswordParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Memory == 0 || p.Memory > 1<<21 || p.Time == 0 || p.Time > 100 || p.Threads == 0 {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 128 {
		return false, errBadHash
	}
	var got []byte
	if err := withHashSlot(ctx, func() { got = argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want))) }); err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified against when a login names an unknown email, so
// that the answer takes as long as for a known email with a wrong
// password: timing tells nothing about which emails have accounts.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword(context.Background(), NewSecret(), DefaultPasswordParams)
	if err != nil {
		panic(err) // only a cancelled context fails, and this one is not
	}
	return h
})
