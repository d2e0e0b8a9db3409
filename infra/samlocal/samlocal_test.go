package samlocal_test

import (
	"reflect"
	"testing"

	"github.com/sesame-ecole/sesame/infra/samlocal"
	"github.com/sesame-ecole/sesame/infra/testenv"
)

const tiny = `Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Handler: bootstrap
      Runtime: provided.al2023
      Environment:
        Variables:
          STAGE: !Ref Stage
          CODE: |
            line one
            line two
`

func TestParseAndTransform(t *testing.T) {
	p, err := samlocal.Parse(t.Context(), []byte(tiny))
	testenv.Require(t, "aws-sam-translator (python3)", err)
	vars := p["Resources"].(map[string]any)["Hello"].(map[string]any)["Properties"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
	if !reflect.DeepEqual(vars["STAGE"], map[string]any{"Ref": "Stage"}) || vars["CODE"] != "line one\nline two\n" {
		t.Fatalf("parsed %v", vars)
	}
	tx, err := samlocal.Transform(t.Context(), []byte(tiny))
	if err != nil {
		t.Fatal(err)
	}
	res := tx["Resources"].(map[string]any)
	fn, _ := res["Hello"].(map[string]any)
	if fn["Type"] != "AWS::Lambda::Function" || res["HelloRole"] == nil {
		t.Fatalf("transformed %v", res)
	}
	if code := fn["Properties"].(map[string]any)["Code"]; !reflect.DeepEqual(code, map[string]any{"S3Bucket": "sesame-artifacts", "S3Key": "Hello.zip"}) {
		t.Fatalf("code %v", code)
	}
	if _, err := samlocal.Transform(t.Context(), []byte("Resources: [")); err == nil {
		t.Fatal("a broken template transformed")
	}
}
