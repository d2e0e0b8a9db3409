package dynamo

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesame-ecole/sesame"
)

// A base's users, profiles and import jobs share its partition
// BASE#<uai>#<year>. The three kinds are written the same way:
//   - created with Transact[ConditionCheck the base exists; Put if absent];
//   - updated with a Put conditional on the version read, which tells a
//     missing item (ErrNotFound) from a stale version (ErrConflict) through
//     the item returned when the condition fails.

func userName(login string) string { return "L'utilisateur « " + login + " »" }
func profileName(id string) string { return "Le profil « " + id + " »" }
func importName(id string) string  { return "L'import « " + id + " »" }
func userSK(login string) string   { return prefixUser + sesame.LoginKey(login) }
func profileSK(id string) string   { return prefixProfile + id }
func importSK(id string) string    { return prefixImport + id }
func contentKey(k sesame.BaseKey, sk string) map[string]types.AttributeValue {
	return key(contentPK(k), sk)
}

// createIn writes record into base k if the base exists and the item does
// not. what names the item in errors.
func (s *Store) createIn(ctx context.Context, k sesame.BaseKey, record any, what string) error {
	return s.createUnder(ctx, baseKey(k), record, sesame.NotFound(baseName(k)), sesame.Exists(what))
}

// getIn reads item sk of base k into out.
func (s *Store) getIn(ctx context.Context, k sesame.BaseKey, sk string, out any, what string) error {
	ok, err := s.get(ctx, contentKey(k, sk), out)
	if err == nil && !ok {
		return sesame.NotFound(what)
	}
	return err
}

// replaceIn writes record over the stored item provided its version is
// version.
func (s *Store) replaceIn(ctx context.Context, record any, version int64, what string) error {
	item, err := attributevalue.MarshalMap(record)
	if err != nil {
		return fmt.Errorf("dynamo: encoding item: %w", err)
	}
	e, err := condOnly(itemExists().And(expression.Name("version").Equal(expression.Value(version))))
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	if old, ok := conditionFailed(err); ok {
		if len(old) == 0 {
			return sesame.NotFound(what)
		}
		return sesame.Conflict(what)
	}
	return err
}

// CreateUser adds u with version 1.
func (s *Store) CreateUser(ctx context.Context, k sesame.BaseKey, u sesame.User) error {
	if u.Key() == "" {
		return fmt.Errorf("create user in %s: %w", k, sesame.Invalid("login", "L'identifiant est obligatoire."))
	}
	u.Version = 1
	if err := s.createIn(ctx, k, newUserRecord(k, u), userName(u.Login)); err != nil {
		return fmt.Errorf("create user %s in %s: %w", u.Key(), k, err)
	}
	return nil
}

// GetUser returns the user whose login key is login's.
func (s *Store) GetUser(ctx context.Context, k sesame.BaseKey, login string) (sesame.User, error) {
	var r userRecord
	if err := s.getIn(ctx, k, userSK(login), &r, userName(login)); err != nil {
		return sesame.User{}, fmt.Errorf("get user %s in %s: %w", sesame.LoginKey(login), k, err)
	}
	u, err := r.domain()
	if err != nil {
		return sesame.User{}, fmt.Errorf("get user %s in %s: %w", sesame.LoginKey(login), k, err)
	}
	return u, nil
}

// UpdateUser writes u over the stored user of version u.Version.
func (s *Store) UpdateUser(ctx context.Context, k sesame.BaseKey, u sesame.User) (sesame.User, error) {
	next := u
	next.Version = u.Version + 1
	if err := s.replaceIn(ctx, newUserRecord(k, next), u.Version, userName(u.Login)); err != nil {
		return sesame.User{}, fmt.Errorf("update user %s in %s: %w", u.Key(), k, err)
	}
	return next, nil
}

// ListUsers returns a page of users in login-key order: a Query of the
// base's partition on begins_with(SK, "USER#"+prefix), started after the
// cursor, filtered on the kind, the membership and the search words (each
// folded word contained in the item's search attribute, which holds
// sesame.User.SearchText). sesame.User.Matches has the last word on every
// item, so the result is exactly the domain's; a user written before the
// search attribute existed passes the search filter and is judged by
// Matches alone. A filter shrinks pages, so it reads on until it has one
// user more than the page (which tells whether a next page exists) or the
// users run out.
func (s *Store) ListUsers(ctx context.Context, k sesame.BaseKey, q sesame.UserQuery) (sesame.UserPage, error) {
	fail := func(err error) (sesame.UserPage, error) {
		return sesame.UserPage{}, fmt.Errorf("list users of %s: %w", k, err)
	}
	size := q.PageSize()
	prefix := prefixUser + strings.ToLower(q.Prefix)
	page := sesame.UserPage{Users: []sesame.User{}}
	var start map[string]types.AttributeValue
	if q.After != "" {
		after := prefixUser + q.After
		switch {
		case after < prefix:
			// The cursor is before the prefix's range: start at its beginning.
		case strings.HasPrefix(after, prefix):
			start = contentKey(k, after)
		default:
			return page, nil // past the range: nothing after it
		}
	}
	b := expression.NewBuilder().WithKeyCondition(
		expression.Key(attrPK).Equal(expression.Value(contentPK(k))).And(expression.Key(attrSK).BeginsWith(prefix)))
	filters := userFilters(q)
	if f, ok := allOf(filters); ok {
		b = b.WithFilter(f)
	}
	e, err := build(b)
	if err != nil {
		return fail(err)
	}
	in := &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: e.KeyCondition(),
		FilterExpression: e.Filter(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ConsistentRead: aws.Bool(true), ExclusiveStartKey: start}
	var users []sesame.User
	err = s.queryPages(ctx, in, size+1, len(filters) > 0, func(item map[string]types.AttributeValue) (bool, error) {
		var r userRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return false, fmt.Errorf("dynamo: decoding user: %w", err)
		}
		u, err := r.domain()
		if err != nil {
			return false, err
		}
		if u.Matches(q) {
			users = append(users, u)
		}
		return len(users) > size, nil
	})
	if err != nil {
		return fail(err)
	}
	if len(users) > size {
		users = users[:size]
		page.Next = users[size-1].Key()
	}
	page.Users = append(page.Users, users...)
	return page, nil
}

// userFilters returns the filter conditions of q besides its prefix (which
// the key condition takes): what sesame.User.Matches checks, in DynamoDB's
// terms.
func userFilters(q sesame.UserQuery) []expression.ConditionBuilder {
	var fs []expression.ConditionBuilder
	if q.Kind != "" {
		fs = append(fs, expression.Name("kind").Equal(expression.Value(string(q.Kind))))
	}
	if q.Member != "" {
		fs = append(fs, expression.Name("adminGroup").Equal(expression.Value(q.Member)).
			Or(expression.Name("profile").Equal(expression.Value(q.Member))))
	}
	var words []expression.ConditionBuilder
	for _, w := range strings.Fields(sesame.Fold(q.Search)) {
		words = append(words, expression.Contains(expression.Name("search"), w))
	}
	if all, ok := allOf(words); ok {
		fs = append(fs, expression.AttributeNotExists(expression.Name("search")).Or(all))
	}
	return fs
}

// CreateProfile adds p with version 1.
func (s *Store) CreateProfile(ctx context.Context, k sesame.BaseKey, p sesame.Profile) error {
	if p.ID == "" {
		return fmt.Errorf("create profile in %s: %w", k, sesame.Invalid("id", "L'identifiant du profil est obligatoire."))
	}
	p.Version = 1
	if err := s.createIn(ctx, k, newProfileRecord(k, p), profileName(p.ID)); err != nil {
		return fmt.Errorf("create profile %s in %s: %w", p.ID, k, err)
	}
	return nil
}

// GetProfile returns a profile.
func (s *Store) GetProfile(ctx context.Context, k sesame.BaseKey, id string) (sesame.Profile, error) {
	var r profileRecord
	if err := s.getIn(ctx, k, profileSK(id), &r, profileName(id)); err != nil {
		return sesame.Profile{}, fmt.Errorf("get profile %s in %s: %w", id, k, err)
	}
	p, err := r.domain()
	if err != nil {
		return sesame.Profile{}, fmt.Errorf("get profile %s in %s: %w", id, k, err)
	}
	return p, nil
}

// UpdateProfile writes p over the stored profile of version p.Version.
func (s *Store) UpdateProfile(ctx context.Context, k sesame.BaseKey, p sesame.Profile) (sesame.Profile, error) {
	next := p
	next.Version = p.Version + 1
	if err := s.replaceIn(ctx, newProfileRecord(k, next), p.Version, profileName(p.ID)); err != nil {
		return sesame.Profile{}, fmt.Errorf("update profile %s in %s: %w", p.ID, k, err)
	}
	return next, nil
}

// ListProfiles returns the base's profiles, as SortProfiles orders them.
func (s *Store) ListProfiles(ctx context.Context, k sesame.BaseKey) ([]sesame.Profile, error) {
	out := []sesame.Profile{}
	err := s.queryAll(ctx, contentPK(k), prefixProfile, func(item map[string]types.AttributeValue) error {
		var r profileRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return err
		}
		p, err := r.domain()
		if err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list profiles of %s: %w", k, err)
	}
	sesame.SortProfiles(out)
	return out, nil
}

// DeleteProfile removes profile id with a DeleteItem conditional on its
// version, which tells a missing profile (ErrNotFound) from a stale
// version (ErrConflict) through the item returned when the condition
// fails.
func (s *Store) DeleteProfile(ctx context.Context, k sesame.BaseKey, id string, version int64) error {
	if err := s.deleteVersioned(ctx, contentKey(k, profileSK(id)), version, profileName(id)); err != nil {
		return fmt.Errorf("delete profile %s in %s: %w", id, k, err)
	}
	return nil
}

// CreateImport records a new import job with version 1.
func (s *Store) CreateImport(ctx context.Context, k sesame.BaseKey, j sesame.ImportJob) error {
	fail := func(err error) error { return fmt.Errorf("create import %s in %s: %w", j.ID, k, err) }
	if j.ID == "" {
		return fail(sesame.Invalid("id", "L'identifiant de l'import est obligatoire."))
	}
	j.Version = 1
	r, err := newImportRecord(k, j)
	if err != nil {
		return fail(err)
	}
	if err := s.createIn(ctx, k, r, importName(j.ID)); err != nil {
		return fail(err)
	}
	return nil
}

// GetImport returns an import job.
func (s *Store) GetImport(ctx context.Context, k sesame.BaseKey, id string) (sesame.ImportJob, error) {
	var r importRecord
	if err := s.getIn(ctx, k, importSK(id), &r, importName(id)); err != nil {
		return sesame.ImportJob{}, fmt.Errorf("get import %s in %s: %w", id, k, err)
	}
	j, err := r.domain()
	if err != nil {
		return sesame.ImportJob{}, fmt.Errorf("get import %s in %s: %w", id, k, err)
	}
	return j, nil
}

// UpdateImport writes j over the stored job of version j.Version.
func (s *Store) UpdateImport(ctx context.Context, k sesame.BaseKey, j sesame.ImportJob) (sesame.ImportJob, error) {
	fail := func(err error) (sesame.ImportJob, error) {
		return sesame.ImportJob{}, fmt.Errorf("update import %s in %s: %w", j.ID, k, err)
	}
	next := j
	next.Version = j.Version + 1
	r, err := newImportRecord(k, next)
	if err != nil {
		return fail(err)
	}
	if err := s.replaceIn(ctx, r, j.Version, importName(j.ID)); err != nil {
		return fail(err)
	}
	return next, nil
}
