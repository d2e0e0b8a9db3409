package faults_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/faults"
)

// fakeAPI counts the writes that reach it; they all succeed.
type fakeAPI struct {
	dynamo.API
	writes int
}

var _ dynamo.API = (*fakeAPI)(nil)

func (f *fakeAPI) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.writes++
	return &dynamodb.PutItemOutput{}, nil
}

func (f *fakeAPI) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	f.writes++
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

func TestDynamoDBFaults(t *testing.T) {
	ctx := context.Background()
	txn := &dynamodb.TransactWriteItemsInput{TransactItems: make([]types.TransactWriteItem, 3)}

	t.Run("LostReplyLands", func(t *testing.T) {
		api := &fakeAPI{}
		d := faults.NewDynamoDB(api, faults.DynamoRates{LostReply: 1}, 1)
		_, err := d.PutItem(ctx, &dynamodb.PutItemInput{})
		var lost *faults.LostReplyError
		if !errors.As(err, &lost) || !lost.Landed || api.writes != 1 {
			t.Fatalf("lost reply: err %v, %d writes; want a landed write and a LostReplyError", err, api.writes)
		}
		if c := d.Counts(); c.LostLanded != 1 || c.Ambiguous() != 1 {
			t.Fatalf("counts %+v", c)
		}
	})
	t.Run("ConflictBeforeTheWrite", func(t *testing.T) {
		api := &fakeAPI{}
		d := faults.NewDynamoDB(api, faults.DynamoRates{Conflict: 1}, 2)
		_, err := d.TransactWriteItems(ctx, txn)
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) || api.writes != 0 {
			t.Fatalf("conflict: err %v, %d writes", err, api.writes)
		}
		conflicts := 0
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "TransactionConflict" {
				conflicts++
			}
		}
		if len(tce.CancellationReasons) != 3 || conflicts != 1 {
			t.Fatalf("reasons %v: want 3, one of them TransactionConflict", tce.CancellationReasons)
		}
	})
	t.Run("ThrottleBeforeTheWrite", func(t *testing.T) {
		api := &fakeAPI{}
		d := faults.NewDynamoDB(api, faults.DynamoRates{Throttle: 1}, 3)
		_, err := d.PutItem(ctx, &dynamodb.PutItemInput{})
		var pte *types.ProvisionedThroughputExceededException
		if !errors.As(err, &pte) || api.writes != 0 {
			t.Fatalf("throttle: err %v, %d writes", err, api.writes)
		}
	})
	t.Run("Paused", func(t *testing.T) {
		api := &fakeAPI{}
		d := faults.NewDynamoDB(api, faults.DynamoRates{LostReply: 1}, 4)
		d.Pause()
		if _, err := d.PutItem(ctx, &dynamodb.PutItemInput{}); err != nil || api.writes != 1 {
			t.Fatalf("paused: err %v, %d writes", err, api.writes)
		}
	})
}

// A reply cut by the proxy after the request reached the server is counted
// as a lost write reply; a read is not counted.
func TestProxyCutsRepliesAndTheClientCountsThem(t *testing.T) {
	var reached atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.Header().Set("Content-Length", "5000")
		io.WriteString(w, strings.Repeat("x", 5000))
	}))
	defer srv.Close()
	p, err := faults.StartProxy(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Add(faults.Toxic{Name: "cut", Type: "limit_data", Stream: "downstream", Toxicity: 1,
		Attributes: map[string]any{"bytes": 300}}); err != nil {
		t.Fatal(err)
	}
	hc := faults.NewHTTPClient(nil)
	for _, target := range []string{"DynamoDB_20120810.UpdateItem", "DynamoDB_20120810.GetItem"} {
		req, _ := http.NewRequest(http.MethodPost, p.URL(), strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", target)
		resp, err := hc.Do(req)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Fatalf("%s: the reply was not cut", target)
		}
	}
	if sent, lost := hc.Writes(); sent != 1 || lost != 1 || reached.Load() != 2 {
		t.Fatalf("%d writes sent, %d lost, %d requests reached the server; want 1, 1, 2", sent, lost, reached.Load())
	}
	if got := p.Switched()["limit_data"]; got != 1 {
		t.Fatalf("Switched = %v", p.Switched())
	}
	if err := p.Remove("cut"); err != nil {
		t.Fatal(err)
	}
}

func TestTxErrors(t *testing.T) {
	f := faults.NewTxErrors(1, 1, 5)
	var e *faults.TxError
	if err := f.Hook(true, false); !errors.As(err, &e) || e.AtCommit {
		t.Fatalf("before the transaction: %v", err)
	}
	if err := f.Hook(true, true); !errors.As(err, &e) || !e.AtCommit {
		t.Fatalf("at commit: %v", err)
	}
	f.Pause()
	if err := f.Hook(true, true); err != nil {
		t.Fatalf("paused: %v", err)
	}
	if b, c := f.Counts(); b != 1 || c != 1 {
		t.Fatalf("counts %d, %d", b, c)
	}
}
