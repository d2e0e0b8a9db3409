package functions_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/cloudfront"
	"github.com/sesame-ecole/sesame/infra/samlocal"
	"github.com/sesame-ecole/sesame/infra/testenv"
	"github.com/sesame-ecole/sesame/web"
)

// TestCloudFrontFunctions runs the template's CloudFront Functions under
// njs with CloudFront's event, after checking them against CloudFront's
// limits: the pages' addresses reach their files, the agent its
// precompressed form when the browser accepts it, and the API learns the
// site's host, whatever the viewer sent.
func TestCloudFrontFunctions(t *testing.T) {
	tpl, err := samlocal.Parse(t.Context(), sesame.Template)
	testenv.Require(t, "aws-sam-translator (python3)", err)
	fns, err := cloudfront.Functions(tpl)
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != 2 {
		t.Fatalf("%d CloudFront functions, want ApiRequestFunction and PageRequestFunction", len(fns))
	}
	for id, f := range fns {
		if err := f.Check(); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	njs, err := exec.LookPath("njs")
	testenv.Require(t, "njs", err)
	request := func(f cloudfront.Function, uri string, headers map[string]string) cloudfront.Request {
		t.Helper()
		out, err := f.Run(t.Context(), njs, cloudfront.ViewerRequest("GET", uri, viewerIP, headers))
		if err != nil {
			t.Fatal(err)
		}
		var r cloudfront.Request
		if err := json.Unmarshal(out, &r); err != nil || r.Method != "GET" {
			t.Fatalf("%s: not a request: %s (%v)", uri, out, err)
		}
		return r
	}

	page := fns["PageRequestFunction"]
	for addr, file := range web.Pages {
		if addr == "/" {
			continue // DefaultRootObject
		}
		got := request(page, addr, map[string]string{"host": "d111111abcdef8.cloudfront.net"}).URI
		if got != "/"+file {
			t.Errorf("%s: %s, want /%s", addr, got, file)
		}
		if _, err := os.Stat(filepath.Join(root, "web", "static", strings.TrimPrefix(got, "/"))); err != nil {
			t.Errorf("%s: %s is not in web/static: %v", addr, got, err)
		}
	}
	const agent = "/agent/agent-0123456789abcdef.wasm"
	for _, tc := range []struct{ uri, accept, want string }{
		{"/", "", "/"},
		{"/sesame.css", "gzip, br", "/sesame.css"},
		{"/accueil", "br", "/accueil.html"},
		{agent, "gzip, deflate, br, zstd", agent + ".br"},
		{agent, "gzip, deflate", agent + ".gz"},
		{agent, "", agent},
		{agent, "brotli-ish", agent},
		{"/agent/agent.wasm", "br", "/agent/agent.wasm"},
		{"/agent/agent-0123456789abcdef.js", "br", "/agent/agent-0123456789abcdef.js.br"},
	} {
		h := map[string]string{"host": "d111111abcdef8.cloudfront.net"}
		if tc.accept != "" {
			h["accept-encoding"] = tc.accept
		}
		if got := request(page, tc.uri, h).URI; got != tc.want {
			t.Errorf("%s (Accept-Encoding %q): %s, want %s", tc.uri, tc.accept, got, tc.want)
		}
	}

	api := fns["ApiRequestFunction"]
	r := request(api, "/api/v1/login", map[string]string{"host": "sesame.example.fr", "x-forwarded-host": "evil.example"})
	if got := r.Headers["x-forwarded-host"].Value; got != "sesame.example.fr" {
		t.Fatalf("x-forwarded-host %q, want the site's host", got)
	}
	if r.URI != "/api/v1/login" {
		t.Fatalf("the API's path changed: %s", r.URI)
	}
}
