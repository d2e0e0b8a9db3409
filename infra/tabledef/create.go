package tabledef

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// CreateTableInput returns the CreateTable request for a table with this
// schema and the given name.
func (s *TableSpec) CreateTableInput(tableName string) *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{
		TableName:             aws.String(tableName),
		BillingMode:           types.BillingMode(s.BillingMode),
		KeySchema:             keySchema(s.Key),
		ProvisionedThroughput: s.Throughput.sdk(),
	}
	for _, a := range s.Attributes {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.Name),
			AttributeType: types.ScalarAttributeType(a.Type),
		})
	}
	for _, ix := range s.GlobalIndexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:             aws.String(ix.Name),
			KeySchema:             keySchema(ix.Key),
			Projection:            ix.projection(),
			ProvisionedThroughput: ix.Throughput.sdk(),
		})
	}
	for _, ix := range s.LocalIndexes {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, types.LocalSecondaryIndex{
			IndexName:  aws.String(ix.Name),
			KeySchema:  keySchema(ix.Key),
			Projection: ix.projection(),
		})
	}
	if s.StreamViewType != "" {
		in.StreamSpecification = &types.StreamSpecification{
			StreamEnabled:  aws.Bool(true),
			StreamViewType: types.StreamViewType(s.StreamViewType),
		}
	}
	return in
}

// UpdateTimeToLiveInput returns the request that enables the table's TTL, or
// nil when the template enables none. (CreateTable cannot set a TTL.)
func (s *TableSpec) UpdateTimeToLiveInput(tableName string) *dynamodb.UpdateTimeToLiveInput {
	if s.TTL == nil || !s.TTL.Enabled {
		return nil
	}
	return &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(tableName),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(s.TTL.AttributeName),
			Enabled:       aws.Bool(true),
		},
	}
}

// API is the part of the DynamoDB client that [Create] and [Exists] use;
// *dynamodb.Client implements it.
type API interface {
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(context.Context, *dynamodb.UpdateTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// MaxCreateWait bounds how long [Create] waits for a new table to become ACTIVE.
const MaxCreateWait = 5 * time.Minute

// Create creates the table tableName with this schema, waits until it is
// ACTIVE, then enables its TTL if the template does. If the table already
// exists, the error wraps *types.ResourceInUseException and nothing is changed.
func Create(ctx context.Context, api API, spec *TableSpec, tableName string) error {
	if _, err := api.CreateTable(ctx, spec.CreateTableInput(tableName)); err != nil {
		return fmt.Errorf("tabledef: creating table %s: %w", tableName, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(api, func(o *dynamodb.TableExistsWaiterOptions) {
		// The defaults (20 s to 120 s between polls) suit CloudFormation, not
		// tests: DynamoDB Local answers ACTIVE at once, DynamoDB in seconds.
		o.MinDelay = 200 * time.Millisecond
		o.MaxDelay = 5 * time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tableName)}, MaxCreateWait); err != nil {
		return fmt.Errorf("tabledef: waiting for table %s to become ACTIVE: %w", tableName, err)
	}
	if in := spec.UpdateTimeToLiveInput(tableName); in != nil {
		// DynamoDB Local supports UpdateTimeToLive (it even deletes expired
		// items), so any error here is a real one.
		if _, err := api.UpdateTimeToLive(ctx, in); err != nil {
			return fmt.Errorf("tabledef: enabling TTL on %s: %w", tableName, err)
		}
	}
	return nil
}

// Exists reports whether the table tableName exists.
func Exists(ctx context.Context, api API, tableName string) (bool, error) {
	_, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tableName)})
	var notFound *types.ResourceNotFoundException
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &notFound):
		return false, nil
	default:
		return false, fmt.Errorf("tabledef: describing table %s: %w", tableName, err)
	}
}

func keySchema(k Key) []types.KeySchemaElement {
	ks := []types.KeySchemaElement{{AttributeName: aws.String(k.Hash), KeyType: types.KeyTypeHash}}
	if k.Range != "" {
		ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(k.Range), KeyType: types.KeyTypeRange})
	}
	return ks
}

func (ix Index) projection() *types.Projection {
	p := &types.Projection{ProjectionType: types.ProjectionType(ix.ProjectionType)}
	if len(ix.NonKeyAttributes) > 0 {
		p.NonKeyAttributes = append([]string(nil), ix.NonKeyAttributes...)
	}
	return p
}

func (t *Throughput) sdk() *types.ProvisionedThroughput {
	if t == nil {
		return nil
	}
	return &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(t.Read), WriteCapacityUnits: aws.Int64(t.Write)}
}
