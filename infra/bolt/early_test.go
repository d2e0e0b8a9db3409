package bolt_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/bolt"
)

// TestHeartbeatSeenOnceAnswered holds the commit of a heartbeat's batch
// (as a slow sync would) after BeatStamped has answered, and reads the
// session at once from other goroutines, as the user's next request and
// the SPR's Connexions page would: each read must see the renewal. A
// store that answered before the commit without making those reads wait
// fails here.
func TestHeartbeatSeenOnceAnswered(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t, bolt.WithNoSync())
	var held, released atomic.Bool
	bolt.SetSyncing(st, func() error {
		if !held.Load() {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
		released.Store(true)
		return nil
	})
	k := newBase(t, st, "0751234A", sesame.DefaultLicense)
	p := sesame.SeatPolicy{Limit: 4, Lease: lease}
	s := session(k, "s1", "prof", sesame.PoolAdminModify, t0)
	s.Stamp(sesame.AutoDisconnect{Enabled: true, After: 30 * time.Minute}, t0)
	if _, err := st.OpenSession(ctx, s, p, t0); err != nil {
		t.Fatal(err)
	}

	held.Store(true)
	at := t0.Add(time.Minute)
	x, err := st.BeatStamped(ctx, s.ID, 0, p, at)
	if err != nil || !x.LastSeen.Equal(at) {
		t.Fatalf("BeatStamped: %+v, %v", x, err)
	}
	if released.Load() {
		t.Fatal("BeatStamped answered after its commit: the test no longer holds the commit it reads around")
	}
	reads := map[string]func() (time.Time, error){
		"GetSession": func() (time.Time, error) {
			x, err := st.GetSession(ctx, s.ID)
			return x.LastSeen, err
		},
		"ReadSession": func() (time.Time, error) {
			r, err := st.ReadSession(ctx, s.ID, sesame.SessionNear{})
			return r.Session.LastSeen, err
		},
		"ListSessions": func() (time.Time, error) {
			xs, err := st.ListSessions(ctx, k)
			if err != nil || len(xs) != 1 {
				return time.Time{}, err
			}
			return xs[0].LastSeen, nil
		},
		"ListLeases": func() (time.Time, error) {
			ls, err := st.ListLeases(ctx, k, at)
			if err != nil || len(ls) != 1 {
				return time.Time{}, err
			}
			return ls[0].ExpiresAt.Add(-lease), nil // renewed at at
		},
	}
	var wg sync.WaitGroup
	for name, read := range reads {
		wg.Go(func() {
			got, err := read()
			if err != nil || !got.Equal(at) {
				t.Errorf("%s right after the heartbeat: %v, %v; want the renewal at %v", name, got, err, at)
			}
		})
	}
	wg.Wait()
	if !released.Load() {
		t.Error("the reads returned before the commit they must wait for")
	}
}

// TestHeldHeartbeatsEndForOtherWrites holds a transaction of heartbeats
// open for an hour and checks that a write outside the group commit
// (EndSession) ends it at once and sees the heartbeat, and that Close
// commits the heartbeats it holds.
func TestHeldHeartbeatsEndForOtherWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sesame.db")
	st, err := bolt.Open(path, bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	bolt.SetHoldFor(st, time.Hour)
	k := newBase(t, st, "0751234A", sesame.DefaultLicense)
	p := sesame.SeatPolicy{Limit: 4, Lease: lease}
	ad := sesame.AutoDisconnect{Enabled: true, After: 30 * time.Minute}
	var ids []string
	for _, id := range []string{"s1", "s2"} {
		s := session(k, id, "prof-"+id, sesame.PoolAdminModify, t0)
		s.Stamp(ad, t0)
		if _, err := st.OpenSession(ctx, s, p, t0); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	at := t0.Add(time.Minute)
	for _, id := range ids {
		if _, err := st.BeatStamped(ctx, id, 0, p, at); err != nil {
			t.Fatal(err)
		}
	}
	bolt.Within(t, "EndSession", func() error {
		x, err := st.EndSession(ctx, ids[0], sesame.ReasonLoggedOut, at.Add(time.Second))
		if err == nil && !x.LastSeen.Equal(at) {
			err = fmt.Errorf("ended %+v, without the heartbeat at %v", x, at)
		}
		return err
	})
	at2 := at.Add(time.Minute)
	if _, err := st.BeatStamped(ctx, ids[1], 0, p, at2); err != nil {
		t.Fatal(err)
	}
	bolt.Within(t, "Close", st.Close)
	st, err = bolt.Open(path, bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	x, err := st.GetSession(ctx, ids[1])
	if err != nil || !x.LastSeen.Equal(at2) {
		t.Fatalf("after Close and a reopen: %+v, %v; want the heartbeat at %v", x, err, at2)
	}
}
