package docgen

import (
	"fmt"
	"strings"
)

// pseudoParameters are resolved from where the stack deploys; any other
// pseudo parameter stays a placeholder.
func (s *Stack) pseudoParameter(name string) (string, bool) {
	switch name {
	case "AWS::Partition":
		return "aws", true
	case "AWS::Region":
		return s.Region, true
	case "AWS::AccountId":
		return s.Account, true
	case "AWS::URLSuffix":
		return "amazonaws.com", true
	case "AWS::StackName":
		return s.Name, true
	}
	return "", false
}

// Resolve returns v with every intrinsic function replaced by a readable
// string: pseudo parameters by their value, a Ref by ${construct path}, a
// GetAtt by ${construct path.attribute}, a Join by the joined text. The
// placeholders hold no quote or backslash, so a resolved DefinitionString is
// still JSON.
func (s *Stack) Resolve(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			for fn, arg := range v {
				if text, ok := s.intrinsic(fn, arg); ok {
					return text
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = s.Resolve(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = s.Resolve(x)
		}
		return out
	}
	return v
}

// ResolveString is Resolve for a value that must end up a string.
func (s *Stack) ResolveString(v any) string {
	if text, ok := s.Resolve(v).(string); ok {
		return text
	}
	return fmt.Sprint(s.Resolve(v))
}

func (s *Stack) intrinsic(fn string, arg any) (string, bool) {
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		if value, ok := s.pseudoParameter(name); ok {
			return value, true
		}
		return "${" + s.handle(name) + "}", true
	case "Fn::GetAtt":
		parts, _ := arg.([]any)
		if len(parts) == 2 {
			return fmt.Sprintf("${%s.%v}", s.handle(fmt.Sprint(parts[0])), parts[1]), true
		}
	case "Fn::Join":
		parts, _ := arg.([]any)
		if len(parts) == 2 {
			items, _ := parts[1].([]any)
			texts := make([]string, len(items))
			for i, item := range items {
				texts[i] = s.ResolveString(item)
			}
			return strings.Join(texts, fmt.Sprint(parts[0])), true
		}
	}
	if strings.HasPrefix(fn, "Fn::") {
		return "${" + fn + "}", true
	}
	return "", false
}

// handle is how a resource is named in a placeholder: its construct path,
// or the logical ID (a parameter, a resource without path metadata).
func (s *Stack) handle(logicalID string) string {
	if r, ok := s.Resources[logicalID]; ok {
		return r.Path
	}
	return logicalID
}

// Strings returns every string in v once intrinsics are resolved.
func (s *Stack) Strings(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case map[string]any:
			for _, k := range sortedKeys(v) {
				walk(v[k])
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(s.Resolve(v))
	return out
}
