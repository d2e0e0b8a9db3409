package idp

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame/infra/testenv"
)

// DefaultSPURL is the relying party that [Shared] prepares its instance for.
// Nothing needs to listen there: a test drives the flow headless and stops at
// the relying party's door (see [Browser]).
const DefaultSPURL = "http://127.0.0.1:9999"

const installStartTimeout = 6 * time.Minute

var installed struct {
	once sync.Once
	dir  string
	note string
	err  error
}

// installedCache installs the provider once per process.
func installedCache() (dir, note string, err error) {
	installed.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), installStartTimeout)
		defer cancel()
		if installed.dir, installed.err = DefaultCacheDir(); installed.err != nil {
			return
		}
		t0 := time.Now()
		installed.err = Install(ctx, installed.dir)
		installed.note = fmt.Sprintf("LemonLDAP::NG %s in %s (install check %v)", Version, installed.dir, time.Since(t0).Round(time.Millisecond))
	})
	return installed.dir, installed.note, installed.err
}

// New starts an instance of the provider for the relying party cfg, stopped
// when the test ends. When it cannot be had the test is skipped loudly, or
// fails under CI=true (testenv.Require).
func New(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	dir, note, err := installedCache()
	testenv.Require(tb, "LemonLDAP::NG", err)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	srv, err := Start(ctx, dir, cfg)
	testenv.Require(tb, "LemonLDAP::NG", err)
	tb.Cleanup(srv.Stop)
	tb.Logf("%s; instance %s set up in %v, ready in %v", note, srv.URL,
		srv.SetupTime().Round(time.Millisecond), srv.StartupTime().Round(time.Millisecond))
	return srv
}

var shared struct {
	mu  sync.Mutex
	srv *Server
	err error
}

// Shared returns the process's instance prepared for [DefaultSPURL], started
// on first use; stop it with [Shutdown] from TestMain. Tests that stop or
// reconfigure the provider use [New] instead.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv == nil && shared.err == nil {
		dir, note, err := installedCache()
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
			shared.srv, err = Start(ctx, dir, Config{SPURL: DefaultSPURL})
			cancel()
		}
		shared.err = err
		if err == nil {
			tb.Logf("%s; shared instance %s set up in %v, ready in %v", note, shared.srv.URL,
				shared.srv.SetupTime().Round(time.Millisecond), shared.srv.StartupTime().Round(time.Millisecond))
		}
	}
	testenv.Require(tb, "LemonLDAP::NG", shared.err)
	return shared.srv
}

// Shutdown stops the instance that [Shared] started in this process, if any.
// Call it from TestMain after m.Run.
func Shutdown() {
	shared.mu.Lock()
	srv := shared.srv
	shared.srv = nil
	shared.mu.Unlock()
	if srv != nil {
		srv.Stop()
	}
}
