package hostedlocal

import (
	"fmt"
	"strings"

	"github.com/sesame-ecole/sesame/infra/cloudfront"
	"github.com/sesame-ecole/sesame/infra/localtool"
)

// EdgeOf reads what the distribution of a template (as samlocal.Parse
// gives it) does in front of the site: the API behaviour's origin request
// policy and origin custom headers (originSecret is the value of the
// template's OriginSecret parameter), the viewer-request functions, the
// security headers and the default root object. extraConnect adds sources
// to the pages' connect-src (the local S3 endpoint, which stands for
// https://*.amazonaws.com).
func EdgeOf(tpl map[string]any, originSecret string, extraConnect ...string) (Edge, error) {
	fns, err := cloudfront.Functions(tpl)
	if err != nil {
		return Edge{}, err
	}
	res, _ := localtool.Dig(tpl, "Resources").(map[string]any)
	var dist map[string]any
	for _, r := range res {
		if localtool.Dig(r, "Type") == "AWS::CloudFront::Distribution" {
			dist, _ = localtool.Dig(r, "Properties", "DistributionConfig").(map[string]any)
		}
	}
	if dist == nil {
		return Edge{}, fmt.Errorf("hostedlocal: the template has no CloudFront distribution")
	}
	e := Edge{OriginHeaders: map[string]string{}, SecurityHeaders: map[string]string{},
		RootObject: fmt.Sprint(dist["DefaultRootObject"])}
	// functionOf is the viewer-request function of a behaviour.
	functionOf := func(b any) (cloudfront.Function, error) {
		assoc, _ := localtool.Dig(b, "FunctionAssociations").([]any)
		for _, a := range assoc {
			if localtool.Dig(a, "EventType") != "viewer-request" {
				continue
			}
			arn := localtool.Dig(a, "FunctionARN", "Fn::GetAtt")
			parts, _ := arn.([]any)
			if len(parts) > 0 {
				if f, ok := fns[fmt.Sprint(parts[0])]; ok {
					return f, nil
				}
			}
			return cloudfront.Function{}, fmt.Errorf("hostedlocal: viewer-request function %v not found", arn)
		}
		return cloudfront.Function{}, fmt.Errorf("hostedlocal: a behaviour without a viewer-request function")
	}
	if e.PageRequest, err = functionOf(dist["DefaultCacheBehavior"]); err != nil {
		return Edge{}, err
	}
	behaviours, _ := dist["CacheBehaviors"].([]any)
	var api any
	for _, b := range behaviours {
		if localtool.Dig(b, "PathPattern") == "/api/*" {
			api = b
		}
	}
	if api == nil {
		return Edge{}, fmt.Errorf("hostedlocal: the distribution has no /api/* behaviour")
	}
	if e.APIRequest, err = functionOf(api); err != nil {
		return Edge{}, err
	}
	policy := refOf(res, localtool.Dig(api, "OriginRequestPolicyId"))
	headers, _ := localtool.Dig(policy, "Properties", "OriginRequestPolicyConfig", "HeadersConfig", "Headers").([]any)
	for _, h := range headers {
		e.APIHeaders = append(e.APIHeaders, strings.ToLower(fmt.Sprint(h)))
	}
	origins, _ := dist["Origins"].([]any)
	for _, o := range origins {
		if localtool.Dig(o, "Id") != localtool.Dig(api, "TargetOriginId") {
			continue
		}
		custom, _ := localtool.Dig(o, "OriginCustomHeaders").([]any)
		for _, c := range custom {
			v := localtool.Dig(c, "HeaderValue")
			if localtool.Dig(v, "Ref") == "OriginSecret" {
				v = originSecret
			}
			e.OriginHeaders[fmt.Sprint(localtool.Dig(c, "HeaderName"))] = fmt.Sprint(v)
		}
	}
	sec := localtool.Dig(refOf(res, localtool.Dig(api, "ResponseHeadersPolicyId")), "Properties", "ResponseHeadersPolicyConfig", "SecurityHeadersConfig")
	if csp, ok := localtool.Dig(sec, "ContentSecurityPolicy", "ContentSecurityPolicy").(string); ok {
		if len(extraConnect) > 0 {
			csp = strings.Replace(csp, "connect-src 'self'", "connect-src 'self' "+strings.Join(extraConnect, " "), 1)
		}
		e.SecurityHeaders["Content-Security-Policy"] = csp
	}
	if localtool.Dig(sec, "ContentTypeOptions") != nil {
		e.SecurityHeaders["X-Content-Type-Options"] = "nosniff"
	}
	if v, ok := localtool.Dig(sec, "FrameOptions", "FrameOption").(string); ok {
		e.SecurityHeaders["X-Frame-Options"] = v
	}
	if v, ok := localtool.Dig(sec, "ReferrerPolicy", "ReferrerPolicy").(string); ok {
		e.SecurityHeaders["Referrer-Policy"] = v
	}
	// HSTS is left out: over plain HTTP on loopback a browser ignores it.
	if len(e.APIHeaders) == 0 || len(e.OriginHeaders) == 0 {
		return Edge{}, fmt.Errorf("hostedlocal: the /api/* behaviour has no forwarded headers or no origin secret")
	}
	return e, nil
}

// refOf is the resource a {"Ref": id} names.
func refOf(res map[string]any, ref any) any {
	id, _ := localtool.Dig(ref, "Ref").(string)
	return res[id]
}
