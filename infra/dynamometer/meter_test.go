package dynamometer_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/dynamometer"
)

// TestMeterCountsByOperation sends requests through the meter to DynamoDB
// Local, as two callers, and reads back what each operation cost.
func TestMeterCountsByOperation(t *testing.T) {
	_, table := dynamolocal.NewTable(t)
	m, err := dynamometer.Start(dynamolocal.Endpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	a, b := dynamolocal.Client(m.Endpoint("a")), dynamolocal.Client(m.Endpoint("b"))
	key := map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "X"}, "SK": &types.AttributeValueMemberS{Value: "Y"}}
	put := func(c *dynamodb.Client) error {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: key, ConditionExpression: aws.String("attribute_not_exists(PK)")})
		return err
	}

	done := m.Serving("a", "write")
	if err := put(a); err != nil {
		t.Fatal(err)
	}
	var ccf *types.ConditionalCheckFailedException
	if err := put(a); !errors.As(err, &ccf) {
		t.Fatalf("second put: %v, want a failed condition", err)
	}
	done()
	before, err := dynamometer.Read(ctx, http.DefaultClient, m.URL)
	if err != nil {
		t.Fatal(err)
	}
	done = m.Serving("b", "read")
	for range 3 {
		if _, err := b.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key}); err != nil {
			t.Fatal(err)
		}
	}
	done()
	if _, err := a.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key}); err != nil {
		t.Fatal(err)
	}
	after, err := dynamometer.Read(ctx, http.DefaultClient, m.URL)
	if err != nil {
		t.Fatal(err)
	}
	if w := before["write"]; w.Invocations != 1 || w.Total != 2 || w.Requests["PutItem"] != 2 || w.ConditionsFailed != 1 || w.Conflicts != 0 {
		t.Errorf("write = %+v, want 1 invocation, 2 PutItem, 1 failed condition", w)
	}
	d := dynamometer.Diff(after, before)
	if _, ok := d["write"]; ok || len(d) != 2 {
		t.Errorf("diff = %+v, want read and the unattributed GetItem only", d)
	}
	if r := d["read"]; r.Invocations != 1 || r.Total != 3 || r.Requests["GetItem"] != 3 {
		t.Errorf("read = %+v, want 1 invocation, 3 GetItem", r)
	}
	if u := d[dynamometer.Unattributed]; u.Total != 1 || u.Requests["GetItem"] != 1 {
		t.Errorf("unattributed = %+v, want 1 GetItem", u)
	}
}
