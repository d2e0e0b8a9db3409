package hostedlocal

import (
	"context"

	"github.com/sesame-ecole/sesame/infra/dynamometer"
	"github.com/sesame-ecole/sesame/infra/lambdarie"
)

// Pool is a function's instances under RIE: each serves one invocation at
// a time, so a call takes a free instance, or waits for one, as Lambda
// runs concurrent invocations in separate execution environments.
type Pool struct {
	free chan *lambdarie.Instance
	all  []*lambdarie.Instance
	// meter, when set, is told which operation each instance serves;
	// callers names each instance there.
	meter   *dynamometer.Meter
	callers map[*lambdarie.Instance]string
}

type operationKey struct{}

// WithOperation marks ctx as serving op (an API Gateway route key), for a
// metered pool.
func WithOperation(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

// NewPool makes a pool of running instances.
func NewPool(ins ...*lambdarie.Instance) *Pool {
	p := &Pool{free: make(chan *lambdarie.Instance, len(ins)), all: ins}
	for _, in := range ins {
		p.free <- in
	}
	return p
}

// Invoke hands event to a free instance. An instance is free again when
// its invocation ends, even if ctx ended first (the caller gets ctx's
// error at once): a Lambda invocation runs to its end whoever waits for
// it. An instance whose RIE died is started again at its next call
// (lambdarie.Instance).
func (p *Pool) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	var in *lambdarie.Instance
	select {
	case in = <-p.free:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return lambdarie.RunToEnd(ctx, func(ctx context.Context) ([]byte, error) {
		defer func() { p.free <- in }()
		if p.meter != nil {
			op, _ := ctx.Value(operationKey{}).(string)
			defer p.meter.Serving(p.callers[in], op)()
		}
		return in.Invoke(ctx, event)
	})
}

// Logs returns what each instance printed.
func (p *Pool) Logs() string {
	var s string
	for _, in := range p.all {
		s += in.Logs()
	}
	return s
}

// Stop stops every instance.
func (p *Pool) Stop() {
	for _, in := range p.all {
		in.Stop()
	}
}
