package axe_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame/infra/testenv"
	"github.com/sesame-ecole/sesame/web/internal/axe"
)

// The cache holds the pinned axe-core, installed when missing.
func TestScriptIsThePinnedVersion(t *testing.T) {
	src, err := axe.Script(context.Background())
	testenv.Require(t, "axe-core "+axe.Version, err)
	head := string(src[:min(len(src), 200)])
	if !strings.Contains(head, "axe v"+axe.Version) {
		t.Errorf("axe.min.js does not start with its version %s: %q", axe.Version, head)
	}
}
