package dynamo

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sesame-ecole/sesame"
)

// reach is the client as the store uses it: every error that says
// DynamoDB could not be reached or could not answer comes back as a
// *sesame.UnavailableError wrapping it (Unreachable), so that whatever
// the store gives up on reaches the user as "unavailable, try again in a
// few seconds" (503 with Retry-After) instead of an internal error. The
// cause stays underneath: the store's own loops (ambiguous, throttled,
// conditionFailed) look through it with errors.As as before.
type reach struct{ api API }

func (r reach) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return reached(ctx, r.api.GetItem, in, o)
}

func (r reach) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	return reached(ctx, r.api.BatchGetItem, in, o)
}

func (r reach) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return reached(ctx, r.api.PutItem, in, o)
}

func (r reach) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return reached(ctx, r.api.DeleteItem, in, o)
}

func (r reach) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return reached(ctx, r.api.UpdateItem, in, o)
}

func (r reach) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return reached(ctx, r.api.Query, in, o)
}

func (r reach) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return reached(ctx, r.api.TransactWriteItems, in, o)
}

// reached makes one call and marks its error when it is Unreachable.
func reached[I, O any](ctx context.Context, call func(context.Context, I, ...func(*dynamodb.Options)) (O, error), in I, o []func(*dynamodb.Options)) (O, error) {
	out, err := call(ctx, in, o...)
	if Unreachable(ctx, err) {
		err = &sesame.UnavailableError{Err: err}
	}
	return out, err
}

// Unreachable reports whether err, the answer to a request made under
// ctx, says that DynamoDB could not be reached or could not answer:
//   - the request could not be sent or its answer not read whole (a
//     refused, reset or timed-out connection, a reply cut short);
//   - DynamoDB's own failure (a server fault: 500, 503);
//   - its capacity exhausted (throttling the SDK's retries did not absorb);
//   - the table not there (yet).
//
// A refusal of the request itself (a failed condition, a cancelled
// transaction, a validation error) is not, and neither is the end of ctx:
// the caller gave up.
func Unreachable(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		var missing *types.ResourceNotFoundException
		return ae.ErrorFault() == smithy.FaultServer || throttled(err) || errors.As(err, &missing)
	}
	var send *smithyhttp.RequestSendError
	var deser *smithy.DeserializationError
	var nerr net.Error
	return errors.As(err, &send) || errors.As(err, &deser) || errors.As(err, &nerr) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
