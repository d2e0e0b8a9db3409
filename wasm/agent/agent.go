// Package agent is the browser agent's portable core: a state machine in
// plain Go that decides, from timestamped inputs, when the user is idle,
// when to warn, when to log out and when to send a heartbeat. It touches no
// browser API and reads no clock: the shell (package wasm/browser) feeds it
// events with the time they happened and carries out what it answers.
//
// Inputs: the user's activity (in this tab or, through Remote, in another
// tab of the session), timer ticks, visibility, the tab election, the
// server's answers to heartbeats. Every input returns an Out: the heartbeat
// to send now, the messages for the other tabs, whether the warning shows
// and with how long left, whether the lease is at risk, whether to leave
// for the sign-in page, and when to tick again.
//
// A seat holder reports every heartbeat (60 s), which renews its lease. A
// session without a seat to keep (Config.Seatless: unlimited pools,
// consultation, the SPR) reports only when the server needs it: before the
// activity the server holds could reach the idle limit, when the user comes
// back after the warning, at the idle limit, and otherwise every
// Config.Report (10 min), so that Connexions stays truthful. Logout is the
// page's own request.
//
// Idle time is always computed from timestamps, never by counting ticks:
// a tick that comes late (a throttled tab, a laptop that slept) finds the
// right state. The server decides (DESIGN.md, "Activity and idleness"):
// at the limit the agent sends a final heartbeat reporting the idleness,
// which ends the session and frees the seat; the server's answer names the
// reason shown on the sign-in page.
package agent

import "time"

// The API's 401 reasons the agent meets (the public contract).
const (
	ReasonIdleTimeout  = "idle_timeout"
	ReasonDisconnected = "disconnected"
	ReasonReplaced     = "replaced"
	ReasonSeatLost     = "seat_lost"
	ReasonExpired      = "expired"
	ReasonLoggedOut    = "logged_out"
)

// Config is what the agent applies: the session's idle settings and the
// server's heartbeat timing. The session object and every heartbeat answer
// carry it.
type Config struct {
	Idle      bool          // automatic disconnection is enabled
	Timeout   time.Duration // the idle limit
	Warning   time.Duration // how long before the limit the warning shows
	Heartbeat time.Duration // how often a seat holder sends a heartbeat
	Lease     time.Duration // how long the seat lasts without one
	// Report is how often the session reports when nothing else makes it:
	// the heartbeat for a seat holder (0 says so too); longer for a session
	// without a seat to keep, which also reports before the server could
	// judge an active user idle and when the user comes back after the
	// warning. An answer without it keeps the one in force.
	Report time.Duration
}

// normal fills in what the server left out, so that the machine never
// divides by zero or spins.
func (c Config) normal() Config {
	if c.Heartbeat <= 0 {
		c.Heartbeat = 60 * time.Second
	}
	c.Report = max(c.Report, c.Heartbeat)
	if c.Lease < c.Heartbeat {
		c.Lease = 3 * c.Heartbeat
	}
	if c.Timeout <= 0 {
		c.Idle = false
	}
	c.Warning = min(max(c.Warning, 0), max(c.Timeout, 0))
	return c
}

// Seatless reports whether the session holds no seat to keep: it reports
// at its long interval instead of every heartbeat.
func (c Config) Seatless() bool { return c.Report > c.Heartbeat }

// End says why the session ended, for the sign-in page.
type End struct {
	Reason  string        // one of the API's 401 reasons
	Timeout time.Duration // the idle limit, for idle_timeout (0: unknown)
}

// Beat is a heartbeat to send. The shell hands it back with the answer.
type Beat struct {
	At    time.Time     // when it was decided
	Idle  time.Duration // how long the user has been idle: idleSeconds
	Final bool          // it reports the idle limit reached: the server ends the session
}

// Answer is the server's answer to a Beat. With neither OK nor End, the
// heartbeat failed (no answer, or a server error) and is retried: after
// RetryAfter when the server said when (503 busy, 429), spread by up to
// half, otherwise with a growing backoff. A failure never ends the session.
type Answer struct {
	OK         bool          // 200: Config holds the current settings
	Config     Config        //
	End        *End          // 401: the session is over, and why
	RetryAfter time.Duration // 503 or 429 with Retry-After: when to try again
}

// Kind is the kind of a Message.
type Kind uint8

// The messages tabs exchange.
const (
	KindActivity Kind = iota + 1 // the user acted, at At
	KindBeat                     // a heartbeat sent at At was answered
	KindEnd                      // the session is over (End)
)

// Message goes from one tab of a session to all the others.
type Message struct {
	Kind Kind
	// At is when the user acted (activity) or when the heartbeat was sent
	// (beat).
	At time.Time
	// Reported is, for a beat, the last activity the server now holds.
	Reported time.Time
	// Config is, for a beat, the settings the server answered.
	Config Config
	// End is, for an end, why the session ended.
	End End
}

// Out is what the shell must do after an input.
type Out struct {
	// Beat, when set, is a heartbeat to send now; give its answer to
	// Machine.Answer.
	Beat *Beat
	// Share are messages to post to the other tabs.
	Share []Message
	// Warning is whether the warning dialog shows, and Remaining how long
	// is left before the logout.
	Warning   bool
	Remaining time.Duration
	// Offline is whether to tell the user that the server has not answered
	// for so long that the seat is about to be lost.
	Offline bool
	// Claim asks the shell to take the lead from another tab (a visible
	// tab prefers to send the heartbeats).
	Claim bool
	// End, when set, asks the shell to leave for the sign-in page and show
	// why.
	End *End
	// Done says the agent has finished: the session is over or the page is
	// leaving. The shell releases everything.
	Done bool
	// Wake is when to Tick at the latest; zero when nothing is pending.
	Wake time.Time
}

// Options set up a Machine.
type Options struct {
	// Shared says the tabs of the session hear each other
	// (BroadcastChannel): activity, answers and the end are shared.
	// Without it each tab is an agent of its own.
	Shared bool
	// Elected says the tabs elect the one that sends the heartbeats (Web
	// Locks); it waits for Lead. Without it every tab sends its own.
	Elected bool
	// Visible is whether the page shows.
	Visible bool
	// Last is the last beat a tab of this session stored (page loads keep
	// the heartbeat cadence through it), if any.
	Last *Message
	// Rand returns a number in [0, 1) to spread retries; nil: no jitter.
	Rand func() float64
}

// Machine is the agent's state. It is not safe for concurrent use.
type Machine struct {
	cfg     Config
	shared  bool
	elected bool
	leader  bool
	visible bool
	rand    func() float64

	lastAct   time.Time // the user's last activity, in any tab
	sharedAct time.Time // the last activity the other tabs know of
	lastBeat  time.Time // when the last heartbeat was sent, by any tab
	lastOK    time.Time // when the server last answered one
	reported  time.Time // the last activity the server holds
	heard     time.Time // when the leading tab was last heard of
	claimed   time.Time // when this tab last claimed the lead
	inFlight  bool      // a heartbeat of this tab awaits its answer
	final     bool      // the final heartbeat awaits its answer
	back      bool      // the user came back after the warning: report it now
	failures  int       // heartbeats failed in a row
	failedAt  time.Time // when the first of them was sent
	retryAt   time.Time
	claim     bool // a claim is due (start, becoming visible)
	ended     bool
}

// New starts the agent of a page loaded at now with the session's settings.
// Loading the page counts as the user's activity.
func New(now time.Time, cfg Config, o Options) *Machine {
	elected := o.Shared && o.Elected
	m := &Machine{cfg: cfg.normal(), shared: o.Shared, elected: elected, leader: !elected, visible: o.Visible, rand: o.Rand,
		lastAct: now, lastOK: now, reported: now, heard: now}
	if l := o.Last; l != nil && l.Kind == KindBeat && !l.At.After(now) {
		m.lastBeat, m.reported = l.At, l.Reported
		if now.Sub(l.At) < m.cfg.Lease {
			m.lastOK = l.At
		}
	}
	m.claim = elected && o.Visible
	return m
}

// Config returns the settings in force.
func (m *Machine) Config() Config { return m.cfg }

// Leader reports whether this tab sends the heartbeats.
func (m *Machine) Leader() bool { return m.leader }

// Ended reports whether the agent has finished.
func (m *Machine) Ended() bool { return m.ended }

// Tick is a timer's call, at now, however late.
func (m *Machine) Tick(now time.Time) Out { return m.advance(now, nil) }

// Activity records the user's activity in this tab (pointer, keyboard,
// wheel, touch, focus, the page shown, the warning's button) at now.
func (m *Machine) Activity(now time.Time) Out {
	if !m.ended && !m.final {
		m.acted(now, now)
	}
	return m.advance(now, nil)
}

// acted records the user's activity at at, heard of at now. Activity while
// the warning shows is a comeback: the server hears of it at once.
func (m *Machine) acted(now, at time.Time) {
	if !at.After(m.lastAct) {
		return
	}
	if m.warningAt(now) {
		m.back = true
	}
	m.lastAct = at
}

// adopt applies the settings c the server answered, keeping the report
// interval in force when c does not say it (heartbeat answers).
func (m *Machine) adopt(c Config) {
	if c.Report <= 0 && m.cfg.Seatless() {
		c.Report = m.cfg.Report
	}
	m.cfg = c.normal()
}

// Visibility records that the page was shown or hidden. Showing it is
// activity, and a shown tab claims the lead.
func (m *Machine) Visibility(now time.Time, visible bool) Out {
	m.visible = visible
	if !visible {
		return m.advance(now, nil)
	}
	m.claim = m.elected && !m.leader
	return m.Activity(now)
}

// Lead records the outcome of the election: this tab now sends the
// heartbeats, or no longer does.
func (m *Machine) Lead(now time.Time, leader bool) Out {
	m.leader = leader || !m.elected
	if m.leader {
		m.claim = false
	}
	m.heard = now
	return m.advance(now, nil)
}

// Online says the network came back: a failing heartbeat is retried now.
func (m *Machine) Online(now time.Time) Out {
	if m.failures > 0 {
		m.retryAt = now
	}
	return m.advance(now, nil)
}

// Remote applies a message from another tab of the session.
func (m *Machine) Remote(now time.Time, msg Message) Out {
	if m.ended {
		return Out{Done: true}
	}
	switch msg.Kind {
	case KindActivity:
		if m.final {
			break
		}
		if !msg.At.After(now.Add(time.Minute)) {
			m.acted(now, msg.At)
		}
		if msg.At.After(m.sharedAct) {
			m.sharedAct = msg.At
		}
	case KindBeat:
		m.heard = now
		if !msg.At.Before(m.lastBeat) {
			m.lastBeat, m.reported = msg.At, msg.Reported
			m.adopt(msg.Config)
			m.failures = 0
			m.back = m.back && m.lastAct.After(msg.Reported)
		}
		if msg.At.After(m.lastOK) {
			m.lastOK = msg.At
		}
	case KindEnd:
		e := msg.End
		m.ended = true
		return Out{End: &e, Done: true}
	}
	return m.advance(now, nil)
}

// Leave records that the page leaves for the sign-in page on its own (the
// user logged out, or a request of the page got a 401): the other tabs
// are told, and the agent finishes.
func (m *Machine) Leave(now time.Time, e End) Out {
	if m.ended {
		return Out{Done: true}
	}
	m.ended = true
	return Out{Share: []Message{{Kind: KindEnd, At: now, End: e}}, Done: true}
}

// Answer applies the server's answer a to heartbeat b, received at now.
func (m *Machine) Answer(now time.Time, b Beat, a Answer) Out {
	if b.Final {
		m.final = false
	} else {
		m.inFlight = false
	}
	if m.ended {
		return Out{Done: true}
	}
	var share []Message
	switch {
	case a.End != nil:
		e := *a.End
		if e.Reason == ReasonIdleTimeout && e.Timeout <= 0 {
			e.Timeout = m.cfg.Timeout
		}
		return m.end(now, e)
	case a.OK:
		m.adopt(a.Config)
		m.failures, m.lastOK, m.heard = 0, now, now
		if !b.At.Before(m.lastBeat) {
			m.lastBeat = b.At
		}
		m.reported = b.At.Add(-b.Idle)
		share = append(share, Message{Kind: KindBeat, At: b.At, Reported: m.reported, Config: m.cfg})
		if b.Final && m.cfg.Idle && !now.Before(m.lastAct.Add(m.cfg.Timeout)) {
			// The server let the session live past the limit it gave: leave
			// all the same, as the user was told.
			return m.end(now, End{Reason: ReasonIdleTimeout, Timeout: m.cfg.Timeout})
		}
	default:
		if b.Final {
			// No answer: the server will judge the session idle at its next
			// request anyway. Leave now, as the warning said.
			return m.end(now, End{Reason: ReasonIdleTimeout, Timeout: m.cfg.Timeout})
		}
		if m.failures == 0 {
			m.failedAt = b.At
		}
		m.failures++
		if a.RetryAfter > 0 {
			m.retryAt = now.Add(Jitter(a.RetryAfter, m.rand))
		} else {
			m.retryAt = now.Add(m.backoff())
		}
	}
	return m.advance(now, share)
}

// end finishes the agent for reason e and tells the other tabs.
func (m *Machine) end(now time.Time, e End) Out {
	m.ended = true
	return Out{Share: []Message{{Kind: KindEnd, At: now, End: e}}, End: &e, Done: true}
}

// backoff is the wait before the next try after m.failures failures in a
// row: doubling from an eighth of the heartbeat (between 250 ms and 5 s)
// up to a heartbeat, spread by up to half.
func (m *Machine) backoff() time.Duration {
	hb := m.cfg.Heartbeat
	d := min(max(hb/8, 250*time.Millisecond), 5*time.Second)
	for i := 1; i < m.failures && d < hb; i++ {
		d *= 2
	}
	d = min(d, hb)
	if m.rand != nil {
		d = d/2 + time.Duration(m.rand()*float64(d/2))
	}
	return d
}

// Jitter spreads a wait the server asked for: d plus a random 0 to 50 %
// of it, so that clients refused together do not come back as one. rand
// returns a number in [0, 1); nil adds nothing.
func Jitter(d time.Duration, rand func() float64) time.Duration {
	if rand == nil {
		return d
	}
	return d + time.Duration(rand()*float64(d/2))
}

// shareEvery is how often activity is shared at most. Another tab hears of
// activity at most that late, well before it would warn: a quarter of the
// time before the warning, and at most 5 s.
func (m *Machine) shareEvery() time.Duration {
	if !m.cfg.Idle {
		return 5 * time.Second
	}
	return max(min(5*time.Second, (m.cfg.Timeout-m.cfg.Warning)/4), 0)
}

// margin is how early, before the server would judge the session idle
// from what it last heard, a heartbeat reports newer activity: two
// heartbeats, so that a hidden tab's timer, which Chrome fires up to a
// minute late, and a retry still come in time.
func (m *Machine) margin() time.Duration {
	return min(m.cfg.Timeout/4, max(2*m.cfg.Heartbeat, 5*time.Second))
}

// due is when this tab, leading, sends the next heartbeat.
func (m *Machine) due() time.Time {
	if m.failures > 0 {
		// Failing: the retries keep their own pace, or they would spin
		// once the early report below is due.
		return m.retryAt
	}
	due := m.lastBeat.Add(m.cfg.Report)
	if m.cfg.Idle && m.lastAct.After(m.reported) {
		// The server holds older activity than the user's: tell it before
		// it judges the session idle.
		if early := m.reported.Add(m.cfg.Timeout - m.margin()); early.Before(due) {
			due = early
		}
	}
	return due
}

// advance brings the machine to now and says what to do.
func (m *Machine) advance(now time.Time, share []Message) Out {
	if m.ended {
		return Out{Share: share, Done: true}
	}
	out := Out{Share: share}
	var wake []time.Time

	// Share activity with the other tabs: at once when they have heard of
	// none for a while, otherwise on the trailing edge.
	if m.shared && m.lastAct.After(m.sharedAct) {
		at := m.sharedAct.Add(m.shareEvery())
		if !now.Before(at) || m.warningAt(now) {
			m.sharedAct = m.lastAct
			out.Share = append(out.Share, Message{Kind: KindActivity, At: m.lastAct})
		} else {
			wake = append(wake, at)
		}
	}

	// The idle limit: report it, and the server ends the session. The
	// leading tab does; another waits a little for its word first.
	if m.cfg.Idle && !m.final {
		deadline := m.lastAct.Add(m.cfg.Timeout)
		if !m.leader {
			deadline = deadline.Add(min(m.cfg.Heartbeat, 5*time.Second))
		}
		if !now.Before(deadline) {
			m.final = true
			out.Beat = &Beat{At: now, Idle: now.Sub(m.lastAct), Final: true}
		} else {
			wake = append(wake, deadline)
		}
	}

	// The regular heartbeat, from the leading tab.
	if m.leader && !m.inFlight && !m.final {
		if due := m.due(); m.back || !now.Before(due) {
			m.inFlight, m.back = true, false
			m.lastBeat = now
			out.Beat = &Beat{At: now, Idle: max(now.Sub(m.lastAct), 0)}
		} else {
			wake = append(wake, due)
		}
	}

	// The warning, counting down by the second.
	if m.cfg.Idle {
		deadline := m.lastAct.Add(m.cfg.Timeout)
		if m.warningAt(now) {
			out.Warning, out.Remaining = true, max(deadline.Sub(now), 0)
			if step := out.Remaining % time.Second; step > 0 {
				wake = append(wake, now.Add(step))
			} else if out.Remaining > 0 {
				wake = append(wake, now.Add(time.Second))
			}
		} else if !m.final {
			wake = append(wake, deadline.Add(-m.cfg.Warning))
		}
	}

	// The seat is about to lapse: no answer for nearly a lease. Without
	// a seat, the reports have failed for as long.
	since := m.lastOK
	if m.cfg.Seatless() {
		since = m.failedAt
		if m.failures == 0 {
			since = time.Time{}
		}
	}
	if !since.IsZero() {
		atRisk := since.Add(m.cfg.Lease - m.cfg.Heartbeat)
		if out.Offline = !now.Before(atRisk); !out.Offline {
			wake = append(wake, atRisk)
		}
	}

	// A shown tab leads; so does any tab when the leader fell silent for
	// two and a half heartbeats and nearly a lease (it froze, or its timers
	// are throttled), counted from when it should have reported.
	if m.elected && !m.leader && m.visible {
		quiet := max(2*m.cfg.Heartbeat+m.cfg.Heartbeat/2, m.cfg.Lease-m.cfg.Heartbeat)
		silent := m.heard.Add(quiet)
		if m.cfg.Seatless() {
			silent = later(silent, m.due().Add(quiet))
		}
		again := m.claimed.Add(m.cfg.Heartbeat)
		if m.claim || (!now.Before(silent) && !now.Before(again)) {
			out.Claim, m.claim, m.claimed = true, false, now
		} else if now.Before(silent) {
			wake = append(wake, silent)
		} else {
			wake = append(wake, again)
		}
	}

	for _, w := range wake {
		if w.After(now) && (out.Wake.IsZero() || w.Before(out.Wake)) {
			out.Wake = w
		}
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// warningAt reports whether the warning shows at now.
func (m *Machine) warningAt(now time.Time) bool {
	if !m.cfg.Idle || m.cfg.Warning <= 0 {
		return false
	}
	return !now.Before(m.lastAct.Add(m.cfg.Timeout - m.cfg.Warning))
}
