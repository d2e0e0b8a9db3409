package s3local

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame/infra/testenv"
)

var installed struct {
	once sync.Once
	bin  string
	err  error
}

// Binary returns versitygw, installed once per test process; without it
// the test is skipped loudly, or fails under CI=true.
func Binary(tb testing.TB) string {
	tb.Helper()
	installed.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		installed.bin, installed.err = Install(ctx)
	})
	testenv.Require(tb, "versitygw", installed.err)
	return installed.bin
}

// New starts a versitygw of the test's own, on a temporary folder, with
// the given buckets, all versioned; it is stopped when the test ends.
func New(tb testing.TB, buckets ...string) *Server {
	tb.Helper()
	s, err := Start(tb.Context(), Binary(tb), tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	for _, b := range buckets {
		if err := s.CreateBucket(tb.Context(), b, true); err != nil {
			tb.Fatalf("%v\n%s", err, s.Output())
		}
	}
	return s
}
