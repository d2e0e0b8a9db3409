package rentree

import (
	"bytes"
	"context"
	"hash/maphash"
	"runtime"
	"sync"
	"testing"

	sesame "github.com/sesame-ecole/sesame"
)

// bigSource is a base of n generated users, made on the fly.
func bigSource(n int) *memSource {
	m := sampleSource(0)
	m.us, m.count, m.gen = nil, n, genUser
	m.h.Users = n
	return m
}

var (
	bigMutex sync.Mutex
	bigFiles = map[int][]byte{}
)

// bigZip returns the .zip of bigSource(n), made once per test binary.
func bigZip(t testing.TB, n int) []byte {
	bigMutex.Lock()
	defer bigMutex.Unlock()
	if b, ok := bigFiles[n]; ok {
		return b
	}
	b := writeZip(t, bigSource(n))
	bigFiles[n] = b
	return b
}

// liveHeap samples the live heap: every 1000 calls of sample, a collection
// then the bytes of live objects above base.
type liveHeap struct {
	base, max uint64
	calls     int
}

func newLiveHeap() *liveHeap {
	runtime.GC()
	runtime.GC() // twice: sync.Pool victims go at the second
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return &liveHeap{base: ms.HeapAlloc}
}

func (l *liveHeap) sample() {
	if l.calls++; l.calls%1000 != 0 {
		return
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > l.base && ms.HeapAlloc-l.base > l.max {
		l.max = ms.HeapAlloc - l.base
	}
}

type memFigures struct {
	users, fileBytes        int
	openLive, kept          uint64  // bytes: live heap while Open reads the users; kept after
	usersLive               uint64  // bytes: live heap during a Users pass
	mallocsPerUser, bytesPU float64 // allocated by a Users pass, per user
}

func measure(t *testing.T, n int) memFigures {
	data := bigZip(t, n)
	fig := memFigures{users: n, fileBytes: len(data)}

	// Open: sampled from the login hash, which it calls once a user.
	live := newLiveHeap()
	defer func(h func(maphash.Seed, string) uint64) { loginHash = h }(loginHash)
	h := loginHash
	loginHash = func(seed maphash.Seed, key string) uint64 { live.sample(); return h(seed, key) }
	s, err := Open(bytes.NewReader(data), int64(len(data)), sesame.DefaultRentreeLimits)
	if err != nil {
		t.Fatal(err)
	}
	loginHash = h
	fig.openLive = live.max
	after := newLiveHeap()
	if after.base > live.base {
		fig.kept = after.base - live.base
	}

	// A Users pass.
	live = newLiveHeap()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	count := 0
	if err := s.Users(context.Background(), func(sesame.RentreeUser) error { count++; return nil }); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&ms1)
	if err := s.Users(context.Background(), func(sesame.RentreeUser) error { live.sample(); return nil }); err != nil {
		t.Fatal(err)
	}
	if count != n {
		t.Fatalf("%d users, want %d", count, n)
	}
	fig.usersLive = live.max
	fig.mallocsPerUser = float64(ms1.Mallocs-ms0.Mallocs) / float64(n)
	fig.bytesPU = float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(n)
	runtime.KeepAlive(s)
	t.Logf("%7d users, %4.1f MB .zip: live heap during Open %5.0f KB, kept after Open %3.0f KB; during Users %4.0f KB; Users allocates %.1f times and %.0f bytes a user",
		n, float64(fig.fileBytes)/1e6, float64(fig.openLive)/1e3, float64(fig.kept)/1e3, float64(fig.usersLive)/1e3, fig.mallocsPerUser, fig.bytesPU)
	return fig
}

// TestMemoryBounded reads a 10,000-user and a 100,000-user file: what Open
// keeps and what a Users pass holds do not grow with the file, nor do the
// allocations of a Users pass per user; while Open reads, the heap grows
// by the login hashes only.
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100,000-user file")
	}
	a, b := measure(t, 10_000), measure(t, 100_000)
	if d := b.mallocsPerUser - a.mallocsPerUser; d > 0.05*a.mallocsPerUser || -d > 0.05*a.mallocsPerUser {
		t.Errorf("allocations a user in Users: %.2f for 10k, %.2f for 100k: not constant", a.mallocsPerUser, b.mallocsPerUser)
	}
	if b.kept > a.kept+64<<10 {
		t.Errorf("Open keeps %d bytes for 100k users, %d for 10k", b.kept, a.kept)
	}
	if b.usersLive > a.usersLive+64<<10 {
		t.Errorf("a Users pass holds %d bytes for 100k users, %d for 10k", b.usersLive, a.usersLive)
	}
	// 90,000 more users: at most 48 bytes each for the login hashes (a
	// 16-byte slot, the map's load factor and its growth).
	if b.openLive > a.openLive+90_000*48 {
		t.Errorf("Open holds %d bytes for 100k users, %d for 10k", b.openLive, a.openLive)
	}
}

// BenchmarkOpen10k: Open a 10,000-user .zip and read its users once.
func BenchmarkOpen10k(b *testing.B) {
	data := bigZip(b, 10_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := Open(bytes.NewReader(data), int64(len(data)), sesame.DefaultRentreeLimits)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Users(context.Background(), func(sesame.RentreeUser) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*10_000/b.Elapsed().Seconds(), "users/s")
}

// BenchmarkUsers10k: one more Users pass over an opened 10,000-user .zip.
func BenchmarkUsers10k(b *testing.B) {
	data := bigZip(b, 10_000)
	s, err := Open(bytes.NewReader(data), int64(len(data)), sesame.DefaultRentreeLimits)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Users(context.Background(), func(sesame.RentreeUser) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*10_000/b.Elapsed().Seconds(), "users/s")
}

// BenchmarkWriteZip10k: write a 10,000-user .zip.
func BenchmarkWriteZip10k(b *testing.B) {
	src := bigSource(10_000)
	b.ReportAllocs()
	for b.Loop() {
		var buf bytes.Buffer
		if err := WriteZip(&buf, src, testNow); err != nil {
			b.Fatal(err)
		}
	}
}
