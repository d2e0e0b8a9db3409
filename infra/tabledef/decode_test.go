package tabledef_test

import (
	"reflect"
	"testing"

	"github.com/sesame-ecole/sesame/infra/tabledef"
)

func TestDecodeTemplate(t *testing.T) {
	got, err := tabledef.DecodeTemplate([]byte(`
Resources:
  F:
    Properties:
      Table: !Ref Table
      Arn: !GetAtt Table.Arn
      Index: !Sub "${Table.Arn}/index/*"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"Resources": map[string]any{"F": map[string]any{"Properties": map[string]any{
		"Table": map[string]any{"Ref": "Table"},
		"Arn":   map[string]any{"Fn::GetAtt": []any{"Table", "Arn"}},
		"Index": map[string]any{"Fn::Sub": "${Table.Arn}/index/*"},
	}}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeTemplate:\n got %#v\nwant %#v", got, want)
	}
	if _, err := tabledef.DecodeTemplate([]byte("- a\n- b\n")); err == nil {
		t.Fatal("a sequence decoded as a template")
	}
}
