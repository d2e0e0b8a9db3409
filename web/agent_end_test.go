package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// lateCalls collects what the tab's console says when an event reaches
// the agent's Go program after it stopped: wasm_exec.js throws "Go
// program has already exited" once the program has returned from main,
// and syscall/js logs "call to released function" for a callback released
// while the page still holds it.
func lateCalls(tab context.Context) func() []string {
	return consoleLog(tab, func(m chromedp.ConsoleMessage) bool {
		s := m.String()
		return strings.Contains(s, "already exited") || strings.Contains(s, "released function")
	})
}

// TestAgentOutlivesItsSession: once the session is over the agent stops,
// but the page it leaves lives on until the sign-in page arrives (here 3
// s, a slow network), and its timers, channel and fetches may still fire:
// none may reach a Go program that has exited, nor a released callback.
func TestAgentOutlivesItsSession(t *testing.T) {
	t.Parallel()
	s := newAgentStack(t)
	a := newBrowser(t)
	signedInWithAgent(t, s, a)
	b, cancel := chromedp.NewContext(a) // another tab of the session
	t.Cleanup(cancel)
	do(t, b, chromedp.Navigate(s.url+"/accueil"))
	waitHome(t, b)
	waitAgent(t, b)
	waitFor(t, b, `document.documentElement.dataset.agent !== 'tab'`)
	late := map[string]func() []string{"a": lateCalls(a), "b": lateCalls(b)}
	time.Sleep(2 * testHeartbeat) // heartbeats and timers under way

	const hold = 3 * time.Second
	s.mu.Lock()
	s.hold = hold
	s.mu.Unlock()
	do(t, a, chromedp.Click(chromedp.ID("logout")))
	// Both agents end (the leader on its page's logout, the other tab
	// through the channel) while their pages wait for the sign-in page.
	for name, tab := range map[string]context.Context{"a": a, "b": b} {
		waitFor(t, tab, `location.pathname === '/' && document.getElementById('raison-message')`)
		if got := late[name](); len(got) > 0 {
			t.Errorf("tab %s, after its agent ended: %q", name, got)
		}
	}
}
