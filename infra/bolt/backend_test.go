package bolt_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sesame-ecole/sesame"
)

// The suite covers the counters and secrets; this is the bolt store's own
// refusal to keep an empty secret.
func TestSecretNeverEmpty(t *testing.T) {
	st := openTemp(t)
	if _, err := st.Secret(context.Background(), "autre", nil); !errors.Is(err, sesame.ErrInvalid) {
		t.Fatalf("Secret with nothing to store: %v", err)
	}
}
