package bolt

import (
	"testing"
	"time"
)

// Within runs f and fails t when it has not returned after 10 s: a call
// that nothing made end a transaction held open for an hour (see group)
// would wait that hour.
func Within(t testing.TB, what string, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still waiting after 10 s behind a transaction held open", what)
	}
}
