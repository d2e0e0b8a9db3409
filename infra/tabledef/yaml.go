package tabledef

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// decodeTemplate parses a CloudFormation template written in YAML into plain
// Go values (map[string]any, []any, string, numbers, bool, nil). The
// CloudFormation short-form tags are rewritten into their long form, as
// CloudFormation itself does: `!Ref X` becomes {"Ref": "X"}, `!GetAtt A.B`
// becomes {"Fn::GetAtt": ["A", "B"]}, and any other `!Name v` becomes
// {"Fn::Name": v}. A plain YAML decoder would silently drop those tags and
// keep only their argument, turning `!Ref Mode` into the literal "Mode".
func decodeTemplate(src []byte) (any, error) {
	file, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, err
	}
	if len(file.Docs) != 1 {
		return nil, fmt.Errorf("expected one YAML document, found %d", len(file.Docs))
	}
	return toValue(file.Docs[0])
}

func toValue(node ast.Node) (any, error) {
	switch n := node.(type) {
	case nil:
		return nil, nil
	case *ast.DocumentNode:
		return toValue(n.Body)
	case *ast.MappingNode:
		return mappingToValue(n.Values)
	case *ast.MappingValueNode:
		return mappingToValue([]*ast.MappingValueNode{n})
	case *ast.SequenceNode:
		out := make([]any, 0, len(n.Values))
		for _, item := range n.Values {
			v, err := toValue(item)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case *ast.TagNode:
		return tagToValue(n)
	case *ast.AnchorNode:
		return toValue(n.Value)
	case *ast.AliasNode:
		return nil, fmt.Errorf("%s: YAML aliases are not supported", position(n))
	case ast.ScalarNode:
		return n.GetValue(), nil
	default:
		return nil, fmt.Errorf("%s: unexpected YAML node %s", position(n), node.Type())
	}
}

func mappingToValue(pairs []*ast.MappingValueNode) (map[string]any, error) {
	out := make(map[string]any, len(pairs))
	for _, pair := range pairs {
		k, err := toValue(pair.Key)
		if err != nil {
			return nil, err
		}
		key, ok := k.(string)
		if !ok {
			key = fmt.Sprint(k)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%s: duplicate key %q", position(pair), key)
		}
		v, err := toValue(pair.Value)
		if err != nil {
			return nil, err
		}
		out[key] = v
	}
	return out, nil
}

func tagToValue(n *ast.TagNode) (any, error) {
	tag := n.Start.Value
	if strings.HasPrefix(tag, "!!") {
		// A standard YAML tag (!!str, !!int, …): let the library apply it.
		var v any
		if err := yaml.NodeToValue(n, &v); err != nil {
			return nil, err
		}
		return v, nil
	}
	name, ok := strings.CutPrefix(tag, "!")
	if !ok || name == "" {
		return nil, fmt.Errorf("%s: unsupported YAML tag %q", position(n), tag)
	}
	arg, err := toValue(n.Value)
	if err != nil {
		return nil, err
	}
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: arg}, nil
	case "GetAtt":
		if s, ok := arg.(string); ok {
			resource, attribute, found := strings.Cut(s, ".")
			if !found {
				return nil, fmt.Errorf("%s: !GetAtt %q: want Resource.Attribute", position(n), s)
			}
			arg = []any{resource, attribute}
		}
	}
	return map[string]any{"Fn::" + name: arg}, nil
}

func position(n ast.Node) string {
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return fmt.Sprintf("line %d", tk.Position.Line)
	}
	return "?"
}
