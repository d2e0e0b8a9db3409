package functions_test

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame/functions/internal/fn"
	"github.com/sesame-ecole/sesame/functions/internal/s3trigger"
)

// refersTo reports whether v, a part of the template, names resource id
// with Ref, GetAtt or inside a Sub string.
func refersTo(v any, id string) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			switch k {
			case "Ref":
				if x == id {
					return true
				}
			case "Fn::GetAtt":
				if s, _ := x.([]any); len(s) > 0 && s[0] == id {
					return true
				}
			case "Fn::Sub":
				tmpl := x
				if s, ok := x.([]any); ok && len(s) > 0 {
					tmpl = s[0]
				}
				if t, ok := tmpl.(string); ok && (strings.Contains(t, "${"+id+"}") || strings.Contains(t, "${"+id+".")) {
					return true
				}
			}
			if refersTo(x, id) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if refersTo(x, id) {
				return true
			}
		}
	}
	return false
}

// TestTemplateImportBucket checks the hosted side of recovery
// (DESIGN.md "Cloud uploads"): the import bucket, the recover function's
// S3 events, environment, rights and failure destination.
func TestTemplateImportBucket(t *testing.T) {
	tp := readTemplate(t)
	bucket := get(tp.resource("ImportBucket"), "Properties")
	fnProps := get(tp.resource("RecoverFunction"), "Properties")

	t.Run("Bucket", func(t *testing.T) {
		if get(bucket, "VersioningConfiguration", "Status") != "Enabled" {
			t.Error("the import bucket is not versioned: idempotency is keyed by version id")
		}
		for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
			if str(get(bucket, "PublicAccessBlockConfiguration", k)) != "true" {
				t.Errorf("PublicAccessBlockConfiguration.%s is not true", k)
			}
		}
		if get(bucket, "BucketEncryption", "ServerSideEncryptionConfiguration", 0, "ServerSideEncryptionByDefault", "SSEAlgorithm") == nil {
			t.Error("the import bucket is not encrypted")
		}
		var uploads, versions bool
		for _, r := range get(bucket, "LifecycleConfiguration", "Rules").([]any) {
			if get(r, "Status") != "Enabled" {
				continue
			}
			if get(r, "Prefix") == "uploads/" && str(get(r, "ExpirationInDays")) == "7" {
				uploads = true
			}
			if get(r, "Prefix") == nil && str(get(r, "NoncurrentVersionExpiration", "NoncurrentDays")) == "30" {
				versions = true
			}
		}
		if !uploads || !versions {
			t.Errorf("lifecycle: uploads/ expire after 7 days %v, old versions after 30 %v", uploads, versions)
		}
		cors, _ := get(bucket, "CorsConfiguration", "CorsRules").([]any)
		if len(cors) != 1 || !reflect.DeepEqual(get(cors[0], "AllowedMethods"), []any{"PUT"}) {
			t.Fatalf("CORS rules %v: want one, PUT only (presigned uploads)", cors)
		}
		origin := get(cors[0], "AllowedOrigins", 0)
		want := map[string]any{"Fn::If": []any{"HasSiteOrigin", ref("SiteOrigin"), map[string]any{"Fn::Sub": "https://${Distribution.DomainName}"}}}
		if !reflect.DeepEqual(origin, want) {
			t.Errorf("CORS origin %v, want SiteOrigin or else the distribution's address", origin)
		}
		if refersTo(tp.resource("Distribution"), "ImportBucket") {
			t.Error("the distribution refers to the import bucket: CloudFront does not serve it")
		}
		if !reflect.DeepEqual(get(map[string]any(tp), "Outputs", "ImportBucketName", "Value"), ref("ImportBucket")) {
			t.Error("no ImportBucketName output (!Ref ImportBucket)")
		}
	})

	// The name is built once, the same way, wherever the function needs
	// it: a !Ref from the function to the bucket whose notification names
	// the function would be a circular dependency.
	name := get(bucket, "BucketName")
	sub, _ := get(name, "Fn::Sub").([]any)
	if len(sub) != 2 {
		t.Fatalf("BucketName %v: want !Sub [template, variables]", name)
	}
	nameTmpl, nameVars := str(sub[0]), sub[1]

	t.Run("Function", func(t *testing.T) {
		if env := get(fnProps, "Environment", "Variables", fn.EnvImportBucket); !reflect.DeepEqual(env, name) {
			t.Errorf("%s = %v, want the bucket's own name expression %v", fn.EnvImportBucket, env, name)
		}
		props := map[string]any{}
		for k, v := range fnProps.(map[string]any) {
			if k != "Events" {
				props[k] = v
			}
		}
		if refersTo(props, "ImportBucket") {
			t.Error("RecoverFunction refers to ImportBucket outside its events: circular dependency (E3004)")
		}
		if n, _ := strconv.Atoi(str(get(fnProps, "Timeout"))); n < 600 || n > 900 {
			t.Errorf("Timeout %v: a school's recovery takes minutes (at most 900 s)", get(fnProps, "Timeout"))
		}
		if n, _ := strconv.Atoi(str(get(fnProps, "MemorySize"))); n < 1024 {
			t.Errorf("MemorySize %v, want 1024 or more", get(fnProps, "MemorySize"))
		}

		var suffixes []string
		for evName, ev := range get(fnProps, "Events").(map[string]any) {
			if get(ev, "Type") != "S3" {
				continue
			}
			p := get(ev, "Properties")
			if !reflect.DeepEqual(get(p, "Bucket"), ref("ImportBucket")) || get(p, "Events") != "s3:ObjectCreated:*" {
				t.Errorf("%s: %v, want s3:ObjectCreated:* on !Ref ImportBucket", evName, p)
			}
			rules := map[string]string{}
			for _, r := range get(p, "Filter", "S3Key", "Rules").([]any) {
				rules[str(get(r, "Name"))] = str(get(r, "Value"))
			}
			if len(rules) != 2 || rules["prefix"] != s3trigger.ImportsPrefix {
				t.Errorf("%s: filter %v, want prefix %s and one suffix", evName, rules, s3trigger.ImportsPrefix)
			}
			suffixes = append(suffixes, rules["suffix"])
		}
		slices.Sort(suffixes)
		if !slices.Equal(suffixes, []string{".profils", ".zip"}) {
			t.Errorf("S3 events on suffixes %v, want .profils and .zip", suffixes)
		}

		// Least privilege: these actions on these prefixes of this bucket.
		want := map[string][]string{
			"uploads/*":                   {"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"},
			s3trigger.ImportsPrefix + "*": {"s3:GetObject", "s3:GetObjectVersion"},
			s3trigger.ReportsPrefix + "*": {"s3:PutObject"},
		}
		got := map[string][]string{}
		policies, _ := get(fnProps, "Policies").([]any)
		if len(policies) != 2 {
			t.Fatalf("Policies %v: want the table's and one statement on the bucket", policies)
		}
		for i, s := range get(policies[1], "Statement").([]any) {
			if get(s, "Effect") != "Allow" {
				continue
			}
			res := get(s, "Resource", "Fn::Sub")
			rs, _ := res.([]any)
			if len(rs) != 2 || !reflect.DeepEqual(rs[1], nameVars) {
				t.Errorf("statement %d: resource %v is not built like the bucket's name", i, get(s, "Resource"))
				continue
			}
			prefix, ok := strings.CutPrefix(str(rs[0]), "arn:${AWS::Partition}:s3:::"+nameTmpl+"/")
			if !ok {
				t.Errorf("statement %d: resource %s is not an object of the import bucket", i, rs[0])
				continue
			}
			actions := get(s, "Action")
			if a, ok := actions.(string); ok {
				actions = []any{a}
			}
			for _, a := range actions.([]any) {
				got[prefix] = append(got[prefix], str(a))
			}
		}
		for p := range got {
			slices.Sort(got[p])
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("rights on the import bucket %v, want %v", got, want)
		}

		cfg := get(fnProps, "EventInvokeConfig")
		if n, err := strconv.Atoi(str(get(cfg, "MaximumRetryAttempts"))); err != nil || n > 2 {
			t.Errorf("MaximumRetryAttempts %v", get(cfg, "MaximumRetryAttempts"))
		}
		dest := get(cfg, "DestinationConfig", "OnFailure")
		if get(dest, "Type") != "SQS" || !reflect.DeepEqual(get(dest, "Destination"), map[string]any{"Fn::GetAtt": []any{"RecoverFailures", "Arn"}}) {
			t.Errorf("OnFailure %v, want the RecoverFailures queue", dest)
		}
		q := get(tp.resource("RecoverFailures"), "Properties")
		if str(get(q, "SqsManagedSseEnabled")) != "true" || str(get(q, "MessageRetentionPeriod")) != fmt.Sprint(14*24*3600) {
			t.Errorf("RecoverFailures %v: want encryption and 14 days' retention", q)
		}
	})
}
