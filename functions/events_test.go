package functions_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/httpapi"
)

func TestMain(m *testing.M) {
	m.Run()
	dynamolocal.Shutdown()
}

// s3Prefix starts the names of the S3 event fixtures; the others are API
// Gateway v2 events.
const s3Prefix = "s3-"

// fixtures are the API Gateway v2 events under testdata/.
func fixtures(t *testing.T) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	var names []string
	for _, n := range all {
		if !strings.HasPrefix(filepath.Base(n), s3Prefix) {
			names = append(names, n)
		}
	}
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures in testdata/: %v", err)
	}
	sort.Strings(names)
	return names
}

// s3Fixtures are the S3 event notifications under testdata/ (s3-*.json).
func s3Fixtures(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", s3Prefix+"*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no S3 fixtures in testdata/: %v", err)
	}
	sort.Strings(names)
	return names
}

// loadS3Event reads testdata/<name>.json strictly.
func loadS3Event(t *testing.T, name string) events.S3Event {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.S3Event
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

// loadEvent reads testdata/<name>.json strictly: a misspelt field fails.
func loadEvent(t testing.TB, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

// TestEventRoundTrip decodes each fixture into aws-lambda-go's type and
// encodes it back: nothing may be lost or changed (aws-lambda-go's own
// events tests do the same). The type always writes a few fields a real
// event may lack (requestContext.authentication, for mTLS); those may only
// come back empty.
func TestEventRoundTrip(t *testing.T) {
	for _, file := range fixtures(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ev := loadEvent(t, name)
			out, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			var in, back any
			if err := json.Unmarshal(raw, &in); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatal(err)
			}
			for _, d := range diffJSON("$", in, back) {
				t.Error(d)
			}
		})
	}
}

// TestS3EventRoundTrip does the same for the S3 notifications. The type
// adds one field, urlDecodedKey, that S3 does not send: it must be the key
// URL-decoded as S3 encodes it (a space as "+"), and is set aside.
func TestS3EventRoundTrip(t *testing.T) {
	for _, file := range s3Fixtures(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ev := loadS3Event(t, name)
			out, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			var in, back map[string]any
			if err := json.Unmarshal(raw, &in); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatal(err)
			}
			for i, r := range back["Records"].([]any) {
				obj := get(r, "s3", "object").(map[string]any)
				want, err := url.QueryUnescape(str(obj["key"]))
				if err != nil || obj["urlDecodedKey"] != want {
					t.Errorf("record %d: urlDecodedKey %q, want %q (%v)", i, obj["urlDecodedKey"], want, err)
				}
				delete(obj, "urlDecodedKey")
			}
			for _, d := range diffJSON("$", map[string]any(in), map[string]any(back)) {
				t.Error(d)
			}
		})
	}
}

// TestS3EventsAreConsistent checks that each S3 fixture is what the import
// bucket's notification sends the recover function: an object created
// under imports/ with one of the two suffixes template.yaml filters on,
// in a versioned bucket.
func TestS3EventsAreConsistent(t *testing.T) {
	for _, file := range s3Fixtures(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			ev := loadS3Event(t, name)
			if len(ev.Records) == 0 {
				t.Fatal("no record")
			}
			for i, r := range ev.Records {
				o := r.S3.Object
				if r.EventSource != "aws:s3" || r.EventVersion == "" || !strings.HasPrefix(r.EventName, "ObjectCreated:") {
					t.Errorf("record %d: %s %s %s, want an aws:s3 ObjectCreated record", i, r.EventSource, r.EventVersion, r.EventName)
				}
				if r.S3.Bucket.Arn != "arn:aws:s3:::"+r.S3.Bucket.Name {
					t.Errorf("record %d: bucket %s with arn %s", i, r.S3.Bucket.Name, r.S3.Bucket.Arn)
				}
				if !strings.HasPrefix(o.URLDecodedKey, "imports/") || !(strings.HasSuffix(o.URLDecodedKey, ".zip") || strings.HasSuffix(o.URLDecodedKey, ".profils")) {
					t.Errorf("record %d: key %q is not under imports/ with .zip or .profils", i, o.URLDecodedKey)
				}
				if o.VersionID == "" || o.ETag == "" || o.Sequencer == "" || o.Size <= 0 {
					t.Errorf("record %d: object %+v lacks what a versioned bucket sends", i, o)
				}
			}
		})
	}
	// A duplicate is the same object version delivered again.
	a, b := loadS3Event(t, "s3-put").Records[0].S3, loadS3Event(t, "s3-put-duplicate").Records[0].S3
	if a.Bucket.Name != b.Bucket.Name || a.Object.Key != b.Object.Key || a.Object.VersionID != b.Object.VersionID {
		t.Errorf("s3-put-duplicate.json is not s3-put.json's object version")
	}
	if k := loadS3Event(t, "s3-put-encoded").Records[0].S3.Object; k.URLDecodedKey != "imports/0751234A/2026-2027/rentrée 2025.zip" || k.Key == k.URLDecodedKey {
		t.Errorf("s3-put-encoded.json: key %q decodes to %q", k.Key, k.URLDecodedKey)
	}
}

// TestEventsAreConsistent checks that each fixture is an event the HTTP
// API would really send for one of httpapi.Routes, through CloudFront.
func TestEventsAreConsistent(t *testing.T) {
	routes := map[string]httpapi.Route{}
	for _, r := range httpapi.Routes {
		routes[r.Method+" "+httpapi.Prefix+r.Path] = r
	}
	seen := map[string]bool{}
	for _, file := range fixtures(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			ev := loadEvent(t, name)
			rc := ev.RequestContext
			if ev.Version != "2.0" {
				t.Errorf("version %q, want 2.0 (payload format of the HTTP API)", ev.Version)
			}
			if _, ok := routes[ev.RouteKey]; !ok {
				t.Errorf("routeKey %q is none of httpapi.Routes", ev.RouteKey)
			}
			seen[ev.RouteKey] = true
			method, pattern, _ := strings.Cut(ev.RouteKey, " ")
			if rc.RouteKey != ev.RouteKey || rc.HTTP.Method != method || rc.HTTP.Path != ev.RawPath || rc.Stage != "$default" {
				t.Errorf("requestContext (%s %s %s, stage %s) disagrees with routeKey %s and rawPath %s",
					rc.RouteKey, rc.HTTP.Method, rc.HTTP.Path, rc.Stage, ev.RouteKey, ev.RawPath)
			}
			if !matches(pattern, ev.RawPath, ev.PathParameters) {
				t.Errorf("rawPath %s does not match %s with pathParameters %v", ev.RawPath, pattern, ev.PathParameters)
			}
			if ev.Headers["host"] != rc.DomainName {
				t.Errorf("host %q, want the API's domain %q", ev.Headers["host"], rc.DomainName)
			}
			for _, h := range []string{"cloudfront-viewer-address", "x-origin-secret", "x-forwarded-host"} {
				if ev.Headers[h] == "" {
					t.Errorf("no %s header: CloudFront sends it", h)
				}
			}
			for k := range ev.Headers {
				if k != strings.ToLower(k) {
					t.Errorf("header %q: the HTTP API lower-cases header names", k)
				}
			}
			if _, ok := ev.Headers["cookie"]; ok {
				t.Error("a cookie header: payload 2.0 moves cookies to the cookies field")
			}
			if method != "GET" && ev.Headers["origin"] == "" {
				t.Errorf("%s without origin: the browser sends one", method)
			}
			if (ev.Body != "") != (ev.Headers["content-type"] != "") {
				t.Errorf("body %q with content-type %q", ev.Body, ev.Headers["content-type"])
			}
		})
	}
	for key, r := range routes {
		if !seen[key] {
			t.Errorf("no fixture for %s (function %s)", key, r.Function)
		}
	}
}

func matches(pattern, path string, params map[string]string) bool {
	for name, v := range params {
		pattern = strings.ReplaceAll(pattern, "{"+name+"}", v)
	}
	return pattern == path
}

// diffJSON lists where back, a re-encoding of in, differs from it: every
// value of in must come back unchanged, and back may add only empty
// values.
func diffJSON(path string, in, back any) []string {
	switch in := in.(type) {
	case map[string]any:
		b, ok := back.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %v became %v", path, in, back)}
		}
		var out []string
		for k, v := range in {
			bv, ok := b[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: lost (%v)", path, k, v))
				continue
			}
			out = append(out, diffJSON(path+"."+k, v, bv)...)
		}
		for k, v := range b {
			if _, ok := in[k]; !ok && !emptyJSON(v) {
				out = append(out, fmt.Sprintf("%s.%s: added %v", path, k, v))
			}
		}
		return out
	case []any:
		b, ok := back.([]any)
		if !ok || len(b) != len(in) {
			return []string{fmt.Sprintf("%s: %v became %v", path, in, back)}
		}
		var out []string
		for i := range in {
			out = append(out, diffJSON(fmt.Sprintf("%s[%d]", path, i), in[i], b[i])...)
		}
		return out
	}
	if !reflect.DeepEqual(in, back) {
		return []string{fmt.Sprintf("%s: %v became %v", path, in, back)}
	}
	return nil
}

func emptyJSON(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case float64:
		return v == 0
	case []any:
		return len(v) == 0
	case map[string]any:
		for _, x := range v {
			if !emptyJSON(x) {
				return false
			}
		}
		return true
	}
	return false
}
