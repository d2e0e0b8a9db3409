package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesame-ecole/sesame"
)

// Throttling counters and secrets each have their own partition:
// ATTEMPTS#<key> and SECRET#<name>. A counter is collected by the TTL a
// day after its lock or window ends; that is garbage collection only, since
// a counter's window is judged from its times.

var (
	_ sesame.AttemptStore = (*Store)(nil)
	_ sesame.SecretStore  = (*Store)(nil)
)

type attemptsRec struct {
	PK          string `dynamodbav:"PK"`
	SK          string `dynamodbav:"SK"`
	Key         string `dynamodbav:"key"`
	Failures    int    `dynamodbav:"failures"`
	WindowStart int64  `dynamodbav:"windowStart"`
	LockedUntil int64  `dynamodbav:"lockedUntil"`
	Version     int64  `dynamodbav:"version"`
	TTL         int64  `dynamodbav:"ttl"`
}

func attemptsPK(k string) string { return "ATTEMPTS#" + k }

func attemptsKey(k string) map[string]types.AttributeValue { return key(attemptsPK(k), "ATTEMPTS") }

func optNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func optTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// GetAttempts returns the counter under key, or ErrNotFound.
func (s *Store) GetAttempts(ctx context.Context, key string) (sesame.Attempts, error) {
	var r attemptsRec
	ok, err := s.get(ctx, attemptsKey(key), &r)
	if err != nil {
		return sesame.Attempts{}, fmt.Errorf("get attempts: %w", err)
	}
	if !ok {
		return sesame.Attempts{}, sesame.NotFound("Le compteur de tentatives")
	}
	return sesame.Attempts{Key: r.Key, Failures: r.Failures, WindowStart: optTime(r.WindowStart),
		LockedUntil: optTime(r.LockedUntil), Version: r.Version}, nil
}

// PutAttempts writes a if the stored version is a.Version (0: none).
func (s *Store) PutAttempts(ctx context.Context, a sesame.Attempts) (sesame.Attempts, error) {
	end := a.WindowStart.Add(24 * time.Hour)
	if a.LockedUntil.After(end) {
		end = a.LockedUntil
	}
	r := attemptsRec{PK: attemptsPK(a.Key), SK: "ATTEMPTS", Key: a.Key, Failures: a.Failures,
		WindowStart: optNanos(a.WindowStart), LockedUntil: optNanos(a.LockedUntil), Version: a.Version + 1,
		TTL: s.ttlAt(end, 24*time.Hour)}
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return sesame.Attempts{}, fmt.Errorf("dynamo: encoding attempts: %w", err)
	}
	cond := itemMissing()
	if a.Version > 0 {
		cond = expression.Name("version").Equal(expression.Value(a.Version))
	}
	e, err := condOnly(cond)
	if err != nil {
		return sesame.Attempts{}, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()})
	if _, ok := conditionFailed(err); ok {
		return sesame.Attempts{}, sesame.Conflict("Le compteur de tentatives")
	}
	if err != nil {
		return sesame.Attempts{}, fmt.Errorf("put attempts: %w", err)
	}
	a.Version++
	return a, nil
}

// DeleteAttempts forgets the counter under key.
func (s *Store) DeleteAttempts(ctx context.Context, key string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: attemptsKey(key)})
	if err != nil {
		return fmt.Errorf("delete attempts: %w", err)
	}
	return nil
}

type secretRec struct {
	PK    string `dynamodbav:"PK"`
	SK    string `dynamodbav:"SK"`
	Value []byte `dynamodbav:"value"`
}

// Secret returns the secret name, storing fresh first if there is none.
func (s *Store) Secret(ctx context.Context, name string, fresh []byte) ([]byte, error) {
	r := secretRec{PK: "SECRET#" + name, SK: "SECRET", Value: fresh}
	put, err := s.putNew(r)
	if err != nil {
		return nil, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: put.TableName, Item: put.Item,
		ConditionExpression: put.ConditionExpression, ExpressionAttributeNames: put.ExpressionAttributeNames,
		ExpressionAttributeValues: put.ExpressionAttributeValues})
	if err == nil {
		return fresh, nil
	}
	if _, ok := conditionFailed(err); !ok {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	var stored secretRec
	ok, err := s.get(ctx, key(r.PK, r.SK), &stored)
	if err != nil || !ok {
		return nil, fmt.Errorf("secret %s: read after a lost race: %v", name, err)
	}
	return stored.Value, nil
}
