// Package docgen draws the pictures of docs/ from a synthesized cloud
// assembly (cdk.out): an architecture diagram of every account the app
// deploys to and one diagram per state machine, as Graphviz DOT. Nothing is
// drawn by hand: what the templates hold is what the pictures show.
package docgen

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Assembly is the part of a cloud assembly the pictures are drawn from.
type Assembly struct {
	Stacks []*Stack // sorted by name
}

// Stack is one synthesized CloudFormation stack and where it deploys.
type Stack struct {
	Name      string
	Account   string
	Region    string
	Resources map[string]*Resource // by logical ID
}

// Resource is one resource of a template.
type Resource struct {
	Stack      *Stack
	LogicalID  string
	Type       string
	Path       string // construct path below the stack, e.g. "Handoff/StateMachine"
	Properties map[string]any
}

// LoadAssembly reads manifest.json and every stack template it lists.
func LoadAssembly(dir string) (*Assembly, error) {
	var manifest struct {
		Artifacts map[string]struct {
			Type        string `json:"type"`
			Environment string `json:"environment"`
			Properties  struct {
				TemplateFile string `json:"templateFile"`
			} `json:"properties"`
		} `json:"artifacts"`
	}
	if err := readJSON(filepath.Join(dir, "manifest.json"), &manifest); err != nil {
		return nil, err
	}
	a := &Assembly{}
	for name, art := range manifest.Artifacts {
		if art.Type != "aws:cloudformation:stack" {
			continue
		}
		// The environment is "aws://ACCOUNT/REGION" for a stack with a concrete Env.
		account, region, ok := strings.Cut(strings.TrimPrefix(art.Environment, "aws://"), "/")
		if !ok {
			return nil, fmt.Errorf("stack %s: environment must look like aws://ACCOUNT/REGION, got %q", name, art.Environment)
		}
		var tpl struct {
			Resources map[string]struct {
				Type       string         `json:"Type"`
				Properties map[string]any `json:"Properties"`
				Metadata   map[string]any `json:"Metadata"`
			} `json:"Resources"`
		}
		if err := readJSON(filepath.Join(dir, art.Properties.TemplateFile), &tpl); err != nil {
			return nil, err
		}
		s := &Stack{Name: name, Account: account, Region: region, Resources: map[string]*Resource{}}
		for id, r := range tpl.Resources {
			path, _ := r.Metadata["aws:cdk:path"].(string)
			s.Resources[id] = &Resource{Stack: s, LogicalID: id, Type: r.Type, Path: shortPath(name, path, id), Properties: r.Properties}
		}
		a.Stacks = append(a.Stacks, s)
	}
	if len(a.Stacks) == 0 {
		return nil, fmt.Errorf("%s: the manifest lists no stack", dir)
	}
	slices.SortFunc(a.Stacks, func(x, y *Stack) int { return strings.Compare(x.Name, y.Name) })
	return a, nil
}

// shortPath is the construct path of a resource without the stack, the
// pattern's "Default" scope and the L1 "Resource" leaf: what a reader knows
// the resource by. Without path metadata it is the logical ID.
func shortPath(stack, path, logicalID string) string {
	if path == "" {
		return logicalID
	}
	var parts []string
	for i, p := range strings.Split(path, "/") {
		if (i == 0 && p == stack) || p == "Default" || p == "Resource" {
			continue
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "/")
}

// SortedResources returns the stack's resources in logical ID order.
func (s *Stack) SortedResources() []*Resource {
	out := make([]*Resource, 0, len(s.Resources))
	for _, id := range sortedKeys(s.Resources) {
		out = append(out, s.Resources[id])
	}
	return out
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
