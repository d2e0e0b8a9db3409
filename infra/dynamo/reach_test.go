package dynamo_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/faults"
)

// TestUnreachableIsUnavailable: what the store gives up on because
// DynamoDB cannot be reached, or its table is not there, reaches the user
// as unavailable (503, Retry-After), with the cause underneath; the
// store's refusals and the caller's own end are not.
func TestUnreachableIsUnavailable(t *testing.T) {
	st, client, _ := open(t)
	wantUnavailable := func(t *testing.T, err error) {
		t.Helper()
		p := sesame.Describe(err)
		if p.Code != sesame.CodeUnavailable || p.RetryAfter != sesame.UnavailableRetry || !strings.Contains(p.Message, "indisponible") {
			t.Fatalf("error %v described as %+v, want unavailable with Retry-After %v", err, p, sesame.UnavailableRetry)
		}
	}

	t.Run("Refused", func(t *testing.T) {
		down, err := dynamo.New(dynamolocal.Client("http://127.0.0.1:1"), "sesame-down")
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		_, err = down.GetSession(t.Context(), "x")
		wantUnavailable(t, err)
		if !errors.As(err, new(*smithyhttp.RequestSendError)) {
			t.Errorf("the cause is lost: %v", err)
		}
		t.Logf("given up after %v", time.Since(t0).Round(time.Millisecond))
	})

	t.Run("Reset", func(t *testing.T) {
		p, err := faults.StartProxy(strings.TrimPrefix(dynamolocal.Endpoint(t), "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		cut, err := dynamo.New(dynamolocal.Client(p.URL()), dynamolocal.TableName(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Add(faults.Toxic{Name: "reset", Type: "reset_peer", Stream: "downstream", Toxicity: 1,
			Attributes: map[string]any{"timeout": 0}}); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		_, err = cut.GetSession(t.Context(), "x")
		wantUnavailable(t, err)
		t.Logf("given up after %v", time.Since(t0).Round(time.Millisecond))
	})

	t.Run("NoTable", func(t *testing.T) {
		missing, err := dynamo.New(client, dynamolocal.TableName(t))
		if err != nil {
			t.Fatal(err)
		}
		_, err = missing.GetSession(t.Context(), "x")
		wantUnavailable(t, err)
		if !errors.As(err, new(*types.ResourceNotFoundException)) {
			t.Errorf("the cause is lost: %v", err)
		}
	})

	t.Run("Decided", func(t *testing.T) {
		if _, err := st.GetSession(t.Context(), "absent"); !errors.Is(err, sesame.ErrNotFound) {
			t.Errorf("an unknown session: %v, want not found", err)
		}
		k := newBase(t, st, sesame.DefaultLicense)
		if err := st.CreateBase(t.Context(), sesame.School{UAI: k.UAI}, sesame.Base{BaseKey: k, License: sesame.DefaultLicense, CreatedAt: t0},
			sesame.NewBaseContent(sesame.User{Login: "spr", DisplayName: "SPR"}, t0)); sesame.ErrorCode(err) == sesame.CodeUnavailable || err == nil {
			t.Errorf("a base created twice: %v, want a refusal that is not unavailable", err)
		}
	})

	t.Run("CallerGaveUp", func(t *testing.T) {
		down, err := dynamo.New(dynamolocal.Client("http://127.0.0.1:1"), "sesame-down")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := down.GetSession(ctx, "x"); sesame.ErrorCode(err) != sesame.CodeCanceled {
			t.Errorf("a cancelled request: %v (%s), want canceled", err, sesame.ErrorCode(err))
		}
	})
}
