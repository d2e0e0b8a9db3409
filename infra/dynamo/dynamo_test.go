package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/storetest"
)

// TestMain stops the DynamoDB Local that the first test started (see
// package dynamolocal: an endpoint from SESAME_DYNAMODB_ENDPOINT or
// AWS_ENDPOINT_URL_DYNAMODB when set, otherwise DynamoDB Local installed
// and started once for the process; skipped loudly when unavailable, a
// failure when CI=true).
func TestMain(m *testing.M) {
	m.Run()
	dynamolocal.Shutdown()
}

// open returns a store on a new table created from template.yaml. The
// suite's clocks run in the past, and DynamoDB Local deletes items whose
// ttl has passed within seconds: ttl values count from the real time.
func open(tb testing.TB, opts ...dynamo.Option) (*dynamo.Store, *dynamodb.Client, string) {
	tb.Helper()
	client, table := dynamolocal.NewTable(tb)
	st, err := dynamo.New(client, table, append([]dynamo.Option{dynamo.WithTTLClock(sesame.SystemClock{})}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return st, client, table
}

// openCounted is open, the store's requests counted by a countingAPI.
func openCounted(tb testing.TB) (*dynamo.Store, *countingAPI, *dynamodb.Client, string) {
	tb.Helper()
	client, table := dynamolocal.NewTable(tb)
	api := &countingAPI{API: client, n: map[string]int{}}
	st, err := dynamo.New(api, table, dynamo.WithTTLClock(sesame.SystemClock{}))
	if err != nil {
		tb.Fatal(err)
	}
	return st, api, client, table
}

func TestConformance(t *testing.T) {
	st, _, _ := open(t)
	storetest.RunBackend(t, func(*testing.T) sesame.Backend { return st })
}

// BenchmarkSeats is the shared seat benchmark on DynamoDB Local. It also
// reports the requests of one op (an OpenSession and its EndSession) by
// API call: what the seat model and the races between clients cost.
// DynamoDB Local's JVM compiles the path of each kind of request as it
// meets it: a first round, not reported, warms the seat op's own, as
// BenchmarkRawRequests warms its requests' (op ran cold before, warm
// after).
func BenchmarkSeats(b *testing.B) {
	st, api, _, _ := openCounted(b)
	for _, name := range []string{"warmup", "op"} {
		b.Run(name, func(b *testing.B) {
			api.take()
			storetest.Bench(b, st)
			u := api.take()
			for call, n := range u.calls {
				b.ReportMetric(float64(n)/float64(b.N), call+"/op")
			}
		})
	}
}

func TestNewChecksItsArguments(t *testing.T) {
	client := dynamolocal.Client("http://127.0.0.1:1")
	for _, c := range []struct {
		name   string
		client dynamo.API
		table  string
		opts   []dynamo.Option
	}{
		{"NilClient", nil, "sesame", nil},
		{"ShortTable", client, "ab", nil},
		{"NoRetries", client, "sesame", []dynamo.Option{dynamo.WithRetries(0)}},
		{"BadBackoff", client, "sesame", []dynamo.Option{dynamo.WithBackoff(time.Second, time.Millisecond)}},
		{"BadRetention", client, "sesame", []dynamo.Option{dynamo.WithRetention(0, time.Hour)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := dynamo.New(c.client, c.table, c.opts...); err == nil {
				t.Fatal("New accepted bad arguments")
			}
		})
	}
	if _, err := dynamo.New(client, "sesame", dynamo.WithRetries(5), dynamo.WithBackoff(time.Millisecond, time.Second),
		dynamo.WithRetention(time.Hour, time.Hour)); err != nil {
		t.Fatalf("New with good arguments: %v", err)
	}
}

// TestCheckTable: the start-up check answers nil on the table, the
// ResourceNotFoundException a missing table gives every request, and an
// error when DynamoDB cannot be reached.
func TestCheckTable(t *testing.T) {
	st, client, _ := open(t)
	if err := st.CheckTable(t.Context()); err != nil {
		t.Errorf("CheckTable on the table: %v", err)
	}
	missing, err := dynamo.New(client, dynamolocal.TableName(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := missing.CheckTable(t.Context()); !errors.As(err, new(*types.ResourceNotFoundException)) {
		t.Errorf("CheckTable on a missing table = %v, want ResourceNotFoundException", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	down, err := dynamo.New(dynamolocal.Client("http://127.0.0.1:1"), "sesame-down")
	if err != nil {
		t.Fatal(err)
	}
	if err := down.CheckTable(ctx); err == nil {
		t.Error("CheckTable with DynamoDB unreachable = nil")
	}
}

var t0 = time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)

func newBase(t testing.TB, st sesame.Store, lic sesame.License) sesame.BaseKey {
	t.Helper()
	uai := storetest.NewUAI()
	k := sesame.BaseKey{UAI: uai, Year: "2026-2027"}
	err := st.CreateBase(context.Background(), sesame.School{UAI: uai, Name: "Lycée " + string(uai)},
		sesame.Base{BaseKey: k, License: lic, CreatedAt: t0},
		sesame.NewBaseContent(sesame.User{Login: "spr", DisplayName: "SPR"}, t0))
	if err != nil {
		t.Fatalf("CreateBase: %v", err)
	}
	return k
}

func session(k sesame.BaseKey, login string, pool sesame.Pool, now time.Time) sesame.Session {
	return sesame.Session{ID: storetest.NewID(), UAI: k.UAI, Year: k.Year, Login: login, DisplayName: login,
		Kind: sesame.KindStaff, Mode: sesame.ModeAdmin, Access: sesame.Modify, Pool: pool,
		CreatedAt: now, ExpiresAt: now.Add(12 * time.Hour), LastActivity: now, LastSeen: now}
}

// poolItems reads a pool's partition raw: its COUNT's n and its HOLDER items.
func poolItems(t testing.TB, client *dynamodb.Client, table string, k sesame.BaseKey, pool sesame.Pool) (n int64, holders int) {
	t.Helper()
	pk := "SEATS#" + string(k.UAI) + "#" + string(k.Year) + "#" + string(pool)
	out, err := client.Query(context.Background(), &dynamodb.QueryInput{TableName: &table,
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
		ConsistentRead:            aws.Bool(true)})
	if err != nil {
		t.Fatalf("Query %s: %v", pk, err)
	}
	n = -1
	for _, item := range out.Items {
		var r struct {
			SK string `dynamodbav:"SK"`
			N  int64  `dynamodbav:"n"`
		}
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			t.Fatal(err)
		}
		switch {
		case r.SK == "COUNT":
			n = r.N
		case strings.HasPrefix(r.SK, "HOLDER#"):
			holders++
		default:
			t.Fatalf("unexpected item %s in %s", r.SK, pk)
		}
	}
	return n, holders
}

// TestCountEqualsHolders races 32 goroutines for a pool of 4 seats over
// many rounds, with sign-ins, moves (8 logins for 32 racers), renewals,
// lapses (a fake clock that jumps past the lease) and ends, and checks
// after each round that never more than 4 leases were live and that the
// COUNT item equals the number of HOLDER items.
func TestCountEqualsHolders(t *testing.T) {
	st, client, table := open(t)
	k := newBase(t, st, sesame.DefaultLicense)
	pool := sesame.PoolAdminModify
	const racers, limit, rounds = 32, 4, 8
	policy := sesame.SeatPolicy{Limit: limit, Lease: time.Minute}
	ctx := context.Background()
	now := t0
	// A monitor reads the COUNT item (one item: a true snapshot) during
	// the races. n is the number of HOLDER items at every commit, so it
	// never exceeding the limit means no more than 4 leases ever existed.
	stop := make(chan struct{})
	var maxN atomic.Int64
	var monitor sync.WaitGroup
	monitor.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := countN(t, client, table, k, pool); n > maxN.Load() {
				maxN.Store(n)
			}
		}
	})
	defer func() {
		close(stop)
		monitor.Wait()
		if maxN.Load() > limit {
			t.Errorf("the COUNT item reached %d, limit %d", maxN.Load(), limit)
		}
	}()
	for round := range rounds {
		var wg sync.WaitGroup
		var errs atomic.Int64
		var mu sync.Mutex
		var won []sesame.Session
		for i := range racers {
			wg.Go(func() {
				s := session(k, fmt.Sprintf("u%d", (i+round)%8), pool, now)
				_, err := st.OpenSession(ctx, s, policy, now)
				switch {
				case err == nil:
					mu.Lock()
					won = append(won, s)
					mu.Unlock()
				case !errors.Is(err, sesame.ErrSeatsExhausted):
					errs.Add(1)
					t.Errorf("round %d: OpenSession: %v", round, err)
				}
			})
		}
		wg.Wait()
		if errs.Load() > 0 {
			t.FailNow()
		}
		ls, err := st.ListLeases(ctx, k, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) > limit || len(ls) == 0 {
			t.Fatalf("round %d: %d live leases, limit %d", round, len(ls), limit)
		}
		// Half the winners renew and end, concurrently; the rest lapse.
		for i, s := range won {
			wg.Go(func() {
				if i%2 == 1 {
					return
				}
				if _, err := st.RenewSeat(ctx, s.ID, policy, now.Add(time.Second)); err != nil && !errors.Is(err, sesame.ErrSessionEnded) {
					t.Errorf("RenewSeat: %v", err)
				}
				if _, err := st.EndSession(ctx, s.ID, sesame.ReasonLoggedOut, now.Add(2*time.Second)); err != nil && !errors.Is(err, sesame.ErrSessionEnded) {
					t.Errorf("EndSession: %v", err)
				}
			})
		}
		wg.Wait()
		n, holders := poolItems(t, client, table, k, pool)
		if n != int64(holders) {
			t.Fatalf("round %d: COUNT n = %d, but %d HOLDER items", round, n, holders)
		}
		now = now.Add(2 * time.Minute) // every lease left lapses
	}
	// Everything has lapsed: the whole pool is free again.
	for i := range limit {
		if _, err := st.OpenSession(ctx, session(k, fmt.Sprintf("last%d", i), pool, now), policy, now); err != nil {
			t.Fatalf("after the rounds: %v", err)
		}
	}
	n, holders := poolItems(t, client, table, k, pool)
	if n != int64(holders) || n > limit {
		t.Fatalf("at the end: COUNT n = %d, %d HOLDER items", n, holders)
	}
}

// countN reads a pool's COUNT n with a consistent read (0 when absent).
func countN(t testing.TB, client *dynamodb.Client, table string, k sesame.BaseKey, pool sesame.Pool) int64 {
	out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &table, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "SEATS#" + string(k.UAI) + "#" + string(k.Year) + "#" + string(pool)},
			"SK": &types.AttributeValueMemberS{Value: "COUNT"},
		}})
	if err != nil {
		t.Errorf("GetItem COUNT: %v", err)
		return 0
	}
	var r struct {
		N int64 `dynamodbav:"n"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		t.Errorf("decoding COUNT: %v", err)
	}
	return r.N
}

// TestCountRepairedAfterTTL deletes a lapsed HOLDER behind the store's
// back, as the table's TTL does: the COUNT is then above the number of
// HOLDER items, and the store repairs it instead of refusing newcomers.
func TestCountRepairedAfterTTL(t *testing.T) {
	st, client, table := open(t)
	k := newBase(t, st, sesame.DefaultLicense)
	pool := sesame.PoolAdminModify
	policy := sesame.SeatPolicy{Limit: 2, Lease: time.Minute}
	ctx := context.Background()
	for _, u := range []string{"a", "b"} {
		if _, err := st.OpenSession(ctx, session(k, u, pool, t0), policy, t0); err != nil {
			t.Fatal(err)
		}
	}
	_, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &table, Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "SEATS#" + string(k.UAI) + "#" + string(k.Year) + "#" + string(pool)},
		"SK": &types.AttributeValueMemberS{Value: "HOLDER#a"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if n, h := poolItems(t, client, table, k, pool); n != 2 || h != 1 {
		t.Fatalf("setup: n = %d, holders = %d", n, h)
	}
	now := t0.Add(10 * time.Second)
	if _, err := st.OpenSession(ctx, session(k, "c", pool, now), policy, now); err != nil {
		t.Fatalf("a seat freed by the TTL is refused: %v", err)
	}
	if _, err := st.OpenSession(ctx, session(k, "d", pool, now), policy, now); !errors.Is(err, sesame.ErrSeatsExhausted) {
		t.Fatalf("third holder of 2 seats: %v", err)
	}
	if n, h := poolItems(t, client, table, k, pool); n != 2 || h != 2 {
		t.Fatalf("after the repair: n = %d, holders = %d", n, h)
	}
}

// TestEndSessionTrustsTheSession: EndSession of a seat holder reads the
// session alone and frees its seat in one transaction (no read of the
// HOLDER); when the TTL deleted the HOLDER behind the store's back, the
// transaction fails on it and the next try reads the HOLDER, ending the
// session alone.
func TestEndSessionTrustsTheSession(t *testing.T) {
	st, api, client, table := openCounted(t)
	k := newBase(t, st, sesame.DefaultLicense)
	pool := sesame.PoolAdminModify
	policy := sesame.SeatPolicy{Limit: 2, Lease: time.Minute}
	ctx := context.Background()
	a, b := session(k, "a", pool, t0), session(k, "b", pool, t0)
	for _, x := range []sesame.Session{a, b} {
		if _, err := st.OpenSession(ctx, x, policy, t0); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(10 * time.Second)
	api.take()
	if _, err := st.EndSession(ctx, a.ID, sesame.ReasonLoggedOut, now); err != nil {
		t.Fatal(err)
	}
	if u := api.take(); len(u.calls) != 2 || u.calls["GetItem"] != 1 || u.calls["TransactWriteItems"] != 1 {
		t.Errorf("a seat holder's end: %v, want GetItem 1, TransactWriteItems 1", u.calls)
	}
	if n, h := poolItems(t, client, table, k, pool); n != 1 || h != 1 {
		t.Fatalf("after a's end: n = %d, holders = %d; want 1 and 1", n, h)
	}

	_, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &table, Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "SEATS#" + string(k.UAI) + "#" + string(k.Year) + "#" + string(pool)},
		"SK": &types.AttributeValueMemberS{Value: "HOLDER#b"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	x, err := st.EndSession(ctx, b.ID, sesame.ReasonLoggedOut, now)
	if err != nil || x.EndReason != sesame.ReasonLoggedOut {
		t.Fatalf("end of a session whose HOLDER the TTL deleted: %+v, %v", x, err)
	}
	if got, err := st.GetSession(ctx, b.ID); err != nil || got.EndReason != sesame.ReasonLoggedOut {
		t.Fatalf("the session after its end: %+v, %v", got, err)
	}
	if n, h := poolItems(t, client, table, k, pool); n != 1 || h != 0 {
		t.Fatalf("after b's end: n = %d, holders = %d; want the count left for the repair (1) and no holder", n, h)
	}
}

// TestStaleHeartbeatAfterReclaim checks that a reclaim takes a lapsed
// seat's lease from its session for good: a heartbeat whose now was read
// before the reclaim's (a slow request, a clock behind) finds the session's
// leaseUntil at 0 and extends nothing, on the fast path and on the full
// one, although its now lies before the lease's old end.
func TestStaleHeartbeatAfterReclaim(t *testing.T) {
	st, _, _ := open(t)
	ctx := context.Background()
	k := newBase(t, st, sesame.DefaultLicense)
	pool := sesame.PoolAdminModify
	const lease = time.Minute
	policy := sesame.SeatPolicy{Limit: 1, Lease: lease}
	a := session(k, "a", pool, t0)
	a.Stamp(sesame.AutoDisconnect{}, t0) // no idle limit: the fast path applies
	if _, err := st.OpenSession(ctx, a, policy, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.BeatStamped(ctx, a.ID, 0, policy, t0.Add(time.Second)); err != nil {
		t.Fatalf("a live seat's heartbeat through the fast path: %v", err)
	}
	later := t0.Add(time.Second + lease + time.Second) // a has lapsed
	b := session(k, "b", pool, later)
	if _, err := st.OpenSession(ctx, b, policy, later); err != nil {
		t.Fatalf("a newcomer into a pool whose only seat lapsed: %v", err)
	}
	stale := t0.Add(lease) // before a's lease ended, and before b came in
	if _, err := st.BeatStamped(ctx, a.ID, 0, policy, stale); !errors.Is(err, sesame.ErrNotStamped) {
		t.Fatalf("a stale heartbeat of a reclaimed seat, fast path: %v, want ErrNotStamped", err)
	}
	if _, err := st.RenewSeat(ctx, a.ID, policy, stale); !errors.Is(err, sesame.ErrSeatLost) {
		t.Fatalf("a stale heartbeat of a reclaimed seat, full path: %v, want ErrSeatLost", err)
	}
	ls, err := st.ListLeases(ctx, k, later)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 || ls[0].Session != b.ID {
		t.Fatalf("leases after the stale heartbeats: %+v, want b's only", ls)
	}
}

// lossy wraps the client: the writes it is told to lose land, then fail
// as if the connection broke before the answer came back.
type lossy struct {
	*dynamodb.Client
	lose atomic.Int64 // how many of the next writes lose their answer
}

var errLost = errors.New("read tcp 127.0.0.1:8000: connection reset by peer")

func (l *lossy) lost() bool { return l.lose.Add(-1) >= 0 }

func (l *lossy) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	out, err := l.Client.TransactWriteItems(ctx, in, o...)
	if err == nil && l.lost() {
		return nil, errLost
	}
	return out, err
}

func (l *lossy) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	out, err := l.Client.UpdateItem(ctx, in, o...)
	if err == nil && l.lost() {
		return nil, errLost
	}
	return out, err
}

func (l *lossy) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	out, err := l.Client.PutItem(ctx, in, o...)
	if err == nil && l.lost() {
		return nil, errLost
	}
	return out, err
}

// TestAmbiguousWrites loses the answer of each kind of seat write after it
// landed: the store re-reads, recognises its own write and reports success,
// and no seat is lost or counted twice.
func TestAmbiguousWrites(t *testing.T) {
	_, client, table := open(t)
	l := &lossy{Client: client}
	st, err := dynamo.New(l, table, dynamo.WithTTLClock(sesame.SystemClock{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k := newBase(t, st, sesame.DefaultLicense)
	pool := sesame.PoolAdminModify
	policy := sesame.SeatPolicy{Limit: 2, Lease: time.Minute}
	check := func(what string, wantN int64) {
		t.Helper()
		if n, h := poolItems(t, client, table, k, pool); n != wantN || int64(h) != wantN {
			t.Fatalf("%s: COUNT n = %d, %d HOLDER items, want %d", what, n, h, wantN)
		}
	}

	a := session(k, "a", pool, t0)
	l.lose.Store(1)
	if _, err := st.OpenSession(ctx, a, policy, t0); err != nil {
		t.Fatalf("OpenSession whose answer was lost: %v", err)
	}
	check("after a lost sign-in", 1)

	a2 := session(k, "a", pool, t0.Add(time.Second))
	l.lose.Store(1)
	if _, err := st.OpenSession(ctx, a2, policy, t0.Add(time.Second)); err != nil {
		t.Fatalf("move whose answer was lost: %v", err)
	}
	if s, err := st.GetSession(ctx, a.ID); err != nil || s.EndReason != sesame.ReasonReplaced {
		t.Fatalf("replaced session: %+v, %v", s, err)
	}
	check("after a lost move", 1)

	l.lose.Store(1)
	if _, err := st.RenewSeat(ctx, a2.ID, policy, t0.Add(30*time.Second)); err != nil {
		t.Fatalf("renewal whose answer was lost: %v", err)
	}

	// A lapsed lease taken again, with its answer lost.
	later := t0.Add(5 * time.Minute)
	l.lose.Store(1)
	if ls, err := st.RenewSeat(ctx, a2.ID, policy, later); err != nil || !ls.ExpiresAt.Equal(later.Add(time.Minute)) {
		t.Fatalf("retake whose answer was lost: %+v, %v", ls, err)
	}
	check("after a lost retake", 1)

	l.lose.Store(1)
	if s, err := st.EndSession(ctx, a2.ID, sesame.ReasonLoggedOut, later); err != nil || s.EndReason != sesame.ReasonLoggedOut {
		t.Fatalf("end whose answer was lost: %+v, %v", s, err)
	}
	check("after a lost end", 0)

	// A licence change whose answer was lost lands once: the version
	// grows by one.
	before, err := st.GetBase(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	lic := before.License
	lic.Consultation = !lic.Consultation
	l.lose.Store(1)
	after, err := st.SetLicense(ctx, k, lic, later)
	if err != nil || after.Version != before.Version+1 || after.License.Consultation != lic.Consultation {
		t.Fatalf("licence change whose answer was lost: version %d → %d, %+v, %v", before.Version, after.Version, after.License, err)
	}
	if got, err := st.GetBase(ctx, k); err != nil || got.Version != before.Version+1 {
		t.Fatalf("the base after a lost licence change: version %d, %v; want %d", got.Version, err, before.Version+1)
	}

	noSeat := session(k, "spr", "", later)
	l.lose.Store(1)
	if _, err := st.OpenSession(ctx, noSeat, policy, later); err != nil {
		t.Fatalf("seatless sign-in whose answer was lost: %v", err)
	}
	// The same ID again is still a duplicate.
	if _, err := st.OpenSession(ctx, noSeat, policy, later); !errors.Is(err, sesame.ErrExists) {
		t.Fatalf("duplicate session: %v", err)
	}

	// A seat lost on renewal (full pool), with the answer lost.
	b := session(k, "b", pool, later)
	if _, err := st.OpenSession(ctx, b, policy, later); err != nil {
		t.Fatal(err)
	}
	muchLater := later.Add(5 * time.Minute)
	for _, u := range []string{"c", "d"} {
		if _, err := st.OpenSession(ctx, session(k, u, pool, muchLater), policy, muchLater); err != nil {
			t.Fatal(err)
		}
	}
	l.lose.Store(1)
	if _, err := st.RenewSeat(ctx, b.ID, policy, muchLater); !errors.Is(err, sesame.ErrSeatLost) {
		t.Fatalf("seat lost with the answer lost: %v", err)
	}
	check("after a lost seat_lost", 2)
}

// TestCreateBaseLimits checks the transaction's size limit and that a
// large import plan round-trips (it is stored compressed).
func TestCreateBaseLimits(t *testing.T) {
	st, _, _ := open(t)
	ctx := context.Background()
	uai := storetest.NewUAI()
	k := sesame.BaseKey{UAI: uai, Year: "2026-2027"}
	c := sesame.NewBaseContent(sesame.User{Login: "spr", DisplayName: "SPR"}, t0)
	for i := range 100 {
		c.Users = append(c.Users, sesame.User{Login: fmt.Sprintf("u%03d", i), DisplayName: "U", Kind: sesame.KindStudent})
	}
	err := st.CreateBase(ctx, sesame.School{UAI: uai, Name: "X"}, sesame.Base{BaseKey: k, License: sesame.DefaultLicense}, c)
	if !errors.Is(err, sesame.ErrInvalid) {
		t.Fatalf("CreateBase with 111 items: %v, want invalid", err)
	}
	if _, err := st.GetSchool(ctx, uai); !errors.Is(err, sesame.ErrNotFound) {
		t.Fatalf("a refused CreateBase left its school: %v", err)
	}
	c.Users = c.Users[:50]
	if err := st.CreateBase(ctx, sesame.School{UAI: uai, Name: "X"}, sesame.Base{BaseKey: k, License: sesame.DefaultLicense}, c); err != nil {
		t.Fatalf("CreateBase with 61 items: %v", err)
	}

	plan := []byte(strings.Repeat(`{"login":"eleve","action":"add"},`, 20000)) // 660 KB, over an item's 400 KB
	j := sesame.ImportJob{ID: "gros", State: sesame.ImportPlanned, Plan: plan, CreatedAt: t0}
	if err := st.CreateImport(ctx, k, j); err != nil {
		t.Fatalf("CreateImport of a large plan: %v", err)
	}
	got, err := st.GetImport(ctx, k, "gros")
	if err != nil || string(got.Plan) != string(plan) {
		t.Fatalf("GetImport: %d bytes, %v", len(got.Plan), err)
	}
}

// conflicting wraps the client: one transaction in three is cancelled with
// TransactionConflict on every action, and one single-item write in four
// fails with TransactionConflictException, before reaching the server, as
// DynamoDB does under contention (DynamoDB Local serialises transactions
// and never reports conflicts).
type conflicting struct {
	*dynamodb.Client
	txns, writes atomic.Int64
}

func (c *conflicting) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if c.txns.Add(1)%3 == 0 {
		reasons := make([]types.CancellationReason, len(in.TransactItems))
		for i := range reasons {
			reasons[i].Code = aws.String("TransactionConflict")
		}
		return nil, &types.TransactionCanceledException{Message: aws.String("Transaction cancelled"), CancellationReasons: reasons}
	}
	return c.Client.TransactWriteItems(ctx, in, o...)
}

func (c *conflicting) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if c.writes.Add(1)%4 == 0 {
		return nil, &types.TransactionConflictException{Message: aws.String("Transaction is ongoing for the item")}
	}
	return c.Client.UpdateItem(ctx, in, o...)
}

// TestTransactionConflicts runs sign-ins, renewals (live and lapsed) and
// ends through conflicting: every operation succeeds after its retries,
// and the count stays exact.
func TestTransactionConflicts(t *testing.T) {
	_, client, table := open(t)
	c := &conflicting{Client: client}
	st, err := dynamo.New(c, table, dynamo.WithTTLClock(sesame.SystemClock{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k := newBase(t, st, sesame.DefaultLicense)
	pool := sesame.PoolAdminModify
	policy := sesame.SeatPolicy{Limit: 3, Lease: time.Minute}
	var wg sync.WaitGroup
	var won sync.Map
	for i := range 16 {
		wg.Go(func() {
			s := session(k, fmt.Sprintf("u%d", i%6), pool, t0)
			if _, err := st.OpenSession(ctx, s, policy, t0); err == nil {
				won.Store(s.ID, s)
			} else if !errors.Is(err, sesame.ErrSeatsExhausted) {
				t.Errorf("OpenSession: %v", err)
			}
		})
	}
	wg.Wait()
	if ls, err := st.ListLeases(ctx, k, t0); err != nil || len(ls) != 3 {
		t.Fatalf("ListLeases: %d leases, %v; want 3", len(ls), err)
	}
	later := t0.Add(5 * time.Minute) // every lease has lapsed; each is taken again
	won.Range(func(_, v any) bool {
		wg.Go(func() {
			s := v.(sesame.Session)
			for _, now := range []time.Time{t0.Add(10 * time.Second), later} {
				if _, err := st.RenewSeat(ctx, s.ID, policy, now); err != nil && !errors.Is(err, sesame.ErrSessionEnded) {
					t.Errorf("RenewSeat: %v", err)
				}
			}
		})
		return true
	})
	wg.Wait()
	if ls, err := st.ListLeases(ctx, k, later); err != nil || len(ls) != 3 {
		t.Fatalf("ListLeases after the renewals: %d leases, %v; want 3", len(ls), err)
	}
	won.Range(func(_, v any) bool {
		wg.Go(func() {
			if _, err := st.EndSession(ctx, v.(sesame.Session).ID, sesame.ReasonLoggedOut, later); err != nil && !errors.Is(err, sesame.ErrSessionEnded) {
				t.Errorf("EndSession: %v", err)
			}
		})
		return true
	})
	wg.Wait()
	if n, h := poolItems(t, client, table, k, pool); n != 0 || h != 0 {
		t.Fatalf("after every end: COUNT n = %d, %d HOLDER items", n, h)
	}
	if c.txns.Load() < 10 || c.writes.Load() < 4 {
		t.Fatalf("too few conflicts injected: %d transactions, %d updates", c.txns.Load(), c.writes.Load())
	}
}
