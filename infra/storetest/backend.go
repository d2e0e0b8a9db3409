package storetest

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

// BackendOpener returns the backend under test (a Store with its
// throttling and secret stores).
type BackendOpener func(t *testing.T) sesame.Backend

// RunBackend runs Run, then the cases of the throttling counters and the
// secrets.
func RunBackend(t *testing.T, open BackendOpener) {
	Run(t, func(t *testing.T) sesame.Store { return open(t) })
	t.Run("Attempts", func(t *testing.T) { testAttempts(t, open(t)) })
	t.Run("Secrets", func(t *testing.T) { testSecrets(t, open(t)) })
	t.Run("SignIn", func(t *testing.T) { testSignIn(t, open(t)) })
}

func testAttempts(t *testing.T, st sesame.AttemptStore) {
	ctx := context.Background()
	key := "acct:" + string(NewUAI()) + "/dupont"
	wantErr(t, "GetAttempts of a new key", second(st.GetAttempts(ctx, key)), sesame.ErrNotFound)
	a := sesame.UnknownDevices.Fail(sesame.Attempts{Key: key}, t0)
	a1, err := st.PutAttempts(ctx, a)
	must(t, "PutAttempts", err)
	if a1.Version != 1 {
		t.Fatalf("first PutAttempts: version %d", a1.Version)
	}
	wantErr(t, "PutAttempts of a new key twice", second(st.PutAttempts(ctx, a)), sesame.ErrConflict)
	for i := range 6 {
		a1, err = st.PutAttempts(ctx, sesame.UnknownDevices.Fail(a1, t0.Add(time.Duration(i)*time.Second)))
		must(t, "PutAttempts", err)
	}
	got, err := st.GetAttempts(ctx, key)
	must(t, "GetAttempts", err)
	if got.Failures != 7 || got.Version != 7 || !got.WindowStart.Equal(t0) || !got.LockedUntil.Equal(a1.LockedUntil) || got.LockedUntil.IsZero() {
		t.Fatalf("GetAttempts = %+v, want 7 failures, version 7, locked until %v", got, a1.LockedUntil)
	}
	stale := got
	stale.Version = 3
	wantErr(t, "PutAttempts with a stale version", second(st.PutAttempts(ctx, stale)), sesame.ErrConflict)
	must(t, "DeleteAttempts", st.DeleteAttempts(ctx, key))
	wantErr(t, "GetAttempts after delete", second(st.GetAttempts(ctx, key)), sesame.ErrNotFound)
	must(t, "DeleteAttempts of nothing", st.DeleteAttempts(ctx, key))

	// Concurrent failures are all counted: writers retry on conflict.
	key2 := "addr:" + string(NewUAI())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				cur, err := st.GetAttempts(ctx, key2)
				if err != nil && !isNotFound(err) {
					t.Errorf("GetAttempts: %v", err)
					return
				}
				if isNotFound(err) {
					cur = sesame.Attempts{Key: key2}
				}
				_, err = st.PutAttempts(ctx, sesame.Address.Fail(cur, t0))
				if err == nil {
					return
				}
				if !isConflict(err) {
					t.Errorf("PutAttempts: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err = st.GetAttempts(ctx, key2)
	must(t, "GetAttempts", err)
	if got.Failures != 8 {
		t.Fatalf("8 concurrent failures counted as %d", got.Failures)
	}
}

func testSecrets(t *testing.T, st sesame.SecretStore) {
	ctx := context.Background()
	name := "test-" + NewID()[:12]
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Go(func() {
			v, err := st.Secret(ctx, name, []byte{byte(i), 1, 2, 3})
			if err != nil {
				t.Errorf("Secret: %v", err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	for i := range got {
		if len(got[i]) != 4 || !bytes.Equal(got[i], got[0]) {
			t.Fatalf("racers got different secrets: %v and %v", got[0], got[i])
		}
	}
	again, err := st.Secret(ctx, name, []byte("autre"))
	must(t, "Secret", err)
	if !bytes.Equal(again, got[0]) {
		t.Fatalf("the secret changed: %v, was %v", again, got[0])
	}
}

func isNotFound(err error) bool { return sesame.ErrorCode(err) == sesame.CodeNotFound }
func isConflict(err error) bool { return sesame.ErrorCode(err) == sesame.CodeConflict }
