package agent_test

import (
	"fmt"
	"time"

	"github.com/sesame-ecole/sesame/wasm/agent"
)

// The shell feeds the machine timestamped inputs and carries out what
// each returns. Here one tab, idle, is warned and then logged out; the
// server's answers are made up.
func Example() {
	start := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	cfg := agent.Config{Idle: true, Timeout: 30 * time.Minute, Warning: time.Minute,
		Heartbeat: time.Minute, Lease: 3 * time.Minute}
	m := agent.New(start, cfg, agent.Options{})

	out := m.Tick(start)
	for out.End == nil {
		now := out.Wake // a timer set for Wake fired (late or not, it does not matter)
		out = m.Tick(now)
		if out.Warning && out.Remaining == time.Minute {
			fmt.Println(now.Sub(start), "warning, logged out in", out.Remaining)
		}
		if b := out.Beat; b != nil {
			answer := agent.Answer{OK: true, Config: cfg} // POST /heartbeat {"idleSeconds": b.Idle}
			if b.Final {
				fmt.Println(now.Sub(start), "reports", b.Idle, "idle")
				answer = agent.Answer{End: &agent.End{Reason: agent.ReasonIdleTimeout}}
			}
			out = m.Answer(now, *b, answer)
		}
	}
	fmt.Println("sign-in page:", out.End.Reason, out.End.Timeout)
	// Output:
	// 29m0s warning, logged out in 1m0s
	// 30m0s reports 30m0s idle
	// sign-in page: idle_timeout 30m0s
}
