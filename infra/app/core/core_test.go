package core

import (
	"testing"

	"github.com/sesame-ecole/sesame"
)

// TestServiceHashesLazily: the service's hasher does its set-up work at
// the first password it handles, not when the service is built, and then
// hashes and verifies as password.New's does.
func TestServiceHashesLazily(t *testing.T) {
	svc := NewService(nil, sesame.DefaultTiming)
	l, ok := svc.Hasher.(*lazyHasher)
	if !ok || l.h != nil {
		t.Fatalf("hasher %T built at start", svc.Hasher)
	}
	h, err := l.Hash("mot-de-passe")
	if err != nil || l.h == nil {
		t.Fatal(err)
	}
	if ok, _, err := l.Verify(h, "mot-de-passe"); !ok || err != nil {
		t.Fatalf("verify: %v %v", ok, err)
	}
	if ok, _, _ := l.Verify(h, "autre"); ok {
		t.Fatal("a wrong password verified")
	}
}
