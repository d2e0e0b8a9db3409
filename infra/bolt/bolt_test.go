package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunBackend(t, func(t *testing.T) sesame.Backend { return openTemp(t) })
}

// openTemp opens a fresh file in t's temporary directory, closed at the end
// of the test.
func openTemp(t testing.TB, opts ...bolt.Option) *bolt.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "data", "sesame.db"), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}
