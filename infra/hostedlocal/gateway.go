package hostedlocal

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/sesame-ecole/sesame/infra/cloudfront"
)

// Invoker is a function that takes an event and returns its answer (a
// pool of lambdarie instances).
type Invoker interface {
	Invoke(ctx context.Context, event []byte) ([]byte, error)
}

// Edge is what CloudFront does in front of the site, as template.yaml's
// distribution configures it.
type Edge struct {
	// APIHeaders are the viewer headers the API's origin request policy
	// forwards (lower case); cookies and query strings all go.
	APIHeaders []string
	// OriginHeaders are the API origin's custom headers (X-Origin-Secret).
	OriginHeaders map[string]string
	// APIRequest and PageRequest are the viewer-request functions of the
	// /api/* and default behaviours.
	APIRequest, PageRequest cloudfront.Function
	// SecurityHeaders are the response headers policy's, added to every
	// answer.
	SecurityHeaders map[string]string
	// RootObject is the default root object (index.html).
	RootObject string
}

// Gateway is the site as a viewer reaches it: CloudFront (the
// viewer-request functions under njs, the origin request policy, the
// origin secret, CloudFront-Viewer-Address, the security headers) in
// front of the web bucket and of the HTTP API, which hands each request to
// its function as a payload 2.0 event.
type Gateway struct {
	Edge      Edge
	Routes    []Route
	Functions map[string]Invoker // by logical id
	Web       *s3.Client
	WebBucket string
	NJS       string // the njs binary
	Log       *slog.Logger
	// APIHost is the host API Gateway sees (its own execute-api name).
	APIHost string
	// IntegrationTimeout is how long the HTTP API waits for a function
	// (IntegrationTimeout, 30 s, when 0).
	IntegrationTimeout time.Duration
}

// IntegrationTimeout is the HTTP API's: past it, API Gateway answers 503
// {"message":"Service Unavailable"} while the function runs on.
const IntegrationTimeout = 30 * time.Second

// ServeHTTP serves one viewer request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range g.Edge.SecurityHeaders {
		w.Header().Set(k, v)
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		g.api(w, r)
		return
	}
	g.page(w, r)
}

// viewerEvent is CloudFront's viewer-request event of r.
func viewerEvent(r *http.Request) cloudfront.Event {
	h := map[string]string{"host": r.Host}
	for k, v := range r.Header {
		h[strings.ToLower(k)] = strings.Join(v, ",")
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	return cloudfront.ViewerRequest(r.Method, r.URL.Path, ip, h)
}

// viewerRequest runs f on r: the request CloudFront goes on with, or nil
// when the function answered itself (written to w).
func (g *Gateway) viewerRequest(w http.ResponseWriter, r *http.Request, f cloudfront.Function) *cloudfront.Request {
	out, err := f.Run(r.Context(), g.NJS, viewerEvent(r))
	if err != nil {
		g.Log.Error("viewer-request function failed", "function", f.LogicalID, "error", err)
		http.Error(w, "The CloudFront function failed.", http.StatusServiceUnavailable)
		return nil
	}
	var resp struct {
		StatusCode int `json:"statusCode"`
	}
	if json.Unmarshal(out, &resp) == nil && resp.StatusCode != 0 {
		w.WriteHeader(resp.StatusCode)
		return nil
	}
	var req cloudfront.Request
	if err := json.Unmarshal(out, &req); err != nil {
		g.Log.Error("viewer-request function answered no request", "function", f.LogicalID, "answer", string(out))
		http.Error(w, "The CloudFront function failed.", http.StatusServiceUnavailable)
		return nil
	}
	return &req
}

// page serves the web bucket's object for r, as the default behaviour
// does: GET and HEAD only, the page function's URI, the object's stored
// headers, 304 on a matching ETag, and 403 for a missing key (the bucket
// grants CloudFront no ListBucket).
func (g *Gateway) page(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "This distribution is not configured to allow the HTTP request method that was used for this request.", http.StatusForbidden)
		return
	}
	req := g.viewerRequest(w, r, g.Edge.PageRequest)
	if req == nil {
		return
	}
	key := strings.TrimPrefix(req.URI, "/")
	if key == "" {
		key = g.Edge.RootObject
	}
	in := &s3.GetObjectInput{Bucket: aws.String(g.WebBucket), Key: aws.String(key)}
	if v := r.Header.Get("If-None-Match"); v != "" {
		in.IfNoneMatch = aws.String(v)
	}
	obj, err := g.Web.GetObject(r.Context(), in)
	var apiErr smithy.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.ErrorCode() == "NotModified":
		w.WriteHeader(http.StatusNotModified)
		return
	case errors.As(err, &apiErr) && (apiErr.ErrorCode() == "NoSuchKey" || apiErr.ErrorCode() == "NotFound"):
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		return
	case err != nil:
		if strings.Contains(err.Error(), "304") {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		g.Log.Error("web bucket", "key", key, "error", err)
		http.Error(w, "The web bucket did not answer.", http.StatusBadGateway)
		return
	}
	defer obj.Body.Close()
	h := w.Header()
	for k, v := range map[string]*string{"Content-Type": obj.ContentType, "Content-Encoding": obj.ContentEncoding,
		"Cache-Control": obj.CacheControl, "ETag": obj.ETag} {
		if aws.ToString(v) != "" {
			h.Set(k, aws.ToString(v))
		}
	}
	if obj.ContentLength != nil {
		h.Set("Content-Length", strconv.FormatInt(*obj.ContentLength, 10))
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.Copy(w, obj.Body)
}

// api hands r to its function, as CloudFront's /api/* behaviour and the
// HTTP API do.
func (g *Gateway) api(w http.ResponseWriter, r *http.Request) {
	req := g.viewerRequest(w, r, g.Edge.APIRequest)
	if req == nil {
		return
	}
	route, params, ok := match(g.Routes, r.Method, r.URL.EscapedPath())
	if !ok {
		apiGatewayError(w, http.StatusNotFound, "Not Found")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 10<<20))
	if err != nil {
		apiGatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	ev := g.event(r, req, route, params, body)
	raw, _ := json.Marshal(ev)
	fn := g.Functions[route.Function]
	if fn == nil {
		g.Log.Error("no function", "route", route.Key(), "function", route.Function)
		internalError(w)
		return
	}
	wait := g.IntegrationTimeout
	if wait == 0 {
		wait = IntegrationTimeout
	}
	ctx, cancel := context.WithTimeout(WithOperation(r.Context(), route.Key()), wait)
	defer cancel()
	out, err := fn.Invoke(ctx, raw)
	switch {
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		g.Log.Error("integration timed out", "route", route.Key(), "function", route.Function, "after", wait)
		apiGatewayError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	case err != nil:
		// API Gateway's answer to a function error (a function that
		// outlasted its timeout among them: lambdarie.TimedOut) or to
		// an integration failure.
		g.Log.Error("integration failed", "route", route.Key(), "function", route.Function, "error", err)
		internalError(w)
		return
	}
	var res events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &res); err != nil || res.StatusCode == 0 {
		g.Log.Error("integration answered no response", "route", route.Key(), "answer", string(out))
		internalError(w)
		return
	}
	writeResponse(w, res)
}

func internalError(w http.ResponseWriter) {
	apiGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
}

// apiGatewayError writes API Gateway's own error answer: its fixed
// message, in JSON.
func apiGatewayError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"message":%q}`, message)
}

// event is the payload 2.0 event of r after CloudFront: the headers the
// origin request policy forwards (as the viewer-request function left
// them), the origin's custom headers, CloudFront-Viewer-Address, and what
// API Gateway adds.
func (g *Gateway) event(r *http.Request, cf *cloudfront.Request, route Route, params map[string]string, body []byte) events.APIGatewayV2HTTPRequest {
	ip, port, _ := net.SplitHostPort(r.RemoteAddr)
	headers := map[string]string{}
	for _, name := range g.Edge.APIHeaders {
		if v, ok := cf.Headers[name]; ok {
			headers[name] = v.Value
		}
	}
	for k, v := range g.Edge.OriginHeaders {
		headers[strings.ToLower(k)] = v
	}
	headers["cloudfront-viewer-address"] = net.JoinHostPort(ip, port)
	headers["host"] = g.APIHost
	headers["x-forwarded-for"] = ip
	headers["x-forwarded-proto"] = "https"
	headers["x-forwarded-port"] = "443"
	if n := len(body); n > 0 {
		headers["content-length"] = strconv.Itoa(n)
	}
	var cookies []string
	for _, c := range r.Cookies() {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	query := map[string]string{}
	for k, v := range r.URL.Query() {
		query[k] = strings.Join(v, ",")
	}
	id := requestID()
	now := time.Now().UTC()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: route.Key(), RawPath: r.URL.EscapedPath(), RawQueryString: r.URL.RawQuery,
		Cookies: cookies, Headers: headers, PathParameters: params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: route.Key(), AccountID: "000000000000", Stage: "$default", RequestID: id, APIID: "local",
			DomainName: g.APIHost, DomainPrefix: strings.SplitN(g.APIHost, ".", 2)[0],
			Time: now.Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: r.URL.Path,
				Protocol: "HTTP/1.1", SourceIP: ip, UserAgent: r.UserAgent()},
		},
	}
	if len(query) > 0 {
		ev.QueryStringParameters = query
	}
	if len(params) == 0 {
		ev.PathParameters = nil
	}
	if len(body) > 0 {
		if textual(headers["content-type"]) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev
}

// textual says whether API Gateway passes a body of this type as text.
// An HTTP API passes text/*, JSON, XML and JavaScript as text, and
// base64-encodes everything else, a missing Content-Type and
// application/x-www-form-urlencoded among them (so a SAML response posted
// to the ACS arrives base64-encoded).
func textual(contentType string) bool {
	ct := strings.ToLower(contentType)
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "json") || strings.Contains(ct, "xml") ||
		strings.Contains(ct, "javascript")
}

func requestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b) + "="
}

// writeResponse writes a payload 2.0 answer as API Gateway does.
func writeResponse(w http.ResponseWriter, res events.APIGatewayV2HTTPResponse) {
	h := w.Header()
	for k, v := range res.Headers {
		h.Set(k, v)
	}
	for k, vs := range res.MultiValueHeaders {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range res.Cookies {
		h.Add("Set-Cookie", c)
	}
	body := []byte(res.Body)
	if res.IsBase64Encoded {
		if b, err := base64.StdEncoding.DecodeString(res.Body); err == nil {
			body = b
		}
	}
	if h.Get("Content-Type") == "" && len(body) > 0 {
		h.Set("Content-Type", "application/json")
	}
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(body)
}

// pathUnescape is url.PathUnescape keeping the value when it cannot be
// read.
func pathUnescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// lookNJS finds njs (Debian's njs package).
func lookNJS() (string, error) {
	p, err := exec.LookPath("njs")
	if err != nil {
		return "", fmt.Errorf("njs (apt-get install njs) runs the CloudFront functions: %w", err)
	}
	return p, nil
}
