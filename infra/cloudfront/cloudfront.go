// Package cloudfront executes the CloudFront Functions of template.yaml the
// way CloudFront does: each AWS::CloudFront::Function's FunctionCode, run
// under njs (the engine family CloudFront's JavaScript runtime is built
// on) with CloudFront's event shape, after a check against CloudFront's
// limits (the function size, and no require, Buffer, timers or other
// facilities the runtime lacks, which njs has: the harness deletes them).
// The function tests and the local hosted stack use it.
package cloudfront

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"

	"github.com/sesame-ecole/sesame/infra/localtool"
)

// MaxCodeSize is CloudFront's limit on a function's code, in bytes.
const MaxCodeSize = 10 * 1024

// Function is one AWS::CloudFront::Function of the template.
type Function struct {
	LogicalID string
	Runtime   string // FunctionConfig.Runtime: cloudfront-js-2.0
	Code      string
}

// Functions reads every AWS::CloudFront::Function of a template as
// CloudFormation reads it (samlocal.Parse: FunctionCode is a YAML block
// scalar), by logical id.
func Functions(tpl map[string]any) (map[string]Function, error) {
	res, _ := localtool.Dig(tpl, "Resources").(map[string]any)
	out := map[string]Function{}
	for id, r := range res {
		if localtool.Dig(r, "Type") != "AWS::CloudFront::Function" {
			continue
		}
		code, ok := localtool.Dig(r, "Properties", "FunctionCode").(string)
		if !ok {
			return nil, fmt.Errorf("cloudfront: %s: FunctionCode is not a literal string", id)
		}
		rt, _ := localtool.Dig(r, "Properties", "FunctionConfig", "Runtime").(string)
		out[id] = Function{LogicalID: id, Runtime: rt, Code: code}
	}
	return out, nil
}

// missing are the globals of njs (and Node) that CloudFront's runtime does
// not have; the harness deletes them, and Check refuses code naming them.
var missing = []string{"require", "Buffer", "setTimeout", "setInterval", "setImmediate", "clearTimeout",
	"clearInterval", "fetch", "XMLHttpRequest", "process", "eval"}

var forbidden = regexp.MustCompile(`\b(` + strings.Join(missing, "|") + `)\b|\bnew\s+Function\b|\bimport\s*[({'"]|\bimport\s+\w`)

// Check checks f against CloudFront's limits: its runtime, its size, a
// handler function, and none of the facilities CloudFront lacks.
func (f Function) Check() error {
	var errs []error
	if f.Runtime != "cloudfront-js-2.0" && f.Runtime != "cloudfront-js-1.0" {
		errs = append(errs, fmt.Errorf("runtime %q is not CloudFront's", f.Runtime))
	}
	if n := len(f.Code); n > MaxCodeSize {
		errs = append(errs, fmt.Errorf("%d bytes of code, over CloudFront's %d", n, MaxCodeSize))
	}
	if !regexp.MustCompile(`\bfunction\s+handler\s*\(\s*event\s*\)`).MatchString(f.Code) {
		errs = append(errs, errors.New("no function handler(event)"))
	}
	for _, m := range forbidden.FindAllString(f.Code, -1) {
		errs = append(errs, fmt.Errorf("uses %q, which CloudFront Functions lack", m))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cloudfront: %s: %w", f.LogicalID, err)
	}
	return nil
}

// Value is a header, cookie or query string value in CloudFront's event.
type Value struct {
	Value string `json:"value"`
}

// Request is the request of CloudFront's event, as functions see it.
type Request struct {
	Method      string           `json:"method"`
	URI         string           `json:"uri"`
	QueryString map[string]Value `json:"querystring"`
	Headers     map[string]Value `json:"headers"`
	Cookies     map[string]Value `json:"cookies"`
}

// Event is CloudFront's viewer-request event (version 1.0).
type Event struct {
	Version string `json:"version"`
	Context struct {
		DistributionDomainName string `json:"distributionDomainName"`
		DistributionID         string `json:"distributionId"`
		EventType              string `json:"eventType"`
		RequestID              string `json:"requestId"`
	} `json:"context"`
	Viewer struct {
		IP string `json:"ip"`
	} `json:"viewer"`
	Request Request `json:"request"`
}

// ViewerRequest is the event of a viewer's request: method, the URI's
// path, the viewer's address and its headers (names lowercased, as
// CloudFront gives them).
func ViewerRequest(method, uri, ip string, headers map[string]string) Event {
	var e Event
	e.Version = "1.0"
	e.Context.DistributionDomainName = "d111111abcdef8.cloudfront.net"
	e.Context.DistributionID = "EDFDVBD6EXAMPLE"
	e.Context.EventType = "viewer-request"
	e.Context.RequestID = "local"
	e.Viewer.IP = ip
	e.Request = Request{Method: method, URI: uri, QueryString: map[string]Value{}, Headers: map[string]Value{}, Cookies: map[string]Value{}}
	for k, v := range headers {
		e.Request.Headers[strings.ToLower(k)] = Value{Value: v}
	}
	return e
}

// Run executes f's handler on ev under njs (the binary njs; "" finds it
// on PATH) and returns what it returned: a request (the viewer's request
// goes on) or a response (CloudFront answers it). The code is checked
// first.
func (f Function) Run(ctx context.Context, njs string, ev Event) (json.RawMessage, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	return run(ctx, njs, f.Code, ev)
}

func run(ctx context.Context, njs, code string, ev Event) (json.RawMessage, error) {
	if njs == "" {
		var err error
		if njs, err = exec.LookPath("njs"); err != nil {
			return nil, fmt.Errorf("cloudfront: njs (apt-get install njs) is needed: %w", err)
		}
	}
	evJSON, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	var script bytes.Buffer
	script.WriteString("(function () {\n  var names = " + mustJSON(missing) + ";\n" +
		"  for (var i = 0; i < names.length; i++) { delete globalThis[names[i]]; }\n})();\n")
	script.WriteString(code)
	script.WriteString("\n;console.log('\\u0000' + JSON.stringify(handler(" + string(evJSON) + ")));\n")
	cmd := exec.CommandContext(ctx, njs, "-q", "-")
	cmd.Stdin = &script
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err = cmd.Run()
	_, result, found := bytes.Cut(out.Bytes(), []byte{0})
	if err != nil || !found {
		return nil, fmt.Errorf("cloudfront: njs: %v\n%s%s", err, out.Bytes(), stderr.Bytes())
	}
	return json.RawMessage(bytes.TrimSpace(result)), nil
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
