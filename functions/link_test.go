package functions_test

import (
	"debug/elf"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/lambdarie"
)

// notLinked are what no function may link: the single server's store
// (bbolt), the pages, the YAML parser and what reads the template with
// it, the full wiring of infra/app, the SDK's shared configuration
// (profiles, SSO, STS), which a function in Lambda never uses, and the
// SDK's S3 client (the recover function's is infra/s3object).
var notLinked = []string{
	"go.etcd.io/bbolt",
	"github.com/sesame-ecole/sesame/web",
	"github.com/sesame-ecole/sesame/infra/bolt",
	"github.com/sesame-ecole/sesame/infra/app",
	"github.com/sesame-ecole/sesame/infra/tabledef",
	"github.com/goccy/go-yaml",
	"github.com/aws/aws-sdk-go-v2/config",
	"github.com/aws/aws-sdk-go-v2/service/sts",
	"github.com/aws/aws-sdk-go-v2/service/sso",
	"github.com/aws/aws-sdk-go-v2/service/s3",
	"net/rpc",
}

// isSDKSchemas reports whether pkg is one of the SDK's schemas packages
// (service/dynamodb/schemas from v1.69.0, service/dynamodbstreams/schemas
// from v1.42.0, which feature/dynamodb/attributevalue links). Their
// initialisation builds the whole service's model, used by nothing of
// ours: 3.9 ms and 586 KB of allocations for dynamodb's, 0.45 ms for
// dynamodbstreams', natively (GODEBUG=inittrace=1), the bulk of what the
// SDK adds to a cold start under qemu (seats ÷ hello 1.61–1.84 with them,
// 1.51–1.55 without). go.mod holds those modules below the versions that
// add them (README, "Dependencies"); an upgrade that brings them back
// fails here.
func isSDKSchemas(pkg string) bool {
	return strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2/") && (strings.HasSuffix(pkg, "/schemas") || strings.Contains(pkg, "/schemas/"))
}

// maxBootstrap is the budget of every function's arm64 bootstrap,
// stripped (issue 12: 10 MB). The login function's is the largest: it
// alone links the SAML and OpenID Connect libraries of the sign-in through
// a provider (infra/ssoweb), 1.7 MB; it fits since the functions check
// their table with a GetItem instead of DescribeTable (dynamo.CheckTable),
// whose table description's decoders weighed 131 KB in each binary.
const maxBootstrap = 10_000_000

// TestFunctionsLinkOnlyTheirNeeds checks each function's import graph as
// `make build-<LogicalId>` builds it (arm64 Linux, lambda.norpc): none of
// notLinked, no schemas package of the SDK (isSDKSchemas), and the S3
// client in the recover function only. Then its
// symbols: the handlers of its own routes only (httpapi.NewFunction), and
// no code of the rentrée reader and writer outside recover. Then, on the
// real artifacts, the modules `go version -m` lists, and their size.
func TestFunctionsLinkOnlyTheirNeeds(t *testing.T) {
	for _, f := range lambdarie.Functions {
		cmd := exec.Command("go", "list", "-deps", "-tags", lambdarie.BuildTags, "./functions/"+f.Dir)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s: %v", f.Dir, err)
		}
		deps := strings.Fields(string(out))
		forbidden := notLinked
		if f.Dir != "recover" {
			forbidden = slices.Concat(forbidden, []string{"github.com/sesame-ecole/sesame/infra/s3object", "github.com/sesame-ecole/sesame/functions/internal/s3trigger"})
		}
		if f.Dir != "login" {
			forbidden = slices.Concat(forbidden, []string{"github.com/sesame-ecole/sesame/infra/sso", "github.com/sesame-ecole/sesame/infra/ssoweb"})
		}
		for _, d := range deps {
			if isSDKSchemas(d) {
				t.Errorf("%s links %s, whose initialisation costs every cold start", f.LogicalID, d)
			}
			for _, bad := range forbidden {
				// infra/app/core is the part of infra/app meant for them.
				if d == bad || strings.HasPrefix(d, bad+"/") && !strings.HasPrefix(d, "github.com/sesame-ecole/sesame/infra/app/core") {
					t.Errorf("%s links %s", f.LogicalID, d)
				}
			}
		}
	}
	if testing.Short() {
		t.Skip("builds the five arm64 artifacts; skipped with -short")
	}
	for _, f := range lambdarie.Functions {
		syms := symbols(t, f.Dir)
		for _, other := range httpapi.Functions() {
			has := slices.Contains(syms, "github.com/sesame-ecole/sesame/infra/httpapi.(*api)."+other.Name+"Handlers")
			if has != (other.Name == f.Dir) {
				t.Errorf("%s links the handlers of function %s: %v", f.LogicalID, other.Name, has)
			}
		}
		if f.Dir == "recover" {
			continue
		}
		for _, s := range syms {
			// The package's initialisation (its error values) runs
			// wherever httpapi is imported; no reading or writing code.
			if strings.HasPrefix(s, "github.com/sesame-ecole/sesame/rentree.") && s != "github.com/sesame-ecole/sesame/rentree.init" {
				t.Errorf("%s links %s", f.LogicalID, s)
			}
		}
	}
	for _, f := range lambdarie.Functions {
		boot := lambdarie.Artifact(t, f)
		out, err := exec.Command("go", "version", "-m", boot).Output()
		if err != nil {
			t.Fatalf("go version -m %s: %v", boot, err)
		}
		for _, mod := range []string{"go.etcd.io/bbolt", "github.com/goccy/go-yaml", "github.com/aws/aws-sdk-go-v2/config"} {
			if strings.Contains(string(out), "\t"+mod+"\t") {
				t.Errorf("%s's bootstrap holds module %s", f.LogicalID, mod)
			}
		}
		st, err := os.Stat(boot)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes, %d bytes of code or read-only data from growing by a segment step", f.LogicalID, st.Size(), stepSlack(t, boot))
		if st.Size() > maxBootstrap {
			t.Errorf("%s's bootstrap is %d bytes, over %d", f.LogicalID, st.Size(), maxBootstrap)
		}
	}
}

// stepSlack is how much the code or read-only data of the executable at
// path may grow before the file grows by a whole segment alignment (64 KB
// on arm64): each loadable segment but the last starts on such a step, so
// the file's size moves by steps, and a small change may cross one.
func stepSlack(t *testing.T, path string) uint64 {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var loads []*elf.Prog
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			loads = append(loads, p)
		}
	}
	slack := uint64(math.MaxUint64)
	for _, p := range loads[:max(0, len(loads)-1)] {
		end := p.Off + p.Filesz
		slack = min(slack, (end+p.Align-1)/p.Align*p.Align-end)
	}
	return slack
}

// symbols lists the text symbols of functions/dir built as
// `make build-<LogicalId>` builds it, but with its symbol table.
func symbols(t *testing.T, dir string) []string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), dir)
	cmd := exec.Command("go", "build", "-tags", lambdarie.BuildTags, "-trimpath", "-o", bin, "./functions/"+dir)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", dir, err, out)
	}
	out, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm %s: %v", dir, err)
	}
	var syms []string
	for line := range strings.Lines(string(out)) {
		// address, type (T, t: text), name
		if f := strings.Fields(line); len(f) >= 3 && (f[1] == "T" || f[1] == "t") {
			syms = append(syms, strings.Join(f[2:], " "))
		}
	}
	if len(syms) == 0 {
		t.Fatalf("no symbols in %s", bin)
	}
	return syms
}
