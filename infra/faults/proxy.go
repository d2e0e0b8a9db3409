package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// Proxy is a toxiproxy TCP proxy running in this process.
type Proxy struct {
	proxy *toxiproxy.Proxy
	mu    sync.Mutex
	added map[string]int // toxics switched on, by kind, over the proxy's life
}

// StartProxy starts a proxy on a free loopback port that forwards to
// upstream ("host:port").
func StartProxy(upstream string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faults: finding a free port: %w", err)
	}
	listen := l.Addr().String()
	l.Close()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "faults-"+strings.ReplaceAll(listen, ":", "-"), listen, upstream)
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("faults: starting the proxy to %s: %w", upstream, err)
	}
	return &Proxy{proxy: p, added: map[string]int{}}, nil
}

// URL returns the proxy's address as an http URL.
func (p *Proxy) URL() string { return "http://" + p.proxy.Listen }

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() { p.proxy.Stop() }

// Toxic is one toxiproxy toxic: its kind ("latency", "limit_data",
// "reset_peer", …), the direction it acts on ("upstream" towards the
// server, "downstream" towards the client), the share of new connections it
// applies to, and its attributes.
type Toxic struct {
	Name       string
	Type       string
	Stream     string
	Toxicity   float32
	Attributes map[string]any
}

// Add switches a toxic on.
func (p *Proxy) Add(t Toxic) error {
	body, err := json.Marshal(map[string]any{"name": t.Name, "type": t.Type, "stream": t.Stream,
		"toxicity": t.Toxicity, "attributes": t.Attributes})
	if err != nil {
		return err
	}
	if _, err := p.proxy.Toxics.AddToxicJson(strings.NewReader(string(body))); err != nil {
		return fmt.Errorf("faults: adding toxic %s: %w", t.Name, err)
	}
	p.mu.Lock()
	p.added[t.Type]++
	p.mu.Unlock()
	return nil
}

// Remove switches a toxic off.
func (p *Proxy) Remove(name string) error {
	if err := p.proxy.Toxics.RemoveToxic(context.Background(), name); err != nil {
		return fmt.Errorf("faults: removing toxic %s: %w", name, err)
	}
	return nil
}

// Switched returns how many times each kind of toxic was switched on.
func (p *Proxy) Switched() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.added))
	for k, v := range p.added {
		out[k] = v
	}
	return out
}

// ChaosPlan says how [Proxy.Chaos] draws its faults: every Period it
// switches one toxic on for a random time up to Hold, chosen by the weights.
type ChaosPlan struct {
	Period, Hold time.Duration
	// Weights of each fault: a reply cut after CutMin..CutMax bytes, a
	// reset after ResetAfter, a latency spike of Latency ± Jitter.
	Cut, Reset, Latency int
	CutMin, CutMax      int
	ResetAfter          time.Duration
	LatencyMS, JitterMS int
	Toxicity            float32 // share of the connections each toxic touches
}

// DefaultChaos cuts replies most of the time, since those are the ambiguous
// writes, with a few resets and latency spikes between them.
var DefaultChaos = ChaosPlan{
	Period: 40 * time.Millisecond, Hold: 30 * time.Millisecond,
	Cut: 6, Reset: 1, Latency: 2,
	CutMin: 1, CutMax: 2000,
	ResetAfter: 5 * time.Millisecond,
	LatencyMS:  20, JitterMS: 15,
	Toxicity: 0.7,
}

// Chaos switches toxics on and off at random following plan, from seed,
// until the returned function is called; that function waits for the last
// toxic to be removed.
func (p *Proxy) Chaos(plan ChaosPlan, seed uint64) (stop func()) {
	rng := rand.New(rand.NewPCG(seed, seed^0x5e5a3e))
	done := make(chan struct{})
	var finished sync.WaitGroup
	var n atomic.Int64
	finished.Go(func() {
		tick := time.NewTicker(plan.Period)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			t := plan.draw(rng, n.Add(1))
			if err := p.Add(t); err != nil {
				continue
			}
			hold := time.Duration(rng.Int64N(int64(plan.Hold))) + time.Millisecond
			select {
			case <-done:
			case <-time.After(hold):
			}
			_ = p.Remove(t.Name)
		}
	})
	var once sync.Once
	return func() { once.Do(func() { close(done); finished.Wait() }) }
}

// draw picks the n-th toxic of a chaos run.
func (plan ChaosPlan) draw(rng *rand.Rand, n int64) Toxic {
	name := fmt.Sprintf("chaos-%d", n)
	x := rng.IntN(max(plan.Cut+plan.Reset+plan.Latency, 1))
	switch {
	case x < plan.Cut:
		return Toxic{Name: name, Type: "limit_data", Stream: "downstream", Toxicity: plan.Toxicity,
			Attributes: map[string]any{"bytes": plan.CutMin + rng.IntN(max(plan.CutMax-plan.CutMin, 1))}}
	case x < plan.Cut+plan.Reset:
		return Toxic{Name: name, Type: "reset_peer", Stream: "downstream", Toxicity: plan.Toxicity,
			Attributes: map[string]any{"timeout": plan.ResetAfter.Milliseconds()}}
	}
	return Toxic{Name: name, Type: "latency", Stream: "downstream", Toxicity: plan.Toxicity,
		Attributes: map[string]any{"latency": plan.LatencyMS, "jitter": plan.JitterMS}}
}
