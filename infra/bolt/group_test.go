package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"
)

func openGroup(t *testing.T) *group {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "group.db"), 0o600, &bbolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		t.Fatal(err)
	}
	g := newGroup(db)
	t.Cleanup(g.close) // before the file's close, registered first
	return g
}

// TestGroupCommit runs many writes at once, some of which fail: each
// failing write gets its own error and leaves nothing, every other write
// is committed once, and the group is free again afterwards.
func TestGroupCommit(t *testing.T) {
	g := openGroup(t)
	const writers = 64
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			errs[i] = g.do(func(tx *bbolt.Tx) error {
				b := tx.Bucket([]byte("b"))
				key := fmt.Appendf(nil, "k%02d", i)
				if b.Get(key) != nil {
					return fmt.Errorf("write %d: already written", i)
				}
				if err := b.Put(key, []byte("v")); err != nil {
					return err
				}
				if i%7 == 3 {
					return fmt.Errorf("write %d refused", i)
				}
				return nil
			}, nil)
		})
	}
	wg.Wait()
	err := g.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("b"))
		for i := range writers {
			got := b.Get(fmt.Appendf(nil, "k%02d", i)) != nil
			switch {
			case i%7 == 3 && (errs[i] == nil || errs[i].Error() != fmt.Sprintf("write %d refused", i)):
				t.Errorf("write %d: error %v, want its own refusal", i, errs[i])
			case i%7 == 3 && got:
				t.Errorf("write %d failed but left its key", i)
			case i%7 != 3 && errs[i] != nil:
				t.Errorf("write %d: %v", i, errs[i])
			case i%7 != 3 && !got:
				t.Errorf("write %d succeeded but its key is missing", i)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) != 0 {
		t.Errorf("after the writes: %d queued", len(g.queue))
	}
}

// TestGroupPanic gives a write's panic to its caller and leaves the group
// usable.
func TestGroupPanic(t *testing.T) {
	g := openGroup(t)
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("recovered %v, want the write's panic", v)
			}
		}()
		_ = g.do(func(*bbolt.Tx) error { panic("boom") }, nil)
		t.Error("do returned after a panic")
	}()
	if err := g.do(func(tx *bbolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte("k"), []byte("v")) }, nil); err != nil {
		t.Fatalf("write after a panic: %v", err)
	}
	errStop := errors.New("stop")
	if err := g.do(func(*bbolt.Tx) error { return errStop }, nil); !errors.Is(err, errStop) {
		t.Fatalf("error %v, want the write's", err)
	}
}

// TestDecodedStoreIsItsDecoding checks the promise of decoded.store for
// sessions: the record as written (times put in UTC) is what decoding
// its bytes gives, so that serving it from the cache changes nothing.
func TestDecodedStoreIsItsDecoding(t *testing.T) {
	g := openGroup(t)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	now := time.Now().In(paris) // with a monotonic reading and a zone
	d := newDecoded[sessionRec](4)
	var want sessionRec
	if err := json.Unmarshal([]byte(`{"id":"s1","uai":"0751234A","year":"2026-2027","login":"prof","mode":"teacher",
		"access":"modify","pool":"teacher","createdAt":"2026-09-01T07:30:00.123456789Z","expiresAt":"2026-09-01T19:30:00Z",
		"lastActivity":"2026-09-01T07:30:00Z","lastSeen":"2026-09-01T07:30:00Z","endedAt":"0001-01-01T00:00:00Z"}`), &want); err != nil {
		t.Fatal(err)
	}
	want.LastActivity, want.LastSeen = now.UTC(), now.Add(time.Nanosecond).UTC()
	err = g.db.Update(func(tx *bbolt.Tx) error { return d.store(tx.Bucket([]byte("b")), "s1", []byte("s1"), want) })
	if err != nil {
		t.Fatal(err)
	}
	err = g.db.View(func(tx *bbolt.Tx) error {
		var fresh, cached sessionRec
		if _, err := load(tx.Bucket([]byte("b")), []byte("s1"), &fresh); err != nil {
			return err
		}
		if _, err := d.load(tx.Bucket([]byte("b")), "s1", []byte("s1"), &cached); err != nil {
			return err
		}
		if fresh != cached || !reflect.DeepEqual(fresh, want) {
			t.Errorf("decoded %+v\ncached  %+v\nwritten %+v", fresh, cached, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestGroupEarly gathers a write answered early (a heartbeat's) and an
// ordinary one in one batch, then fails its commit after the early
// answer: the early write was answered before the commit ended and is
// lost, the ordinary one waits for the commit and gets its error, and a
// read of the early write's key waits for that commit while a read of
// another key does not.
func TestGroupEarly(t *testing.T) {
	g := openGroup(t)
	errSync := errors.New("sync failed")
	hold := make(chan struct{})
	g.syncing = func() error { <-hold; return errSync }
	put := func(k string) func(*bbolt.Tx) error {
		return func(tx *bbolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte(k), []byte("v")) }
	}
	// a holds the committer (and the writer lock) until released, so that
	// b and c queue into one batch behind it.
	started, release := make(chan struct{}), make(chan struct{})
	a := make(chan error, 1)
	go func() {
		a <- g.do(func(tx *bbolt.Tx) error { close(started); <-release; return put("a")(tx) }, nil)
	}()
	<-started
	b, c := make(chan error, 1), make(chan error, 1)
	go func() { b <- g.early("b", put("b"), put("b"), nil) }()
	go func() { c <- g.do(put("c"), nil) }()
	for queued := 0; queued < 2; {
		time.Sleep(time.Millisecond)
		g.mu.Lock()
		queued = len(g.queue)
		g.mu.Unlock()
	}
	close(release)
	if err := <-a; err != nil {
		t.Fatalf("a: %v", err)
	}
	select {
	case err := <-b:
		if err != nil {
			t.Fatalf("b, answered early: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b was not answered before its commit")
	}
	select {
	case err := <-c:
		t.Fatalf("c answered before its commit ended: %v", err)
	default:
	}
	ctx := context.Background()
	if err := g.settled(ctx, "other"); err != nil {
		t.Fatalf("settled(other): %v", err)
	}
	waiting, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := g.settled(waiting, "b"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("settled(b) during its commit: %v, want to wait for it", err)
	}
	close(hold)
	if err := <-c; !errors.Is(err, errSync) {
		t.Fatalf("c: %v, want the commit's error", err)
	}
	if err := g.settled(ctx, "b"); err != nil {
		t.Fatalf("settled(b) after its commit: %v", err)
	}
	err := g.db.View(func(tx *bbolt.Tx) error {
		bk := tx.Bucket([]byte("b"))
		if bk.Get([]byte("a")) == nil || bk.Get([]byte("b")) != nil || bk.Get([]byte("c")) != nil {
			t.Errorf("after the failed commit: a %q, b %q, c %q; want a alone", bk.Get([]byte("a")), bk.Get([]byte("b")), bk.Get([]byte("c")))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) != 0 || g.pending.Load() != nil {
		t.Errorf("after the batch: %d queued, pending %v", len(g.queue), g.pending.Load())
	}
}

// TestGroupHold holds a transaction of early writes open (for an hour)
// and checks what ends it: more early writes join it, without their
// commit hook, and are answered in it; a read of one of them hurries it to
// its commit; a write that is not early ends it and is answered after its
// own commit; a write that fails in it goes back to the queue and fails
// alone, while the early writes before it run again (their second
// function) and are committed.
func TestGroupHold(t *testing.T) {
	g := openGroup(t)
	g.holdFor = time.Hour
	ctx := context.Background()
	put := func(k string) func(*bbolt.Tx) error {
		return func(tx *bbolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte(k), []byte("v")) }
	}
	has := func(k string) bool {
		var ok bool
		_ = g.db.View(func(tx *bbolt.Tx) error { ok = tx.Bucket([]byte("b")).Get([]byte(k)) != nil; return nil })
		return ok
	}

	Within(t, "early a", func() error { return g.early("a", put("a"), put("a"), nil) })
	p := g.pending.Load()
	Within(t, "early b", func() error { return g.early("b", put("b"), put("b"), nil) })
	if g.pending.Load() != p || p == nil || !p.holds("a") || !p.holds("b") {
		t.Fatal("a and b were not answered in one transaction held open")
	}
	if has("a") || has("b") {
		t.Fatal("a or b committed while the transaction was held open")
	}
	Within(t, "read of b", func() error { return g.settled(ctx, "b") })
	if !has("a") || !has("b") {
		t.Fatal("the read of b returned before a and b were committed")
	}

	Within(t, "early c", func() error { return g.early("c", put("c"), put("c"), nil) })
	Within(t, "plain d", func() error { return g.do(put("d"), nil) })
	if !has("c") || !has("d") {
		t.Fatal("the plain write d returned before its commit, or c was not committed before it")
	}

	hooks := 0
	hook := func() error { hooks++; return nil }
	Within(t, "early g", func() error { return g.early("g", put("g"), put("g"), hook) })
	Within(t, "early h", func() error { return g.early("h", put("h"), put("h"), hook) })
	Within(t, "read of h", func() error { return g.settled(ctx, "h") })
	if !has("g") || !has("h") || hooks != 1 {
		t.Fatalf("g %v, h %v, commit hook run %d times; want both, and the hook for g alone (h joined the transaction held open)", has("g"), has("h"), hooks)
	}

	runs := 0
	Within(t, "early e", func() error {
		return g.early("e", func(tx *bbolt.Tx) error { runs++; return put("e")(tx) }, put("e"), nil)
	})
	errF := errors.New("f refused")
	var fErr error
	Within(t, "failing f", func() error {
		fErr = g.early("f", func(tx *bbolt.Tx) error {
			if err := put("f")(tx); err != nil {
				return err
			}
			return errF
		}, put("f"), nil)
		return nil
	})
	if !errors.Is(fErr, errF) {
		t.Fatalf("f: %v, want its own error", fErr)
	}
	Within(t, "read of e", func() error { return g.settled(ctx, "e") })
	if !has("e") || has("f") || runs != 1 {
		t.Fatalf("after f failed: e %v, f %v, e's first function ran %d times; want e alone, run again by its second", has("e"), has("f"), runs)
	}
}
