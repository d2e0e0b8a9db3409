package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
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
	waitFor(t, tab, `document.getElementById('statut').dataset.busy === 'true'`)
	contains(t, "busy status", text(t, tab, "#statut"), "beaucoup de connexions", "nouvel essai automatique")
	if got := eval[string](t, tab, `document.getElementById('erreur').textContent`); got != "" {
		t.Fatalf("a busy server is shown as an error: %q", got)
	}
	close(release)
	waitHome(t, tab)
}
