package sesame

import "time"

// Attempts counts the failed sign-ins under one key: an account from one
// known device, an account from unknown devices, or a client address.
type Attempts struct {
	Key         string
	Failures    int       // failures since WindowStart
	WindowStart time.Time // start of the counting window
	LockedUntil time.Time // no attempt is verified before this instant
	// Version grows by one at every write (0: never stored); writes are
	// conditional on it.
	Version int64
}

// Budget is how many failures a key may make before it must wait, after
// OWASP's device-cookie scheme.
type Budget struct {
	Free      int           // failures allowed before any delay
	Max       int           // failures in a window after which the key waits for the window's end
	Window    time.Duration // counting window
	BaseDelay time.Duration // first delay after Free failures, doubled at each further failure
	MaxDelay  time.Duration // longest exponential delay
}

// The product's budgets.
var (
	// UnknownDevices is shared by every device that never signed in to
	// the account: strict, at most 20 failures an hour.
	UnknownDevices = Budget{Free: 5, Max: 20, Window: time.Hour, BaseDelay: 2 * time.Second, MaxDelay: 15 * time.Minute}
	// KnownDevice is a device that once signed in to the account (it
	// carries a signed device cookie): its own budget, so guessing from
	// elsewhere never locks the owner out.
	KnownDevice = Budget{Free: 10, Max: 50, Window: time.Hour, BaseDelay: time.Second, MaxDelay: 5 * time.Minute}
	// Address is one client address: wide enough for a whole school
	// behind one NAT address.
	Address = Budget{Free: 100, Max: 2000, Window: time.Hour, BaseDelay: time.Second, MaxDelay: time.Minute}
)

// Wait returns how long key a must wait at now before its next attempt is
// verified (0: it may try now).
func (b Budget) Wait(a Attempts, now time.Time) time.Duration {
	if a.LockedUntil.After(now) {
		return a.LockedUntil.Sub(now)
	}
	return 0
}

// Fail returns a after one more failure at now: the window restarts when it
// is over; past Free failures the key waits BaseDelay, doubled each time up
// to MaxDelay; at Max failures it waits for the end of the window.
func (b Budget) Fail(a Attempts, now time.Time) Attempts {
	if a.WindowStart.IsZero() || now.Sub(a.WindowStart) >= b.Window {
		a.WindowStart, a.Failures, a.LockedUntil = now, 0, time.Time{}
	}
	a.Failures++
	switch {
	case a.Failures >= b.Max:
		a.LockedUntil = a.WindowStart.Add(b.Window)
	case a.Failures > b.Free:
		d := b.BaseDelay << min(a.Failures-b.Free-1, 30)
		if d > b.MaxDelay || d <= 0 {
			d = b.MaxDelay
		}
		a.LockedUntil = now.Add(d)
	}
	return a
}
