package bolt_test

import (
	"fmt"
	"testing"

	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/faults"
	"github.com/sesame-ecole/sesame/infra/storetest"
)

// boltOps is the number of calls of each racer: bbolt is fast enough for
// five times DynamoDB Local's.
const boltOps = 200

// TestSeatRaces checks the seat races for linearizability, without faults.
func TestSeatRaces(t *testing.T) {
	st := openTemp(t, bolt.WithNoSync())
	cfg := storetest.DefaultRaces
	cfg.Seed, cfg.Ops = faults.Seed(t), boltOps
	storetest.RunSeatRaces(t, storetest.FaultyStore{Store: st}, cfg)
}

// TestSeatRacesUnderFaults fails transactions before they begin and at
// their commit: each failure must leave nothing behind, and the races keep
// their invariants and a linearizable history.
func TestSeatRacesUnderFaults(t *testing.T) {
	seed := faults.Seed(t)
	tx := faults.NewTxErrors(0.05, 0.10, seed)
	st := openTemp(t, bolt.WithNoSync(), bolt.WithTxHook(tx.Hook))
	cfg := storetest.DefaultRaces
	cfg.Seed, cfg.Ops = seed, boltOps
	rep := storetest.RunSeatRaces(t, storetest.FaultyStore{Store: st, Clean: st.Unhooked(), CleanFailures: true,
		Quiet: func(off bool) {
			if off {
				tx.Pause()
			} else {
				tx.Resume()
			}
		},
		Injected: func() (int64, string) {
			b, c := tx.Counts()
			return 0, fmt.Sprintf("%d transactions failed before they began, %d at their commit", b, c)
		}}, cfg)
	if rep.Failed == 0 {
		t.Fatal("no call failed: the faults did not reach the seat calls")
	}
}

func TestClockSkew(t *testing.T) {
	storetest.RunClockSkew(t, openTemp(t, bolt.WithNoSync()))
}
