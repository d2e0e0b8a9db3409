package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

// RunClockSkew checks that a heartbeat whose now was read before a later
// admission (a slow request, a clock behind the others) cannot bring back
// a lease that the admission counted as lapsed: the pool would then hold
// one more than its limit from the admission's instant on.
func RunClockSkew(t *testing.T, st sesame.Store) {
	ctx := context.Background()
	k := MustBase(t, st, NewUAI(), year, sesame.DefaultLicense)
	pool := sesame.PoolAdminModify
	policy := sesame.SeatPolicy{Limit: 2, Lease: lease}
	a := mustOpen(t, st, k, "a", pool, 2, t0)
	mustOpen(t, st, k, "b", pool, 2, t0)
	later := t0.Add(lease + time.Second) // a and b have lapsed
	mustOpen(t, st, k, "c", pool, 2, later)
	mustOpen(t, st, k, "d", pool, 2, later)
	// a's heartbeat, read one second before its lease's end, arrives now.
	_, err := st.RenewSeat(ctx, a.ID, policy, t0.Add(lease-time.Second))
	if err == nil {
		if got := liveIn(t, st, k, pool, later.Add(time.Second)); len(got) > 2 {
			t.Fatalf("a stale heartbeat brought back a lapsed lease: %d live holders %v, limit 2", len(got), got)
		}
		return
	}
	wantErr(t, "stale heartbeat of a lapsed lease in a full pool", err, sesame.ErrSeatLost)
}
