package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/password"
)

// countingAPI counts the requests a store sends, by API call, and the
// capacity units they consume: it asks every request for
// ReturnConsumedCapacity TOTAL and adds up what DynamoDB answers.
type countingAPI struct {
	dynamo.API
	mu  sync.Mutex
	n   map[string]int
	rcu float64
	wcu float64
}

// usage is what one operation cost.
type usage struct {
	calls    map[string]int
	rcu, wcu float64
}

func (c *countingAPI) count(op string) {
	c.mu.Lock()
	c.n[op]++
	c.mu.Unlock()
}

// consumed adds what DynamoDB reports: capacity units of reads for read
// calls, of writes for write calls (a transaction's are all writes).
func (c *countingAPI) consumed(write bool, cc ...types.ConsumedCapacity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range cc {
		u := 0.0
		if x.CapacityUnits != nil {
			u = *x.CapacityUnits
		}
		if write {
			c.wcu += u
		} else {
			c.rcu += u
		}
	}
}

// take returns the counts since the last take, and starts again.
func (c *countingAPI) take() usage {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := usage{calls: c.n, rcu: c.rcu, wcu: c.wcu}
	c.n, c.rcu, c.wcu = map[string]int{}, 0, 0
	return u
}

func one(cc *types.ConsumedCapacity) []types.ConsumedCapacity {
	if cc == nil {
		return nil
	}
	return []types.ConsumedCapacity{*cc}
}

const total = types.ReturnConsumedCapacityTotal

func (c *countingAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.count("GetItem")
	in.ReturnConsumedCapacity = total
	out, err := c.API.GetItem(ctx, in, o...)
	if err == nil {
		c.consumed(false, one(out.ConsumedCapacity)...)
	}
	return out, err
}
func (c *countingAPI) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.count("BatchGetItem")
	in.ReturnConsumedCapacity = total
	out, err := c.API.BatchGetItem(ctx, in, o...)
	if err == nil {
		c.consumed(false, out.ConsumedCapacity...)
	}
	return out, err
}
func (c *countingAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.count("PutItem")
	in.ReturnConsumedCapacity = total
	out, err := c.API.PutItem(ctx, in, o...)
	if err == nil {
		c.consumed(true, one(out.ConsumedCapacity)...)
	}
	return out, err
}
func (c *countingAPI) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.count("DeleteItem")
	in.ReturnConsumedCapacity = total
	out, err := c.API.DeleteItem(ctx, in, o...)
	if err == nil {
		c.consumed(true, one(out.ConsumedCapacity)...)
	}
	return out, err
}
func (c *countingAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.count("UpdateItem")
	in.ReturnConsumedCapacity = total
	out, err := c.API.UpdateItem(ctx, in, o...)
	if err == nil {
		c.consumed(true, one(out.ConsumedCapacity)...)
	}
	return out, err
}
func (c *countingAPI) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.count("Query")
	in.ReturnConsumedCapacity = total
	out, err := c.API.Query(ctx, in, o...)
	if err == nil {
		c.consumed(false, one(out.ConsumedCapacity)...)
	}
	return out, err
}
func (c *countingAPI) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.count("TransactWriteItems")
	in.ReturnConsumedCapacity = total
	out, err := c.API.TransactWriteItems(ctx, in, o...)
	if err == nil {
		c.consumed(true, out.ConsumedCapacity...)
	}
	return out, err
}

// requestBudget is what each user-facing operation may cost in DynamoDB
// requests, measured by TestRequestsPerOperation: a regression over it
// fails. Issue #13's targets: a sign-in into a limited pool 4, into an
// unlimited one 3 with no pool-wide item, an authorize check 1 read, a
// seat-less heartbeat 1, a seat-holder's heartbeat 1 conditional write (the
// session's, which carries the lease's end): all met.
//
// A heartbeat takes the fast path (Store.BeatStamped) while the session
// carries the stamp of its idle setting: from the first, since the sign-in
// stamps the session it opens; after a change of its setting, or after the
// stamp's hour, the fast path declines and the full path stamps again.
var requestBudget = map[string]int{
	// The school, base, user, counters, the user's HOLDER, the pool's COUNT
	// and the day's usage in one BatchGetItem (the base year guessed from
	// the date), the profile, the counter's reservation, the admission
	// (with the counters' reset, the journal entry and, when it rises, the
	// usage peak).
	"signin_limited": 4,
	// One BatchGetItem (with the space's setting), the reservation, the
	// session with the counters' reset and the journal entry: no seat, so
	// no pool-wide item.
	"signin_unlimited": 3,
	"page_load":        2, // GET /session: the session, its user, base and profile at once (where the token says), the school
	// A seat holder's first heartbeat: the fast path's write, the session
	// stamped at sign-in.
	"heartbeat_first":          1,
	"heartbeat_active":         1, // a seat holder, active: the session's conditional write, its lease's end with it
	"heartbeat_idle":           1, // a seat holder reporting idleness under the limit
	"heartbeat_seatless":       1, // a student: the session's conditional write; no lease
	"heartbeat_seatless_first": 1, // a student's first: the fast path's write, as above
	"authorize":                1, // the session, its user, base and profile in one BatchGetItem
	"permissions":              0, // GET /permissions: the catalogue, from memory
	"logout":                   3, // a student's: no seat to free
	"forced_disconnection":     7,
	"licence_change":           2,
}

// requestsOutEnv names the file TestRequestsPerOperation writes its table
// to, as JSON, when set (the cost model reads it).
const requestsOutEnv = "SESAME_REQUESTS_OUT"

// operationCost is one operation of the JSON table: its DynamoDB requests
// by API call, their total, the capacity units DynamoDB reported
// (ReturnConsumedCapacity TOTAL), and the Lambda invocations (each
// operation is one API request, so one invocation).
type operationCost struct {
	Name     string         `json:"name"`
	Requests map[string]int `json:"requests"`
	Total    int            `json:"total"`
	WCU      float64        `json:"wcu"`
	RCU      float64        `json:"rcu"`
	Lambda   int            `json:"lambda"`
}

// TestRequestsPerOperation counts the DynamoDB requests and capacity units
// of each user-facing operation through the service, on DynamoDB Local,
// and holds each to its budget. With SESAME_REQUESTS_OUT=path it writes
// the table there as JSON ({"operations":[…]}).
func TestRequestsPerOperation(t *testing.T) {
	client, table := dynamolocal.NewTable(t)
	api := &countingAPI{API: client, n: map[string]int{}}
	st, err := dynamo.New(api, table)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	svc := &sesame.Service{Store: st, Hasher: password.New(password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}),
		Clock: sesame.SystemClock{}, Timing: sesame.DefaultTiming}
	const uai, year, pw = "0751234A", "2026-2027", "mot-de-passe-assez-long"
	if _, err := svc.CreateSchool(ctx, sesame.NewSchool{UAI: uai, Name: "Collège", Year: year, SPRPassword: pw}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []sesame.NewUser{{Login: "prof", Kind: "teacher"}, {Login: "eleve", Kind: "student"}} {
		u.UAI, u.Year, u.DisplayName, u.Password = uai, year, "Compte "+u.Login, pw
		if _, err := svc.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	// A first sign-in and heartbeat warm the caches (the device key).
	if _, err := svc.Login(ctx, sesame.LoginRequest{School: uai, Login: "spr", Password: pw, Mode: "admin", Address: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	spr, err := svc.Login(ctx, sesame.LoginRequest{School: uai, Login: "spr", Password: pw, Mode: "admin", Address: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	login := func(login, mode string) sesame.LoginResult {
		t.Helper()
		res, err := svc.Login(ctx, sesame.LoginRequest{School: uai, Login: login, Password: pw, Mode: mode, Address: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	var ops []operationCost
	measure := func(op string, f func() error) {
		t.Helper()
		api.take()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		u := api.take()
		c := operationCost{Name: op, Requests: u.calls, WCU: u.wcu, RCU: u.rcu, Lambda: 1}
		for _, n := range u.calls {
			c.Total += n
		}
		ops = append(ops, c)
	}
	var prof, eleve sesame.LoginResult
	measure("signin_limited", func() error { prof = login("prof", "teacher"); return nil })
	measure("signin_unlimited", func() error { eleve = login("eleve", "student"); return nil })
	measure("page_load", func() error { _, err := svc.Session(ctx, prof.Token); return err })
	measure("heartbeat_first", func() error { _, err := svc.Heartbeat(ctx, prof.Token, time.Second); return err })
	measure("heartbeat_active", func() error { _, err := svc.Heartbeat(ctx, prof.Token, time.Second); return err })
	measure("heartbeat_idle", func() error { _, err := svc.Heartbeat(ctx, prof.Token, 5*time.Minute); return err })
	measure("heartbeat_seatless_first", func() error { _, err := svc.Heartbeat(ctx, eleve.Token, time.Second); return err })
	measure("heartbeat_seatless", func() error { _, err := svc.Heartbeat(ctx, eleve.Token, time.Second); return err })
	measure("authorize", func() error { _, err := svc.Authorize(ctx, prof.Token, "notes.saisir-notes"); return err })
	// GET /permissions serves the catalogue from memory (infra/httpapi):
	// it reaches neither the service nor the store.
	measure("permissions", func() error { return nil })
	measure("logout", func() error { return svc.Logout(ctx, eleve.Token) })
	measure("forced_disconnection", func() error { return svc.Disconnect(ctx, spr.Token, sesame.TokenID(prof.Token)) })
	seats := sesame.Limit(30)
	measure("licence_change", func() error {
		_, err := svc.SetLicense(ctx, uai, year, sesame.LicenseChange{TeacherSeats: &seats})
		return err
	})

	var b strings.Builder
	for _, op := range ops {
		calls := []string{}
		for call, n := range op.Requests {
			calls = append(calls, fmt.Sprintf("%s %d", call, n))
		}
		slices.Sort(calls)
		budget, ok := requestBudget[op.Name]
		if !ok {
			t.Errorf("%s has no budget", op.Name)
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %.1f | %.1f | %d |\n", op.Name, op.Total, strings.Join(calls, ", "), op.RCU, op.WCU, budget)
		if op.Total > budget {
			t.Errorf("%s costs %d DynamoDB requests (%v), over its budget of %d", op.Name, op.Total, op.Requests, budget)
		}
	}
	t.Logf("DynamoDB requests per operation:\n| operation | requests | by call | RCU | WCU | budget |\n|---|---|---|---|---|---|\n%s", b.String())
	if path := os.Getenv(requestsOutEnv); path != "" {
		out, err := json.MarshalIndent(struct {
			Operations []operationCost `json:"operations"`
		}{ops}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
}
