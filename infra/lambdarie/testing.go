package lambdarie

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/localtool"
	"github.com/sesame-ecole/sesame/infra/tabledef"
	"github.com/sesame-ecole/sesame/infra/testenv"
)

var shared struct {
	once      sync.Once
	rie, qemu string
	err       error
	mu        sync.Mutex
	artifacts map[string]*artifact
}

type artifact struct {
	once sync.Once
	path string
	err  error
}

// tools returns RIE and qemu, installed once per test process.
func tools() (rie, qemu string, err error) {
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if shared.qemu, shared.err = Qemu(); shared.err != nil {
			return
		}
		shared.rie, shared.err = InstallEmulator(ctx)
	})
	return shared.rie, shared.qemu, shared.err
}

// Artifact returns f's bootstrap, built once per test process (and reused
// across processes while the sources are the same; see BuildArtifact).
func Artifact(tb testing.TB, f Function) string {
	tb.Helper()
	shared.mu.Lock()
	if shared.artifacts == nil {
		shared.artifacts = map[string]*artifact{}
	}
	a := shared.artifacts[f.LogicalID]
	if a == nil {
		a = &artifact{}
		shared.artifacts[f.LogicalID] = a
	}
	shared.mu.Unlock()
	a.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		a.path, a.err = BuildArtifact(ctx, f)
	})
	if a.err != nil {
		tb.Fatal(a.err)
	}
	return a.path
}

// FunctionOf returns the function whose logical id is id; it fails the test
// for an unknown id.
func FunctionOf(tb testing.TB, id string) Function {
	tb.Helper()
	for _, f := range Functions {
		if f.LogicalID == id {
			return f
		}
	}
	tb.Fatalf("lambdarie: no function %s", id)
	return Function{}
}

// LambdaEnv is what Lambda itself sets for a function, beside its
// template environment: its name, its timeout and memory (template.yaml's
// Timeout and MemorySize, the function's or Globals'), region, JSON log
// format and level, and credentials (static ones for the local DynamoDB
// and S3).
func LambdaEnv(logicalID, region, accessKey, secretKey string) []string {
	return []string{
		"AWS_LAMBDA_FUNCTION_NAME=sesame-" + logicalID,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + functionProperty(logicalID, "MemorySize", "256"),
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + functionProperty(logicalID, "Timeout", "10"),
		"AWS_LAMBDA_LOG_FORMAT=JSON",
		"AWS_LAMBDA_LOG_LEVEL=INFO",
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_ACCESS_KEY_ID=" + accessKey,
		"AWS_SECRET_ACCESS_KEY=" + secretKey,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// functionProperty is a scalar property of function logicalID in
// template.yaml, else of Globals.Function, else def.
func functionProperty(logicalID, name, def string) string {
	tpl, err := tabledef.DecodeTemplate(sesame.Template)
	if err != nil {
		return def
	}
	for _, v := range []any{localtool.Dig(tpl, "Resources", logicalID, "Properties", name), localtool.Dig(tpl, "Globals", "Function", name)} {
		if v != nil {
			return fmt.Sprint(v)
		}
	}
	return def
}

// StartFunction runs function id of template.yaml under RIE, from its real
// artifact, with the environment the template gives it (resolved from v)
// followed by extra (what Lambda and the local endpoints add). The instance
// is stopped when the test ends. Without RIE or qemu the test is skipped
// loudly, or fails under CI=true.
func StartFunction(tb testing.TB, id string, v Values, extra ...string) *Instance {
	tb.Helper()
	in, err := Start(tb.Context(), FunctionOptions(tb, id, v, extra...))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(in.Stop)
	return in
}

// FunctionOptions are the options StartFunction starts function id with:
// its artifact, built once, and its environment, read once from the
// template. A benchmark starting the function again and again gets them
// first, so that it times the function and not the template's parsing.
func FunctionOptions(tb testing.TB, id string, v Values, extra ...string) Options {
	tb.Helper()
	rie, qemu, err := tools()
	testenv.Require(tb, "Lambda RIE", err)
	f := FunctionOf(tb, id)
	env, err := Environment(sesame.Template, id, v)
	if err != nil {
		tb.Fatal(err)
	}
	return Options{RIE: rie, Qemu: qemu, Bootstrap: Artifact(tb, f), Env: append(env, extra...)}
}
