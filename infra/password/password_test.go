package password_test

import (
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/sesame-ecole/sesame"

	"github.com/sesame-ecole/sesame/infra/password"
)

// fast keeps unit tests quick; the product uses password.OWASP.
var fast = password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestArgon2idRoundTrip(t *testing.T) {
	h := password.New(fast)
	phc, err := h.Hash("Cheval-Batterie-Agrafe")
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := h.Verify(phc, "Cheval-Batterie-Agrafe"); !ok || rehash || err != nil {
		t.Fatalf("right password: ok %v rehash %v err %v", ok, rehash, err)
	}
	if ok, _, err := h.Verify(phc, "cheval-batterie-agrafe"); ok || err != nil {
		t.Fatalf("wrong password: ok %v err %v", ok, err)
	}
	other, _ := h.Hash("Cheval-Batterie-Agrafe")
	if other == phc {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	// A hash made with weaker parameters than the hasher's asks to be redone.
	strong := password.New(password.OWASP)
	if ok, rehash, _ := strong.Verify(phc, "Cheval-Batterie-Agrafe"); !ok || !rehash {
		t.Fatalf("weaker argon2id: ok %v rehash %v", ok, rehash)
	}
}

func TestBcryptImported(t *testing.T) {
	h := password.New(fast)
	legacy, err := bcrypt.GenerateFromPassword([]byte("ancien"), 10)
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := h.Verify(string(legacy), "ancien"); !ok || !rehash || err != nil {
		t.Fatalf("bcrypt: ok %v rehash %v err %v", ok, rehash, err)
	}
	if ok, _, _ := h.Verify(string(legacy), "nouveau"); ok {
		t.Fatal("bcrypt accepted a wrong password")
	}
	weak, _ := bcrypt.GenerateFromPassword([]byte("ancien"), 4)
	if ok, _, err := h.Verify(string(weak), "ancien"); ok || err == nil {
		t.Fatal("a bcrypt hash of cost 4 was accepted")
	}
}

func TestMalformed(t *testing.T) {
	h := password.New(fast)
	for _, bad := range []string{"", "clair", "$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaA"} {
		if ok, _, err := h.Verify(bad, "x"); ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v", bad, ok, err)
		}
	}
	h.Burn("x", sesame.HashArgon2id, 0) // an unknown login: the same work, no answer
	h.Burn("x", sesame.HashBcrypt, 10)
}

// BenchmarkVerify compares the cost of a known login (a real hash) with an
// unknown one (Burn): they should be the same within noise.
func BenchmarkVerify(b *testing.B) {
	h := password.New(password.OWASP)
	phc, _ := h.Hash("motdepasse")
	b.Run("KnownLogin", func(b *testing.B) {
		for b.Loop() {
			_, _, _ = h.Verify(phc, "mauvais")
		}
	})
	b.Run("UnknownLogin", func(b *testing.B) {
		for b.Loop() {
			h.Burn("mauvais", sesame.HashArgon2id, 0)
		}
	})
}
