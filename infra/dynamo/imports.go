package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesame-ecole/sesame"
)

// putWith is a transaction's Put of record on condition c.
func (s *Store) putWith(record any, c expression.ConditionBuilder) (*types.Put, error) {
	item, err := attributevalue.MarshalMap(record)
	if err != nil {
		return nil, fmt.Errorf("dynamo: encoding item: %w", err)
	}
	e, err := condOnly(c)
	if err != nil {
		return nil, err
	}
	return &types.Put{TableName: &s.table, Item: item, ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}, nil
}

// versionIs is the condition that an item exists at version v (missing
// when v is 0).
func versionIs(v int64) expression.ConditionBuilder {
	if v == 0 {
		return itemMissing()
	}
	return itemExists().And(expression.Name("version").Equal(expression.Value(v)))
}

// WriteImport applies ws and the job j in one transaction: a Put per
// write, conditional on absence or on the version, and the job's Put on
// its version. The cancellation reasons name the failed conditions.
func (s *Store) WriteImport(ctx context.Context, k sesame.BaseKey, ws []sesame.ImportWrite, j sesame.ImportJob) (sesame.ImportJob, error) {
	fail := func(err error) (sesame.ImportJob, error) {
		return sesame.ImportJob{}, fmt.Errorf("write import %s in %s: %w", j.ID, k, err)
	}
	if len(ws) > sesame.MaxImportWrites {
		return fail(sesame.Invalid("writes", "Trop d'écritures en une étape (%d, au plus %d).", len(ws), sesame.MaxImportWrites))
	}
	items := make([]types.TransactWriteItem, 0, len(ws)+1)
	for _, w := range ws {
		var (
			record any
			cond   expression.ConditionBuilder
		)
		switch {
		case w.User != nil:
			u := *w.User
			cond = versionIs(u.Version)
			if w.Create {
				cond = versionIs(0)
			}
			if w.Create {
				u.Version = 1
			} else {
				u.Version++
			}
			record = newUserRecord(k, u)
		case w.Profile != nil:
			p := *w.Profile
			cond = versionIs(p.Version)
			if w.Create {
				cond = versionIs(0)
			}
			if w.Create {
				p.Version = 1
			} else {
				p.Version++
			}
			record = newProfileRecord(k, p)
		default:
			return fail(sesame.Invalid("writes", "Une écriture ne porte ni utilisateur ni profil."))
		}
		put, err := s.putWith(record, cond)
		if err != nil {
			return fail(err)
		}
		items = append(items, types.TransactWriteItem{Put: put})
	}
	next := j
	next.Version = j.Version + 1
	r, err := newImportRecord(k, next)
	if err != nil {
		return fail(err)
	}
	put, err := s.putWith(r, versionIs(j.Version))
	if err != nil {
		return fail(err)
	}
	items = append(items, types.TransactWriteItem{Put: put})
	for attempt := 0; ; attempt++ {
		err = s.transact(ctx, items)
		if err == nil {
			return next, nil
		}
		codes, ok := cancelled(err, len(items))
		if ok {
			conflict := &sesame.WriteConflict{}
			for i := range ws {
				if failed(codes, i) {
					conflict.Failed = append(conflict.Failed, i)
				}
			}
			conflict.Job = failed(codes, len(ws))
			if conflict.Job || len(conflict.Failed) > 0 {
				return fail(conflict)
			}
		}
		if contended(err, codes) && attempt < s.attempts {
			if err := s.pause(ctx, attempt+1); err != nil {
				return fail(err)
			}
			continue
		}
		return fail(err)
	}
}
