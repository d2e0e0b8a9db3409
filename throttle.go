package sesame

import (
	"net/netip"
	"strings"
	"time"
)

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
	Max       int           // failures in a window after which the key waits for the window's end (0: never)
	Window    time.Duration // counting window
	BaseDelay time.Duration // first delay after Free failures, doubled at each further failure
	MaxDelay  time.Duration // longest exponential delay
}

// The product's budgets. Their promise, after OWASP's device-cookie
// scheme: guessing can never lock an account's owner out, and nothing one
// person does from a shared address locks the others out.
//
//   - A known device (a browser that once signed in to the account: it
//     carries a signed device cookie) has its own budget per account, and
//     no address counter ever refuses it.
//   - Unknown devices share a strict budget per account. A slot of it is
//     taken by one conditional write before the password is verified, so
//     N parallel guesses never verify more than the budget; losing the
//     race for the slot answers 429, never 5xx.
//   - Per school and client address (IPv6 grouped by /64), failures of
//     unknown devices past a free allowance sized for a whole school behind
//     one NAT address only slow the next unknown device, with capped delays.
//     One school's failures never count against another school.
var (
	// UnknownDevices: 5 free failures, then 2 s doubled at each failure up
	// to 15 min; after 20 failures in an hour, the rest of the hour.
	UnknownDevices = Budget{Free: 5, Max: 20, Window: time.Hour, BaseDelay: 2 * time.Second, MaxDelay: 15 * time.Minute}
	// KnownDevice: 10 free failures, then 1 s doubled up to 5 min; after
	// 50 in an hour, the rest of the hour. It is that device's alone.
	KnownDevice = Budget{Free: 10, Max: 50, Window: time.Hour, BaseDelay: time.Second, MaxDelay: 5 * time.Minute}
	// Address: 300 free failures an hour from one school's address (a
	// morning of 1,500 students of whom one in five mistypes), then 1 s
	// doubled up to 8 s between unknown devices' attempts, never more.
	Address = Budget{Free: 300, Max: 0, Window: time.Hour, BaseDelay: time.Second, MaxDelay: 8 * time.Second}
)

// AddressKey is the throttling key of a client address at school uai:
// IPv4 addresses as they are, IPv6 addresses by their /64 (one subscriber
// holds a whole /64), so that one school's counter never counts another's
// failures.
func AddressKey(uai UAI, addr string) string {
	a, err := netip.ParseAddr(strings.Trim(addr, "[]"))
	switch {
	case err != nil:
		addr = clip(addr, 64)
	case a.Is4() || a.Is4In6():
		addr = a.Unmap().String()
	default:
		p, _ := a.WithZone("").Prefix(64)
		addr = p.String()
	}
	return "addr:" + string(uai) + "/" + addr
}

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
	case b.Max > 0 && a.Failures >= b.Max:
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
