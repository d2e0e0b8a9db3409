package functions_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"testing"

	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/tabledef"
	"github.com/sesame-ecole/sesame/infra/testenv"
)

// The morning the throttles are sized for (template.yaml, above Mappings).
const (
	morningSignIns = 1500 // per school
	morningSeconds = 120
	// The account's HTTP API quota per region, which caps every throttle.
	accountRate  = 10000
	accountBurst = 5000
)

func findInMap(key string) any {
	return map[string]any{"Fn::FindInMap": []any{"ThrottleBySchools", ref("Schools"), key}}
}

// TestTemplateLoginConcurrency: the login function has reserved
// concurrency, from a parameter with a default; no other function does.
func TestTemplateLoginConcurrency(t *testing.T) {
	tp := readTemplate(t)
	p := get(map[string]any(tp), "Parameters", "LoginReservedConcurrency")
	if get(p, "Type") != "Number" || get(p, "Description") == nil {
		t.Fatalf("LoginReservedConcurrency parameter: %v", p)
	}
	def, err := strconv.Atoi(str(get(p, "Default")))
	if err != nil || def < 1 {
		t.Errorf("LoginReservedConcurrency default %v", get(p, "Default"))
	}
	if minimum, err := strconv.Atoi(str(get(p, "MinValue"))); err != nil || minimum < 1 {
		t.Errorf("LoginReservedConcurrency MinValue %v: 0 would refuse every sign-in", get(p, "MinValue"))
	}
	// The default covers the default number of schools' mornings at 0.2 s a
	// sign-in, as its description says.
	schools, _ := strconv.Atoi(str(get(map[string]any(tp), "Parameters", "Schools", "Default")))
	if need := schools * 2 * morningSignIns / morningSeconds / 5; def < need {
		t.Errorf("LoginReservedConcurrency default %d < %d for %d schools", def, need, schools)
	}
	for _, id := range tp.resources("AWS::Serverless::Function") {
		got := get(tp.resource(id), "Properties", "ReservedConcurrentExecutions")
		switch {
		case id == "LoginFunction" && !reflect.DeepEqual(got, ref("LoginReservedConcurrency")):
			t.Errorf("LoginFunction ReservedConcurrentExecutions = %v, want !Ref LoginReservedConcurrency", got)
		case id != "LoginFunction" && got != nil:
			t.Errorf("%s reserves concurrency %v", id, got)
		}
	}
	if g := get(map[string]any(tp), "Globals", "Function", "ReservedConcurrentExecutions"); g != nil {
		t.Errorf("Globals reserve concurrency for every function: %v", g)
	}
}

// TestTemplateRouteThrottles: the API's throttles come from the
// ThrottleBySchools map, whose every row follows the sizing of its
// comment, and the login route has its own.
func TestTemplateRouteThrottles(t *testing.T) {
	tp := readTemplate(t)
	perSchool := map[string]int{
		"LoginRate":  2 * morningSignIns / morningSeconds, // 25: the average, doubled for the bell
		"LoginBurst": 10 * 2 * morningSignIns / morningSeconds,
		"Rate":       100,
		"Burst":      500,
	}
	caps := map[string]int{"LoginRate": accountRate, "LoginBurst": accountBurst, "Rate": accountRate, "Burst": accountBurst}
	allowed, _ := get(map[string]any(tp), "Parameters", "Schools", "AllowedValues").([]any)
	if len(allowed) == 0 {
		t.Fatal("Schools parameter without AllowedValues")
	}
	rows, _ := get(map[string]any(tp), "Mappings", "ThrottleBySchools").(map[string]any)
	if len(rows) != len(allowed) {
		t.Errorf("ThrottleBySchools has %d rows for %d allowed values of Schools", len(rows), len(allowed))
	}
	for _, v := range allowed {
		n, err := strconv.Atoi(str(v))
		if err != nil || n < 1 {
			t.Fatalf("Schools allows %v", v)
		}
		for key, each := range perSchool {
			want := min(each*n, caps[key])
			if got := str(get(rows, str(v), key)); got != strconv.Itoa(want) {
				t.Errorf("ThrottleBySchools[%d].%s = %s, want %d", n, key, got, want)
			}
		}
	}
	if def := str(get(map[string]any(tp), "Parameters", "Schools", "Default")); get(rows, def) == nil {
		t.Errorf("Schools default %q has no row", def)
	}

	api := get(tp.resource("Api"), "Properties")
	for prop, key := range map[string]string{"ThrottlingRateLimit": "Rate", "ThrottlingBurstLimit": "Burst"} {
		if got := get(api, "DefaultRouteSettings", prop); !reflect.DeepEqual(got, findInMap(key)) {
			t.Errorf("DefaultRouteSettings.%s = %v, want FindInMap %s", prop, got, key)
		}
		if got := get(api, "RouteSettings", "POST "+httpapi.Prefix+"/login", prop); !reflect.DeepEqual(got, findInMap("Login"+key)) {
			t.Errorf("login route %s = %v, want FindInMap Login%s", prop, got, key)
		}
	}
	// Every throttled route is a route of the API (a renamed route must not
	// leave its throttle behind).
	routes := map[string]bool{}
	for _, rt := range httpapi.Routes {
		routes[rt.Method+" "+httpapi.Prefix+rt.Path] = true
	}
	settings, _ := get(api, "RouteSettings").(map[string]any)
	for key := range settings {
		if !routes[key] {
			t.Errorf("RouteSettings for %q, which is no route of httpapi.Routes", key)
		}
	}
}

// TestTemplateWebAcl: an optional web ACL, attached to the distribution
// only when given.
func TestTemplateWebAcl(t *testing.T) {
	tp := readTemplate(t)
	p := get(map[string]any(tp), "Parameters", "WebAclArn")
	if get(p, "Default") != "" || get(p, "Type") != "String" {
		t.Fatalf("WebAclArn parameter: %v", p)
	}
	pattern := regexp.MustCompile(str(get(p, "AllowedPattern")))
	for arn, ok := range map[string]bool{
		"": true,
		"arn:aws:wafv2:us-east-1:123456789012:global/webacl/sesame-waf-sesame/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111": false, // upper case id
		"arn:aws:wafv2:us-east-1:123456789012:global/webacl/sesame-waf-sesame/a1b2c3d4-5678-90ab-cdef-0123456789ab": true,
		"arn:aws:wafv2:eu-west-3:123456789012:regional/webacl/x/a1b2c3d4-5678-90ab-cdef-0123456789ab":               false,
	} {
		if pattern.MatchString(arn) != ok {
			t.Errorf("WebAclArn pattern on %q: %v, want %v", arn, !ok, ok)
		}
	}
	want := map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{ref("WebAclArn"), ""}}}}
	if got := get(map[string]any(tp), "Conditions", "HasWebAcl"); !reflect.DeepEqual(got, want) {
		t.Errorf("HasWebAcl = %v, want %v", got, want)
	}
	attach := map[string]any{"Fn::If": []any{"HasWebAcl", ref("WebAclArn"), ref("AWS::NoValue")}}
	if got := get(tp.resource("Distribution"), "Properties", "DistributionConfig", "WebACLId"); !reflect.DeepEqual(got, attach) {
		t.Errorf("Distribution WebACLId = %v, want %v", got, attach)
	}
}

// TestWafExample: deploy/waf-example.yaml is a CLOUDFRONT web ACL whose
// rules block an address over a rate, sign-in sized for a school behind
// one address.
func TestWafExample(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(root, "deploy", "waf-example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := tabledef.DecodeTemplate(src)
	if err != nil {
		t.Fatal(err)
	}
	acl := get(m, "Resources", "WebAcl", "Properties")
	if get(acl, "Scope") != "CLOUDFRONT" || get(acl, "DefaultAction", "Allow") == nil {
		t.Fatalf("web ACL: %v", acl)
	}
	if !reflect.DeepEqual(get(m, "Outputs", "WebAclArn", "Value"), map[string]any{"Fn::GetAtt": []any{"WebAcl", "Arn"}}) {
		t.Errorf("WebAclArn output: %v", get(m, "Outputs", "WebAclArn"))
	}
	rules, _ := get(acl, "Rules").([]any)
	var login any
	for _, r := range rules {
		rate := get(r, "Statement", "RateBasedStatement")
		if get(rate, "AggregateKeyType") != "IP" || str(get(r, "Action", "Block", "CustomResponse", "ResponseCode")) != "429" {
			t.Errorf("rule %v: not a per-address block with 429", get(r, "Name"))
		}
		if get(rate, "ScopeDownStatement", "AndStatement", "Statements", 0, "ByteMatchStatement", "SearchString") == httpapi.Prefix+"/login" {
			login = rate
		}
	}
	if login == nil {
		t.Fatal("no rate-based rule on the sign-in route")
	}
	limit, _ := get(login, "Limit").(map[string]any)
	def, _ := strconv.Atoi(str(get(m, "Parameters", str(limit["Ref"]), "Default")))
	window, _ := strconv.Atoi(str(get(login, "EvaluationWindowSec")))
	if window == 0 || def*morningSeconds < 2*morningSignIns*window {
		t.Errorf("sign-in limit %d per %d s blocks a school's morning behind one address (%d in %d s)", def, window, morningSignIns, morningSeconds)
	}
}

// TestTemplatesLint: cfn-lint finds nothing in the template nor in the
// WAF example.
func TestTemplatesLint(t *testing.T) {
	lint, err := exec.LookPath("cfn-lint")
	testenv.Require(t, "cfn-lint", err)
	for _, f := range []string{"template.yaml", filepath.Join("deploy", "waf-example.yaml")} {
		out, err := exec.Command(lint, filepath.Join(root, f)).CombinedOutput()
		if err != nil {
			t.Errorf("cfn-lint %s: %v\n%s", f, err, out)
		}
	}
}
