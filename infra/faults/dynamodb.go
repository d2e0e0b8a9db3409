package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/sesame-ecole/sesame/infra/dynamo"
)

// DynamoRates are the chances, per write call, of each protocol-level
// fault of [DynamoDB].
type DynamoRates struct {
	// Conflict answers TransactionConflict before the write: a
	// TransactionCanceledException whose reasons name one conflicting
	// action, or a TransactionConflictException for a single write.
	Conflict float64
	// Throttle answers ProvisionedThroughputExceededException before the
	// write.
	Throttle float64
	// LostReply sends the write, then drops its answer and returns a broken
	// connection's error: the write landed (or failed its condition), and
	// the caller cannot tell.
	LostReply float64
}

// DynamoDB is a dynamo.API that injects protocol-level faults into the
// writes of the client it wraps. Reads pass through. It is safe for
// concurrent use.
type DynamoDB struct {
	dynamo.API
	rates DynamoRates
	mu    sync.Mutex
	rng   *rand.Rand
	on    atomic.Bool

	conflicts, throttles, lostLanded, lostRefused atomic.Int64
}

var _ dynamo.API = (*DynamoDB)(nil)

// NewDynamoDB wraps api with faults drawn at rates from seed. Faults are on
// until [DynamoDB.Pause].
func NewDynamoDB(api dynamo.API, rates DynamoRates, seed uint64) *DynamoDB {
	d := &DynamoDB{API: api, rates: rates, rng: rand.New(rand.NewPCG(seed, seed^0xd1a0))}
	d.on.Store(true)
	return d
}

// Pause stops injecting faults (to check the invariants on a quiet store);
// Resume starts again.
func (d *DynamoDB) Pause()  { d.on.Store(false) }
func (d *DynamoDB) Resume() { d.on.Store(true) }

// Counts of the faults injected so far.
type Counts struct {
	Conflicts, Throttles int64
	// LostLanded are writes that landed whose answer was dropped;
	// LostRefused writes refused by a condition whose answer was dropped.
	// Both are ambiguous writes to the caller.
	LostLanded, LostRefused int64
}

// Ambiguous is the number of writes whose answer was dropped.
func (c Counts) Ambiguous() int64 { return c.LostLanded + c.LostRefused }

// Counts returns the faults injected so far.
func (d *DynamoDB) Counts() Counts {
	return Counts{Conflicts: d.conflicts.Load(), Throttles: d.throttles.Load(),
		LostLanded: d.lostLanded.Load(), LostRefused: d.lostRefused.Load()}
}

// fault is what the next write suffers.
type fault int

const (
	none fault = iota
	conflict
	throttle
	lostReply
)

func (d *DynamoDB) draw() fault {
	if !d.on.Load() {
		return none
	}
	d.mu.Lock()
	x := d.rng.Float64()
	d.mu.Unlock()
	switch r := d.rates; {
	case x < r.Conflict:
		return conflict
	case x < r.Conflict+r.Throttle:
		return throttle
	case x < r.Conflict+r.Throttle+r.LostReply:
		return lostReply
	}
	return none
}

// LostReplyError is the error of a write whose answer was dropped: not an
// API error, as a broken connection is not.
type LostReplyError struct{ Landed bool }

func (e *LostReplyError) Error() string { return "faults: connection lost before the reply" }

func opError(op string, err error) error {
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: op, Err: err}
}

// before answers a conflict or a throttle instead of a write, or nil.
func (d *DynamoDB) before(f fault, op string, actions int) error {
	switch f {
	case conflict:
		d.conflicts.Add(1)
		if actions == 0 {
			return opError(op, &types.TransactionConflictException{Message: aws.String("Transaction is ongoing for the item")})
		}
		d.mu.Lock()
		at := d.rng.IntN(actions)
		d.mu.Unlock()
		reasons := make([]types.CancellationReason, actions)
		codes := ""
		for i := range reasons {
			code := "None"
			if i == at {
				code = "TransactionConflict"
			}
			reasons[i] = types.CancellationReason{Code: aws.String(code)}
			if i > 0 {
				codes += ", "
			}
			codes += code
		}
		return opError(op, &types.TransactionCanceledException{CancellationReasons: reasons,
			Message: aws.String(fmt.Sprintf("Transaction cancelled, please refer cancellation reasons for specific reasons [%s]", codes))})
	case throttle:
		d.throttles.Add(1)
		return opError(op, &types.ProvisionedThroughputExceededException{
			Message: aws.String("The level of configured provisioned throughput for the table was exceeded.")})
	}
	return nil
}

// after drops the answer of a write that was sent, when f says so.
func (d *DynamoDB) after(f fault, op string, err error) error {
	if f != lostReply {
		return err
	}
	var ae smithy.APIError
	landed := err == nil
	switch {
	case landed:
		d.lostLanded.Add(1)
	case errors.As(err, &ae):
		d.lostRefused.Add(1) // answered: the write did not land
	default:
		return err // already a broken connection
	}
	return opError(op, &LostReplyError{Landed: landed})
}

// write runs one write call with the fault drawn for it; actions is the
// number of actions of a transaction (0 for a single write).
func write[T any](d *DynamoDB, op string, actions int, call func() (*T, error)) (*T, error) {
	f := d.draw()
	if err := d.before(f, op, actions); err != nil {
		return nil, err
	}
	out, err := call()
	if err := d.after(f, op, err); err != nil {
		return nil, err
	}
	return out, nil
}

func (d *DynamoDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return write(d, "PutItem", 0, func() (*dynamodb.PutItemOutput, error) { return d.API.PutItem(ctx, in, o...) })
}

func (d *DynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return write(d, "UpdateItem", 0, func() (*dynamodb.UpdateItemOutput, error) { return d.API.UpdateItem(ctx, in, o...) })
}

func (d *DynamoDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return write(d, "DeleteItem", 0, func() (*dynamodb.DeleteItemOutput, error) { return d.API.DeleteItem(ctx, in, o...) })
}

func (d *DynamoDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return write(d, "TransactWriteItems", len(in.TransactItems), func() (*dynamodb.TransactWriteItemsOutput, error) {
		return d.API.TransactWriteItems(ctx, in, o...)
	})
}
