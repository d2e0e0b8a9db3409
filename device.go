package sesame

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// Device cookies, after OWASP's scheme: a browser that once signed in to
// an account carries a signed cookie and keeps a throttling budget of its own.

// Device cookies: "v1.<nonce>.<mac>", where mac signs the school, the login
// key and the nonce with the deployment's device key.
func (s *Service) key(ctx context.Context) ([]byte, error) {
	s.keyOnce.Lock()
	defer s.keyOnce.Unlock()
	if s.deviceKey != nil {
		return s.deviceKey, nil
	}
	fresh, err := s.random(32)
	if err != nil {
		return nil, err
	}
	k, err := s.Store.Secret(ctx, "device-cookie-key", fresh)
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	s.deviceKey = k
	return k, nil
}

func deviceMAC(key []byte, uai UAI, login, nonce string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(string(uai) + "\x00" + login + "\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkDevice returns the nonce of a device cookie signed for this account.
func (s *Service) checkDevice(ctx context.Context, cookie string, uai UAI, login string) (string, bool) {
	parts := strings.Split(cookie, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		return "", false
	}
	key, err := s.key(ctx)
	if err != nil {
		return "", false
	}
	if !hmac.Equal([]byte(parts[2]), []byte(deviceMAC(key, uai, login, parts[1]))) {
		return "", false
	}
	return parts[1], true
}

func (s *Service) newDevice(ctx context.Context, uai UAI, login string) (string, error) {
	key, err := s.key(ctx)
	if err != nil {
		return "", err
	}
	b, err := s.random(16)
	if err != nil {
		return "", err
	}
	nonce := base64.RawURLEncoding.EncodeToString(b)
	return "v1." + nonce + "." + deviceMAC(key, uai, login, nonce), nil
}
