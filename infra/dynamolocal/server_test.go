package dynamolocal

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sesame-ecole/sesame/infra/tabledef"
)

// TestTableFromTemplate creates the table of template.yaml on DynamoDB Local
// and checks what the server says it created.
func TestTableFromTemplate(t *testing.T) {
	client := Client(Endpoint(t))
	ctx := t.Context()
	template, err := TemplatePath()
	if err != nil {
		t.Fatal(err)
	}
	name := TableName(t)
	t0 := time.Now()
	if err := CreateTableFromTemplate(ctx, client, template, name); err != nil {
		t.Fatal(err)
	}
	t.Logf("CreateTableFromTemplate took %v", time.Since(t0).Round(time.Millisecond))

	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	tbl := out.Table
	if tbl.TableStatus != types.TableStatusActive {
		t.Errorf("status = %s", tbl.TableStatus)
	}
	if got := keyString(tbl.KeySchema); got != "PK:HASH SK:RANGE" {
		t.Errorf("key schema = %s", got)
	}
	if tbl.BillingModeSummary == nil || tbl.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode = %+v", tbl.BillingModeSummary)
	}
	attrs := map[string]types.ScalarAttributeType{}
	for _, a := range tbl.AttributeDefinitions {
		attrs[aws.ToString(a.AttributeName)] = a.AttributeType
	}
	for _, n := range []string{"PK", "SK", "GSI1PK", "GSI1SK"} {
		if attrs[n] != types.ScalarAttributeTypeS {
			t.Errorf("attribute %s: type %q, want S", n, attrs[n])
		}
	}
	if len(tbl.GlobalSecondaryIndexes) != 1 {
		t.Fatalf("GSIs = %d, want 1", len(tbl.GlobalSecondaryIndexes))
	}
	g := tbl.GlobalSecondaryIndexes[0]
	if aws.ToString(g.IndexName) != "GSI1" || keyString(g.KeySchema) != "GSI1PK:HASH GSI1SK:RANGE" || g.Projection.ProjectionType != types.ProjectionTypeAll {
		t.Errorf("GSI = %s %s %s", aws.ToString(g.IndexName), keyString(g.KeySchema), g.Projection.ProjectionType)
	}

	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; aws.ToString(d.AttributeName) != "ttl" ||
		(d.TimeToLiveStatus != types.TimeToLiveStatusEnabled && d.TimeToLiveStatus != types.TimeToLiveStatusEnabling) {
		t.Errorf("TTL = %s %s", aws.ToString(d.AttributeName), d.TimeToLiveStatus)
	}

	// Creating it again is refused, as tabledef.Create documents.
	err = CreateTableFromTemplate(ctx, client, template, name)
	var inUse *types.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Errorf("second create: err = %v, want ResourceInUseException", err)
	}
	if ok, err := tabledef.Exists(ctx, client, name); !ok || err != nil {
		t.Errorf("Exists(%s) = %v, %v", name, ok, err)
	}
	if ok, err := tabledef.Exists(ctx, client, name+"-missing"); ok || err != nil {
		t.Errorf("Exists(missing) = %v, %v", ok, err)
	}
}

func keyString(ks []types.KeySchemaElement) string {
	var parts []string
	for _, k := range ks {
		parts = append(parts, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
	}
	return strings.Join(parts, " ")
}

// TestConditionalWriteAndIndex checks the behaviours the stores rely on: a
// failed condition is a *types.ConditionalCheckFailedException carrying the
// current item, and GSI1 answers queries.
func TestConditionalWriteAndIndex(t *testing.T) {
	client, table := NewTable(t)
	ctx := t.Context()
	put := func(owner string) error {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(table),
			Item: map[string]types.AttributeValue{
				"PK":     &types.AttributeValueMemberS{Value: "POOL#0751234A#2026-2027#teacher"},
				"SK":     &types.AttributeValueMemberS{Value: "SLOT#001"},
				"GSI1PK": &types.AttributeValueMemberS{Value: "USER#" + owner},
				"GSI1SK": &types.AttributeValueMemberS{Value: "SEAT"},
				"owner":  &types.AttributeValueMemberS{Value: owner},
			},
			ConditionExpression:                 aws.String("attribute_not_exists(PK)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		return err
	}
	if err := put("alice"); err != nil {
		t.Fatalf("first conditional put: %v", err)
	}
	err := put("bob")
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("second conditional put: err = %v, want ConditionalCheckFailedException", err)
	}
	if o, ok := ccf.Item["owner"].(*types.AttributeValueMemberS); !ok || o.Value != "alice" {
		t.Errorf("the failed condition carries %v, want alice's item", ccf.Item)
	}

	q, err := client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		IndexName:                 aws.String("GSI1"),
		KeyConditionExpression:    aws.String("GSI1PK = :u"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": &types.AttributeValueMemberS{Value: "USER#alice"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Items) != 1 || q.Items[0]["owner"].(*types.AttributeValueMemberS).Value != "alice" {
		t.Errorf("GSI1 query = %v", q.Items)
	}
}

// TestSharedDB checks -sharedDb: another access key in another region sees
// the same tables.
func TestSharedDB(t *testing.T) {
	_, table := NewTable(t)
	other := dynamodb.New(dynamodb.Options{
		BaseEndpoint: aws.String(Endpoint(t)),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("other", "other", ""),
	})
	if ok, err := tabledef.Exists(t.Context(), other, table); !ok || err != nil {
		t.Fatalf("with other credentials, Exists(%s) = %v, %v", table, ok, err)
	}
}

// TestNewTableCleanup checks that the table of a test is gone after it.
func TestNewTableCleanup(t *testing.T) {
	var client *dynamodb.Client
	var table string
	t.Run("inner", func(t *testing.T) { client, table = NewTable(t) })
	if t.Failed() || client == nil {
		return // the inner test was skipped or failed
	}
	// DeleteTable is asynchronous on DynamoDB; DynamoDB Local deletes at once.
	if ok, err := tabledef.Exists(t.Context(), client, table); ok || err != nil {
		t.Errorf("after the test, Exists(%s) = %v, %v", table, ok, err)
	}
}

// TestStartStop starts a second server of its own, checks that Stop kills it
// and frees its port.
func TestStartStop(t *testing.T) {
	Endpoint(t) // skip or fail the same way when DynamoDB Local is unavailable
	if envEndpoint() != "" {
		t.Skip("endpoint from the environment: this test starts its own server only without one")
	}
	cache, err := DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := Install(t.Context(), cache)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Start(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second DynamoDB Local on %s started in %v", srv.Endpoint(), srv.StartupTime().Round(time.Millisecond))
	if _, err := Client(srv.Endpoint()).ListTables(t.Context(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	srv.Stop() // idempotent
	select {
	case <-srv.exited:
	default:
		t.Fatal("Stop returned before the JVM exited")
	}
	if err := srv.cmd.Process.Signal(os.Kill); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("signalling the JVM after Stop: err = %v, want os.ErrProcessDone", err)
	}
	if answers(t.Context(), Client(srv.Endpoint()), portOf(t, srv.Endpoint())) {
		t.Error("the endpoint still answers after Stop")
	}
}

func portOf(t *testing.T, endpoint string) int {
	t.Helper()
	i := strings.LastIndexByte(endpoint, ':')
	var p int
	for _, c := range endpoint[i+1:] {
		p = p*10 + int(c-'0')
	}
	return p
}

func TestStartWithoutEmulator(t *testing.T) {
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("no java: Start fails earlier")
	}
	_, err := Start(t.Context(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), JarName) {
		t.Fatalf("Start on an empty folder: err = %v", err)
	}
}

// TestUnavailableSkipsOrFails runs this test binary again on
// TestHelperUnavailable with no java and no npm on PATH, and checks the
// project's rule end to end: a loud SKIP on a developer's machine, a FAIL
// when CI=true.
func TestUnavailableSkipsOrFails(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no subprocess")
	}
	emptyCache := t.TempDir() // nothing installed: Install needs npm
	realCache := ""           // installed: Start needs java
	if dir, err := DefaultCacheDir(); err == nil && installed(filepath.Join(dir, SimulatorPackage+"-"+SimulatorVersion)) {
		realCache = filepath.Dir(dir)
	}
	for _, tc := range []struct{ name, cacheRoot, cause string }{
		{"no npm", emptyCache, "npm is needed"},
		{"no java", realCache, "java is needed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cacheRoot == "" {
				t.Skip("DynamoDB Local is not in the cache")
			}
			run := func(ci string) (string, error) {
				cmd := exec.Command(os.Args[0], "-test.run=^TestHelperUnavailable$", "-test.v", "-test.count=1")
				cmd.Env = append(environWithout("CI", "PATH", EndpointEnv, "AWS_ENDPOINT_URL_DYNAMODB", CacheDirEnv, "SESAME_SKIP_LOG"),
					"PATH="+t.TempDir(), CacheDirEnv+"="+tc.cacheRoot, "SESAME_DYNAMOLOCAL_HELPER=1", "CI="+ci)
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			out, err := run("")
			if err != nil || !strings.Contains(out, "--- SKIP: TestHelperUnavailable") ||
				!strings.Contains(out, "DynamoDB Local indisponible") || !strings.Contains(out, tc.cause) || !strings.Contains(out, "SAUTÉS") {
				t.Fatalf("without CI: want a loud skip naming %q; err=%v\n%s", tc.cause, err, out)
			}
			out, err = run("true")
			var exit *exec.ExitError
			if !errors.As(err, &exit) || !strings.Contains(out, "--- FAIL: TestHelperUnavailable") ||
				!strings.Contains(out, "indisponible en CI") || !strings.Contains(out, tc.cause) {
				t.Fatalf("with CI=true: want a failure naming %q; err=%v\n%s", tc.cause, err, out)
			}
			if strings.Contains(out, "reached") {
				t.Fatalf("the test went on after Endpoint failed:\n%s", out)
			}
		})
	}
}

// TestHelperUnavailable is the child of TestUnavailableSkipsOrFails; it does
// nothing in a normal run.
func TestHelperUnavailable(t *testing.T) {
	if os.Getenv("SESAME_DYNAMOLOCAL_HELPER") != "1" {
		return
	}
	Endpoint(t)
	t.Log("reached")
}

func environWithout(names ...string) []string {
	var env []string
outer:
	for _, kv := range os.Environ() {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue outer
			}
		}
		env = append(env, kv)
	}
	return env
}
