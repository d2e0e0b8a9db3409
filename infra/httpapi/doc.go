// Package httpapi is Sésame's HTTP API v1 as one net/http handler tree:
// the same handlers serve `sesame serve` on one machine and, through the
// Lambda adapter, each function of the hosted deployment (Routes names
// which function serves which route).
//
// It holds no rule of the product: every route resolves its session and
// calls one use case of sesame.Service. What it adds is HTTP:
//   - site.go: which hosts and origins are the site's own, which client
//     address counts (a declared proxy, CloudFront-Viewer-Address), and
//     whether the request came over HTTPS;
//   - errors.go: the one mapping from the domain's error vocabulary
//     (sesame.Describe) to a status and the JSON error body;
//   - openapi.json: the published contract, kept in step with the router
//     by a test.
//
// Use:
//
//	h := httpapi.New(httpapi.Config{Service: svc, Uploads: up, PublicOrigins: origins})
//	http.ListenAndServe(addr, h)
package httpapi
