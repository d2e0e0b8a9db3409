package hostedlocal

import (
	"context"

	"github.com/sesame-ecole/sesame/infra/lambdarie"
)

// Pool is a function's instances under RIE: each serves one invocation at
// a time, so a call takes a free instance, or waits for one, as Lambda
// runs concurrent invocations in separate execution environments.
type Pool struct {
	free chan *lambdarie.Instance
	all  []*lambdarie.Instance
}

// NewPool makes a pool of running instances.
func NewPool(ins ...*lambdarie.Instance) *Pool {
	p := &Pool{free: make(chan *lambdarie.Instance, len(ins)), all: ins}
	for _, in := range ins {
		p.free <- in
	}
	return p
}

// Invoke hands event to a free instance.
func (p *Pool) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	var in *lambdarie.Instance
	select {
	case in = <-p.free:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { p.free <- in }()
	return in.Invoke(ctx, event)
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
