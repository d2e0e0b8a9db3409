package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesame-ecole/sesame"
)

// What the French messages call the items.
func schoolName(uai sesame.UAI) string { return "L'établissement « " + string(uai) + " »" }
func baseName(k sesame.BaseKey) string {
	return "La base " + string(k.Year) + " de l'établissement « " + string(k.UAI) + " »"
}

// CreateBase creates the base, its content and, when it is new, the school,
// in one transaction (at most 100 items: the base, the school and 98
// profiles and users).
func (s *Store) CreateBase(ctx context.Context, sc sesame.School, b sesame.Base, c sesame.BaseContent) error {
	fail := func(err error) error { return fmt.Errorf("create base %s: %w", b.BaseKey, err) }
	if sc.UAI != b.UAI {
		return fail(sesame.Invalid("uai", "La base (%s) et l'établissement (%s) ne correspondent pas.", b.UAI, sc.UAI))
	}
	if b.UAI == "" || b.Year == "" {
		return fail(sesame.Invalid("base", "Le code établissement et l'année de la base sont obligatoires."))
	}
	if n := 2 + len(c.Profiles) + len(c.Users); n > maxTransactItems {
		return fail(sesame.Invalid("content", "Une nouvelle base ne peut pas compter plus de %d profils et utilisateurs (ici %d) : ajoutez les autres ensuite.",
			maxTransactItems-2, n-2))
	}
	seen := map[string]bool{}
	var content []types.TransactWriteItem
	var names []string // what each content item is, for ErrExists
	for _, p := range c.Profiles {
		if p.ID == "" || seen[prefixProfile+p.ID] {
			return fail(sesame.Invalid("profiles", "Le profil « %s » est vide ou en double.", p.ID))
		}
		seen[prefixProfile+p.ID] = true
		p.Version = 1
		put, err := s.putNew(newProfileRecord(b.BaseKey, p))
		if err != nil {
			return fail(err)
		}
		content = append(content, types.TransactWriteItem{Put: put})
		names = append(names, "Le profil « "+p.ID+" »")
	}
	for _, u := range c.Users {
		if u.Key() == "" || seen[prefixUser+u.Key()] {
			return fail(sesame.Invalid("users", "L'identifiant « %s » est vide ou en double.", u.Login))
		}
		seen[prefixUser+u.Key()] = true
		u.Version = 1
		put, err := s.putNew(newUserRecord(b.BaseKey, u))
		if err != nil {
			return fail(err)
		}
		content = append(content, types.TransactWriteItem{Put: put})
		names = append(names, "L'utilisateur « "+u.Login+" »")
	}
	if b.Version < 1 {
		b.Version = 1
	}
	basePut, err := s.putNew(newBaseRecord(b))
	if err != nil {
		return fail(err)
	}

	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			if err := s.pause(ctx, attempt); err != nil {
				return fail(err)
			}
		}
		// An existing school is left as it is; a new one gets this year.
		var cur schoolRecord
		exists, err := s.get(ctx, key(schoolPK(sc.UAI), skSchool), &cur)
		if err != nil {
			return fail(err)
		}
		var school types.TransactWriteItem
		if exists {
			cc, err := s.conditionCheck(key(schoolPK(sc.UAI), skSchool), itemExists())
			if err != nil {
				return fail(err)
			}
			school.ConditionCheck = cc
		} else {
			put, err := s.putNew(newSchoolRecord(sesame.School{UAI: sc.UAI, Name: sc.Name, CurrentYear: b.Year}))
			if err != nil {
				return fail(err)
			}
			school.Put = put
		}
		items := append([]types.TransactWriteItem{school, {Put: basePut}}, content...)
		err = s.transact(ctx, items)
		if err == nil {
			return nil
		}
		codes, ok := cancelled(err, len(items))
		switch {
		case ok && failed(codes, 1):
			return fail(sesame.Exists(baseName(b.BaseKey)))
		case ok && failed(codes, 0), contended(err, codes):
			continue // the school appeared (or vanished) meanwhile: look again
		case ok:
			for i := range content {
				if failed(codes, 2+i) {
					return fail(sesame.Exists(names[i]))
				}
			}
		}
		return fail(err)
	}
	return fail(errGaveUp)
}

// GetSchool returns the school.
func (s *Store) GetSchool(ctx context.Context, uai sesame.UAI) (sesame.School, error) {
	var r schoolRecord
	ok, err := s.get(ctx, key(schoolPK(uai), skSchool), &r)
	switch {
	case err != nil:
		return sesame.School{}, fmt.Errorf("get school %s: %w", uai, err)
	case !ok:
		return sesame.School{}, fmt.Errorf("get school %s: %w", uai, sesame.NotFound(schoolName(uai)))
	}
	return r.domain(), nil
}

// SetCurrentYear points the school at the base of k.Year, provided it
// exists, in one transaction.
func (s *Store) SetCurrentYear(ctx context.Context, k sesame.BaseKey) error {
	fail := func(err error) error { return fmt.Errorf("set current year %s: %w", k, err) }
	check, err := s.conditionCheck(baseKey(k), itemExists())
	if err != nil {
		return fail(err)
	}
	exists := itemExists()
	upd, err := s.update(key(schoolPK(k.UAI), skSchool),
		expression.Set(expression.Name("currentYear"), expression.Value(string(k.Year))), &exists)
	if err != nil {
		return fail(err)
	}
	for attempt := 0; ; attempt++ {
		err = s.transact(ctx, []types.TransactWriteItem{{ConditionCheck: check}, {Update: upd}})
		if err == nil {
			return nil
		}
		codes, ok := cancelled(err, 2)
		switch {
		case ok && failed(codes, 0):
			return fail(sesame.NotFound(baseName(k)))
		case ok && failed(codes, 1):
			return fail(sesame.NotFound(schoolName(k.UAI)))
		case contended(err, codes) && attempt < 5:
			if err := s.pause(ctx, attempt+1); err != nil {
				return fail(err)
			}
			continue
		}
		return fail(err)
	}
}

// GetBase returns a base.
func (s *Store) GetBase(ctx context.Context, k sesame.BaseKey) (sesame.Base, error) {
	var r baseRecord
	ok, err := s.get(ctx, baseKey(k), &r)
	if err == nil && !ok {
		err = sesame.NotFound(baseName(k))
	}
	if err != nil {
		return sesame.Base{}, fmt.Errorf("get base %s: %w", k, err)
	}
	b, err := r.domain()
	if err != nil {
		return sesame.Base{}, fmt.Errorf("get base %s: %w", k, err)
	}
	return b, nil
}

// ListBases returns the school's bases, oldest year first: one Query of
// the school's partition.
func (s *Store) ListBases(ctx context.Context, uai sesame.UAI) ([]sesame.Base, error) {
	out := []sesame.Base{}
	err := s.queryAll(ctx, schoolPK(uai), prefixBase, func(item map[string]types.AttributeValue) error {
		var r baseRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return err
		}
		b, err := r.domain()
		if err != nil {
			return err
		}
		out = append(out, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list bases of %s: %w", uai, err)
	}
	return out, nil
}

// SetLicense replaces the licence with one conditional update that bumps
// the version, once, even when its answer was lost and it was sent again.
func (s *Store) SetLicense(ctx context.Context, k sesame.BaseKey, l sesame.License, now time.Time) (sesame.Base, error) {
	fail := func(err error) (sesame.Base, error) {
		return sesame.Base{}, fmt.Errorf("set licence of %s: %w", k, err)
	}
	// The call's token makes the write land once: sent again (by the SDK
	// or by updateAgain) after its answer was lost, it fails its condition,
	// and the base read then bears the token.
	token := s.randomToken()
	by := expression.Name("licenseBy")
	e, err := build(expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name("license"), expression.Value(newLicenseRecord(l))).
			Set(expression.Name("updatedAt"), expression.Value(fmtTime(now))).
			Set(by, expression.Value(token)).
			Add(expression.Name("version"), expression.Value(1))).
		WithCondition(itemExists().And(expression.AttributeNotExists(by).Or(by.NotEqual(expression.Value(token))))))
	if err != nil {
		return fail(err)
	}
	out, err := s.updateAgain(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: baseKey(k),
		UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ReturnValues: types.ReturnValueAllNew})
	var r baseRecord
	switch _, failed := conditionFailed(err); {
	case err == nil:
		err = attributevalue.UnmarshalMap(out.Attributes, &r)
	case failed:
		found, gerr := s.get(ctx, baseKey(k), &r)
		switch {
		case gerr != nil:
			return fail(gerr)
		case !found:
			return fail(sesame.NotFound(baseName(k)))
		case r.LicenseBy != token:
			return fail(fmt.Errorf("dynamo: the licence's write failed its condition without landing"))
		}
		err = nil // an earlier try landed (ours, or the SDK's)
	}
	if err != nil {
		return fail(err)
	}
	b, err := r.domain()
	if err != nil {
		return fail(err)
	}
	return b, nil
}

// queryAll runs a strongly consistent Query of partition pk for the sort
// keys that begin with prefix, page after page, and gives each item to fn.
func (s *Store) queryAll(ctx context.Context, pk, prefix string, fn func(map[string]types.AttributeValue) error) error {
	e, err := build(expression.NewBuilder().WithKeyCondition(
		expression.Key(attrPK).Equal(expression.Value(pk)).And(expression.Key(attrSK).BeginsWith(prefix))))
	if err != nil {
		return err
	}
	in := &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: e.KeyCondition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(), ConsistentRead: aws.Bool(true)}
	for {
		var out *dynamodb.QueryOutput
		err := s.read(ctx, func() (err error) {
			out, err = s.db.Query(ctx, in)
			return err
		})
		if err != nil {
			return err
		}
		for _, item := range out.Items {
			if err := fn(item); err != nil {
				return fmt.Errorf("dynamo: decoding item: %w", err)
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// MarkLegacyHashes sets the base's legacyHashes flag and raises its
// legacyCost, leaving its version: one UpdateItem conditional on the base
// and on a lower cost; a failed condition is told apart by reading the base.
func (s *Store) MarkLegacyHashes(ctx context.Context, k sesame.BaseKey, cost int) error {
	c := expression.Name("legacyCost")
	e, err := build(expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name("legacyHashes"), expression.Value(true)).Set(c, expression.Value(cost))).
		WithCondition(itemExists().And(expression.AttributeNotExists(c).Or(c.LessThan(expression.Value(cost))))))
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: baseKey(k),
		UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()})
	if _, ok := conditionFailed(err); ok {
		b, gerr := s.GetBase(ctx, k)
		if gerr != nil {
			return fmt.Errorf("mark legacy hashes of %s: %w", k, gerr)
		}
		if !b.LegacyHashes {
			return fmt.Errorf("mark legacy hashes of %s: %w", k, sesame.Conflict(baseName(k)))
		}
		return nil // a cost as high or higher is already there
	}
	if err != nil {
		return fmt.Errorf("mark legacy hashes of %s: %w", k, err)
	}
	return nil
}
