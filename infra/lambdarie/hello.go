package lambdarie

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/sesame-ecole/sesame/infra/dynamolocal"
)

// BuildTags are the Makefile's build tags for a function: lambda.norpc
// (no net/rpc server: the provided runtime speaks the runtime API) and
// nethttpomithttp2 (no HTTP/2 in net/http: DynamoDB, S3, the identity
// providers and the runtime API are all spoken over HTTP/1.1; it saves
// 0.4 MB a binary).
const BuildTags = "lambda.norpc,nethttpomithttp2"

// BuildFlags are the Makefile's flags for a function (LAMBDA_GOFLAGS).
var BuildFlags = []string{"-tags", BuildTags, "-trimpath", "-ldflags=-s -w"}

// BuildHello builds the minimal aws-lambda-go function of
// infra/lambdarie/testdata/hello, for arm64 Linux with the functions'
// flags, into dir, and returns its bootstrap: the yardstick of the
// functions' budgets (BENCHMARKS.md).
func BuildHello(ctx context.Context, dir string) (string, error) {
	return BuildTestFunction(ctx, dir, "hello")
}

// BuildTestFunction builds the function infra/lambdarie/testdata/name as
// BuildHello builds hello (name "sleep": a function that takes as long as
// its event's "ms" says).
func BuildTestFunction(ctx context.Context, dir, name string) (string, error) {
	root, err := dynamolocal.RepoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "bootstrap")
	args := append([]string{"build"}, BuildFlags...)
	cmd := exec.CommandContext(ctx, "go", append(args, "-o", out, "./infra/lambdarie/testdata/"+name)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("lambdarie: building %s: %w\n%s", name, err, b)
	}
	return out, nil
}
