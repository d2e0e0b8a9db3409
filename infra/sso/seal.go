package sso

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MinKeyLen is the shortest HMAC key [Seal] and [Open] accept.
const MinKeyLen = 32

// MaxSealedLen bounds what [Open] reads, well within a cookie.
const MaxSealedLen = 3000

// sealContext keeps these MACs apart from any other use of the key.
const sealContext = "sesame/sso/flow/v1\x00"

type sealed struct {
	Flow    Flow  `json:"f"`
	Expires int64 `json:"e"` // Unix seconds
}

// Seal returns flow as a URL-safe string (a cookie value) authenticated
// with HMAC-SHA256 under key and valid until expires. It is signed, not
// encrypted: the browser can read it (its state, nonce and PKCE verifier are
// its own sign-in's), but any change, or use after expires, fails [Open].
func Seal(key []byte, flow Flow, expires time.Time) (string, error) {
	if len(key) < MinKeyLen {
		return "", fmt.Errorf("sso: seal: the key has %d bytes, want at least %d", len(key), MinKeyLen)
	}
	b, err := json.Marshal(sealed{Flow: flow, Expires: expires.Unix()})
	if err != nil {
		return "", fmt.Errorf("sso: seal: %w", err)
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	s := payload + "." + base64.RawURLEncoding.EncodeToString(mac(key, payload))
	if len(s) > MaxSealedLen {
		return "", fmt.Errorf("sso: seal: %d bytes sealed, more than %d", len(s), MaxSealedLen)
	}
	return s, nil
}

// Open checks a value made by [Seal] with the same key and returns its flow.
// A changed or truncated value, another key, or now at or after its expiry
// gives a Refused *Error.
func Open(key []byte, value string, now time.Time) (Flow, error) {
	if len(key) < MinKeyLen {
		return Flow{}, fmt.Errorf("sso: open: the key has %d bytes, want at least %d", len(key), MinKeyLen)
	}
	refuse := func(format string, args ...any) (Flow, error) {
		return Flow{}, fail(Refused, "", "open", fmt.Errorf(format, args...))
	}
	if len(value) > MaxSealedLen {
		return refuse("sealed flow of %d bytes", len(value))
	}
	payload, sig, ok := strings.Cut(value, ".")
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err != nil || !hmac.Equal(got, mac(key, payload)) {
		return refuse("bad signature on the sealed flow")
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return refuse("sealed flow: %w", err)
	}
	var s sealed
	if err := json.Unmarshal(b, &s); err != nil {
		return refuse("sealed flow: %w", err)
	}
	if !now.Before(time.Unix(s.Expires, 0)) {
		return Flow{}, fail(Refused, s.Flow.Protocol, "open", ErrFlowExpired)
	}
	return s.Flow, nil
}

// ErrFlowExpired is the reason of the Refused error [Open] returns for a
// flow past its expiry: the user took too long at the provider.
var ErrFlowExpired = errors.New("the sign-in flow has expired")

func mac(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(sealContext))
	m.Write([]byte(payload))
	return m.Sum(nil)
}
