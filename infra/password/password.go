// Package password hashes passwords with argon2id (OWASP parameters) and
// verifies them, as well as imported bcrypt hashes, which it asks to
// rehash. It implements sesame.PasswordHasher.
//
//	h := password.New(password.OWASP)
//	phc, _ := h.Hash("motdepasse")
//	ok, rehash, _ := h.Verify(phc, "motdepasse")
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/sesame-ecole/sesame"
)

// Params are argon2id's parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	KeyLen  uint32
	SaltLen int
}

// OWASP are the parameters OWASP recommends at the least: 19 MiB, t=2, p=1.
var OWASP = Params{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// Hasher hashes with argon2id.
type Hasher struct {
	p      Params
	dummy  string   // a hash of nothing, verified for unknown logins
	bdummy sync.Map // bcrypt cost → a bcrypt hash of nothing, for bases with imported hashes
}

var _ sesame.PasswordHasher = (*Hasher)(nil)

// New returns a Hasher with parameters p.
func New(p Params) *Hasher {
	h := &Hasher{p: p}
	d, err := h.Hash("sésame-compte-inconnu")
	if err != nil {
		panic(err) // only crypto/rand failing
	}
	h.dummy = d
	h.bcryptDummy(bcrypt.DefaultCost)
	return h
}

// bcryptDummy returns a bcrypt hash of nothing of cost cost (within the
// domain's bounds), made once per cost.
func (h *Hasher) bcryptDummy(cost int) string {
	cost = min(max(cost, bcrypt.DefaultCost), sesame.MaxBcryptCost)
	if d, ok := h.bdummy.Load(cost); ok {
		return d.(string)
	}
	b, err := bcrypt.GenerateFromPassword([]byte("sésame-compte-inconnu"), cost)
	if err != nil {
		panic(err) // only crypto/rand failing
	}
	d, _ := h.bdummy.LoadOrStore(cost, string(b))
	return d.(string)
}

var b64 = base64.RawStdEncoding

// Hash returns the PHC string of password:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func (h *Hasher) Hash(password string) (string, error) {
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, h.p.Time, h.p.Memory, h.p.Threads, h.p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.p.Memory, h.p.Time, h.p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify checks password against an argon2id or bcrypt hash. rehash is true
// for bcrypt hashes and for argon2id hashes weaker than h's parameters.
func (h *Hasher) Verify(hash, password string) (ok, rehash bool, err error) {
	format, err := sesame.ParseHashFormat(hash)
	if err != nil {
		return false, false, err
	}
	if format == sesame.HashBcrypt {
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
		if err != nil {
			return false, false, nil
		}
		return true, true, nil
	}
	p, salt, key, err := parse(hash)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	return true, p.Memory < h.p.Memory || p.Time < h.p.Time, nil
}

// Burn verifies password against a hash of nothing in format f (of bcrypt
// cost cost, for bcrypt): the cost of a real verification, for unknown
// logins and for padding.
func (h *Hasher) Burn(password string, f sesame.HashFormat, cost int) {
	if f == sesame.HashBcrypt {
		_, _, _ = h.Verify(h.bcryptDummy(cost), password)
		return
	}
	_, _, _ = h.Verify(h.dummy, password)
}

func parse(hash string) (Params, []byte, []byte, error) {
	bad := sesame.Invalid("passwordHash", "Ce hachage argon2id est mal formé.")
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return Params{}, nil, nil, bad
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, bad
	}
	if p.Memory < 8*1024 || p.Memory > 1<<21 || p.Time < 1 || p.Time > 20 || p.Threads < 1 {
		return Params{}, nil, nil, sesame.Invalid("passwordHash", "Les paramètres de ce hachage argon2id sont hors des bornes acceptées.")
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return Params{}, nil, nil, bad
	}
	return p, salt, key, nil
}
