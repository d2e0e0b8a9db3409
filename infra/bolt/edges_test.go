package bolt_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

// Cases of the Store contract that the conformance suite does not cover
// (yet); they could move there.

func TestSignInOverOwnLapsedLeaseEndsOldSession(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	k := newBase(t, st, "0751234A", sesame.DefaultLicense)
	p := sesame.SeatPolicy{Limit: 2, Lease: lease}
	if _, err := st.OpenSession(ctx, session(k, "old", "a", sesame.PoolAdminModify, t0), p, t0); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(10 * time.Minute) // old's lease lapsed; old is still open
	l, err := st.OpenSession(ctx, session(k, "new", "a", sesame.PoolAdminModify, now), p, now)
	if err != nil || l.Session != "new" || !l.AcquiredAt.Equal(now) {
		t.Fatalf("OpenSession over a lapsed lease: %+v, %v", l, err)
	}
	old, err := st.GetSession(ctx, "old")
	if err != nil || old.EndReason != sesame.ReasonReplaced || !old.EndedAt.Equal(now) {
		t.Fatalf("old session: %+v, %v", old, err)
	}
	if _, err := st.RenewSeat(ctx, "old", p, now); !errors.Is(err, sesame.ErrSessionEnded) {
		t.Fatalf("RenewSeat of the old session: %v", err)
	}
	ss, err := st.ListSessions(ctx, k)
	if err != nil || len(ss) != 1 || ss[0].ID != "new" {
		t.Fatalf("ListSessions: %+v, %v", ss, err)
	}
}

func TestListLeasesOrder(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	k := newBase(t, st, "0751234A", sesame.DefaultLicense)
	open := []struct {
		login string
		pool  sesame.Pool
	}{{"zoe", sesame.PoolParent}, {"bob", sesame.PoolTeacher}, {"yves", sesame.PoolAdminModify},
		{"anne", sesame.PoolTeacher}, {"ali", sesame.PoolParent}, {"max", sesame.PoolAdminModify}}
	for i, o := range open {
		id := string(rune('a' + i))
		if _, err := st.OpenSession(ctx, session(k, id, o.login, o.pool, t0), sesame.SeatPolicy{Limit: sesame.Unlimited, Lease: lease}, t0); err != nil {
			t.Fatal(err)
		}
	}
	ls, err := st.ListLeases(ctx, k, t0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range ls {
		got = append(got, string(l.Pool)+"/"+l.Login)
	}
	want := []string{"admin-modify/max", "admin-modify/yves", "teacher/anne", "teacher/bob", "parent/ali", "parent/zoe"}
	if !slices.Equal(got, want) {
		t.Fatalf("ListLeases = %v, want %v", got, want)
	}
}

func TestMissingBase(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	k := sesame.BaseKey{UAI: "0750000X", Year: "2026-2027"}
	if _, err := st.OpenSession(ctx, session(k, "s", "a", sesame.PoolAdminModify, t0), sesame.SeatPolicy{Limit: 4, Lease: lease}, t0); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("OpenSession in a missing base: %v", err)
	}
	if _, err := st.GetSession(ctx, "s"); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("the refused session was stored: %v", err)
	}
	if _, err := st.ListSessions(ctx, k); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("ListSessions: %v", err)
	}
	if _, err := st.ListLeases(ctx, k, t0); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("ListLeases: %v", err)
	}
	if _, err := st.ListProfiles(ctx, k); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("ListProfiles: %v", err)
	}
}

func TestCreateBaseIsAtomic(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	k := sesame.BaseKey{UAI: "0751234A", Year: "2026-2027"}
	c := sesame.NewBaseContent(sesame.User{Login: "spr", DisplayName: "Superviseur"}, t0)
	c.Users = append(c.Users, sesame.User{Login: "SPR", DisplayName: "Doublon", Kind: sesame.KindStaff})
	err := st.CreateBase(ctx, sesame.School{UAI: k.UAI, Name: "Collège"}, sesame.Base{BaseKey: k, License: sesame.DefaultLicense}, c)
	if !errors.Is(err, sesame.ErrExists) {
		t.Fatalf("CreateBase with two SPR logins: %v", err)
	}
	if _, err := st.GetSchool(ctx, k.UAI); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("a refused CreateBase left its school: %v", err)
	}
	if _, err := st.GetBase(ctx, k); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("a refused CreateBase left its base: %v", err)
	}
	err = st.CreateBase(ctx, sesame.School{UAI: "0750000X", Name: "Autre"}, sesame.Base{BaseKey: k, License: sesame.DefaultLicense}, sesame.BaseContent{})
	if !errors.Is(err, sesame.ErrInvalid) {
		t.Fatalf("CreateBase with a base of another school: %v", err)
	}
	b := newBase(t, st, k.UAI, sesame.DefaultLicense)
	got, err := st.GetBase(ctx, b)
	if err != nil || got.Version != 1 {
		t.Fatalf("GetBase: %+v, %v", got, err)
	}
}

func TestListUsersCursorAndPrefix(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t)
	k := newBase(t, st, "0751234A", sesame.DefaultLicense)
	for _, l := range []string{"a1", "b1", "B2", "b3", "c1"} {
		if err := st.CreateUser(ctx, k, sesame.User{Login: l, DisplayName: l, Kind: sesame.KindStudent}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(q sesame.UserQuery) ([]string, string) {
		t.Helper()
		p, err := st.ListUsers(ctx, k, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, u := range p.Users {
			out = append(out, u.Key())
		}
		return out, p.Next
	}
	cases := []struct {
		q    sesame.UserQuery
		want []string
		next string
	}{
		{sesame.UserQuery{Prefix: "B", After: "a1"}, []string{"b1", "b2", "b3"}, ""}, // cursor before the prefix
		{sesame.UserQuery{Prefix: "b", After: "b1"}, []string{"b2", "b3"}, ""},
		{sesame.UserQuery{Prefix: "b", After: "b3"}, nil, ""},
		{sesame.UserQuery{Prefix: "b", After: "c"}, nil, ""},
		{sesame.UserQuery{Prefix: "b", Limit: 3}, []string{"b1", "b2", "b3"}, ""}, // full page, nothing after
		{sesame.UserQuery{Prefix: "b", Limit: 2}, []string{"b1", "b2"}, "b2"},
		{sesame.UserQuery{Kind: sesame.KindStudent, Limit: 5}, []string{"a1", "b1", "b2", "b3", "c1"}, ""}, // spr is staff
		{sesame.UserQuery{After: "b0", Limit: 1}, []string{"b1"}, "b1"},
	}
	for _, c := range cases {
		got, next := list(c.q)
		if !slices.Equal(got, c.want) || next != c.next {
			t.Errorf("ListUsers(%+v) = %v next %q, want %v next %q", c.q, got, next, c.want, c.next)
		}
	}
}
