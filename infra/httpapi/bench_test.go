package httpapi_test

// Benchmarks of the API through real loopback HTTP: an httptest server, a
// keep-alive client, many clients in parallel. Each stands beside its
// yardstick in the same run, so that one `go test -bench` gives the ratio:
//
//	go test -run '^$' -bench . -benchtime 3s ./infra/httpapi/
//
//   - BenchmarkHeartbeat and BenchmarkAuthorize beside BenchmarkBareHandler,
//     a bare net/http handler answering a small JSON on the same kind of
//     server and client: the cost of the API over HTTP itself;
//     BenchmarkHeartbeatAlternate runs the first and the last in turn;
//   - BenchmarkLogin with argon2id at the OWASP parameters, for a known
//     login (right and wrong password) and an unknown one: the same work;
//     and, for the cost of a sign-in over its password check, one known
//     sign-in and one argon2id verification alone, in turn, in an order
//     that swaps at every round (alternate);
//   - BenchmarkSeatAcquireAPI: sign-in and logout through the API in 4-seat
//     pools beside storetest.Bench, the same contention on the store alone.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/password"
	"github.com/sesame-ecole/sesame/infra/storetest"
)

// benchClients is the number of clients of the parallel benchmarks, as in
// storetest.Bench.
const benchClients = 32

// sha256Hasher stands in for argon2id where sign-in is only the way to a
// session and its cost would hide what is measured. BenchmarkLogin uses
// the real one.
type sha256Hasher struct{}

var benchSalt = base64.RawStdEncoding.EncodeToString([]byte("sel-de-benchmark"))

func (sha256Hasher) Hash(pw string) (string, error) {
	sum := sha256.Sum256([]byte(pw))
	return "$argon2id$v=19$m=19456,t=2,p=1$" + benchSalt + "$" + base64.RawStdEncoding.EncodeToString(sum[:]), nil
}

func (h sha256Hasher) Verify(hash, pw string) (bool, bool, error) {
	want, _ := h.Hash(pw)
	return subtle.ConstantTimeCompare([]byte(hash), []byte(want)) == 1, false, nil
}

func (sha256Hasher) Burn(pw string, _ sesame.HashFormat, _ int) { _ = sha256.Sum256([]byte(pw)) }

// benchBolt opens a bbolt file with the product's settings (fsync on).
func benchBolt(b *testing.B) sesame.Backend {
	b.Helper()
	st, err := bolt.Open(filepath.Join(b.TempDir(), "sesame.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	return st
}

func benchDynamo(b *testing.B) sesame.Backend {
	b.Helper()
	client, table := dynamolocal.NewTable(b)
	st, err := dynamo.New(client, table)
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// benchAPI serves the API over st on a loopback httptest server, with the
// system clock and the product's timing.
func benchAPI(b *testing.B, st sesame.Backend, h sesame.PasswordHasher, cfg httpapi.Config) (*sesame.Service, *httptest.Server) {
	b.Helper()
	svc := &sesame.Service{Store: st, Hasher: h, Clock: sesame.SystemClock{}, Timing: sesame.DefaultTiming}
	cfg.Service = svc
	srv := httptest.NewServer(httpapi.New(cfg))
	b.Cleanup(srv.Close)
	return svc, srv
}

// transport is a keep-alive transport with room for every client.
func transport(b *testing.B) *http.Transport {
	tr := &http.Transport{MaxIdleConns: 2 * benchClients, MaxIdleConnsPerHost: 2 * benchClients, IdleConnTimeout: time.Minute}
	b.Cleanup(tr.CloseIdleConnections)
	return tr
}

// client is one browser: its cookies, a shared keep-alive transport.
func client(tr *http.Transport) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Transport: tr, Jar: jar, Timeout: time.Minute}
}

// call sends a request as the site's pages do and reads the answer whole.
func call(c *http.Client, base, method, path, body string) (int, []byte, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, r)
	if err != nil {
		return 0, nil, err
	}
	if method != http.MethodGet {
		req.Header.Set("Origin", base)
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return res.StatusCode, raw, err
}

func loginBody(school, login, pw, mode string) string {
	return fmt.Sprintf(`{"school":%q,"login":%q,"password":%q,"mode":%q}`, school, login, pw, mode)
}

// parallel runs op in benchClients goroutines (about: a multiple of
// GOMAXPROCS), each a client c < benchClients doing its i-th op, and
// reports ops per second under unit.
func parallel(b *testing.B, unit string, op func(c, i int) error) {
	b.Helper()
	var next atomic.Int64
	b.SetParallelism(max(1, benchClients/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := int(next.Add(1)-1) % benchClients
		for i := 0; pb.Next(); i++ {
			if err := op(c, i); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

// signedIn starts the API on a bbolt file with benchClients teachers
// signed in, one browser each.
func signedIn(b *testing.B) (*httptest.Server, []*http.Client) {
	b.Helper()
	ctx := context.Background()
	svc, srv := benchAPI(b, benchBolt(b), sha256Hasher{}, httpapi.Config{})
	const uai = "0751234A"
	if _, err := svc.CreateSchool(ctx, sesame.NewSchool{UAI: uai, Name: "Collège", Year: "2026-2027",
		TeacherSeats: 100, SPRPassword: pw}); err != nil {
		b.Fatal(err)
	}
	tr := transport(b)
	var clients []*http.Client
	for i := range benchClients {
		login := fmt.Sprintf("prof%02d", i)
		if _, err := svc.AddUser(ctx, sesame.NewUser{UAI: uai, Year: "2026-2027", Login: login, Kind: "teacher",
			DisplayName: "Prof", Password: pw}); err != nil {
			b.Fatal(err)
		}
		c := client(tr)
		if status, raw, err := call(c, srv.URL, "POST", httpapi.Prefix+"/login", loginBody(uai, login, pw, "teacher")); err != nil || status != 200 {
			b.Fatalf("login %s: %d %s %v", login, status, raw, err)
		}
		clients = append(clients, c)
	}
	return srv, clients
}

// BenchmarkHeartbeat is one heartbeat (the session checked, its activity
// stored, its seat renewed) through the API, 32 signed-in teachers in
// parallel, on a bbolt file.
func BenchmarkHeartbeat(b *testing.B) {
	srv, clients := signedIn(b)
	parallel(b, "req/s", func(c, _ int) error { return heartbeatCall(clients[c], srv.URL) })
}

// BenchmarkAuthorize is one permission check through the API, 32
// signed-in teachers in parallel, on a bbolt file.
func BenchmarkAuthorize(b *testing.B) {
	srv, clients := signedIn(b)
	actions := sesame.Actions()
	parallel(b, "req/s", func(c, _ int) error {
		path := httpapi.Prefix + "/authorize?action=" + actions[c%len(actions)].Slug
		status, raw, err := call(clients[c], srv.URL, "GET", path, "")
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("authorize: %d %s %v", status, raw, err)
		}
		return nil
	})
}

// BenchmarkBareHandler is the yardstick of BenchmarkHeartbeat and
// BenchmarkAuthorize: a bare net/http handler that reads the body and
// answers a small JSON, on the same kind of server, with the same clients,
// headers and body.
func BenchmarkBareHandler(b *testing.B) {
	srv, clients := bare(b)
	parallel(b, "req/s", func(c, _ int) error { return bareCall(clients[c], srv.URL) })
}

// bare serves the bare handler of BenchmarkBareHandler, with its clients.
func bare(b *testing.B) (*httptest.Server, []*http.Client) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(`{"leaseSeconds":180,"heartbeatSeconds":60,"idleRemainingSeconds":1797}` + "\n"))
	}))
	b.Cleanup(srv.Close)
	tr := transport(b)
	var clients []*http.Client
	for range benchClients {
		clients = append(clients, client(tr))
	}
	return srv, clients
}

func bareCall(c *http.Client, url string) error {
	status, raw, err := call(c, url, "POST", httpapi.Prefix+"/heartbeat", `{"idleSeconds":3}`)
	if err != nil || status != http.StatusOK || !bytes.HasPrefix(raw, []byte("{")) {
		return fmt.Errorf("bare: %d %s %v", status, raw, err)
	}
	return nil
}

func heartbeatCall(c *http.Client, url string) error {
	status, raw, err := call(c, url, "POST", httpapi.Prefix+"/heartbeat", `{"idleSeconds":3}`)
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("heartbeat: %d %s %v", status, raw, err)
	}
	return nil
}

// BenchmarkHeartbeatAlternate is BenchmarkHeartbeat and
// BenchmarkBareHandler in turn, in rounds: one op is a round of 8
// heartbeats per client (32 clients at once), then 8 bare requests per
// client, so that the machine's load weighs on both alike. It reports
// both rates and their ratio, and the CPU time of each kind of request.
func BenchmarkHeartbeatAlternate(b *testing.B) {
	const perClient = 8
	api, apiClients := signedIn(b)
	yard, yardClients := bare(b)
	round := func(url string, clients []*http.Client, do func(*http.Client, string) error) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for _, c := range clients {
			wg.Go(func() {
				for range perClient {
					if err := do(c, url); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	var beats, bares, beatsCPU, baresCPU time.Duration
	for b.Loop() {
		c := cpuTime()
		beats += round(api.URL, apiClients, heartbeatCall)
		c2 := cpuTime()
		bares += round(yard.URL, yardClients, bareCall)
		beatsCPU, baresCPU = beatsCPU+c2-c, baresCPU+cpuTime()-c2
	}
	reqs := float64(b.N * perClient * benchClients)
	b.ReportMetric(reqs/beats.Seconds(), "heartbeats/s")
	b.ReportMetric(reqs/bares.Seconds(), "bare/s")
	b.ReportMetric(bares.Seconds()/beats.Seconds(), "ratio")
	// The process's CPU time (user and system, server and clients alike)
	// per request of each side: what a heartbeat costs over a bare
	// request, beside the time it waits for the disk.
	b.ReportMetric(float64(beatsCPU.Microseconds())/reqs, "cpu-us/heartbeat")
	b.ReportMetric(float64(baresCPU.Microseconds())/reqs, "cpu-us/bare")
}

// cpuTime is the CPU time the process has used so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLogin is one sign-in through the API with argon2id at the
// OWASP parameters (19 MiB, t=2, p=1), for a known login with its
// password, a known login with a wrong one, and an unknown login. The last
// two must cost the same. Each attempt comes from its own address, so
// that throttling never answers in place of the password check; a 429
// fails the benchmark.
func BenchmarkLogin(b *testing.B) {
	ctx := context.Background()
	st := benchBolt(b)
	owasp := password.New(password.OWASP)
	hashing := &timedHasher{PasswordHasher: owasp}
	svc, srv := benchAPI(b, st, hashing, httpapi.Config{AddressHeader: "X-Bench-Address"})
	const uai, year = "0751234A", "2026-2027"
	if _, err := svc.CreateSchool(ctx, sesame.NewSchool{UAI: uai, Name: "Collège", Year: year, SPRPassword: pw}); err != nil {
		b.Fatal(err)
	}
	// 256 staff accounts with one argon2id hash: a wrong password costs
	// each at most a few failures, under its free budget.
	const accounts = 256
	k := sesame.BaseKey{UAI: uai, Year: year}
	if _, err := svc.AddUser(ctx, sesame.NewUser{UAI: uai, Year: year, Login: "perso000", Kind: "staff", DisplayName: "Personnel", Password: pw}); err != nil {
		b.Fatal(err)
	}
	u, err := st.GetUser(ctx, k, "perso000")
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i < accounts; i++ {
		u.Login = fmt.Sprintf("perso%03d", i)
		if err := st.CreateUser(ctx, k, u); err != nil {
			b.Fatal(err)
		}
	}
	tr := transport(b)
	var addr, attempt atomic.Int64
	for _, tc := range []struct {
		name   string
		login  func(n int64) string
		pw     string
		status int
	}{
		{"known", func(n int64) string { return fmt.Sprintf("perso%03d", n%accounts) }, pw, http.StatusOK},
		{"wrong-password", func(n int64) string { return fmt.Sprintf("perso%03d", n%accounts) }, "pas-le-bon-mot-de-passe", http.StatusUnauthorized},
		{"unknown", func(n int64) string { return fmt.Sprintf("inconnu%d", n) }, pw, http.StatusUnauthorized},
	} {
		// signIn is one attempt of tc from an address of its own.
		signIn := func(c *http.Client) error {
			n := attempt.Add(1)
			req, _ := http.NewRequest("POST", srv.URL+httpapi.Prefix+"/login", strings.NewReader(loginBody(uai, tc.login(n), tc.pw, "vie-scolaire")))
			req.Header.Set("Origin", srv.URL)
			req.Header.Set("Content-Type", "application/json")
			a := addr.Add(1)
			req.Header.Set("X-Bench-Address", fmt.Sprintf("10.%d.%d.%d:443", a>>16&255, a>>8&255, a&255))
			res, err := c.Do(req)
			if err != nil {
				return err
			}
			raw, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode != tc.status {
				return fmt.Errorf("%s: %d %s, want %d", tc.name, res.StatusCode, raw, tc.status)
			}
			return nil
		}
		c := &http.Client{Transport: tr, Timeout: time.Minute} // no cookies: no device cookie either
		b.Run(tc.name, func(b *testing.B) {
			hashing.reset()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := signIn(c); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
			// The share of the time a password was being checked: near 1,
			// the sign-ins' other work is off the hashing's path.
			b.ReportMetric(hashing.busy(b.Elapsed()), "hashing-share")
		})
		if tc.name != "known" {
			continue
		}
		// One sign-in alone (its latency, every step on its path) and one
		// verification alone, in turn, so that the machine's load weighs on
		// both alike; ratio is the first over the second. The order swaps
		// at every round: each hash allocates 19 MiB, and a pair of them
		// fills the heap up to the collector's goal, so that in a fixed
		// order the first hash of a pair met every collection and the
		// second none (the collector's stops and workers hold the hashing
		// goroutine off a CPU: BENCHMARKS.md). The heap is also collected
		// before each of them, untimed, so that each starts from the same
		// heap and neither meets a collection the other's garbage caused.
		// gc/signin and gc/verify show the collections each side met.
		b.Run("alternate", func(b *testing.B) {
			var signInTime, verifyTime time.Duration
			var signInGCs, verifyGCs uint64
			hashing.reset()
			signInFirst := true
			for b.Loop() {
				for i := range 2 {
					b.StopTimer()
					runtime.GC()
					b.StartTimer()
					g, t := gcCycles(), time.Now()
					if (i == 0) == signInFirst {
						if err := signIn(c); err != nil {
							b.Fatal(err)
						}
						signInTime += time.Since(t)
						signInGCs += gcCycles() - g
						continue
					}
					if ok, _, err := owasp.Verify(u.PasswordHash, pw); !ok || err != nil {
						b.Fatalf("verify: %v %v", ok, err)
					}
					verifyTime += time.Since(t)
					verifyGCs += gcCycles() - g
				}
				signInFirst = !signInFirst
			}
			n := float64(b.N)
			b.ReportMetric(signInTime.Seconds()*1e3/n, "signin-ms")
			b.ReportMetric(verifyTime.Seconds()*1e3/n, "verify-ms")
			b.ReportMetric(signInTime.Seconds()/verifyTime.Seconds(), "ratio")
			b.ReportMetric(float64(hashing.spent.Load())/1e6/n, "its-hash-ms")
			b.ReportMetric(float64(signInGCs)/n, "gc/signin")
			b.ReportMetric(float64(verifyGCs)/n, "gc/verify")
		})
	}
}

// gcCycles is the number of garbage collections completed so far.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// timedHasher counts the time its hasher spends checking passwords.
type timedHasher struct {
	sesame.PasswordHasher
	spent atomic.Int64 // nanoseconds
}

func (h *timedHasher) Verify(hash, pw string) (bool, bool, error) {
	defer h.time(time.Now())
	return h.PasswordHasher.Verify(hash, pw)
}

func (h *timedHasher) Burn(pw string, f sesame.HashFormat, cost int) {
	defer h.time(time.Now())
	h.PasswordHasher.Burn(pw, f, cost)
}

func (h *timedHasher) time(start time.Time) { h.spent.Add(int64(time.Since(start))) }

func (h *timedHasher) reset() { h.spent.Store(0) }

// busy is the share of elapsed spent checking passwords.
func (h *timedHasher) busy(elapsed time.Duration) float64 {
	return float64(h.spent.Load()) / float64(elapsed)
}

// BenchmarkSeatAcquireAPI measures seat acquisition under contention
// through the API beside the same on the store alone, per store:
//   - api: 32 clients on 8 schools whose admin-modify pool has 4 seats,
//     each client taking the schools in turn; one op is one sign-in
//     attempt (POST /login in admin mode) and, when it got a seat, its
//     logout (POST /logout). Passwords are checked with SHA-256, so that
//     the seats are measured, not argon2id (see BenchmarkLogin);
//   - store: storetest.Bench on a fresh store of the same kind, the same
//     32 clients on 8 pools of 4 seats calling OpenSession and
//     EndSession directly.
func BenchmarkSeatAcquireAPI(b *testing.B) {
	for _, s := range []struct {
		name string
		open func(*testing.B) sesame.Backend
	}{{"bolt", benchBolt}, {"dynamo", benchDynamo}} {
		b.Run(s.name, func(b *testing.B) {
			b.Run("api", func(b *testing.B) { benchSeatsAPI(b, s.open(b)) })
			b.Run("store", func(b *testing.B) {
				storetest.Bench(b, s.open(b))
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "attempts/s")
			})
		})
	}
}

func benchSeatsAPI(b *testing.B, st sesame.Backend) {
	const schools = 8
	ctx := context.Background()
	svc, srv := benchAPI(b, st, sha256Hasher{}, httpapi.Config{})
	var uais []string
	for i := range schools {
		uai := fmt.Sprintf("07%05dA", 10000+i)
		if _, err := svc.CreateSchool(ctx, sesame.NewSchool{UAI: uai, Name: "Collège", Year: "2026-2027", SPRPassword: pw}); err != nil {
			b.Fatal(err)
		}
		for c := range benchClients {
			if _, err := svc.AddUser(ctx, sesame.NewUser{UAI: uai, Year: "2026-2027", Login: fmt.Sprintf("c%02d", c), Kind: "staff",
				DisplayName: "Secrétariat", AdminGroup: "Modification", Password: pw}); err != nil {
				b.Fatal(err)
			}
		}
		uais = append(uais, uai)
	}
	tr := transport(b)
	var clients []*http.Client
	for range benchClients {
		clients = append(clients, client(tr))
	}
	var refused atomic.Int64
	parallel(b, "attempts/s", func(c, i int) error {
		uai := uais[(c+i)%schools]
		status, raw, err := call(clients[c], srv.URL, "POST", httpapi.Prefix+"/login", loginBody(uai, fmt.Sprintf("c%02d", c), pw, "admin"))
		switch {
		case err != nil:
			return err
		case status == http.StatusConflict && bytes.Contains(raw, []byte(`"seats_exhausted"`)):
			refused.Add(1)
			return nil
		case status != http.StatusOK:
			return fmt.Errorf("login: %d %s", status, raw)
		}
		if status, raw, err := call(clients[c], srv.URL, "POST", httpapi.Prefix+"/logout", ""); err != nil || status != http.StatusNoContent {
			return fmt.Errorf("logout: %d %s %v", status, raw, err)
		}
		return nil
	})
	b.ReportMetric(float64(refused.Load())/float64(b.N), "refused/op")
}
