package conference

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// SecretBytes is the number of random bytes in a generated secret.
const SecretBytes = 32

// NewSecret returns a fresh random secret: 32 bytes from crypto/rand, encoded
// as unpadded base64url (43 characters, safe in URLs and OBS stream-key fields).
func NewSecret() string {
	b := make([]byte, SecretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret returns the SHA-256 digest stored in place of a secret. A plain
// hash is enough because generated secrets carry 256 bits of entropy.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// SecretMatches reports in constant time whether secret hashes to hash.
func SecretMatches(secret string, hash []byte) bool {
	return subtle.ConstantTimeCompare(HashSecret(secret), hash) == 1
}
