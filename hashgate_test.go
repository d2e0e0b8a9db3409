package sesame_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

// A refused sign-in is told to come back when the queue has room again,
// not once it has drained: callers told the latter return to an idle gate.
func TestHashGateRetryAfterIsWhenQueueHasRoom(t *testing.T) {
	const maxWait = 3 * time.Second
	g := sesame.NewHashGate(1, maxWait)
	release := make(chan struct{})
	running := make(chan struct{})
	first, err := g.Enter()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = first.Run(context.Background(), func() { close(running); <-release }) }()
	<-running
	defer close(release)

	var busy *sesame.BusyError
	queued := 0
	for queued < 10_000 {
		tk, err := g.Enter()
		if errors.As(err, &busy) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		defer tk.Leave()
		queued++
	}
	if busy == nil {
		t.Fatalf("%d callers queued behind a busy slot, none refused", queued)
	}
	// The queue is just over its limit: it has room again well before it
	// drains (maxWait), so the caller comes back after the shortest wait.
	if busy.RetryAfter != time.Second {
		t.Fatalf("refused with %d queued: Retry-After %s, want 1s (the queue holds %s of work)", queued, busy.RetryAfter, maxWait)
	}
	if p := busy.Problem(); p.RetryAfter != time.Second || p.Details["retryAfterSeconds"] != 1 {
		t.Fatalf("problem = %+v, want a Retry-After of 1 s", p)
	}
}

// TestHashGateCountsCallersNotYetHashing: callers let in but not yet
// holding a slot count as much as those hashing, so a burst that enters
// all at once, before any of them starts, still finds the gate full.
func TestHashGateCountsCallersNotYetHashing(t *testing.T) {
	g := sesame.NewHashGate(1, time.Nanosecond)
	first, err := g.Enter()
	if err != nil {
		t.Fatalf("the first caller of an empty gate: %v", err)
	}
	defer first.Leave()
	var busy *sesame.BusyError
	if second, err := g.Enter(); !errors.As(err, &busy) {
		if second != nil {
			second.Leave()
		}
		t.Fatalf("a second caller while the first is let in but not yet hashing: %v, want busy", err)
	}
	first.Leave()
	third, err := g.Enter()
	if err != nil {
		t.Fatalf("a caller once the first left: %v", err)
	}
	third.Leave()
}
