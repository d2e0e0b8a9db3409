// Package browser is the browser agent's thin platform shell: it binds the
// portable state machine of package wasm/agent to the page, through
// github.com/hack-pad/safejs only. It builds for js/wasm alone.
//
// What it binds:
//   - activity: pointer, keyboard, wheel and touch events, the window's
//     focus and the page shown (visibilitychange), throttled to four a
//     second; time is the wall clock (Date.now), so a laptop that slept or
//     a throttled tab is judged right on wake;
//   - the API: GET /session at start, POST /heartbeat {"idleSeconds"} with
//     fetch, answers read with the browser's JSON (never encoding/json);
//   - the tabs of one session: a BroadcastChannel shares activity, answers
//     and the end; a Web Lock elects the tab that sends the heartbeats, and
//     a tab shown steals it (navigator.locks.request with steal). Without
//     BroadcastChannel each tab is its own agent; without Web Locks every
//     tab sends heartbeats;
//   - the warning: a modal <dialog role="alertdialog"> with a countdown and
//     Rester connecté, focus moved to its button and given back, Escape
//     and Enter handled; a notice when the seat is about to lapse;
//   - the end: window.Sesame.leave(reason, seconds) shows the sign-in page
//     with the reason; a page that leaves on its own (logout, a 401 of its
//     own requests) says so with a "sesame:leave" event, which the agent
//     passes on to the other tabs.
//
// Every JS callback it creates is counted and released (Live tells how many
// are held), so a day of heartbeats holds no more than the first minute.
//
//	a, err := browser.Start(browser.Globals())
//	if err == nil && a != nil {
//		a.Wait()
//	}
package browser
