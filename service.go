package sesame

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// PasswordHasher hashes and verifies passwords. infra/password implements it
// with argon2id (and verifies imported bcrypt hashes).
type PasswordHasher interface {
	// Hash returns a PHC string for password.
	Hash(password string) (string, error)
	// Verify reports whether password matches hash, and whether the hash
	// should be replaced by a fresh Hash (a legacy format or weaker
	// parameters).
	Verify(hash, password string) (ok, rehash bool, err error)
	// Burn does the work of one verification of a hash of format f (of
	// bcrypt cost cost, for bcrypt) against no account, so that an unknown
	// login costs the same time as a wrong password.
	Burn(password string, f HashFormat, cost int)
}

// Backend is everything the service keeps: the Store and the throttling
// and secret stores that come with it.
type Backend interface {
	Store
	AttemptStore
	SecretStore
}

// Service carries out the product's use cases on a Backend: sign-in,
// sessions and heartbeats, permission checks, connected users. The HTTP
// API and the command line are thin layers over it; every rule they apply
// is here or in the functions it calls.
type Service struct {
	Store  Backend
	Hasher PasswordHasher
	Clock  Clock
	Timing Timing
	// Random is the source of tokens (crypto/rand when nil).
	Random io.Reader
	// Retention is how long journal entries are kept
	// (DefaultJournalRetention when 0).
	Retention time.Duration
	// MinIdle is the shortest automatic disconnection an edit may set
	// (MinAutoDisconnect when 0; tests and demos go lower).
	MinIdle time.Duration
	// Log receives what must not stop a request but must be seen: a
	// journal entry that could not be written (discarded when nil).
	Log *slog.Logger

	// Hashing bounds concurrent password hashing (NewHashGate(0, 0) when
	// nil: one job fewer than there are CPUs, a queue of at most 2 s).
	Hashing *HashGate

	keyOnce   sync.Mutex
	deviceKey []byte
	gateOnce  sync.Once
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC() }

func (s *Service) random(n int) ([]byte, error) {
	b := make([]byte, n)
	r := s.Random
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("random: %w", err)
	}
	return b, nil
}

// NewToken returns a fresh session token: 256 random bits.
func (s *Service) NewToken() (string, error) {
	b, err := s.random(32)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// newSessionToken returns a fresh token for a session of user u in base k
// naming profile: NewToken's random part, then, after a dot, where the
// session's items lie (SessionNearOf), so that every request under the
// session can read them in the same round trip as the session.
func (s *Service) newSessionToken(k BaseKey, u User, profile string) (string, error) {
	t, err := s.NewToken()
	if err != nil {
		return "", err
	}
	near := string(k.UAI) + "\n" + string(k.Year) + "\n" + profile + "\n" + u.Key()
	return t + "." + base64.RawURLEncoding.EncodeToString([]byte(near)), nil
}

// SessionNearOf returns where the session of token likely lies, as
// newSessionToken wrote it; zero for a token without it.
func SessionNearOf(token string) SessionNear {
	_, enc, ok := strings.Cut(token, ".")
	if !ok {
		return SessionNear{}
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return SessionNear{}
	}
	f := strings.SplitN(string(raw), "\n", 4)
	if len(f) != 4 {
		return SessionNear{}
	}
	return SessionNear{Base: BaseKey{UAI(f[0]), Year(f[1])}, Profile: f[2], Login: f[3]}
}

func (s *Service) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// MinIdleSetting is the shortest automatic disconnection an edit may set.
func (s *Service) MinIdleSetting() time.Duration {
	if s.MinIdle > 0 {
		return s.MinIdle
	}
	return MinAutoDisconnect
}

// hashing is the gate password hashing goes through.
func (s *Service) hashing() *HashGate {
	s.gateOnce.Do(func() {
		if s.Hashing == nil {
			s.Hashing = NewHashGate(0, 0)
		}
	})
	return s.Hashing
}
