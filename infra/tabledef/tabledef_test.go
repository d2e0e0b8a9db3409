package tabledef

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The project's real template, two directories up (the repository root).
const realTemplate = "../../template.yaml"

func TestRealTemplate(t *testing.T) {
	spec, err := Load(realTemplate)
	if err != nil {
		t.Fatal(err)
	}
	want := &TableSpec{
		LogicalID:   "Table",
		BillingMode: "PAY_PER_REQUEST",
		Attributes: []Attribute{
			{"PK", "S"}, {"SK", "S"}, {"GSI1PK", "S"}, {"GSI1SK", "S"},
		},
		Key: Key{Hash: "PK", Range: "SK"},
		GlobalIndexes: []Index{{
			Name:           "GSI1",
			Key:            Key{Hash: "GSI1PK", Range: "GSI1SK"},
			ProjectionType: "ALL",
		}},
		TTL: &TTL{AttributeName: "ttl", Enabled: true},
	}
	if !reflect.DeepEqual(spec, want) {
		t.Fatalf("template.yaml table =\n%+v\nwant\n%+v", spec, want)
	}
	if ix, ok := spec.Index("GSI1"); !ok || ix.Key.Hash != "GSI1PK" {
		t.Errorf("Index(GSI1) = %+v, %v", ix, ok)
	}
	if got := spec.AttributeType("GSI1SK"); got != "S" {
		t.Errorf("AttributeType(GSI1SK) = %q", got)
	}
}

func TestCreateTableInput(t *testing.T) {
	spec, err := Load(realTemplate)
	if err != nil {
		t.Fatal(err)
	}
	in := spec.CreateTableInput("sesame-test")
	if aws.ToString(in.TableName) != "sesame-test" || in.BillingMode != types.BillingModePayPerRequest || in.ProvisionedThroughput != nil {
		t.Fatalf("CreateTableInput = %+v", in)
	}
	if got := keys(in.KeySchema); got != "PK:HASH SK:RANGE" {
		t.Errorf("KeySchema = %s", got)
	}
	if len(in.AttributeDefinitions) != 4 {
		t.Errorf("AttributeDefinitions = %d, want 4", len(in.AttributeDefinitions))
	}
	if len(in.GlobalSecondaryIndexes) != 1 {
		t.Fatalf("GlobalSecondaryIndexes = %+v", in.GlobalSecondaryIndexes)
	}
	g := in.GlobalSecondaryIndexes[0]
	if aws.ToString(g.IndexName) != "GSI1" || keys(g.KeySchema) != "GSI1PK:HASH GSI1SK:RANGE" || g.Projection.ProjectionType != types.ProjectionTypeAll {
		t.Errorf("GSI1 = %s %s %s", aws.ToString(g.IndexName), keys(g.KeySchema), g.Projection.ProjectionType)
	}
	ttl := spec.UpdateTimeToLiveInput("sesame-test")
	if ttl == nil || aws.ToString(ttl.TimeToLiveSpecification.AttributeName) != "ttl" || !aws.ToBool(ttl.TimeToLiveSpecification.Enabled) {
		t.Errorf("UpdateTimeToLiveInput = %+v", ttl)
	}
}

func keys(ks []types.KeySchemaElement) string {
	var parts []string
	for _, k := range ks {
		parts = append(parts, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
	}
	return strings.Join(parts, " ")
}

// A SAM template full of short-form intrinsic functions outside the schema
// properties parses, and the tags are kept in CloudFormation's long form.
func TestShortFormTags(t *testing.T) {
	const src = `
Transform: AWS::Serverless-2016-10-31
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          TABLE: !Ref Store
          ARN: !GetAtt Store.Arn
          NAME: !Sub "sesame-${Stage}"
          JOINED: !Join
            - ""
            - - a
              - !Ref B
          TYPED: !!str 42
  Store:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: my-table
      BillingMode: PROVISIONED
      ProvisionedThroughput: {ReadCapacityUnits: "5", WriteCapacityUnits: 2}
      DeletionProtectionEnabled: !If [IsProd, true, false]
      AttributeDefinitions:
        - {AttributeName: id, AttributeType: S}
        - {AttributeName: n, AttributeType: N}
      KeySchema:
        - {AttributeName: id, KeyType: HASH}
      LocalSecondaryIndexes: []
      GlobalSecondaryIndexes:
        - IndexName: byN
          KeySchema: [{AttributeName: n, KeyType: HASH}]
          Projection: {ProjectionType: INCLUDE, NonKeyAttributes: [a, b]}
          ProvisionedThroughput: {ReadCapacityUnits: 1, WriteCapacityUnits: 1}
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
      TimeToLiveSpecification: {AttributeName: exp, Enabled: "false"}
`
	v, err := decodeTemplate([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	vars := v.(map[string]any)["Resources"].(map[string]any)["Fn"].(map[string]any)["Properties"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
	wantVars := map[string]any{
		"TABLE":  map[string]any{"Ref": "Store"},
		"ARN":    map[string]any{"Fn::GetAtt": []any{"Store", "Arn"}},
		"NAME":   map[string]any{"Fn::Sub": "sesame-${Stage}"},
		"JOINED": map[string]any{"Fn::Join": []any{"", []any{"a", map[string]any{"Ref": "B"}}}},
		"TYPED":  "42",
	}
	if !reflect.DeepEqual(vars, wantVars) {
		t.Errorf("variables =\n%#v\nwant\n%#v", vars, wantVars)
	}
	cond := v.(map[string]any)["Conditions"].(map[string]any)["IsProd"]
	if want := map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Stage"}, "prod"}}; !reflect.DeepEqual(cond, want) {
		t.Errorf("condition = %#v", cond)
	}

	spec, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := &TableSpec{
		LogicalID:   "Store",
		TableName:   "my-table",
		BillingMode: "PROVISIONED",
		Throughput:  &Throughput{Read: 5, Write: 2},
		Attributes:  []Attribute{{"id", "S"}, {"n", "N"}},
		Key:         Key{Hash: "id"},
		GlobalIndexes: []Index{{
			Name: "byN", Key: Key{Hash: "n"}, ProjectionType: "INCLUDE",
			NonKeyAttributes: []string{"a", "b"}, Throughput: &Throughput{Read: 1, Write: 1},
		}},
		StreamViewType: "NEW_AND_OLD_IMAGES",
		TTL:            &TTL{AttributeName: "exp", Enabled: false},
	}
	if !reflect.DeepEqual(spec, want) {
		t.Fatalf("spec =\n%+v\nwant\n%+v", spec, want)
	}
	in := spec.CreateTableInput("x-table")
	if in.StreamSpecification == nil || !aws.ToBool(in.StreamSpecification.StreamEnabled) ||
		aws.ToInt64(in.ProvisionedThroughput.ReadCapacityUnits) != 5 ||
		in.GlobalSecondaryIndexes[0].ProvisionedThroughput == nil ||
		!reflect.DeepEqual(in.GlobalSecondaryIndexes[0].Projection.NonKeyAttributes, []string{"a", "b"}) {
		t.Errorf("CreateTableInput = %+v", in)
	}
	if spec.UpdateTimeToLiveInput("x-table") != nil {
		t.Error("a disabled TTL must give no UpdateTimeToLive request")
	}
}

func TestParseErrors(t *testing.T) {
	const head = "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n"
	const keyPK = "      AttributeDefinitions: [{AttributeName: PK, AttributeType: S}]\n      KeySchema: [{AttributeName: PK, KeyType: HASH}]\n"
	for _, tc := range []struct{ name, src, want string }{
		{"no table", "Resources:\n  B:\n    Type: AWS::S3::Bucket\n", "declares no AWS::DynamoDB::Table"},
		{"two tables", "Resources:\n  A: {Type: AWS::DynamoDB::Table}\n  B: {Type: AWS::DynamoDB::Table}\n", "declares 2"},
		{"no properties", "Resources:\n  A: {Type: AWS::DynamoDB::Table}\n", "no Properties"},
		{"intrinsic in schema", head + "      BillingMode: !Ref Mode\n" + keyPK, "BillingMode"},
		{"intrinsic in key", head + "      AttributeDefinitions: [{AttributeName: !Ref K, AttributeType: S}]\n", "literal values"},
		{"bad billing", head + "      BillingMode: FREE\n" + keyPK, "unknown BillingMode"},
		{"provisioned without throughput", head + "      BillingMode: PROVISIONED\n" + keyPK, "needs ProvisionedThroughput"},
		{"undeclared key", head + "      AttributeDefinitions: [{AttributeName: PK, AttributeType: S}]\n      KeySchema: [{AttributeName: PK, KeyType: HASH}, {AttributeName: SK, KeyType: RANGE}]\n", `"SK" is not in AttributeDefinitions`},
		{"unused attribute", head + "      AttributeDefinitions: [{AttributeName: PK, AttributeType: S}, {AttributeName: X, AttributeType: S}]\n      KeySchema: [{AttributeName: PK, KeyType: HASH}]\n", `"X" is used by no key`},
		{"range first", head + "      AttributeDefinitions: [{AttributeName: PK, AttributeType: S}]\n      KeySchema: [{AttributeName: PK, KeyType: RANGE}]\n", "want a HASH key"},
		{"bad type", head + "      AttributeDefinitions: [{AttributeName: PK, AttributeType: BOOL}]\n", "unknown AttributeType"},
		{"bad projection", head + keyPK + "      GlobalSecondaryIndexes: [{IndexName: G, KeySchema: [{AttributeName: PK, KeyType: HASH}], Projection: {ProjectionType: SOME}}]\n", "unknown ProjectionType"},
		{"ttl without attribute", head + keyPK + "      TimeToLiveSpecification: {Enabled: true}\n", "no AttributeName"},
		{"bad ttl flag", head + keyPK + "      TimeToLiveSpecification: {AttributeName: ttl, Enabled: maybe}\n", "not a boolean"},
		{"alias", "a: &x 1\nb: *x\n", "aliases are not supported"},
		{"bad GetAtt", "Resources:\n  A: {Type: X, Properties: {P: !GetAtt NoDot}}\n", "want Resource.Attribute"},
		{"not YAML", "Resources: [\n", "parsing template"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load("does-not-exist.yaml"); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}
