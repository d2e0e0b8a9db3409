package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

// Opener returns the store under test. It may return the same store to
// every caller: the suite never shares a school between cases.
type Opener func(t *testing.T) sesame.Store

// t0 is the suite's starting time: a Tuesday morning of the rentrée.
var t0 = time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)

// lease is the lease the cases give seats.
const lease = 180 * time.Second

// Clock is a fake clock that tests move by hand.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

var uaiSeq atomic.Int64

// NewUAI returns a UAI no other case of this process uses, random across
// processes so that cases sharing a DynamoDB table never meet.
func NewUAI() sesame.UAI {
	var b [2]byte
	_, _ = rand.Read(b[:])
	n := (int64(b[0])<<8|int64(b[1]))*1000 + uaiSeq.Add(1)%1000
	return sesame.UAI(fmt.Sprintf("%07d%c", n%10000000, 'A'+rune(n%26)))
}

// NewID returns a random session ID shaped like sesame.TokenID's.
func NewID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

const year = sesame.Year("2026-2027")

// MustBase creates a new school with a base for year y and its default
// content, and returns the base's key.
func MustBase(t testing.TB, st sesame.Store, uai sesame.UAI, y sesame.Year, lic sesame.License) sesame.BaseKey {
	t.Helper()
	k := sesame.BaseKey{UAI: uai, Year: y}
	spr := sesame.User{Login: "spr", DisplayName: "Superviseur " + string(uai)}
	c := sesame.NewBaseContent(spr, t0)
	err := st.CreateBase(context.Background(),
		sesame.School{UAI: uai, Name: "Collège " + string(uai), CurrentYear: y},
		sesame.Base{BaseKey: k, License: lic, CreatedAt: t0, Version: 1}, c)
	if err != nil {
		t.Fatalf("CreateBase %s: %v", k, err)
	}
	return k
}

// newSession builds an open session of login in pool for base k at now.
func newSession(k sesame.BaseKey, login string, pool sesame.Pool, now time.Time) sesame.Session {
	mode := sesame.ModeAdmin
	switch pool {
	case sesame.PoolTeacher:
		mode = sesame.ModeTeacher
	case sesame.PoolVieScolaire:
		mode = sesame.ModeVieScolaire
	case sesame.PoolParent:
		mode = sesame.SpaceParent
	}
	access := sesame.Modify
	if pool == sesame.PoolAdminConsult {
		access = sesame.Consult
	}
	return sesame.Session{ID: NewID(), UAI: k.UAI, Year: k.Year, Login: login, DisplayName: "Utilisateur " + login,
		Kind: sesame.KindStaff, Mode: mode, Access: access, Pool: pool,
		CreatedAt: now, ExpiresAt: now.Add(12 * time.Hour), LastActivity: now, LastSeen: now}
}

// open signs login into pool with limit, and fails the test on error.
func mustOpen(t testing.TB, st sesame.Store, k sesame.BaseKey, login string, pool sesame.Pool, limit sesame.Limit, now time.Time) sesame.Session {
	t.Helper()
	s := newSession(k, login, pool, now)
	l, err := st.OpenSession(context.Background(), s, sesame.SeatPolicy{Limit: limit, Lease: lease}, now)
	if err != nil {
		t.Fatalf("OpenSession %s in %s (limit %v): %v", login, pool, limit, err)
	}
	if pool != "" && (l.Session != s.ID || l.Login != login || l.Pool != pool || !l.ExpiresAt.Equal(now.Add(lease))) {
		t.Fatalf("OpenSession %s: lease %+v, want session %s, pool %s, expiry %v", login, l, s.ID, pool, now.Add(lease))
	}
	return s
}

// wantErr fails unless err matches target with errors.Is.
func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, sesame.ErrorCode(target))
	}
}

// must fails the test on err.
func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// liveIn returns the logins holding live leases in pool, in order.
func liveIn(t testing.TB, st sesame.Store, k sesame.BaseKey, pool sesame.Pool, now time.Time) []string {
	t.Helper()
	ls, err := st.ListLeases(context.Background(), k, now)
	must(t, "ListLeases", err)
	var out []string
	for _, l := range ls {
		if l.UAI != k.UAI || l.Year != k.Year {
			t.Fatalf("ListLeases %s returned a lease of %s/%s", k, l.UAI, l.Year)
		}
		if !l.Live(now) {
			t.Fatalf("ListLeases returned a lapsed lease: %+v at %v", l, now)
		}
		if l.Pool == pool {
			out = append(out, l.Login)
		}
	}
	return out
}

// ended fails unless session id has ended with reason r.
func ended(t testing.TB, st sesame.Store, id string, r sesame.EndReason) {
	t.Helper()
	s, err := st.GetSession(context.Background(), id)
	must(t, "GetSession", err)
	if s.EndReason != r || s.EndedAt.IsZero() {
		t.Fatalf("session %s: end reason %q at %v, want %q", id[:8], s.EndReason, s.EndedAt, r)
	}
}
