package httpapi

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

// domainErrorSamples holds one value of every error type of the domain
// package. TestErrorVocabulary fails when a type is missing here, so a new
// error type cannot escape the vocabulary.
var domainErrorSamples = map[string]error{
	"Error":                sesame.NotFound("L'utilisateur « x »"),
	"SeatsExhaustedError":  &sesame.SeatsExhaustedError{Pool: sesame.PoolAdminModify, Limit: 4, RetryAfter: 90 * time.Second},
	"UnauthenticatedError": &sesame.UnauthenticatedError{Reason: sesame.ReasonIdleTimeout, IdleTimeout: 30 * time.Minute},
	"ThrottledError":       &sesame.ThrottledError{RetryAfter: 1500 * time.Millisecond},
	"BusyError":            &sesame.BusyError{RetryAfter: 2 * time.Second},
	"ForbiddenError":       &sesame.ForbiddenError{Decision: sesame.Decision{Action: sesame.ActionSPRJournal, Reason: "not_granted"}},
	"ImportError":          &sesame.ImportError{Reason: "schema", Entry: "users.jsonl", Line: 3, Field: "kind", Message: "Type inconnu."},
	"WriteConflict":        &sesame.WriteConflict{Failed: []int{1}},

	"ProviderUnavailableError": &sesame.ProviderUnavailableError{Provider: "Mon ENT", Err: errors.New("dial tcp: refused")},
	"UnavailableError":         &sesame.UnavailableError{Err: errors.New("dial tcp: refused")},
}

// wantStatus is the HTTP status each sample must get.
var wantStatus = map[string]int{
	"Error": http.StatusNotFound, "SeatsExhaustedError": http.StatusConflict, "UnauthenticatedError": http.StatusUnauthorized,
	"ThrottledError": http.StatusTooManyRequests, "BusyError": http.StatusServiceUnavailable, "ForbiddenError": http.StatusForbidden,
	"ImportError": http.StatusUnprocessableEntity, "WriteConflict": http.StatusConflict,
	"ProviderUnavailableError": http.StatusServiceUnavailable, "UnavailableError": http.StatusServiceUnavailable,
}

// rootDir is the domain package's folder.
func rootDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// domainDecls parses the domain package (not its tests) and returns the
// types that have an Error() method, and the string constants named
// Code… with the file declaring each.
func domainDecls(t *testing.T) (errTypes map[string]bool, codes map[string]string, codeFiles map[string]string) {
	t.Helper()
	fset := gotoken.NewFileSet()
	files, err := filepath.Glob(filepath.Join(rootDir(t), "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	errTypes, codes, codeFiles = map[string]bool{}, map[string]string{}, map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil || d.Name.Name != "Error" || d.Type.Params.NumFields() != 0 {
					continue
				}
				rt := d.Recv.List[0].Type
				if s, ok := rt.(*ast.StarExpr); ok {
					rt = s.X
				}
				errTypes[rt.(*ast.Ident).Name] = true
			case *ast.GenDecl:
				if d.Tok != gotoken.CONST {
					continue
				}
				for _, sp := range d.Specs {
					vs := sp.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if !strings.HasPrefix(n.Name, "Code") || i >= len(vs.Values) {
							continue
						}
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == gotoken.STRING {
							v, _ := strconv.Unquote(lit.Value)
							codes[n.Name], codeFiles[n.Name] = v, filepath.Base(f)
						}
					}
				}
			}
		}
	}
	return errTypes, codes, codeFiles
}

func TestErrorVocabulary(t *testing.T) {
	errTypes, codes, codeFiles := domainDecls(t)
	if len(errTypes) < len(domainErrorSamples) || len(codes) < 20 {
		t.Fatalf("parsed %d error types and %d codes: the parser missed the domain", len(errTypes), len(codes))
	}
	t.Run("EveryCodeInErrorsGo", func(t *testing.T) {
		for name, f := range codeFiles {
			if f != "errors.go" {
				t.Errorf("%s is declared in %s: every error code lives in errors.go", name, f)
			}
		}
	})
	t.Run("EveryCodeHasAStatus", func(t *testing.T) {
		for name, code := range codes {
			if _, ok := statusOf[code]; !ok {
				t.Errorf("%s (%q) has no HTTP status in statusOf", name, code)
			}
		}
	})
	for name := range errTypes {
		t.Run(name, func(t *testing.T) {
			sample, ok := domainErrorSamples[name]
			if !ok {
				t.Fatalf("error type %s has no sample in domainErrorSamples: add one, with its expected status", name)
			}
			var d sesame.Described
			if !errors.As(sample, &d) {
				t.Fatalf("%s does not implement sesame.Described", name)
			}
			wrapped := fmt.Errorf("some step: %w", sample)
			p := sesame.Describe(wrapped)
			if p.Code == sesame.CodeInternal || p.Code == "" {
				t.Fatalf("%s is described as %q", name, p.Code)
			}
			if sesame.ErrorCode(wrapped) != p.Code || sesame.ErrorMessage(wrapped) != p.Message {
				t.Fatalf("ErrorCode/ErrorMessage disagree with Describe for %s", name)
			}
			if !frenchLooking(p.Message) {
				t.Fatalf("%s: message %q does not read as a French sentence", name, p.Message)
			}
			ae := toAPIError(wrapped)
			if ae.status != wantStatus[name] || ae.code != p.Code || ae.message != p.Message {
				t.Fatalf("%s answers %d %s %q, want %d %s", name, ae.status, ae.code, ae.message, wantStatus[name], p.Code)
			}
			if name == "SeatsExhaustedError" && !strings.Contains(p.Message, "licence") {
				t.Fatalf("a full pool does not say how to get more seats: %q", p.Message)
			}
			if p.RetryAfter > 0 && ae.header.Get("Retry-After") == "" {
				t.Fatalf("%s asks to wait but the answer has no Retry-After", name)
			}
		})
	}
	t.Run("Canceled", func(t *testing.T) {
		ae := toAPIError(fmt.Errorf("verify: %w", context.Canceled))
		if ae.code != sesame.CodeCanceled || ae.status == http.StatusInternalServerError {
			t.Fatalf("a canceled request answers %d %s", ae.status, ae.code)
		}
	})
	t.Run("Internal", func(t *testing.T) {
		ae := toAPIError(errors.New("dial tcp 10.0.0.1: refused"))
		if ae.code != sesame.CodeInternal || ae.status != http.StatusInternalServerError || strings.Contains(ae.message, "dial") {
			t.Fatalf("a technical error answers %d %s %q", ae.status, ae.code, ae.message)
		}
	})
}

// frenchLooking reports whether s is a sentence for a person: capitalised,
// ended, and not the generic internal message.
func frenchLooking(s string) bool {
	if s == "" || s == sesame.ErrorMessage(errors.New("")) {
		return false
	}
	r := []rune(s)
	return (r[0] >= 'A' && r[0] <= 'Z' || strings.ContainsRune("ÀÉÈÊÇ", r[0])) && strings.ContainsAny(string(r[len(r)-1]), ".!?»)")
}
