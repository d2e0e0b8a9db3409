package lambdarie

import (
	"context"
	"time"
)

// Async invokes a function the way Lambda handles asynchronous
// invocations (S3 notifications): an invocation that ends in an error is
// retried up to Retries more times (the template's EventInvokeConfig
// MaximumRetryAttempts, 2), then the event goes to OnFailure, the
// on-failure destination. Lambda waits a minute, then two, between
// attempts; Delay stands for that wait.
type Async struct {
	Invoke    func(ctx context.Context, event []byte) ([]byte, error)
	Retries   int
	Delay     time.Duration
	OnFailure func(event []byte, err error)
}

// Deliver runs one asynchronous invocation to its end: the answer of the
// first attempt that succeeded, or the last error after OnFailure got the
// event.
func (a Async) Deliver(ctx context.Context, event []byte) ([]byte, error) {
	var err error
	for attempt := 0; attempt <= a.Retries; attempt++ {
		if attempt > 0 && a.Delay > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(a.Delay):
			}
		}
		var out []byte
		if out, err = a.Invoke(ctx, event); err == nil {
			return out, nil
		}
	}
	if a.OnFailure != nil {
		a.OnFailure(event, err)
	}
	return nil, err
}
