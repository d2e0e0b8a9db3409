package dynamo_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/storetest"
)

// BenchmarkRawConditionalUpdate measures the bare rate of conditional
// writes on DynamoDB Local, the yardstick of BenchmarkSeats: 32 clients
// in parallel, each doing UpdateItem "ADD n 1" on condition
// "attribute_not_exists(n) OR n < huge" on one of 8×4 items (8 partitions
// of 4 items, like 8 pools of 4 seats). One op is one UpdateItem.
func BenchmarkRawConditionalUpdate(b *testing.B) {
	r := newRaw(b)
	r.run(b, func(ctx context.Context, n int) error {
		_, err := r.client.UpdateItem(ctx, r.update(n, 0))
		return err
	})
}

// BenchmarkRawRequests is the cost of each kind of request a seat takes,
// against the bare conditional UpdateItem in the same run, on the items
// and with the clients of BenchmarkRawConditionalUpdate: a GetItem, and a
// TransactWriteItems of that update on 1, 2 and 3 items of one partition.
// It says what any way of taking and giving back a seat can reach: each
// op reports its rate and its cost in bare updates (update-equivalents).
// Everything runs twice; the first round warms DynamoDB Local's JVM and
// is not reported.
func BenchmarkRawRequests(b *testing.B) {
	r := newRaw(b)
	ops := []struct {
		name string
		do   func(context.Context, int) error
	}{
		{"update", func(ctx context.Context, n int) error {
			_, err := r.client.UpdateItem(ctx, r.update(n, 0))
			return err
		}},
		{"get", func(ctx context.Context, n int) error {
			_, err := r.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &r.table, Key: r.key(n, 0)})
			return err
		}},
		{"put", func(ctx context.Context, n int) error {
			_, err := r.client.PutItem(ctx, r.put(n, int(r.created.Add(1))))
			return err
		}},
	}
	for items := 1; items <= 3; items++ {
		ops = append(ops, struct {
			name string
			do   func(context.Context, int) error
		}{fmt.Sprintf("transact%d", items), func(ctx context.Context, n int) error {
			var tx []types.TransactWriteItem
			for i := range items {
				u := r.update(n, i)
				tx = append(tx, types.TransactWriteItem{Update: &types.Update{TableName: u.TableName, Key: u.Key,
					UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
					ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues}})
			}
			_, err := r.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
			return err
		}})
	}
	cost := map[string]float64{} // updates each, the measured round
	for _, warm := range []bool{true, false} {
		var update float64 // ns of one bare update, this round
		for _, op := range ops {
			name := op.name
			if warm {
				name = "warmup-" + name
			}
			b.Run(name, func(b *testing.B) {
				r.run(b, op.do)
				ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				if op.name == "update" {
					update = ns
				}
				b.ReportMetric(ns/update, "updates/op")
				if !warm {
					cost[op.name] = ns / update
				}
			})
		}
	}
	// The floor of any seat model that keeps a session's record in an
	// item of its own (see BENCHMARKS.md), no read counted: taking a seat
	// writes the new session and the pool's seat state, in one transaction
	// of two items or in two single writes, whichever is cheaper; giving
	// it back writes both again (best-ratio), or, at the very least, the
	// session's end alone, the seat's release left free (bound).
	open := min(cost["transact2"], cost["put"]+cost["update"])
	end := min(cost["transact2"], 2*cost["update"])
	b.Run("floor", func(b *testing.B) {
		b.ReportMetric(open, "open-updates")
		b.ReportMetric(end, "end-updates")
		b.ReportMetric(1/(open+end), "best-ratio")
		b.ReportMetric(1/(open+cost["update"]), "bound")
	})
}

// raw is the table, items and condition of the raw benchmarks.
type raw struct {
	client  *dynamodb.Client
	table   string
	e       expression.Expression
	created atomic.Int64 // items put so far
}

const rawPartitions, rawItems, rawClients = 8, 4, 32

func newRaw(b *testing.B) *raw {
	client, table := dynamolocal.NewTable(b)
	e, err := expression.NewBuilder().
		WithUpdate(expression.Add(expression.Name("n"), expression.Value(1))).
		WithCondition(expression.AttributeNotExists(expression.Name("n")).
			Or(expression.Name("n").LessThan(expression.Value(1 << 60)))).
		Build()
	if err != nil {
		b.Fatal(err)
	}
	return &raw{client: client, table: table, e: e}
}

// key is the key of op n's item: partition n mod 8, item n mod 4, or,
// for the i-th item of a transaction, another item of that partition.
func (r *raw) key(n, i int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: fmt.Sprintf("BENCH#%d", n%rawPartitions)},
		"SK": &types.AttributeValueMemberS{Value: fmt.Sprintf("ITEM#%d", (n+i)%rawItems+rawItems*i)},
	}
}

// put is the PutItem of new item number c in op n's partition, on
// condition that it does not exist yet (as a session is created).
func (r *raw) put(n, c int) *dynamodb.PutItemInput {
	item := r.key(n, 0)
	item["SK"] = &types.AttributeValueMemberS{Value: fmt.Sprintf("NEW#%d", c)}
	item["n"] = &types.AttributeValueMemberN{Value: "1"}
	return &dynamodb.PutItemInput{TableName: &r.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}
}

func (r *raw) update(n, i int) *dynamodb.UpdateItemInput {
	return &dynamodb.UpdateItemInput{TableName: &r.table, Key: r.key(n, i),
		UpdateExpression: r.e.Update(), ConditionExpression: r.e.Condition(),
		ExpressionAttributeNames: r.e.Names(), ExpressionAttributeValues: r.e.Values()}
}

// run runs op from 32 clients in parallel, op n being the n-th of all,
// and reports the rate.
func (r *raw) run(b *testing.B, op func(context.Context, int) error) {
	var next atomic.Int64
	b.SetParallelism(max(1, rawClients/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := op(ctx, int(next.Add(1))); err != nil {
				b.Errorf("%v", err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}

// BenchmarkListUsers is the shared listing benchmark (one page of 50 of a
// base of 10,000 users: unfiltered, by login prefix, by a name borne by 1%
// of the users, by a name borne by one) on DynamoDB Local.
func BenchmarkListUsers(b *testing.B) {
	st, _, _ := open(b)
	storetest.BenchListUsers(b, st)
}
