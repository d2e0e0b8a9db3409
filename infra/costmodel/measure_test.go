package main_test

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/password"
)

// meter counts the requests a store sends, by API call, and the capacity
// units DynamoDB reports for them (it asks for ReturnConsumedCapacity
// TOTAL on every request).
type meter struct {
	dynamo.API
	mu       sync.Mutex
	n        map[string]int
	rcu, wcu float64
}

func (m *meter) add(op string, cc ...types.ConsumedCapacity) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n[op]++
	for _, c := range cc {
		// DynamoDB Local gives CapacityUnits only; a write request
		// reports write units, a read request read units.
		units := aws.ToFloat64(c.CapacityUnits)
		switch op {
		case "GetItem", "BatchGetItem", "Query":
			m.rcu += units
		default:
			m.wcu += units
		}
	}
}

func cc(c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	return []types.ConsumedCapacity{*c}
}

const total = types.ReturnConsumedCapacityTotal

func (m *meter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.API.GetItem(ctx, in, o...)
	if out != nil {
		m.add("GetItem", cc(out.ConsumedCapacity)...)
	} else {
		m.add("GetItem")
	}
	return out, err
}
func (m *meter) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.API.BatchGetItem(ctx, in, o...)
	if out != nil {
		m.add("BatchGetItem", out.ConsumedCapacity...)
	} else {
		m.add("BatchGetItem")
	}
	return out, err
}
func (m *meter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.API.PutItem(ctx, in, o...)
	if out != nil {
		m.add("PutItem", cc(out.ConsumedCapacity)...)
	} else {
		m.add("PutItem")
	}
	return out, err
}
func (m *meter) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.API.DeleteItem(ctx, in, o...)
	if out != nil {
		m.add("DeleteItem", cc(out.ConsumedCapacity)...)
	} else {
		m.add("DeleteItem")
	}
	return out, err
}
func (m *meter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.API.UpdateItem(ctx, in, o...)
	if out != nil {
		m.add("UpdateItem", cc(out.ConsumedCapacity)...)
	} else {
		m.add("UpdateItem")
	}
	return out, err
}
func (m *meter) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.API.Query(ctx, in, o...)
	if out != nil {
		m.add("Query", cc(out.ConsumedCapacity)...)
	} else {
		m.add("Query")
	}
	return out, err
}
func (m *meter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := m.API.TransactWriteItems(ctx, in, o...)
	if out != nil {
		m.add("TransactWriteItems", out.ConsumedCapacity...)
	} else {
		m.add("TransactWriteItems")
	}
	return out, err
}

// take returns what was counted since the last take, and starts again.
func (m *meter) take() operation {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := operation{Requests: m.n, RCU: m.rcu, WCU: m.wcu, Lambda: 1}
	for _, n := range m.n {
		op.Total += n
	}
	m.n, m.rcu, m.wcu = map[string]int{}, 0, 0
	return op
}

// operation is one entry of the requests file (see requests.go).
type operation struct {
	Name     string         `json:"name"`
	Requests map[string]int `json:"requests"`
	Total    int            `json:"total"`
	WCU      float64        `json:"wcu"`
	RCU      float64        `json:"rcu"`
	Lambda   int            `json:"lambda"`
}

// TestMeasureRequests writes the requests file of this build: the
// DynamoDB requests, by call, and the capacity units of each user-facing
// operation through the service, on DynamoDB Local. It runs the steps of
// infra/dynamo's TestRequestsPerOperation, and only when asked:
//
//	SESAME_REQUESTS_OUT=$PWD/infra/costmodel/testdata/requests-main.json go test -count=1 -run TestMeasureRequests ./infra/costmodel/
//
// Once infra/dynamo's test writes the same file (SESAME_REQUESTS_OUT there
// too), this one can go.
func TestMeasureRequests(t *testing.T) {
	out := os.Getenv("SESAME_REQUESTS_OUT")
	if out == "" {
		t.Skip("set SESAME_REQUESTS_OUT=path to measure this build's requests per operation")
	}
	client, table := dynamolocal.NewTable(t)
	m := &meter{API: client, n: map[string]int{}}
	st, err := dynamo.New(m, table)
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
	login := func(login, mode string) (sesame.LoginResult, error) {
		return svc.Login(ctx, sesame.LoginRequest{School: uai, Login: login, Password: pw, Mode: mode, Address: "192.0.2.1"})
	}
	// A first sign-in warms the caches (the device key).
	if _, err := login("spr", "admin"); err != nil {
		t.Fatal(err)
	}
	spr, err := login("spr", "admin")
	if err != nil {
		t.Fatal(err)
	}
	var ops []operation
	measure := func(name string, f func() error) {
		t.Helper()
		m.take()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		op := m.take()
		op.Name = name
		ops = append(ops, op)
	}
	var prof, eleve sesame.LoginResult
	measure("signin_limited", func() (err error) { prof, err = login("prof", "teacher"); return err })
	measure("signin_unlimited", func() (err error) { eleve, err = login("eleve", "student"); return err })
	measure("page_load", func() error { _, err := svc.Session(ctx, prof.Token); return err })
	measure("heartbeat_active", func() error { _, err := svc.Heartbeat(ctx, prof.Token, time.Second); return err })
	measure("heartbeat_idle", func() error { _, err := svc.Heartbeat(ctx, prof.Token, 5*time.Minute); return err })
	measure("heartbeat_seatless", func() error { _, err := svc.Heartbeat(ctx, eleve.Token, time.Second); return err })
	measure("authorize", func() error { _, err := svc.Authorize(ctx, prof.Token, "notes.saisir-notes"); return err })
	measure("permissions", func() error { return nil }) // GET /permissions answers the static catalogue
	measure("logout", func() error { return svc.Logout(ctx, eleve.Token) })
	measure("forced_disconnection", func() error { return svc.Disconnect(ctx, spr.Token, sesame.TokenID(prof.Token)) })
	seats := sesame.Limit(30)
	measure("licence_change", func() error {
		_, err := svc.SetLicense(ctx, uai, year, sesame.LicenseChange{TeacherSeats: &seats})
		return err
	})
	for _, op := range ops {
		if op.Name != "permissions" && op.Total == 0 {
			t.Errorf("%s: no DynamoDB request counted", op.Name)
		}
		t.Logf("%-22s %2d requests %v rcu %.1f wcu %.1f", op.Name, op.Total, op.Requests, op.RCU, op.WCU)
	}
	b, err := json.MarshalIndent(map[string]any{"operations": ops}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
