package functions_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/samlocal"
	"github.com/sesame-ecole/sesame/infra/testenv"
)

// transformed is template.yaml after SAM's transform (offline, with the
// preinstalled aws-sam-translator), as `sam deploy` would create it.
func transformed(t *testing.T) tmpl {
	t.Helper()
	out, err := samlocal.Transform(t.Context(), sesame.Template)
	testenv.Require(t, "aws-sam-translator (python3)", err)
	return out
}

// logicalID is the template's function of a route's function name:
// login → LoginFunction.
func logicalID(function string) string {
	return strings.ToUpper(function[:1]) + function[1:] + "Function"
}

// sourcePath is a route's path as execute-api source ARNs name it:
// {param} becomes *.
var paramRe = regexp.MustCompile(`\{[^}]+\}`)

// TestTransformedTemplate checks what SAM makes of template.yaml: every
// route of httpapi.Routes, and no other, reaches its function with
// payload 2.0 and a permission for that route only; the import bucket
// notifies the recover function of imports/*.zip and imports/*.profils;
// its failures go to the queue; every role reaches its table and its
// bucket prefixes only; nothing is public.
func TestTransformedTemplate(t *testing.T) {
	tp := transformed(t)
	paths, _ := get(tp.resource("Api"), "Properties", "Body", "paths").(map[string]any)
	if len(paths) == 0 {
		t.Fatal("the HttpApi has no OpenAPI body")
	}
	seen := 0
	for _, r := range httpapi.Routes {
		op := get(paths, httpapi.Prefix+r.Path, strings.ToLower(r.Method))
		in := get(op, "x-amazon-apigateway-integration")
		uri, _ := json.Marshal(get(in, "uri"))
		if get(in, "type") != "aws_proxy" || get(in, "payloadFormatVersion") != "2.0" || get(in, "httpMethod") != "POST" ||
			!strings.Contains(string(uri), "${"+logicalID(r.Function)+".Arn}") {
			t.Errorf("%s %s: integration %v, want aws_proxy payload 2.0 to %s", r.Method, r.Path, in, logicalID(r.Function))
		}
		seen++
	}
	total := 0
	for _, ops := range paths {
		total += len(ops.(map[string]any))
	}
	if total != seen {
		t.Errorf("the API has %d operations, httpapi.Routes %d", total, seen)
	}

	// One permission per route, for API Gateway, on that route only; S3's
	// for the recover function.
	perms := map[string]string{} // "POST /api/v1/login" → function
	s3perms := 0
	for _, id := range tp.resources("AWS::Lambda::Permission") {
		p := get(tp.resource(id), "Properties")
		fnRef, _ := get(p, "FunctionName", "Ref").(string)
		switch get(p, "Principal") {
		case "apigateway.amazonaws.com":
			arn := str(get(p, "SourceArn", "Fn::Sub", 0))
			_, route, ok := strings.Cut(arn, "${__Stage__}/")
			method, path, _ := strings.Cut(route, "/")
			if !ok || method == "*" || path == "*" {
				t.Errorf("%s: source %s is not one route", id, arn)
			}
			perms[method+" /"+path] = fnRef
		case "s3.amazonaws.com":
			s3perms++
			if fnRef != "RecoverFunction" || !reflect.DeepEqual(get(p, "SourceAccount"), ref("AWS::AccountId")) {
				t.Errorf("%s: S3 may invoke %s from %v", id, fnRef, get(p, "SourceAccount"))
			}
		default:
			t.Errorf("%s: principal %v", id, get(p, "Principal"))
		}
	}
	for _, r := range httpapi.Routes {
		key := r.Method + " " + httpapi.Prefix + paramRe.ReplaceAllString(r.Path, "*")
		if perms[key] != logicalID(r.Function) {
			t.Errorf("no permission for %s to %s (have %q)", key, logicalID(r.Function), perms[key])
		}
	}
	if len(perms) != len(httpapi.Routes) || s3perms != 2 {
		t.Errorf("%d API permissions for %d routes, %d S3 permissions (want 2)", len(perms), len(httpapi.Routes), s3perms)
	}

	// The import bucket's notifications: imports/*.zip and imports/*.profils.
	var suffixes []string
	for _, c := range get(tp.resource("ImportBucket"), "Properties", "NotificationConfiguration", "LambdaConfigurations").([]any) {
		rules := map[string]string{}
		for _, r := range get(c, "Filter", "S3Key", "Rules").([]any) {
			rules[str(get(r, "Name"))] = str(get(r, "Value"))
		}
		if get(c, "Event") != "s3:ObjectCreated:*" || rules["prefix"] != "imports/" ||
			!reflect.DeepEqual(get(c, "Function"), map[string]any{"Fn::GetAtt": []any{"RecoverFunction", "Arn"}}) {
			t.Errorf("notification %v", c)
		}
		suffixes = append(suffixes, rules["suffix"])
	}
	if slices.Sort(suffixes); !slices.Equal(suffixes, []string{".profils", ".zip"}) {
		t.Errorf("notified suffixes %v", suffixes)
	}

	// Failures: two retries, then the queue, which the role may write to.
	cfg := get(tp.resource("RecoverFunctionEventInvokeConfig"), "Properties")
	failures := map[string]any{"Fn::GetAtt": []any{"RecoverFailures", "Arn"}}
	if str(get(cfg, "MaximumRetryAttempts")) != "2" || !reflect.DeepEqual(get(cfg, "DestinationConfig", "OnFailure", "Destination"), failures) ||
		!reflect.DeepEqual(get(cfg, "FunctionName"), ref("RecoverFunction")) || get(tp.resource("RecoverFailures"), "Type") != "AWS::SQS::Queue" {
		t.Errorf("EventInvokeConfig %v", cfg)
	}

	// Roles: assumed by Lambda only; the table's policy and the basic
	// execution role; inline statements on named resources only.
	roles := tp.resources("AWS::IAM::Role")
	if len(roles) != 5 {
		t.Errorf("roles %v, want one per function", roles)
	}
	for _, id := range roles {
		p := get(tp.resource(id), "Properties")
		if got := get(p, "AssumeRolePolicyDocument", "Statement", 0, "Principal", "Service"); !reflect.DeepEqual(got, []any{"lambda.amazonaws.com"}) {
			t.Errorf("%s is assumed by %v", id, got)
		}
		for _, m := range get(p, "ManagedPolicyArns").([]any) {
			if m != "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" && !reflect.DeepEqual(m, ref("TableAccessPolicy")) {
				t.Errorf("%s has managed policy %v", id, m)
			}
		}
		pols, _ := get(p, "Policies").([]any)
		if id != "RecoverFunctionRole" && len(pols) != 0 {
			t.Errorf("%s has inline policies %v", id, pols)
		}
		for _, pol := range pols {
			for _, st := range get(pol, "PolicyDocument", "Statement").([]any) {
				checkStatement(t, id, st, failures)
			}
		}
	}
	for _, st := range get(tp.resource("TableAccessPolicy"), "Properties", "PolicyDocument", "Statement").([]any) {
		res := get(st, "Resource")
		if _, ok := res.([]any); !ok {
			res = []any{res}
		}
		for _, r := range res.([]any) {
			if !reflect.DeepEqual(r, map[string]any{"Fn::GetAtt": []any{"Table", "Arn"}}) && !reflect.DeepEqual(r, map[string]any{"Fn::Sub": "${Table.Arn}/index/*"}) {
				t.Errorf("TableAccessPolicy reaches %v", r)
			}
		}
	}

	// Nothing public: buckets block public access, "*" is only ever denied,
	// no function URL, no public queue.
	for _, id := range tp.resources("AWS::S3::Bucket") {
		b := get(tp.resource(id), "Properties", "PublicAccessBlockConfiguration")
		for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
			if str(get(b, k)) != "true" {
				t.Errorf("%s: %s is %v", id, k, get(b, k))
			}
		}
	}
	for _, id := range tp.resources("AWS::S3::BucketPolicy") {
		for _, st := range get(tp.resource(id), "Properties", "PolicyDocument", "Statement").([]any) {
			if get(st, "Principal") == "*" && get(st, "Effect") != "Deny" {
				t.Errorf("%s allows everyone: %v", id, st)
			}
		}
	}
	for _, typ := range []string{"AWS::Lambda::Url", "AWS::SQS::QueuePolicy", "AWS::Lambda::LayerVersionPermission"} {
		if ids := tp.resources(typ); len(ids) != 0 {
			t.Errorf("%s: %v", typ, ids)
		}
	}
}

// checkStatement checks one statement of the recover function's inline
// policy: the failure queue, or the import bucket by prefix.
func checkStatement(t *testing.T, role string, st, failures any) {
	t.Helper()
	actions := get(st, "Action")
	if a, ok := actions.(string); ok {
		actions = []any{a}
	}
	res, _ := json.Marshal(get(st, "Resource"))
	for _, a := range actions.([]any) {
		a := str(a)
		switch {
		case strings.Contains(a, "*") || get(st, "Effect") != "Allow":
			t.Errorf("%s: %v", role, st)
		case a == "sqs:SendMessage":
			if !reflect.DeepEqual(get(st, "Resource"), failures) {
				t.Errorf("%s may send to %s", role, res)
			}
		case strings.HasPrefix(a, "s3:"):
			ok := false
			for _, prefix := range []string{"/uploads/*", "/imports/*", "/reports/*"} {
				ok = ok || strings.Contains(string(res), `imports-${StackUuid}`+prefix+`"`)
			}
			if !ok || (a == "s3:PutObject" && strings.Contains(string(res), "/imports/*")) {
				t.Errorf("%s: %s on %s", role, a, res)
			}
		default:
			t.Errorf("%s: %s", role, a)
		}
	}
}
