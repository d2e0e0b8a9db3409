package tabledef

import "fmt"

// DecodeTemplate parses a whole CloudFormation or SAM template written in
// YAML into plain Go values (map[string]any, []any, strings, …), with the
// short-form tags in their long form, as CloudFormation reads them:
// `!Ref X` is {"Ref": "X"}, `!GetAtt A.B` is {"Fn::GetAtt": ["A", "B"]},
// `!Sub s` is {"Fn::Sub": "s"}. Tests that check the rest of the template
// (functions, routes, policies) read it through this.
func DecodeTemplate(src []byte) (map[string]any, error) {
	v, err := decodeTemplate(src)
	if err != nil {
		return nil, fmt.Errorf("tabledef: parsing template: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("tabledef: parsing template: the document is not a mapping")
	}
	return m, nil
}
