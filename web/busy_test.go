package web_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/httpapi"
)

// TestSignInWaitsOutABusyServer: while every hashing slot is taken and no
// queue is allowed, the server answers 503 busy with Retry-After; the
// sign-in page says so in French and tries again on its own, and signs in
// once the slot is free.
func TestSignInWaitsOutABusyServer(t *testing.T) {
	t.Parallel()
	gate := sesame.NewHashGate(1, time.Nanosecond)
	s := newStackWith(t, stackOptions{hashing: gate})
	s.addUser(t, "mdurand", "teacher", "Marie Durand", "")
	tab := newBrowser(t)

	// Someone else's sign-in holds the only slot.
	held, err := gate.Enter()
	if err != nil {
		t.Fatal(err)
	}
	release, running := make(chan struct{}), make(chan struct{})
	go func() {
		defer held.Leave()
		_ = held.Run(context.Background(), func() { close(running); <-release })
	}()
	<-running

	signIn(t, s, tab, uai, "mdurand", userPass, "teacher", "")
	waitFor(t, tab, `document.getElementById('statut').dataset.busy === 'busy'`)
	contains(t, "busy status", text(t, tab, "#statut"), "beaucoup de connexions", "nouvel essai automatique")
	if got := eval[string](t, tab, `document.getElementById('erreur').textContent`); got != "" {
		t.Fatalf("a busy server is shown as an error: %q", got)
	}
	close(release)
	waitHome(t, tab)
}

// TestSignInWaitsOutAnUnavailableStore: when the store cannot be reached,
// the API answers 503 unavailable with Retry-After (httpapi.ErrorAnswer of
// a sesame.UnavailableError, as a function whose DynamoDB is cut does);
// the sign-in page says so in French, tries again on its own after that
// wait, and signs in once the store answers.
func TestSignInWaitsOutAnUnavailableStore(t *testing.T) {
	t.Parallel()
	var cut atomic.Int32
	cut.Store(1) // sign-ins answered unavailable, still to come
	wrap := func(api http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/login") && cut.Add(-1) >= 0 {
				status, header, body := httpapi.ErrorAnswer(&sesame.UnavailableError{Err: errors.New("connection refused")})
				maps.Copy(w.Header(), header)
				w.WriteHeader(status)
				_, _ = w.Write(body)
				return
			}
			api.ServeHTTP(w, r)
		})
	}
	s := newStackWith(t, stackOptions{wrap: wrap})
	s.addUser(t, "mdurand", "teacher", "Marie Durand", "")
	tab := newBrowser(t)

	signIn(t, s, tab, uai, "mdurand", userPass, "teacher", "")
	waitFor(t, tab, `document.getElementById('statut').dataset.busy === 'unavailable'`)
	contains(t, "unavailable status", text(t, tab, "#statut"), "momentanément indisponible", "nouvel essai automatique")
	if got := eval[string](t, tab, `document.getElementById('erreur').textContent`); got != "" {
		t.Fatalf("an unreachable store is shown as an error: %q", got)
	}
	waitHome(t, tab)
	if n := cut.Load(); n >= 0 {
		t.Fatalf("the page signed in without meeting the unavailable answer (%d left)", n+1)
	}
}
