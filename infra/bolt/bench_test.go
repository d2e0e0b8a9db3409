package bolt_test

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/storetest"
	bbolt "go.etcd.io/bbolt"
)

// clients is the number of goroutines the benchmarks run, as in
// storetest.Bench.
const clients = 32

// BenchmarkRawUpdate measures an empty write transaction on a bbolt file
// with 32 goroutines: the ceiling that BenchmarkSeats is compared with,
// since bbolt runs one write transaction at a time and each commit syncs
// the file.
func BenchmarkRawUpdate(b *testing.B) { benchRawUpdate(b, false) }

// BenchmarkRawUpdateNoSync is BenchmarkRawUpdate without fsync: the CPU
// cost of a write transaction alone.
func BenchmarkRawUpdateNoSync(b *testing.B) { benchRawUpdate(b, true) }

func benchRawUpdate(b *testing.B, noSync bool) {
	db, err := bbolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, &bbolt.Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := db.Update(func(*bbolt.Tx) error { return nil }); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSeats is the shared seat benchmark (one sign-in attempt and its
// release per op, 32 clients on 8 pools of 4 seats) on a bbolt file.
func BenchmarkSeats(b *testing.B) {
	storetest.Bench(b, openTemp(b))
}

// BenchmarkSeatsNoSync is BenchmarkSeats without fsync, to compare with
// BenchmarkRawUpdateNoSync.
func BenchmarkSeatsNoSync(b *testing.B) {
	storetest.Bench(b, openTemp(b, bolt.WithNoSync()))
}

// BenchmarkListUsers is the shared listing benchmark (one page of 50 of a
// base of 10,000 users: unfiltered, by login prefix, by a name borne by 1%
// of the users, by a name borne by one) on a bbolt file.
func BenchmarkListUsers(b *testing.B) {
	storetest.BenchListUsers(b, openTemp(b))
}
