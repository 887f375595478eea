package conference

import "testing"

func TestNewSecretIsRandomAndURLSafe(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	if len(a) != 43 {
		t.Fatalf("len = %d, want 43", len(a))
	}
	for _, c := range a {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			t.Fatalf("secret %q has non-base64url rune %q", a, c)
		}
	}
}

func TestSecretMatches(t *testing.T) {
	s := NewSecret()
	h := HashSecret(s)
	if !SecretMatches(s, h) {
		t.Fatal("secret does not match its own hash")
	}
	if SecretMatches(s+"x", h) || SecretMatches("", h) {
		t.Fatal("wrong secret matches")
	}
}

func TestWithDefaults(t *testing.T) {
	o := BootstrapOptions{TrackSlug: "room-a"}.WithDefaults()
	if o.EventSlug != DefaultEventSlug || o.TrackSlug != "room-a" || o.TrackTitle != DefaultTrackTitle {
		t.Fatalf("WithDefaults = %+v", o)
	}
}
