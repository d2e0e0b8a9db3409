package functions_test

import (
	"bufio"
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/functions/internal/fn"
	"github.com/sesame-ecole/sesame/infra/app"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/lambdarie"
	"github.com/sesame-ecole/sesame/infra/tabledef"
	"github.com/sesame-ecole/sesame/infra/testenv"
	"github.com/sesame-ecole/sesame/web"
)

// The repository's root, seen from this folder.
const root = ".."

// tmpl is template.yaml, its short-form tags in long form ({"Ref": …}).
type tmpl map[string]any

func readTemplate(t *testing.T) tmpl {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := tabledef.DecodeTemplate(src)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// get walks a path of keys and indexes: get(v, "Properties", "Events").
func get(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			s, _ := v.([]any)
			if k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func ref(name string) any { return map[string]any{"Ref": name} }

// resources returns the logical ids of the resources of type typ.
func (tp tmpl) resources(typ string) []string {
	var ids []string
	for id, r := range get(map[string]any(tp), "Resources").(map[string]any) {
		if get(r, "Type") == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func (tp tmpl) resource(id string) any { return get(map[string]any(tp), "Resources", id) }

// functionDir is the folder of a function: LoginFunction → login.
func functionDir(logicalID string) string {
	return strings.ToLower(strings.TrimSuffix(logicalID, "Function"))
}

// TestTemplateRoutes checks that the HttpApi events of template.yaml are
// exactly httpapi.Routes, each on the function the route names.
func TestTemplateRoutes(t *testing.T) {
	tp := readTemplate(t)
	servedBy := map[string][]string{} // "POST /api/v1/login" → functions
	for _, id := range tp.resources("AWS::Serverless::Function") {
		events, _ := get(tp.resource(id), "Properties", "Events").(map[string]any)
		for name, ev := range events {
			if get(ev, "Type") != "HttpApi" {
				continue
			}
			p := get(ev, "Properties")
			if !reflect.DeepEqual(get(p, "ApiId"), ref("Api")) {
				t.Errorf("%s.%s: ApiId %v, want !Ref Api", id, name, get(p, "ApiId"))
			}
			key := strings.ToUpper(str(get(p, "Method"))) + " " + str(get(p, "Path"))
			servedBy[key] = append(servedBy[key], functionDir(id))
		}
	}
	known := map[string]bool{}
	for _, r := range httpapi.Routes {
		key := r.Method + " " + httpapi.Prefix + r.Path
		known[key] = true
		if got := servedBy[key]; len(got) != 1 || got[0] != r.Function {
			t.Errorf("%s is served by %v in template.yaml, want exactly [%s] (httpapi.Routes)", key, got, r.Function)
		}
	}
	for key, fns := range servedBy {
		if !known[key] {
			t.Errorf("template.yaml routes %s to %v, but httpapi.Routes has no such route", key, fns)
		}
	}
}

// TestTemplateFunctions checks what every function shares: built by the
// Makefile from its own folder, on arm64 with the provided runtime, the
// table and the origin secret in its environment, JSON logs, and rights
// on its table only.
func TestTemplateFunctions(t *testing.T) {
	tp := readTemplate(t)
	g := get(map[string]any(tp), "Globals", "Function")
	for k, want := range map[string]any{
		"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap",
	} {
		if got := get(g, k); !reflect.DeepEqual(got, want) {
			t.Errorf("Globals.Function.%s = %v, want %v", k, got, want)
		}
	}
	if got := get(g, "LoggingConfig", "LogFormat"); got != "JSON" {
		t.Errorf("Globals.Function.LoggingConfig.LogFormat = %v, want JSON", got)
	}
	env := get(g, "Environment", "Variables")
	if !reflect.DeepEqual(get(env, fn.EnvTable), ref("Table")) || !reflect.DeepEqual(get(env, fn.EnvOriginSecret), ref("OriginSecret")) {
		t.Errorf("Globals environment %v: want %s: !Ref Table and %s: !Ref OriginSecret", env, fn.EnvTable, fn.EnvOriginSecret)
	}
	if str(get(map[string]any(tp), "Parameters", "OriginSecret", "NoEcho")) != "true" {
		t.Error("the OriginSecret parameter is not NoEcho")
	}

	ids := tp.resources("AWS::Serverless::Function")
	if len(ids) == 0 {
		t.Fatal("no function in template.yaml")
	}
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			r := tp.resource(id)
			if got := get(r, "Metadata", "BuildMethod"); got != "makefile" {
				t.Errorf("Metadata.BuildMethod = %v, want makefile", got)
			}
			if got := get(r, "Properties", "CodeUri"); got != "." {
				t.Errorf("CodeUri = %v, want .", got)
			}
			if _, err := os.Stat(filepath.Join(root, "functions", functionDir(id), "main.go")); err != nil {
				t.Errorf("no functions/%s/main.go for %s: %v", functionDir(id), id, err)
			}
			// ReservedConcurrentExecutions: TestTemplateLoginConcurrency.
			for _, k := range []string{"Runtime", "Architectures", "Handler", "Role"} {
				if v := get(r, "Properties", k); v != nil {
					t.Errorf("%s = %v: leave it to Globals (or unset)", k, v)
				}
			}
			// The table's policy first; the recover function adds its
			// rights on the import bucket (TestTemplateImportBucket).
			policies, _ := get(r, "Properties", "Policies").([]any)
			want := 1
			if id == "RecoverFunction" {
				want = 2
			}
			if len(policies) != want || !reflect.DeepEqual(policies[0], ref("TableAccessPolicy")) {
				t.Errorf("Policies = %v, want !Ref TableAccessPolicy (and, for RecoverFunction only, its import bucket statement)", policies)
			}
			out, err := exec.Command("make", "-s", "-n", "-C", root, "build-"+id).CombinedOutput()
			if err != nil {
				t.Fatalf("make -n build-%s: %v\n%s", id, err, out)
			}
			if want := "./functions/" + functionDir(id); !strings.Contains(string(out), want) {
				t.Errorf("make build-%s does not build %s:\n%s", id, want, out)
			}
		})
	}

	// The one policy: item operations on the table and its indexes.
	stmts, _ := get(tp.resource("TableAccessPolicy"), "Properties", "PolicyDocument", "Statement").([]any)
	if len(stmts) == 0 {
		t.Fatal("TableAccessPolicy has no statement")
	}
	tableArn := map[string]any{"Fn::GetAtt": []any{"Table", "Arn"}}
	indexArn := map[string]any{"Fn::Sub": "${Table.Arn}/index/*"}
	for i, s := range stmts {
		if get(s, "Effect") != "Allow" {
			continue
		}
		actions := get(s, "Action")
		if a, ok := actions.(string); ok {
			actions = []any{a}
		}
		for _, a := range actions.([]any) {
			a := str(a)
			if !strings.HasPrefix(a, "dynamodb:") || strings.Contains(a, "*") || slices.Contains([]string{"dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:CreateTable", "dynamodb:UpdateTable"}, a) {
				t.Errorf("statement %d grants %s", i, a)
			}
		}
		res := get(s, "Resource")
		if _, ok := res.([]any); !ok {
			res = []any{res}
		}
		for _, r := range res.([]any) {
			if !reflect.DeepEqual(r, tableArn) && !reflect.DeepEqual(r, indexArn) {
				t.Errorf("statement %d is on %v, want the table or its indexes only", i, r)
			}
		}
	}
}

// TestTemplateDistribution checks the CloudFront side: the origin secret
// goes to the API, the viewer's address is forwarded, and the pages get
// the security headers and addresses `sesame serve` gives them.
func TestTemplateDistribution(t *testing.T) {
	tp := readTemplate(t)
	cfg := get(tp.resource("Distribution"), "Properties", "DistributionConfig")
	var api any
	for _, o := range get(cfg, "Origins").([]any) {
		if get(o, "Id") == "api" {
			api = o
		}
	}
	if api == nil {
		t.Fatal("no api origin")
	}
	hdrs, _ := get(api, "OriginCustomHeaders").([]any)
	if len(hdrs) != 1 || get(hdrs[0], "HeaderName") != "X-Origin-Secret" || !reflect.DeepEqual(get(hdrs[0], "HeaderValue"), ref("OriginSecret")) {
		t.Errorf("api origin headers %v, want X-Origin-Secret: !Ref OriginSecret", hdrs)
	}
	var apiBehaviour any
	for _, b := range get(cfg, "CacheBehaviors").([]any) {
		if get(b, "PathPattern") == "/api/*" {
			apiBehaviour = b
		}
	}
	if get(apiBehaviour, "TargetOriginId") != "api" || !reflect.DeepEqual(get(apiBehaviour, "OriginRequestPolicyId"), ref("ApiOriginRequestPolicy")) {
		t.Fatalf("/api/* behaviour %v: want the api origin and ApiOriginRequestPolicy", apiBehaviour)
	}
	forwarded := get(tp.resource("ApiOriginRequestPolicy"), "Properties", "OriginRequestPolicyConfig", "HeadersConfig", "Headers")
	for _, h := range []string{fn.AddressHeader, "Origin", "Content-Type", "X-Forwarded-Host", "Sec-Fetch-Site"} {
		if !slices.ContainsFunc(forwarded.([]any), func(v any) bool { return strings.EqualFold(str(v), h) }) {
			t.Errorf("the API's origin request policy does not forward %s", h)
		}
	}
	if slices.ContainsFunc(forwarded.([]any), func(v any) bool { return strings.EqualFold(str(v), "Host") }) {
		t.Error("the API's origin request policy forwards Host: API Gateway would not recognise itself")
	}

	// The page addresses: PageRequestFunction appends .html to a last path
	// segment without a dot; "/" is DefaultRootObject.
	for addr, file := range web.Pages {
		want := strings.TrimPrefix(addr, "/") + ".html"
		if addr == "/" {
			want = str(get(cfg, "DefaultRootObject"))
		}
		if file != want || strings.Contains(path.Base(addr), ".") {
			t.Errorf("page %s is %s; CloudFront would look for %q", addr, file, want)
		}
	}

	// The same security headers as the single server.
	rec := httptest.NewRecorder()
	web.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	sec := get(tp.resource("SecurityHeadersPolicy"), "Properties", "ResponseHeadersPolicyConfig", "SecurityHeadersConfig")
	for header, got := range map[string]any{
		"Content-Security-Policy": get(sec, "ContentSecurityPolicy", "ContentSecurityPolicy"),
		"Referrer-Policy":         get(sec, "ReferrerPolicy", "ReferrerPolicy"),
		"X-Frame-Options":         get(sec, "FrameOptions", "FrameOption"),
	} {
		if want := rec.Header().Get(header); str(got) != want {
			t.Errorf("%s: CloudFront sends %q, sesame serve %q", header, got, want)
		}
	}
	if get(sec, "ContentTypeOptions") == nil || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Error("X-Content-Type-Options: nosniff is not sent by both")
	}
}

// TestDeployWeb runs `make deploy-web` with a stand-in for the aws command
// and checks that every file of web/static goes up with the Content-Type
// and Cache-Control that `sesame serve` gives it.
func TestDeployWeb(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		testenv.Require(t, "make", err)
	}
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	fake := filepath.Join(dir, "aws")
	script := "#!/usr/bin/env bash\n" +
		`printf '%s\x1f' "$@" >> '` + calls + `'; echo >> '` + calls + "'\n" +
		`if [ "$1" = cloudformation ]; then echo sesame-web-bucket; fi` + "\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// The files go up from a copy of web/static, where the target's
	// prerequisite builds the agent: the source tree stays as it is.
	static := filepath.Join(dir, "static")
	if err := os.CopyFS(static, os.DirFS(filepath.Join(root, "web", "static"))); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("make", "-s", "-C", root, "deploy-web", "AWS="+fake, "STACK=sesame-test",
		"WEB_DIR="+static, "AGENT_DIR="+filepath.Join(static, "agent")).CombinedOutput()
	if err != nil {
		t.Fatalf("make deploy-web: %v\n%s", err, out)
	}
	f, err := os.Open(calls)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var syncs, copies [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		args := strings.Split(strings.TrimSuffix(sc.Text(), "\x1f"), "\x1f")
		switch {
		case args[0] == "cloudformation":
			if !slices.Contains(args, "sesame-test") || !strings.Contains(strings.Join(args, " "), "WebBucketName") {
				t.Errorf("stack query %q", args)
			}
		case len(args) > 3 && args[0] == "s3" && args[1] == "sync":
			if args[2] != static+"/" || args[3] != "s3://sesame-web-bucket/" {
				t.Errorf("sync %q", args)
			}
			syncs = append(syncs, args)
		case len(args) > 3 && args[0] == "s3" && args[1] == "cp":
			copies = append(copies, args)
		default:
			t.Errorf("unexpected aws %q", args)
		}
	}
	opt := func(args []string, name string) string {
		if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
			return args[i+1]
		}
		return ""
	}
	// The agent's files (built by the target's prerequisite) go up one by
	// one with the headers web.Objects gives, precompressed forms included.
	objs, err := web.Objects(os.DirFS(static))
	if err != nil {
		t.Fatal(err)
	}
	agent := 0
	for _, o := range objs {
		if !strings.HasPrefix(o.Key, "agent/") {
			continue
		}
		agent++
		var cp []string
		for _, c := range copies {
			if c[3] == "s3://sesame-web-bucket/"+o.Key {
				cp = c
			}
		}
		if cp == nil || cp[2] != static+"/"+o.Key {
			t.Errorf("%s: not uploaded (%q)", o.Key, cp)
			continue
		}
		if opt(cp, "--content-type") != o.ContentType || opt(cp, "--cache-control") != o.CacheControl || opt(cp, "--content-encoding") != o.ContentEncoding {
			t.Errorf("%s: uploaded with %q; want %+v", o.Key, cp, o)
		}
	}
	if agent < 5 || len(copies) != agent {
		t.Errorf("%d agent files uploaded of %d listed; want the manifest, the module and wasm_exec.js in three forms", len(copies), agent)
	}
	for _, s := range syncs {
		if !slices.Contains(s, "agent/*") {
			t.Errorf("a sync would touch the agent's files: %q", s)
		}
	}

	files, err := fs.Glob(web.Static(), "*")
	if err != nil || len(files) == 0 {
		t.Fatalf("web/static: %v %v", files, err)
	}
	served := web.Handler()
	for _, name := range files {
		if st, err := fs.Stat(web.Static(), name); err != nil || st.IsDir() {
			continue // the agent's folder: checked above
		}
		var sync []string
		for _, s := range syncs {
			if opt(s, "--include") == "*"+path.Ext(name) {
				sync = s
			}
		}
		if sync == nil {
			t.Errorf("%s: no sync sets its Content-Type", name)
			continue
		}
		addr := "/" + name
		for a, f := range web.Pages {
			if f == name {
				addr = a
			}
		}
		rec := httptest.NewRecorder()
		served.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, addr, nil))
		ct, cc := opt(sync, "--content-type"), opt(sync, "--cache-control")
		if mediaType(ct) != mediaType(rec.Header().Get("Content-Type")) || mediaType(ct) != mediaType(mime.TypeByExtension(path.Ext(name))) {
			t.Errorf("%s: uploaded as %q; sesame serve sends %q", name, ct, rec.Header().Get("Content-Type"))
		}
		if strings.HasPrefix(ct, "text/") && !strings.Contains(ct, "charset=utf-8") {
			t.Errorf("%s: %q without charset=utf-8", name, ct)
		}
		if want := rec.Header().Get("Cache-Control"); cc != want {
			t.Errorf("%s: Cache-Control %q; sesame serve sends %q", name, cc, want)
		}
	}
}

// mediaType is a Content-Type without its parameters, JavaScript's two
// names as one.
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	if mt == "application/javascript" {
		mt = "text/javascript"
	}
	return mt
}

// TestMakeBuildsFunctions runs each function's build-<LogicalId> target as
// `sam build` does (ARTIFACTS_DIR in the environment) and checks the
// bootstrap: a static linux/arm64 ELF, built with the flags TOOLCHAIN.md
// gives. The three builds share Go's build cache; a cold one takes about a
// minute on two cores. Skipped with -short.
func TestMakeBuildsFunctions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three Lambda binaries; skipped with -short")
	}
	for _, tool := range []string{"make", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Require(t, tool, err)
		}
	}
	module := "github.com/sesame-ecole/sesame"
	for _, id := range readTemplate(t).resources("AWS::Serverless::Function") {
		t.Run(id, func(t *testing.T) {
			artifacts := t.TempDir()
			cmd := exec.Command("make", "-s", "-C", root, "build-"+id)
			cmd.Env = append(os.Environ(), "ARTIFACTS_DIR="+artifacts)
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("make build-%s: %v\n%s", id, err, out)
			}
			took := time.Since(start)
			bootstrap := filepath.Join(artifacts, "bootstrap")
			st, err := os.Stat(bootstrap)
			if err != nil {
				t.Fatalf("no bootstrap in ARTIFACTS_DIR: %v", err)
			}
			if st.Mode()&0o111 == 0 {
				t.Error("bootstrap is not executable")
			}
			f, err := elf.Open(bootstrap)
			if err != nil {
				t.Fatalf("bootstrap is not an ELF file: %v", err)
			}
			defer f.Close()
			if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 || f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
				t.Errorf("bootstrap is %v %v %v, want a 64-bit arm64 Linux executable", f.Class, f.Machine, f.OSABI)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
					t.Error("bootstrap is dynamically linked: CGO_ENABLED=0 expected")
				}
			}
			info, err := buildinfo.ReadFile(bootstrap)
			if err != nil {
				t.Fatal(err)
			}
			if want := module + "/functions/" + functionDir(id); info.Path != want {
				t.Errorf("bootstrap is %s, want %s", info.Path, want)
			}
			settings := map[string]string{}
			for _, s := range info.Settings {
				settings[s.Key] = s.Value
			}
			// -ldflags is not recorded under -trimpath: -s and -w show as
			// the missing symbol table and DWARF sections.
			for k, want := range map[string]string{"GOOS": "linux", "GOARCH": "arm64", "CGO_ENABLED": "0",
				"-trimpath": "true", "-tags": lambdarie.BuildTags} {
				if settings[k] != want {
					t.Errorf("built with %s=%q, want %q", k, settings[k], want)
				}
			}
			for _, s := range f.Sections {
				if s.Name == ".symtab" || strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
					t.Errorf("bootstrap has a %s section: -ldflags='-s -w' expected", s.Name)
				}
			}
			t.Logf("%s: bootstrap %.2f MB (%d bytes), built in %v", id, float64(st.Size())/1e6, st.Size(), took.Round(time.Millisecond))
		})
	}
}

// TestTemplateJournalRetention checks the JournalRetentionDays parameter:
// the domain's default and bounds, handed to every function in the
// environment variable fn reads.
func TestTemplateJournalRetention(t *testing.T) {
	tp := readTemplate(t)
	p := get(map[string]any(tp), "Parameters", "JournalRetentionDays")
	day := 24 * time.Hour
	for k, want := range map[string]int{
		"Default":  int(sesame.DefaultJournalRetention / day),
		"MinValue": int(sesame.MinJournalRetention / day),
		"MaxValue": int(sesame.MaxJournalRetention / day),
	} {
		if got := str(get(p, k)); got != strconv.Itoa(want) {
			t.Errorf("JournalRetentionDays.%s = %q, want %d", k, got, want)
		}
	}
	if get(p, "Type") != "Number" {
		t.Errorf("JournalRetentionDays.Type = %v, want Number", get(p, "Type"))
	}
	env := get(map[string]any(tp), "Globals", "Function", "Environment", "Variables", fn.EnvJournalRetention)
	if !reflect.DeepEqual(env, ref("JournalRetentionDays")) {
		t.Errorf("Globals environment %s = %v, want !Ref JournalRetentionDays", fn.EnvJournalRetention, env)
	}
	// Every value the parameter allows is one the functions accept.
	for _, k := range []string{"Default", "MinValue", "MaxValue"} {
		if _, err := app.ParseJournalRetention(str(get(p, k))); err != nil {
			t.Errorf("JournalRetentionDays.%s: %v", k, err)
		}
	}
}
