package hostedlocal

import (
	"slices"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/lambdarie"
	"github.com/sesame-ecole/sesame/infra/samlocal"
	"github.com/sesame-ecole/sesame/infra/testenv"
)

// TestRoutesAndEdge reads the gateway's routes from the transformed
// template and the edge from the distribution: every route of the API
// reaches the function httpapi.Routes names, paths with parameters match
// with their values decoded and after the literal ones, and the edge has
// the origin secret, the forwarded headers and both viewer functions.
func TestRoutesAndEdge(t *testing.T) {
	tr, err := samlocal.Transform(t.Context(), sesame.Template)
	testenv.Require(t, "aws-sam-translator (python3)", err)
	routes, err := Routes(tr)
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != len(httpapi.Routes) {
		t.Errorf("%d routes in the OpenAPI body, %d in httpapi.Routes", len(routes), len(httpapi.Routes))
	}
	dirOf := map[string]string{}
	for _, f := range lambdarie.Functions {
		dirOf[f.LogicalID] = f.Dir
	}
	for _, want := range httpapi.Routes {
		path := httpapi.Prefix + strings.NewReplacer("{id}", "x%2Fy", "{login}", "prof.martin").Replace(want.Path)
		r, params, ok := match(routes, want.Method, path)
		if !ok || dirOf[r.Function] != want.Function || r.Path != httpapi.Prefix+want.Path {
			t.Errorf("%s %s: route %+v (%v), want %s", want.Method, path, r, ok, want.Function)
		}
		if strings.Contains(want.Path, "{id}") && params["id"] != "x/y" {
			t.Errorf("%s %s: parameters %v", want.Method, path, params)
		}
	}
	if _, _, ok := match(routes, "GET", "/api/v1/users/a/b/c"); ok {
		t.Error("a path of no route matched")
	}
	if r, _, _ := match(routes, "GET", "/api/v1/journal.csv"); r.Path != "/api/v1/journal.csv" {
		t.Errorf("journal.csv went to %s", r.Path)
	}

	parsed, err := samlocal.Parse(t.Context(), sesame.Template)
	if err != nil {
		t.Fatal(err)
	}
	e, err := EdgeOf(parsed, "s3cr3t", "http://127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	if e.OriginHeaders["X-Origin-Secret"] != "s3cr3t" || e.RootObject != "index.html" ||
		e.APIRequest.LogicalID != "ApiRequestFunction" || e.PageRequest.LogicalID != "PageRequestFunction" {
		t.Errorf("edge %+v", e)
	}
	for _, h := range []string{"cloudfront-viewer-address", "origin", "content-type", "x-forwarded-host"} {
		if !strings.Contains(strings.Join(e.APIHeaders, " "), h) {
			t.Errorf("the API's forwarded headers %v lack %s", e.APIHeaders, h)
		}
	}
	if csp := e.SecurityHeaders["Content-Security-Policy"]; !strings.Contains(csp, "connect-src 'self' http://127.0.0.1:9 ") {
		t.Errorf("CSP %q does not let the pages reach the local S3", csp)
	}
}

// TestImportCORSIsTheTemplates: the local import bucket allows what the
// template's does (the presigned PUT's If-None-Match among the headers).
func TestImportCORSIsTheTemplates(t *testing.T) {
	parsed, err := samlocal.Parse(t.Context(), sesame.Template)
	if err != nil {
		testenv.Require(t, "aws-sam-translator", err)
	}
	rules, err := importCORS(parsed, "http://127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 || !slices.Contains(rules[0].AllowedHeaders, "if-none-match") || !slices.Contains(rules[0].AllowedMethods, "PUT") ||
		rules[0].AllowedOrigins[0] != "http://127.0.0.1:9" {
		t.Fatalf("CORS rules %+v", rules)
	}
}
