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

// Identity providers, the accounts linked to an identity, and the
// single-use proofs already taken:
//
//	PK                              SK                 item
//	PROVIDERS#<uai>                 PROVIDER#<id>      provider (version; the client secret)
//	SEEN#<uai>#<provider>#<proof>   SEEN               expiresAt (unix ns), token; ttl
//	BASE#<uai>#<year>               USER#<login key>   a user with an ENTID also has
//	                                                   GSI1PK=ENT#<uai>#<year>#<ENTID>,
//	                                                   GSI1SK=USER#<login key>
//
// CreateProvider is Transact[ConditionCheck the school exists; Put if
// absent]; UpdateProvider and DeleteProvider are conditional on the
// version. FindUsersByENTID queries GSI1 and confirms each user with a
// consistent read (the index lags the table). UseAssertion is one PutItem
// on condition "attribute_not_exists(PK) OR expiresAt < :now": a proof is
// taken once while it lives, whatever the TTL sweep has done. The item
// carries a token drawn per call, so that a write the SDK sent again after
// it landed is recognised as this call's own, not taken for a replay.

const (
	prefixProvider = "PROVIDER#"
	skSeen         = "SEEN"
)

func providersPK(uai sesame.UAI) string { return "PROVIDERS#" + string(uai) }
func providerKey(k sesame.ProviderKey) map[string]types.AttributeValue {
	return key(providersPK(k.UAI), prefixProvider+k.ID)
}
func providerName(id string) string { return "Le service de connexion « " + id + " »" }

// entGSI1PK is the GSI1 partition of the users of base k whose ENTID is
// id; "" (no index entry) when id is empty.
func entGSI1PK(k sesame.BaseKey, id string) string {
	if id == "" {
		return ""
	}
	return "ENT#" + string(k.UAI) + "#" + string(k.Year) + "#" + id
}

func entGSI1SK(u sesame.User) string {
	if u.ENTID == "" {
		return ""
	}
	return prefixUser + u.Key()
}

type providerRecord struct {
	PK           string   `dynamodbav:"PK"`
	SK           string   `dynamodbav:"SK"`
	ID           string   `dynamodbav:"id"`
	Protocol     string   `dynamodbav:"protocol"`
	DisplayName  string   `dynamodbav:"displayName"`
	Issuer       string   `dynamodbav:"issuer,omitempty"`
	ClientID     string   `dynamodbav:"clientId,omitempty"`
	ClientSecret string   `dynamodbav:"clientSecret,omitempty"`
	MetadataURL  string   `dynamodbav:"metadataUrl,omitempty"`
	MetadataXML  string   `dynamodbav:"metadataXml,omitempty"`
	CASURL       string   `dynamodbav:"casUrl,omitempty"`
	Claim        string   `dynamodbav:"claim"`
	Kinds        []string `dynamodbav:"kinds"`
	MatchLogin   bool     `dynamodbav:"matchLogin"`
	SingleLogout bool     `dynamodbav:"singleLogout"`
	UpdatedAt    string   `dynamodbav:"updatedAt"`
	Version      int64    `dynamodbav:"version"`
}

func newProviderRecord(uai sesame.UAI, p sesame.IdentityProvider) providerRecord {
	return providerRecord{PK: providersPK(uai), SK: prefixProvider + p.ID, ID: p.ID, Protocol: string(p.Protocol),
		DisplayName: p.DisplayName, Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret.Reveal(),
		MetadataURL: p.MetadataURL, MetadataXML: p.MetadataXML, CASURL: p.CASURL, Claim: p.Claim, Kinds: sesame.KindNames(p.Kinds),
		MatchLogin: p.MatchLogin, SingleLogout: p.SingleLogout, UpdatedAt: fmtTime(p.UpdatedAt), Version: p.Version}
}

func (r providerRecord) domain() (sesame.IdentityProvider, error) {
	updated, err := parseTime(r.UpdatedAt)
	if err != nil {
		return sesame.IdentityProvider{}, err
	}
	return sesame.IdentityProvider{ID: r.ID, Protocol: sesame.Protocol(r.Protocol), DisplayName: r.DisplayName,
		Issuer: r.Issuer, ClientID: r.ClientID, ClientSecret: sesame.Secret(r.ClientSecret), MetadataURL: r.MetadataURL,
		MetadataXML: r.MetadataXML, CASURL: r.CASURL, Claim: r.Claim, Kinds: sesame.KindsNamed(r.Kinds), MatchLogin: r.MatchLogin,
		SingleLogout: r.SingleLogout, UpdatedAt: updated, Version: r.Version}, nil
}

// CreateProvider adds p with version 1 to school uai.
func (s *Store) CreateProvider(ctx context.Context, uai sesame.UAI, p sesame.IdentityProvider) error {
	p.Version = 1
	err := s.createUnder(ctx, key(schoolPK(uai), skSchool), newProviderRecord(uai, p),
		sesame.NotFound("L'établissement "+string(uai)), sesame.Exists(providerName(p.ID)))
	if err != nil {
		return fmt.Errorf("create provider %s of %s: %w", p.ID, uai, err)
	}
	return nil
}

// createUnder writes record if the item parent exists and the record's
// item does not, in one transaction; missing and exists are the answers
// when either condition fails.
func (s *Store) createUnder(ctx context.Context, parent map[string]types.AttributeValue, record any, missing, exists error) error {
	check, err := s.conditionCheck(parent, itemExists())
	if err != nil {
		return err
	}
	put, err := s.putNew(record)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		err = s.transact(ctx, []types.TransactWriteItem{{ConditionCheck: check}, {Put: put}})
		codes, ok := cancelled(err, 2)
		switch {
		case err == nil:
			return nil
		case ok && failed(codes, 0):
			return missing
		case ok && failed(codes, 1):
			return exists
		case contended(err, codes) && attempt < 5:
			if err := s.pause(ctx, attempt+1); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// GetProvider returns the provider.
func (s *Store) GetProvider(ctx context.Context, k sesame.ProviderKey) (sesame.IdentityProvider, error) {
	fail := func(err error) (sesame.IdentityProvider, error) {
		return sesame.IdentityProvider{}, fmt.Errorf("get provider %s of %s: %w", k.ID, k.UAI, err)
	}
	var r providerRecord
	ok, err := s.get(ctx, providerKey(k), &r)
	if err != nil {
		return fail(err)
	}
	if !ok {
		return fail(sesame.NotFound(providerName(k.ID)))
	}
	p, err := r.domain()
	if err != nil {
		return fail(err)
	}
	return p, nil
}

// UpdateProvider writes p over the stored provider of version p.Version.
func (s *Store) UpdateProvider(ctx context.Context, uai sesame.UAI, p sesame.IdentityProvider) (sesame.IdentityProvider, error) {
	next := p
	next.Version = p.Version + 1
	if err := s.replaceIn(ctx, newProviderRecord(uai, next), p.Version, providerName(p.ID)); err != nil {
		return sesame.IdentityProvider{}, fmt.Errorf("update provider %s of %s: %w", p.ID, uai, err)
	}
	return next, nil
}

// ListProviders returns the school's providers by ID: one Query of its
// providers' partition.
func (s *Store) ListProviders(ctx context.Context, uai sesame.UAI) ([]sesame.IdentityProvider, error) {
	out := []sesame.IdentityProvider{}
	err := s.queryAll(ctx, providersPK(uai), prefixProvider, func(item map[string]types.AttributeValue) error {
		var r providerRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return err
		}
		p, err := r.domain()
		out = append(out, p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list providers of %s: %w", uai, err)
	}
	return out, nil
}

// DeleteProvider removes the provider if its stored version is version.
func (s *Store) DeleteProvider(ctx context.Context, k sesame.ProviderKey, version int64) error {
	if err := s.deleteVersioned(ctx, providerKey(k), version, providerName(k.ID)); err != nil {
		return fmt.Errorf("delete provider %s of %s: %w", k.ID, k.UAI, err)
	}
	return nil
}

// deleteVersioned deletes item k with a DeleteItem conditional on its
// version, which tells a missing item (ErrNotFound) from a stale version
// (ErrConflict) through the item returned when the condition fails. what
// names the item in errors.
func (s *Store) deleteVersioned(ctx context.Context, k map[string]types.AttributeValue, version int64, what string) error {
	e, err := condOnly(itemExists().And(expression.Name("version").Equal(expression.Value(version))))
	if err != nil {
		return err
	}
	_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: k,
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

// FindUsersByENTID queries GSI1 for the base's users holding entID, then
// reads each consistently and keeps those that still hold it.
func (s *Store) FindUsersByENTID(ctx context.Context, k sesame.BaseKey, entID string) ([]sesame.User, error) {
	fail := func(err error) ([]sesame.User, error) { return nil, fmt.Errorf("find ent id in %s: %w", k, err) }
	if entID == "" {
		return nil, nil
	}
	e, err := build(expression.NewBuilder().WithKeyCondition(
		expression.Key(attrGSI1PK).Equal(expression.Value(entGSI1PK(k, entID)))))
	if err != nil {
		return fail(err)
	}
	in := &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(indexGSI1),
		KeyConditionExpression: e.KeyCondition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ProjectionExpression: aws.String(attrPK + "," + attrSK)}
	var out []sesame.User
	for {
		var res *dynamodb.QueryOutput
		if err := s.read(ctx, func() (err error) { res, err = s.db.Query(ctx, in); return err }); err != nil {
			return fail(err)
		}
		for _, item := range res.Items {
			var r userRecord
			ok, err := s.get(ctx, map[string]types.AttributeValue{attrPK: item[attrPK], attrSK: item[attrSK]}, &r)
			if err != nil {
				return fail(err)
			}
			if !ok || r.ENTID != entID || r.PK != contentPK(k) {
				continue
			}
			u, err := r.domain()
			if err != nil {
				return fail(err)
			}
			out = append(out, u)
		}
		if len(res.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

type seenRecord struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
	Token     string `dynamodbav:"token"`
	TTL       int64  `dynamodbav:"ttl"`
}

// UseAssertion records proof id of provider k until expires, in one
// conditional PutItem.
func (s *Store) UseAssertion(ctx context.Context, k sesame.ProviderKey, id string, expires, now time.Time) error {
	fail := func(err error) error { return fmt.Errorf("use assertion of %s/%s: %w", k.UAI, k.ID, err) }
	rec := seenRecord{PK: "SEEN#" + string(k.UAI) + "#" + k.ID + "#" + id, SK: skSeen, ExpiresAt: nanos(expires),
		Token: s.randomToken(), TTL: s.ttlAt(expires, time.Hour)}
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return fail(fmt.Errorf("dynamo: encoding item: %w", err))
	}
	e, err := condOnly(itemMissing().Or(expression.Name("expiresAt").LessThan(expression.Value(nanos(now)))))
	if err != nil {
		return fail(err)
	}
	for try := 0; ; try++ {
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
			ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
		if old, ok := conditionFailed(err); ok {
			var cur seenRecord
			if attributevalue.UnmarshalMap(old, &cur) == nil && cur.Token == rec.Token {
				return nil // our own write, sent again after it landed
			}
			return fail(sesame.Exists("Cette preuve d'identité"))
		}
		if err == nil || try >= s.ambiguous || !(ambiguous(ctx, err) || throttled(err)) {
			if err != nil {
				return fail(err)
			}
			return nil
		}
		if err := s.pause(ctx, try+1); err != nil {
			return fail(err)
		}
	}
}
