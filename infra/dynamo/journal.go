package dynamo

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesame-ecole/sesame"
)

// A base's journal is the partition JOURNAL#<uai>#<year>, its entries
// sorted by ID (sesame.JournalID of their time, then a suffix), so a page
// is one Query read backwards between the bounds of the time range and the
// cursor. Its seat usage is the partition USAGE#<uai>#<year>, one item per
// day and pool, sorted by "<day>#<pool>".

func journalPK(k sesame.BaseKey) string {
	return "JOURNAL#" + string(k.UAI) + "#" + string(k.Year)
}
func usagePK(k sesame.BaseKey) string             { return "USAGE#" + string(k.UAI) + "#" + string(k.Year) }
func usageSK(day string, pool sesame.Pool) string { return day + "#" + string(pool) }
func journalName(id string) string                { return "L'entrée « " + id + " » du journal" }

// journalRecord is one entry of the journal. actorKey and subjectKey are
// the login keys the login filter compares; ttl (from ExpiresAt) lets the
// table's TTL collect the entry.
type journalRecord struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	ID         string `dynamodbav:"id"`
	At         string `dynamodbav:"at"`
	Event      string `dynamodbav:"event"`
	Actor      string `dynamodbav:"actor"`
	ActorKey   string `dynamodbav:"actorKey"`
	Subject    string `dynamodbav:"subject"`
	SubjectKey string `dynamodbav:"subjectKey"`
	Mode       string `dynamodbav:"mode"`
	Pool       string `dynamodbav:"pool"`
	Reason     string `dynamodbav:"reason"`
	Detail     string `dynamodbav:"detail"`
	Address    string `dynamodbav:"address"`
	ExpiresAt  string `dynamodbav:"expiresAt"`
	TTL        int64  `dynamodbav:"ttl,omitempty"`
	Count      int    `dynamodbav:"count,omitempty"` // summary entries (CountJournal)
}

func (s *Store) newJournalRecord(k sesame.BaseKey, e sesame.JournalEntry) journalRecord {
	return journalRecord{PK: journalPK(k), SK: e.ID, ID: e.ID, At: fmtTime(e.At), Event: string(e.Event),
		Actor: e.Actor, ActorKey: sesame.LoginKey(e.Actor), Subject: e.Subject, SubjectKey: sesame.LoginKey(e.Subject),
		Mode: string(e.Mode), Pool: string(e.Pool), Reason: e.Reason, Detail: e.Detail, Address: e.Address,
		ExpiresAt: fmtTime(e.ExpiresAt), TTL: s.journalTTL(e)}
}

func (r journalRecord) domain() (sesame.JournalEntry, error) {
	at, err := parseTime(r.At)
	if err != nil {
		return sesame.JournalEntry{}, err
	}
	expires, err := parseTime(r.ExpiresAt)
	if err != nil {
		return sesame.JournalEntry{}, err
	}
	return sesame.JournalEntry{ID: r.ID, At: at, Event: sesame.Event(r.Event), Actor: r.Actor, Subject: r.Subject,
		Mode: sesame.Mode(r.Mode), Pool: sesame.Pool(r.Pool), Reason: r.Reason, Detail: r.Detail, Address: r.Address,
		ExpiresAt: expires, Count: r.Count}, nil
}

// journalTTL is the ttl of entry e: its ExpiresAt, or none (0, omitted)
// when it has no ExpiresAt. Under WithTTLClock the retention counts from
// the later of At and the clock, as every ttl does.
func (s *Store) journalTTL(e sesame.JournalEntry) int64 {
	switch {
	case e.ExpiresAt.IsZero():
		return 0
	case e.At.IsZero() || e.ExpiresAt.Before(e.At):
		return s.ttlAt(e.ExpiresAt, 0)
	}
	return s.ttlAt(e.At, e.ExpiresAt.Sub(e.At))
}

// usageRecord is the usage of one pool on one day. peak only grows (a
// conditional SET), refused and signIns only add up (ADD); any may be
// missing, which reads as 0. The sign-ins of sessions without a seat are
// spread over usageShards items of their own ("<day>#<pool>#<shard>"), so
// that a morning's rush into an unlimited pool writes no hot item;
// ListUsage sums them.
type usageRecord struct {
	PK      string `dynamodbav:"PK"`
	SK      string `dynamodbav:"SK"`
	Day     string `dynamodbav:"day"`
	Pool    string `dynamodbav:"pool"`
	Peak    int    `dynamodbav:"peak"`
	Refused int    `dynamodbav:"refused"`
	SignIns int    `dynamodbav:"signIns"`
}

// usageShards is how many items share the sign-ins of a pool's day.
const usageShards = 16

// usageShardSK is the sort key of one of the items that count the day's
// sign-ins without a seat into pool: the shard is chosen by session ID.
func usageShardSK(day string, pool sesame.Pool, session string) string {
	h := fnv.New32a()
	h.Write([]byte(session))
	return fmt.Sprintf("%s#%s#%02d", day, pool, h.Sum32()%usageShards)
}

// countSignIn is the update that counts one sign-in without a seat,
// session's, into pool's usage of day (see usageRecord).
func (s *Store) countSignIn(k sesame.BaseKey, day string, pool sesame.Pool, session string) (*types.Update, error) {
	return s.update(key(usagePK(k), usageShardSK(day, pool, session)),
		expression.Set(expression.Name("day"), expression.Value(day)).Set(expression.Name("pool"), expression.Value(string(pool))).
			Add(expression.Name("signIns"), expression.Value(1)), nil)
}

// AppendJournal adds e to the base's journal, with the same transaction
// as the base's other content: ConditionCheck the base exists; Put if
// absent.
func (s *Store) AppendJournal(ctx context.Context, k sesame.BaseKey, e sesame.JournalEntry) error {
	if e.ID == "" {
		return fmt.Errorf("append journal in %s: %w", k, sesame.Invalid("id", "L'identifiant de l'entrée du journal est obligatoire."))
	}
	if err := s.createIn(ctx, k, s.newJournalRecord(k, e), journalName(e.ID)); err != nil {
		return fmt.Errorf("append journal %s in %s: %w", e.ID, k, err)
	}
	return nil
}

// CountJournal adds 1 to the count of summary entry e: one UpdateItem that
// sets e's attributes where the item is new (if_not_exists) and adds to
// count, so concurrent counts never lose one.
func (s *Store) CountJournal(ctx context.Context, k sesame.BaseKey, e sesame.JournalEntry) error {
	fail := func(err error) error { return fmt.Errorf("count journal %s in %s: %w", e.ID, k, err) }
	if e.ID == "" {
		return fail(sesame.Invalid("id", "L'identifiant de l'entrée du journal est obligatoire."))
	}
	item, err := attributevalue.MarshalMap(s.newJournalRecord(k, e))
	if err != nil {
		return fail(err)
	}
	var up expression.UpdateBuilder
	for name, v := range item {
		switch name {
		case attrPK, attrSK, "count":
			continue
		}
		n := expression.Name(name)
		up = up.Set(n, expression.IfNotExists(n, expression.Value(v)))
	}
	up = up.Add(expression.Name("count"), expression.Value(1))
	ex, err := build(expression.NewBuilder().WithUpdate(up))
	if err != nil {
		return fail(err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(journalPK(k), e.ID),
		UpdateExpression: ex.Update(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()})
	if err != nil {
		return fail(err)
	}
	return nil
}

// ListJournal returns a page of the base's journal, newest first: a Query
// of the journal's partition read backwards, its sort key within the time
// range and below the cursor, filtered on the event types and the login
// keys of the actor and the subject. sesame.JournalEntry.Matches has the
// last word on every item. A filter shrinks pages, so it reads on until it
// has one entry more than the page (which tells whether a next page
// exists) or the entries run out.
func (s *Store) ListJournal(ctx context.Context, k sesame.BaseKey, q sesame.JournalQuery) (sesame.JournalPage, error) {
	fail := func(err error) (sesame.JournalPage, error) {
		return sesame.JournalPage{}, fmt.Errorf("list journal of %s: %w", k, err)
	}
	page := sesame.JournalPage{Entries: []sesame.JournalEntry{}}
	size := q.PageSize()
	lo, upper := q.Range() // lo ≤ ID < upper
	if q.Before != "" && (upper == "" || q.Before < upper) {
		upper = q.Before
	}
	if lo != "" && upper != "" && lo >= upper {
		return page, nil // an empty range (BETWEEN would refuse it)
	}
	sk := expression.Key(attrSK)
	cond := expression.Key(attrPK).Equal(expression.Value(journalPK(k)))
	switch {
	case lo != "" && upper != "":
		// BETWEEN includes upper: an entry with that very ID (the
		// cursor's) is dropped below.
		cond = cond.And(sk.Between(expression.Value(lo), expression.Value(upper)))
	case lo != "":
		cond = cond.And(sk.GreaterThanEqual(expression.Value(lo)))
	case upper != "":
		cond = cond.And(sk.LessThan(expression.Value(upper)))
	}
	b := expression.NewBuilder().WithKeyCondition(cond)
	var filters []expression.ConditionBuilder
	if len(q.Events) > 0 {
		var others []expression.OperandBuilder
		for _, ev := range q.Events[1:] {
			others = append(others, expression.Value(string(ev)))
		}
		filters = append(filters, expression.Name("event").In(expression.Value(string(q.Events[0])), others...))
	}
	if q.Login != "" {
		l := sesame.LoginKey(q.Login)
		filters = append(filters, expression.Name("actorKey").Equal(expression.Value(l)).
			Or(expression.Name("subjectKey").Equal(expression.Value(l))))
	}
	if f, ok := allOf(filters); ok {
		b = b.WithFilter(f)
	}
	e, err := build(b)
	if err != nil {
		return fail(err)
	}
	in := &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: e.KeyCondition(),
		FilterExpression: e.Filter(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ConsistentRead: aws.Bool(true), ScanIndexForward: aws.Bool(false)}
	var entries []sesame.JournalEntry
	err = s.queryPages(ctx, in, size+1, len(filters) > 0, func(item map[string]types.AttributeValue) (bool, error) {
		var r journalRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return false, fmt.Errorf("dynamo: decoding journal entry: %w", err)
		}
		x, err := r.domain()
		if err != nil {
			return false, err
		}
		if (upper == "" || x.ID < upper) && x.Matches(q) {
			entries = append(entries, x)
		}
		return len(entries) > size, nil
	})
	if err != nil {
		return fail(err)
	}
	if len(entries) > size {
		entries = entries[:size]
		page.Next = entries[size-1].ID
	}
	page.Entries = append(page.Entries, entries...)
	return page, nil
}

// allOf joins conditions with AND; ok is false when there are none.
func allOf(cs []expression.ConditionBuilder) (expression.ConditionBuilder, bool) {
	switch len(cs) {
	case 0:
		return expression.ConditionBuilder{}, false
	case 1:
		return cs[0], true
	}
	return expression.And(cs[0], cs[1], cs[2:]...), true
}

// queryPages runs in page after page, giving each item to fn, until fn
// says it has enough or the items run out. Each Query evaluates at most
// limit items; when filtered, the limit doubles at each further page, so a
// selective filter needs few round trips while an unfiltered page reads
// only what it returns.
func (s *Store) queryPages(ctx context.Context, in *dynamodb.QueryInput, limit int, filtered bool,
	fn func(map[string]types.AttributeValue) (bool, error)) error {
	for {
		in.Limit = aws.Int32(int32(min(limit, maxQueryLimit)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return err
		}
		for _, item := range out.Items {
			done, err := fn(item)
			if err != nil || done {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
		if filtered {
			limit *= 2
		}
	}
}

// maxQueryLimit bounds the Limit of one Query (DynamoDB stops at 1 MB
// anyway).
const maxQueryLimit = 1 << 16

// NoteUsage raises the peak and adds the refusals of the day's item for
// the pool, each with one UpdateItem that is atomic on its own: "ADD
// refused :n" (and "signIns", to the day's own item; also made for a note
// of nothing, so that the day shows),
// and "SET peak = :held" on condition that the peak is missing or lower; a
// failed condition means the peak is already as high, which is the max
// wanted. It does not check that the base exists: the service notes usage
// only after an admission in it.
func (s *Store) NoteUsage(ctx context.Context, k sesame.BaseKey, n sesame.UsageNote) error {
	fail := func(err error) error { return fmt.Errorf("note usage %s %s in %s: %w", n.Day, n.Pool, k, err) }
	if err := n.Validate(); err != nil {
		return fail(err)
	}
	itemKey := key(usagePK(k), usageSK(n.Day, n.Pool))
	// An UpdateBuilder shares its operations between copies: one each.
	labels := func() expression.UpdateBuilder {
		return expression.Set(expression.Name("day"), expression.Value(n.Day)).
			Set(expression.Name("pool"), expression.Value(string(n.Pool)))
	}
	if n.Refused > 0 || n.SignIns > 0 || n.Held == 0 {
		u := labels().Add(expression.Name("refused"), expression.Value(n.Refused))
		if n.SignIns > 0 {
			u = u.Add(expression.Name("signIns"), expression.Value(n.SignIns))
		}
		e, err := build(expression.NewBuilder().WithUpdate(u))
		if err != nil {
			return fail(err)
		}
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: itemKey,
			UpdateExpression: e.Update(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()})
		if err != nil {
			return fail(err)
		}
	}
	if n.Held > 0 {
		peak := expression.Name("peak")
		e, err := build(expression.NewBuilder().
			WithUpdate(labels().Set(peak, expression.Value(n.Held))).
			WithCondition(expression.AttributeNotExists(peak).Or(peak.LessThan(expression.Value(n.Held)))))
		if err != nil {
			return fail(err)
		}
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: itemKey,
			UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
			ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()})
		if _, higher := conditionFailed(err); err != nil && !higher {
			return fail(err)
		}
	}
	return nil
}

// ListUsage returns the usage of the days from..to: one Query of the
// usage partition between "<from>" and "<to>$" ('$' comes right after
// '#'), ordered by day then in the order of sesame.Pools.
func (s *Store) ListUsage(ctx context.Context, k sesame.BaseKey, from, to string) ([]sesame.UsageDay, error) {
	fail := func(err error) ([]sesame.UsageDay, error) {
		return nil, fmt.Errorf("list usage of %s from %s to %s: %w", k, from, to, err)
	}
	for _, d := range []string{from, to} {
		if _, err := sesame.ParseDay("day", d); err != nil {
			return fail(err)
		}
	}
	out := []sesame.UsageDay{}
	if from > to {
		return out, nil
	}
	e, err := build(expression.NewBuilder().WithKeyCondition(
		expression.Key(attrPK).Equal(expression.Value(usagePK(k))).
			And(expression.Key(attrSK).Between(expression.Value(from), expression.Value(to+"$")))))
	if err != nil {
		return fail(err)
	}
	in := &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: e.KeyCondition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(), ConsistentRead: aws.Bool(true)}
	err = s.queryPages(ctx, in, maxQueryLimit, false, func(item map[string]types.AttributeValue) (bool, error) {
		var r usageRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return false, fmt.Errorf("dynamo: decoding usage: %w", err)
		}
		d := sesame.UsageDay{Day: r.Day, Pool: sesame.Pool(r.Pool), Peak: r.Peak, Refused: r.Refused, SignIns: r.SignIns}
		if n := len(out) - 1; n >= 0 && out[n].Day == d.Day && out[n].Pool == d.Pool {
			// a shard of the same day and pool: its items sort together
			out[n].Peak, out[n].Refused, out[n].SignIns = max(out[n].Peak, d.Peak), out[n].Refused+d.Refused, out[n].SignIns+d.SignIns
			return false, nil
		}
		out = append(out, d)
		return false, nil
	})
	if err != nil {
		return fail(err)
	}
	slices.SortStableFunc(out, func(a, b sesame.UsageDay) int {
		if c := strings.Compare(a.Day, b.Day); c != 0 {
			return c
		}
		return slices.Index(sesame.Pools, a.Pool) - slices.Index(sesame.Pools, b.Pool)
	})
	return out, nil
}
