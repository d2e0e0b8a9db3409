package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/sesame-ecole/sesame"
)

// API is the part of the DynamoDB client that the store uses;
// *dynamodb.Client implements it.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Store is sesame.Store on one DynamoDB table. It is safe for concurrent
// use.
type Store struct {
	db    API
	table string

	attempts     int           // bound of the seat loops
	ambiguous    int           // bound of the unknown outcomes in a row of one call
	backoffBase  time.Duration // first pause after a lost race
	backoffMax   time.Duration
	sessionKeep  time.Duration // ttl: an ended session is collected this long after its end
	holderKeep   time.Duration // ttl: a lapsed HOLDER item is collected this long after its expiry
	ttlClock     sesame.Clock  // when set, ttl values count from max(event, ttlClock.Now())
	randomToken  func() string
	jitterSource func(n int64) int64
}

var _ sesame.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store) error

// WithRetries bounds how many times one seat operation (OpenSession,
// RenewSeat, EndSession) tries again after losing a race or a transaction
// conflict; 100 by default. Past it the operation fails with an error that
// is not one of the domain's.
func WithRetries(n int) Option {
	return func(s *Store) error {
		if n < 1 {
			return fmt.Errorf("dynamo: WithRetries(%d): want at least 1", n)
		}
		s.attempts = n
		return nil
	}
}

// WithBackoff sets the pause after a lost race: a random duration up to
// base doubled at each try, capped at max (2 ms and 100 ms by default).
func WithBackoff(base, max time.Duration) Option {
	return func(s *Store) error {
		if base <= 0 || max < base {
			return fmt.Errorf("dynamo: WithBackoff(%v, %v): want 0 < base <= max", base, max)
		}
		s.backoffBase, s.backoffMax = base, max
		return nil
	}
}

// WithRetention sets how long items that only history needs stay before
// the table's TTL collects them: ended sessions (and open ones, counted
// from their absolute end) by 30 days, lapsed HOLDER items by 1 day by
// default. TTL only collects garbage; it never decides an expiry.
func WithRetention(sessions, holders time.Duration) Option {
	return func(s *Store) error {
		if sessions <= 0 || holders <= 0 {
			return fmt.Errorf("dynamo: WithRetention(%v, %v): want positive durations", sessions, holders)
		}
		s.sessionKeep, s.holderKeep = sessions, holders
		return nil
	}
}

// WithTTLClock makes the ttl attributes count from the later of the event's
// own time and c.Now(). Without it they count from the event's time (the
// now passed to each method), which is what production wants. Tests whose
// clocks run in the past need it: DynamoDB Local deletes items whose ttl
// has passed within seconds. It never changes a seat decision.
func WithTTLClock(c sesame.Clock) Option {
	return func(s *Store) error {
		s.ttlClock = c
		return nil
	}
}

// New returns a Store on table through client. It checks its arguments but
// makes no call: the table must exist, with the layout of template.yaml.
func New(client API, table string, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("dynamo: New: nil client")
	}
	if len(table) < 3 || len(table) > 255 {
		return nil, fmt.Errorf("dynamo: New: table name %q must have 3 to 255 characters", table)
	}
	s := &Store{
		db: reach{client}, table: table,
		attempts: 100, ambiguous: 10,
		backoffBase: 2 * time.Millisecond, backoffMax: 100 * time.Millisecond,
		sessionKeep: 30 * 24 * time.Hour, holderKeep: 24 * time.Hour,
		randomToken:  newToken,
		jitterSource: mrand.Int64N,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Close does nothing: the client belongs to the caller.
func (s *Store) Close() error { return nil }

// Keys of the single-table layout (see doc.go).
const (
	attrPK     = "PK"
	attrSK     = "SK"
	attrGSI1PK = "GSI1PK"
	attrGSI1SK = "GSI1SK"
	attrTTL    = "ttl"
	indexGSI1  = "GSI1"

	skSchool  = "SCHOOL"
	skSession = "SESSION"
	skCount   = "COUNT"

	prefixBase    = "BASE#"
	prefixUser    = "USER#"
	prefixProfile = "PROFILE#"
	prefixImport  = "IMPORT#"
	prefixHolder  = "HOLDER#"
)

func schoolPK(uai sesame.UAI) string    { return "SCHOOL#" + string(uai) }
func baseSK(y sesame.Year) string       { return prefixBase + string(y) }
func contentPK(k sesame.BaseKey) string { return prefixBase + string(k.UAI) + "#" + string(k.Year) }
func sessionPK(id string) string        { return "SESSION#" + id }
func sessionsGSI1PK(k sesame.BaseKey) string {
	return "SESSIONS#" + string(k.UAI) + "#" + string(k.Year)
}
func seatsPK(k sesame.SeatKey) string {
	return "SEATS#" + string(k.UAI) + "#" + string(k.Year) + "#" + string(k.Pool)
}

// CheckTable reads one key that no item has (an eventually consistent
// GetItem of PK and SK "PROBE"): it fails as every request would when the
// table is missing (types.ResourceNotFoundException) or DynamoDB cannot
// be reached, and answers in one small read. A function makes it at
// start; DescribeTable would do the same but return the whole table
// description, whose decoders put 130 KB into every function's binary.
func (s *Store) CheckTable(ctx context.Context) error {
	_, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key("PROBE", "PROBE")})
	return err
}

// key returns the primary key of an item.
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pk},
		attrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func baseKey(k sesame.BaseKey) map[string]types.AttributeValue {
	return key(schoolPK(k.UAI), baseSK(k.Year))
}

// build builds an expression and wraps the builder's error.
func build(b expression.Builder) (expression.Expression, error) {
	e, err := b.Build()
	if err != nil {
		return e, fmt.Errorf("dynamo: building expression: %w", err)
	}
	return e, nil
}

// itemExists and itemMissing are the usual conditions on a whole item.
func itemExists() expression.ConditionBuilder {
	return expression.AttributeExists(expression.Name(attrPK))
}
func itemMissing() expression.ConditionBuilder {
	return expression.AttributeNotExists(expression.Name(attrPK))
}

// condOnly builds an expression holding just condition c.
func condOnly(c expression.ConditionBuilder) (expression.Expression, error) {
	return build(expression.NewBuilder().WithCondition(c))
}

// get reads one item with a strongly consistent read into out, and
// reports whether it exists.
func (s *Store) get(ctx context.Context, k map[string]types.AttributeValue, out any) (bool, error) {
	var res *dynamodb.GetItemOutput
	err := s.read(ctx, func() (err error) {
		res, err = s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: k, ConsistentRead: aws.Bool(true)})
		return err
	})
	if err != nil {
		return false, err
	}
	if len(res.Item) == 0 {
		return false, nil
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return false, fmt.Errorf("dynamo: decoding item: %w", err)
	}
	return true, nil
}

// getPair reads two items in one BatchGetItem (see getMany) and reports
// which exist.
func (s *Store) getPair(ctx context.Context, k1 map[string]types.AttributeValue, out1 any, k2 map[string]types.AttributeValue, out2 any) (found1, found2 bool, err error) {
	found, err := s.getMany(ctx, []map[string]types.AttributeValue{k1, k2}, []any{out1, out2})
	if err != nil {
		return false, false, err
	}
	return found[0], found[1], nil
}

// getMany reads items of the table (at most 100, distinct) in one
// BatchGetItem, with strongly consistent reads, each into its out, and
// reports which exist.
func (s *Store) getMany(ctx context.Context, keys []map[string]types.AttributeValue, outs []any) ([]bool, error) {
	id := func(k map[string]types.AttributeValue) string {
		pk, _ := k[attrPK].(*types.AttributeValueMemberS)
		sk, _ := k[attrSK].(*types.AttributeValueMemberS)
		return pk.Value + "\x00" + sk.Value
	}
	at := map[string]int{}
	for i, k := range keys {
		at[id(k)] = i
	}
	found := make([]bool, len(keys))
	err := s.batchGetItems(ctx, keys, func(item map[string]types.AttributeValue) error {
		i, ok := at[id(item)]
		if !ok {
			return nil
		}
		if err := attributevalue.UnmarshalMap(item, outs[i]); err != nil {
			return fmt.Errorf("dynamo: decoding item: %w", err)
		}
		found[i] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

// batchGetItems reads items of the table (at most 100, distinct) with
// strongly consistent reads, handing each one found to each. Keys left
// unprocessed are asked for again after a pause.
func (s *Store) batchGetItems(ctx context.Context, keys []map[string]types.AttributeValue, each func(map[string]types.AttributeValue) error) error {
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > 0 {
			if attempt > s.attempts {
				return errGaveUp
			}
			if err := s.pause(ctx, attempt); err != nil {
				return err
			}
		}
		var res *dynamodb.BatchGetItemOutput
		if err := s.read(ctx, func() (err error) {
			res, err = s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			return err
		}); err != nil {
			return err
		}
		for _, item := range res.Responses[s.table] {
			if err := each(item); err != nil {
				return err
			}
		}
		req = res.UnprocessedKeys
	}
	return nil
}

// read runs a read, and runs it again after a pause while it fails for a
// reason that a new try may not meet (a broken connection or a reply cut
// short, which the SDK does not always try again; throttling), up to the
// bound of ambiguous tries: a read changes nothing, so trying it again is
// always safe.
func (s *Store) read(ctx context.Context, fn func() error) error {
	for try := 0; ; try++ {
		err := fn()
		if err == nil || try >= s.ambiguous || !(ambiguous(ctx, err) || throttled(err)) {
			return err
		}
		if err := s.pause(ctx, try+1); err != nil {
			return err
		}
	}
}

// putNew writes item on condition that no item has its key.
func (s *Store) putNew(item any) (*types.Put, error) {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return nil, fmt.Errorf("dynamo: encoding item: %w", err)
	}
	e, err := condOnly(itemMissing())
	if err != nil {
		return nil, err
	}
	return &types.Put{TableName: &s.table, Item: av, ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}, nil
}

// conditionCheck is a transaction's check that condition c holds on item k.
func (s *Store) conditionCheck(k map[string]types.AttributeValue, c expression.ConditionBuilder) (*types.ConditionCheck, error) {
	e, err := condOnly(c)
	if err != nil {
		return nil, err
	}
	return &types.ConditionCheck{TableName: &s.table, Key: k, ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}, nil
}

// update is a transaction's conditional update of item k.
func (s *Store) update(k map[string]types.AttributeValue, u expression.UpdateBuilder, c *expression.ConditionBuilder) (*types.Update, error) {
	b := expression.NewBuilder().WithUpdate(u)
	if c != nil {
		b = b.WithCondition(*c)
	}
	e, err := build(b)
	if err != nil {
		return nil, err
	}
	return &types.Update{TableName: &s.table, Key: k, UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}, nil
}

// deleteIf is a transaction's conditional delete of item k.
func (s *Store) deleteIf(k map[string]types.AttributeValue, c expression.ConditionBuilder) (*types.Delete, error) {
	e, err := condOnly(c)
	if err != nil {
		return nil, err
	}
	return &types.Delete{TableName: &s.table, Key: k, ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}, nil
}

// transact runs one transaction. Each call carries its own
// ClientRequestToken, so the SDK's own retries of a request whose answer
// was lost are idempotent.
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) error {
	if len(items) > maxTransactItems {
		return fmt.Errorf("dynamo: a transaction of %d items exceeds DynamoDB's %d", len(items), maxTransactItems)
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems:      items,
		ClientRequestToken: aws.String(s.randomToken()),
	})
	return err
}

// maxTransactItems is DynamoDB's limit of actions per transaction.
const maxTransactItems = 100

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Cancellation codes of a TransactionCanceledException.
const (
	codeNone        = "None"
	codeCondFailed  = "ConditionalCheckFailed"
	codeTxnConflict = "TransactionConflict"
)

// cancelled returns the per-action codes of a cancelled transaction, and
// whether err is one. DynamoDB gives them in CancellationReasons; the
// message also lists them ("… [None, ConditionalCheckFailed]"), which
// serves when the reasons are missing.
func cancelled(err error, n int) ([]string, bool) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, false
	}
	codes := make([]string, n)
	if len(tce.CancellationReasons) > 0 {
		for i, r := range tce.CancellationReasons {
			if i < n {
				codes[i] = aws.ToString(r.Code)
			}
		}
		return codes, true
	}
	msg := tce.ErrorMessage()
	if i, j := strings.LastIndex(msg, "["), strings.LastIndex(msg, "]"); i >= 0 && j > i {
		for k, c := range strings.Split(msg[i+1:j], ",") {
			if k < n {
				codes[k] = strings.TrimSpace(c)
			}
		}
	}
	return codes, true
}

// failed reports whether the action at i of a cancelled transaction failed
// its condition.
func failed(codes []string, i int) bool {
	return i >= 0 && i < len(codes) && codes[i] == codeCondFailed
}

// conditionFailed reports whether err is a failed condition of a single
// write, and returns the item as it stood (when asked with
// ReturnValuesOnConditionCheckFailure ALL_OLD).
func conditionFailed(err error) (map[string]types.AttributeValue, bool) {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ccf.Item, true
	}
	return nil, false
}

// contended reports whether err is a lost race that is worth trying again
// after a pause: a transaction conflict, throttling (which the SDK's own
// retries did not absorb), or a transaction cancelled for a conflict or a
// throttled item. Nothing of such a write landed.
func contended(err error, codes []string) bool {
	var tc *types.TransactionConflictException
	var tip *types.TransactionInProgressException
	if errors.As(err, &tc) || errors.As(err, &tip) || throttled(err) {
		return true
	}
	for _, c := range codes {
		switch c {
		case codeTxnConflict, "ThrottlingError", "ProvisionedThroughputExceeded", "TransactionInProgress":
			return true
		}
	}
	return false
}

// throttled reports whether err is DynamoDB refusing a request for its
// rate: nothing was done, and the request may be sent again after a pause.
func throttled(err error) bool {
	var pte *types.ProvisionedThroughputExceededException
	var rle *types.RequestLimitExceeded
	var te *types.ThrottlingException
	return errors.As(err, &pte) || errors.As(err, &rle) || errors.As(err, &te)
}

// ambiguous reports whether err leaves the outcome of a write unknown: it
// may have landed with its answer lost (a broken connection, a timeout, a
// server error). The context's own end is not: the caller gave up.
func ambiguous(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	if _, ok := cancelled(err, 0); ok {
		return false
	}
	if _, ok := conditionFailed(err); ok {
		return false
	}
	// The domain's answers and this package's own signals are decided.
	var de *sesame.Error
	var se *sesame.SeatsExhaustedError
	if errors.As(err, &de) || errors.As(err, &se) || errors.Is(err, errAgain) || errors.Is(err, errContended) || errors.Is(err, errGaveUp) {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorFault() == smithy.FaultServer
	}
	return true
}

// streak counts the writes in a row of one call whose outcome was unknown.
type streak struct{ n, max int }

// streak starts a count bounded by the store's ambiguous tries.
func (s *Store) streak() *streak { return &streak{max: s.ambiguous} }

// again notes the outcome err of a write and reports whether the call may
// try again after it: a decided answer (success or refusal) starts the
// count anew; an unknown outcome adds one, up to the bound. A call that
// loses many races has many unknown outcomes in all, but only a network
// that stays broken gives many in a row.
func (k *streak) again(ctx context.Context, err error) bool {
	if !ambiguous(ctx, err) {
		k.n = 0
		return false
	}
	if k.n >= k.max {
		return false
	}
	k.n++
	return true
}

// pause waits before try number attempt (from 1) of a loop: a random
// duration up to backoffBase·2^attempt, capped at backoffMax.
func (s *Store) pause(ctx context.Context, attempt int) error {
	d := s.backoffBase << min(attempt, 10)
	d = min(d, s.backoffMax)
	d = time.Duration(s.jitterSource(int64(d))) + time.Millisecond/2
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// errGaveUp says that a seat operation lost too many races in a row.
var errGaveUp = errors.New("dynamo: too much contention: gave up after the maximum number of tries")

// Times: RFC 3339 with nanoseconds in UTC for what people read; unix
// nanoseconds (Numbers) for what conditions compare.

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("dynamo: decoding time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// sortableTime is a fixed-width UTC time whose string order is time order
// (RFC3339Nano drops trailing zeros, which breaks that order).
func sortableTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// ttlAt returns the ttl attribute (epoch seconds) for an item to be
// collected keep after t.
func (s *Store) ttlAt(t time.Time, keep time.Duration) int64 {
	if s.ttlClock != nil {
		if c := s.ttlClock.Now(); c.After(t) {
			t = c
		}
	}
	return t.Add(keep).Unix()
}
