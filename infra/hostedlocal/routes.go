package hostedlocal

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sesame-ecole/sesame/infra/localtool"
)

// Route is one route of the HTTP API as SAM deploys it: a method and an
// OpenAPI path ("/api/v1/users/{login}") integrated with a function, by
// the function's logical id.
type Route struct {
	Method   string // upper case
	Path     string
	Function string
	segs     []string
}

// Key is the route's key as API Gateway names it: "GET /api/v1/users/{login}".
func (r Route) Key() string { return r.Method + " " + r.Path }

var functionArn = regexp.MustCompile(`\$\{([A-Za-z0-9]+)\.Arn\}`)

// Routes reads the routes of the transformed template's HTTP API
// (samlocal.Transform): the OpenAPI body of its AWS::ApiGatewayV2::Api,
// each path's methods and the function its payload 2.0 integration
// invokes. Literal paths come before paths with parameters, as API Gateway
// prefers the most specific route.
func Routes(transformed map[string]any) ([]Route, error) {
	res, _ := localtool.Dig(transformed, "Resources").(map[string]any)
	var paths map[string]any
	for id, r := range res {
		if localtool.Dig(r, "Type") != "AWS::ApiGatewayV2::Api" {
			continue
		}
		if paths != nil {
			return nil, fmt.Errorf("hostedlocal: more than one HTTP API (%s)", id)
		}
		if paths, _ = localtool.Dig(r, "Properties", "Body", "paths").(map[string]any); paths == nil {
			return nil, fmt.Errorf("hostedlocal: %s has no OpenAPI body", id)
		}
	}
	if paths == nil {
		return nil, fmt.Errorf("hostedlocal: the transformed template has no HTTP API")
	}
	var out []Route
	for path, ops := range paths {
		m, _ := ops.(map[string]any)
		for method, op := range m {
			integ := localtool.Dig(op, "x-amazon-apigateway-integration")
			if integ == nil {
				continue
			}
			if v := fmt.Sprint(localtool.Dig(integ, "payloadFormatVersion")); v != "2.0" {
				return nil, fmt.Errorf("hostedlocal: %s %s: payload format %s, want 2.0", method, path, v)
			}
			uri := fmt.Sprint(localtool.Dig(integ, "uri", "Fn::Sub"))
			fn := functionArn.FindStringSubmatch(uri)
			if fn == nil {
				return nil, fmt.Errorf("hostedlocal: %s %s: no function in %q", method, path, uri)
			}
			out = append(out, Route{Method: strings.ToUpper(method), Path: path, Function: fn[1], segs: strings.Split(path, "/")})
		}
	}
	slices.SortFunc(out, func(a, b Route) int {
		if c := strings.Count(a.Path, "{") - strings.Count(b.Path, "{"); c != 0 {
			return c
		}
		return strings.Compare(a.Key(), b.Key())
	})
	return out, nil
}

// match returns the route of method and path and its path parameters.
func match(routes []Route, method, path string) (Route, map[string]string, bool) {
	segs := strings.Split(path, "/")
	for _, r := range routes {
		if r.Method != method || len(r.segs) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, s := range r.segs {
			if name, isParam := strings.CutPrefix(s, "{"); isParam && segs[i] != "" {
				params[strings.TrimSuffix(name, "}")] = pathUnescape(segs[i])
			} else if s != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return r, params, true
		}
	}
	return Route{}, nil, false
}
