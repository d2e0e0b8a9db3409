package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/httpapi"
)

// TestFunctionServesOnlyItsRoutes checks Config.Function: a Lambda
// function's handler serves the routes named for it and answers the others
// as unknown routes.
func TestFunctionServesOnlyItsRoutes(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := &sesame.Service{Store: st, Hasher: fastHash, Clock: sesame.SystemClock{}, Timing: sesame.DefaultTiming}
	functions := map[string]bool{}
	for _, r := range httpapi.Routes {
		functions[r.Function] = true
	}
	for fn := range functions {
		t.Run(fn, func(t *testing.T) {
			h := httpapi.New(httpapi.Config{Service: svc, Function: fn})
			for _, r := range httpapi.Routes {
				req := httptest.NewRequest(r.Method, "https://sesame.test"+httpapi.Prefix+strings.ReplaceAll(r.Path, "{id}", "x"), nil)
				req.Header.Set("Origin", "https://sesame.test")
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				var body struct{ Error struct{ Code string } }
				_ = json.Unmarshal(rec.Body.Bytes(), &body)
				notFound := rec.Code == http.StatusNotFound && body.Error.Code == "not_found"
				if r.Function == fn && notFound {
					t.Errorf("%s %s: not routed by its own function", r.Method, r.Path)
				}
				if r.Function != fn && !notFound {
					t.Errorf("%s %s (function %s): %d %s, want 404 not_found", r.Method, r.Path, r.Function, rec.Code, body.Error.Code)
				}
			}
		})
	}
	t.Run("UnknownFunction", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("New with a function that serves no route did not panic")
			}
		}()
		httpapi.New(httpapi.Config{Service: svc, Function: "nulle"})
	})
}
