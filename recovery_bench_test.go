package sesame_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/rentree"
)

// genSource is a rentrée of n generated users, made on the fly.
type genSource struct {
	n    int
	hash string
}

func (g genSource) Header() sesame.RentreeHeader {
	return sesame.RentreeHeader{Format: "gen", Version: 1, UAI: uai, SchoolName: "Collège", Year: y1,
		Groups: -1, Profiles: -1, Spaces: -1, Users: g.n}
}

func (g genSource) Profiles() []sesame.Profile {
	return sesame.NewBaseContent(sesame.User{Login: "spr", DisplayName: "x"}, time.Now()).Profiles
}

func (g genSource) Users(ctx context.Context, f func(sesame.RentreeUser) error) error {
	for i := range g.n {
		kind, profile := sesame.KindStudent, ""
		if i%10 == 0 {
			kind, profile = sesame.KindTeacher, "Professeurs"
		}
		if err := f(sesame.RentreeUser{Login: fmt.Sprintf("user%06d", i), DisplayName: fmt.Sprintf("Utilisateur %d", i),
			Kind: kind, Enabled: true, PasswordHash: g.hash, Profile: profile, Entry: "gen", Line: i + 1}); err != nil {
			return err
		}
	}
	return nil
}

// rentreeFile writes a .zip of n users.
func rentreeFile(b *testing.B, n int) []byte {
	b.Helper()
	h, err := fastHash.Hash("mot-de-passe")
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rentree.WriteZip(&buf, genSource{n: n, hash: h}, time.Now().UTC()); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// peakHeap samples the live heap while f runs and returns its peak.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	f()
	close(stop)
	wg.Wait()
	return peak.Load()
}

var benchYear atomic.Int64

// nextBase creates a new base of the school for a later year each time.
func nextBase(b *testing.B, svc *sesame.Service) sesame.BaseKey {
	y := 2030 + int(benchYear.Add(1))
	year := fmt.Sprintf("%d-%d", y, y+1)
	if _, err := svc.CreateSchool(context.Background(), sesame.NewSchool{UAI: uai, Name: "Collège", Year: year, SPRPassword: "mot-de-passe-spr"}); err != nil {
		b.Fatal(err)
	}
	return sesame.BaseKey{UAI: uai, Year: sesame.Year(year)}
}

// benchRecover reads, plans and applies a 10,000-user file, beside the
// raw writes of the same users (WriteImport in steps of 50) on the same
// store.
func benchRecover(b *testing.B, st sesame.Backend, n int) {
	ctx := context.Background()
	svc := &sesame.Service{Store: st, Hasher: fastHash, Clock: sesame.SystemClock{}, Timing: sesame.DefaultTiming}
	file := rentreeFile(b, n)
	b.Run("RawWrites", func(b *testing.B) {
		for b.Loop() {
			k := nextBase(b, svc)
			src, _ := rentree.Open(bytes.NewReader(file), int64(len(file)), sesame.DefaultRentreeLimits)
			job := sesame.ImportJob{ID: "raw", State: sesame.ImportApplying}
			var ws []sesame.ImportWrite
			flush := func() {
				var err error
				if job, err = st.WriteImport(ctx, k, ws, job); err != nil {
					b.Fatal(err)
				}
				ws = ws[:0]
			}
			_ = src.Users(ctx, func(u sesame.RentreeUser) error {
				ws = append(ws, sesame.ImportWrite{Create: true, User: &sesame.User{Login: u.Login, DisplayName: u.DisplayName,
					Kind: u.Kind, Enabled: true, PasswordHash: u.PasswordHash}})
				if len(ws) == 50 {
					flush()
				}
				return nil
			})
			flush()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "users/s")
	})
	b.Run("Recover", func(b *testing.B) {
		var peak uint64
		for b.Loop() {
			k := nextBase(b, svc)
			peak = max(peak, peakHeap(func() {
				src, err := rentree.Open(bytes.NewReader(file), int64(len(file)), sesame.DefaultRentreeLimits)
				if err != nil {
					b.Fatal(err)
				}
				rep, err := svc.Recover(ctx, k, src, sesame.FromUpload("bench"), sesame.RecoverOptions{Add: true, Update: true})
				if err != nil || rep.Added != n {
					b.Fatalf("recover: added %d, %v", rep.Added, err)
				}
			}))
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "users/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	})
}

func BenchmarkRecover(b *testing.B) {
	b.Run("bolt", func(b *testing.B) {
		st, err := bolt.Open(filepath.Join(b.TempDir(), "s.db"), bolt.WithNoSync())
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		for _, n := range []int{10_000, 100_000} {
			b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) { benchRecover(b, st, n) })
		}
	})
	b.Run("dynamo", func(b *testing.B) {
		client, table := dynamolocal.NewTable(b)
		st, err := dynamo.New(client, table)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("users=10000", func(b *testing.B) { benchRecover(b, st, 10_000) })
	})
}
