// Package samlocal reads template.yaml the way SAM does, offline: through
// the preinstalled aws-sam-translator (Python), by the script sam.py. Parse
// gives the template as CloudFormation reads it (block scalars and short
// forms included); Transform gives what `sam deploy` would create: the
// HTTP API with its OpenAPI body, the Lambda permissions, the bucket
// notifications, the roles.
package samlocal

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os/exec"
)

//go:embed sam.py
var script []byte

// Parse returns template as CloudFormation reads it.
func Parse(ctx context.Context, template []byte) (map[string]any, error) {
	return run(ctx, "parse", template)
}

// Transform returns what SAM's transform makes of template, each local
// CodeUri replaced by an s3:// address as `sam build` does.
func Transform(ctx context.Context, template []byte) (map[string]any, error) {
	return run(ctx, "transform", template)
}

func run(ctx context.Context, mode string, template []byte) (map[string]any, error) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil, fmt.Errorf("samlocal: python3 is needed: %w", err)
	}
	cmd := exec.CommandContext(ctx, py, "-c", string(script), mode)
	cmd.Stdin = bytes.NewReader(template)
	cmd.Env = append(cmd.Environ(), "AWS_DEFAULT_REGION=eu-west-3", "PYTHONDONTWRITEBYTECODE=1")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("samlocal: %s: %w\n%s", mode, err, stderr.Bytes())
	}
	var v map[string]any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		return nil, fmt.Errorf("samlocal: %s: %w", mode, err)
	}
	return v, nil
}
