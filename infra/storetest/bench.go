package storetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

// Bench measures a seat acquisition plus its release under contention:
// 8 pools of 4 seats (the admin-modify pools of 8 bases), 32 clients, each
// picking its pool in turn so that clients meet in full pools. One op is one
// attempt (OpenSession, then EndSession when it got a seat). It reports the
// share of attempts refused because the pool was full.
func Bench(b *testing.B, st sesame.Store) {
	const pools, clients = 8, 32
	var keys []sesame.BaseKey
	for range pools {
		keys = append(keys, MustBase(b, st, NewUAI(), year, sesame.DefaultLicense))
	}
	policy := sesame.SeatPolicy{Limit: seats, Lease: time.Minute}
	var client, refused atomic.Int64
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := client.Add(1)
		ctx := context.Background()
		for i := 0; pb.Next(); i++ {
			k := keys[(int(c)+i)%pools]
			s := newSession(k, fmt.Sprintf("c%d", c), sesame.PoolAdminModify, time.Now().UTC())
			_, err := st.OpenSession(ctx, s, policy, time.Now().UTC())
			if errors.Is(err, sesame.ErrSeatsExhausted) {
				refused.Add(1)
				continue
			}
			if err != nil {
				b.Fatalf("OpenSession: %v", err)
			}
			if _, err := st.EndSession(ctx, s.ID, sesame.ReasonLoggedOut, time.Now().UTC()); err != nil {
				b.Fatalf("EndSession: %v", err)
			}
		}
	})
	b.ReportMetric(float64(refused.Load())/float64(b.N), "refused/op")
}
