package lambdarie

import (
	"fmt"
	"maps"
	"slices"

	"github.com/sesame-ecole/sesame/infra/localtool"
	"github.com/sesame-ecole/sesame/infra/tabledef"
)

// Values resolves what a function's environment refers to in template.yaml:
// Refs are the values of `!Ref X` (parameters and resources: "Table",
// "OriginSecret"…; a parameter not given takes its Default), and Vars the
// values of variables whose template value is another intrinsic function
// (the import bucket's `!Sub` name), by variable name.
type Values struct {
	Refs map[string]string
	Vars map[string]string
}

// Environment returns the variables template.yaml gives the function
// logicalID (Globals.Function.Environment, then the function's own), as
// NAME=value lines. A variable that cannot be resolved from v is an error:
// the function must run with the environment it is deployed with, not a
// guessed one.
func Environment(template []byte, logicalID string, v Values) ([]string, error) {
	tpl, err := tabledef.DecodeTemplate(template)
	if err != nil {
		return nil, err
	}
	fnRes, ok := localtool.Dig(tpl, "Resources", logicalID).(map[string]any)
	if !ok || fnRes["Type"] != "AWS::Serverless::Function" {
		return nil, fmt.Errorf("lambdarie: template.yaml has no function %s", logicalID)
	}
	vars := map[string]any{}
	if g, ok := localtool.Dig(tpl, "Globals", "Function", "Environment", "Variables").(map[string]any); ok {
		maps.Copy(vars, g)
	}
	if own, ok := localtool.Dig(fnRes, "Properties", "Environment", "Variables").(map[string]any); ok {
		maps.Copy(vars, own)
	}
	var env []string
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		val, err := resolve(tpl, name, vars[name], v)
		if err != nil {
			return nil, fmt.Errorf("lambdarie: %s of %s: %w", name, logicalID, err)
		}
		env = append(env, name+"="+val)
	}
	return env, nil
}

func resolve(tpl map[string]any, name string, val any, v Values) (string, error) {
	if s, ok := v.Vars[name]; ok {
		return s, nil
	}
	switch x := val.(type) {
	case string:
		return x, nil
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(x), nil
	case map[string]any:
		if ref, ok := x["Ref"].(string); ok && len(x) == 1 {
			if s, ok := v.Refs[ref]; ok {
				return s, nil
			}
			if d := localtool.Dig(tpl, "Parameters", ref, "Default"); d != nil {
				return fmt.Sprint(d), nil
			}
			return "", fmt.Errorf("no value for !Ref %s", ref)
		}
	}
	return "", fmt.Errorf("%v needs a value (Values.Vars)", val)
}
