package cloudfront

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame/infra/testenv"
)

func TestCheckRefuses(t *testing.T) {
	ok := Function{LogicalID: "F", Runtime: "cloudfront-js-2.0", Code: "function handler(event) { return event.request; }"}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]Function{
		"require":    {Runtime: ok.Runtime, Code: "var c = require('crypto');\n" + ok.Code},
		"Buffer":     {Runtime: ok.Runtime, Code: ok.Code + "\nvar b = Buffer.from('x');"},
		"setTimeout": {Runtime: ok.Runtime, Code: ok.Code + "\nsetTimeout(function () {}, 1);"},
		"eval":       {Runtime: ok.Runtime, Code: ok.Code + "\neval('1');"},
		"Function":   {Runtime: ok.Runtime, Code: ok.Code + "\nvar f = new Function('return 1');"},
		"too large":  {Runtime: ok.Runtime, Code: ok.Code + "\n// " + strings.Repeat("x", MaxCodeSize)},
		"no handler": {Runtime: ok.Runtime, Code: "function main(event) { return event.request; }"},
		"runtime":    {Runtime: "nodejs22.x", Code: ok.Code},
	} {
		if err := f.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestHarnessHasNoNodeFacilities: what CloudFront lacks fails under the
// harness too, even in code that Check would not see (built names).
func TestHarnessHasNoNodeFacilities(t *testing.T) {
	njs, err := exec.LookPath("njs")
	testenv.Require(t, "njs", err)
	ev := ViewerRequest("GET", "/", "198.51.100.7", map[string]string{"Host": "example.org"})
	out, err := run(context.Background(), njs, "function handler(event) { return event.request; }", ev)
	if err != nil || !strings.Contains(string(out), `"host":{"value":"example.org"}`) {
		t.Fatalf("%s %v", out, err)
	}
	for _, name := range []string{"require", "Buffer", "setTimeout", "process"} {
		code := "function handler(event) { return typeof globalThis['" + name + "']; }"
		if out, err := run(context.Background(), njs, code, ev); err != nil || string(out) != `"undefined"` {
			t.Errorf("%s under the harness: %s %v", name, out, err)
		}
	}
	if _, err := run(context.Background(), njs, "function handler(event) { throw new Error('non'); }", ev); err == nil {
		t.Error("a throwing handler did not fail")
	}
}
