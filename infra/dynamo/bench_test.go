package dynamo_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

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
	const partitions, items, clients = 8, 4, 32
	client, table := dynamolocal.NewTable(b)
	e, err := expression.NewBuilder().
		WithUpdate(expression.Add(expression.Name("n"), expression.Value(1))).
		WithCondition(expression.AttributeNotExists(expression.Name("n")).
			Or(expression.Name("n").LessThan(expression.Value(1 << 60)))).
		Build()
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]map[string]types.AttributeValue, 0, partitions*items)
	for p := range partitions {
		for i := range items {
			keys = append(keys, map[string]types.AttributeValue{
				"PK": &types.AttributeValueMemberS{Value: fmt.Sprintf("BENCH#%d", p)},
				"SK": &types.AttributeValueMemberS{Value: fmt.Sprintf("ITEM#%d", i)},
			})
		}
	}
	var next atomic.Int64
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			k := keys[int(next.Add(1))%len(keys)]
			_, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &table, Key: k,
				UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
				ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()})
			if err != nil {
				b.Errorf("UpdateItem: %v", err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkListUsers is the shared listing benchmark (one page of 50 of a
// base of 10,000 users: unfiltered, by login prefix, by a name borne by 1%
// of the users, by a name borne by one) on DynamoDB Local.
func BenchmarkListUsers(b *testing.B) {
	st, _, _ := open(b)
	storetest.BenchListUsers(b, st)
}
