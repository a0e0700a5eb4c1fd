package docgen

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// kind is how the architecture diagram draws one resource type.
type kind struct {
	label, shape, color string
}

// mainKinds are the resource types the architecture diagram shows. Roles,
// policies, log groups, keys, dashboards and custom-resource plumbing are
// left out: they would double the picture and say little an operator asks.
// Alarms are drawn as one node per stack.
var mainKinds = map[string]kind{
	"AWS::AppFlow::Flow":               {"AppFlow flow", "box", "#fde2c8"},
	"AWS::S3::Bucket":                  {"S3 bucket", "cylinder", "#d9f2d9"},
	"AWS::StepFunctions::StateMachine": {"state machine", "box", "#e8f0fe"},
	"AWS::Events::EventBus":            {"event bus", "box", "#f3e5f5"},
	"AWS::Events::Rule":                {"EventBridge rule", "box", "#f3e5f5"},
	"AWS::Glue::Job":                   {"Glue job", "box", "#fff4d6"},
	"AWS::Glue::Crawler":               {"Glue crawler", "box", "#fff4d6"},
	"AWS::DynamoDB::Table":             {"DynamoDB table", "cylinder", "#e0f7fa"},
	"AWS::SNS::Topic":                  {"SNS topic", "box", "#f8d7da"},
	"AWS::SQS::Queue":                  {"SQS queue", "box", "#f8d7da"},
	"AWS::CloudWatch::Alarm":           {"CloudWatch alarms", "box", "#f8d7da"},
}

// node is one box of the architecture diagram: a resource, or the group of
// a stack's alarms.
type node struct {
	id      string
	stack   *Stack
	label   string
	kind    kind
	members []*Resource
}

type archEdge struct {
	from, to *node
	label    string
}

// ArchitectureDOT draws every stack of the assembly inside its account and
// region, with an edge wherever a resource names another: a Ref or GetAtt in
// its properties, a physical name in them (how one account names another's
// bucket or bus, since references cannot cross accounts), and for a state
// machine each service call of its definition, labelled with the action.
// A rule's edges to its bus and to what its event pattern names point at the
// rule, the way events go.
func ArchitectureDOT(a *Assembly) (string, error) {
	nodes, byResource := architectureNodes(a)
	names := map[string]*node{} // physical name -> node, across all stacks
	for _, r := range sortedResources(a) {
		if n := byResource[r]; n != nil && r.PhysicalName() != "" {
			names[r.PhysicalName()] = n
		}
	}
	edges := map[[2]*node][]string{}
	add := func(from, to *node, label string) {
		if from == to {
			return
		}
		if isInput(from, label) {
			from, to = to, from
		}
		key := [2]*node{from, to}
		if !slices.Contains(edges[key], label) {
			edges[key] = append(edges[key], label)
		}
	}
	for _, r := range sortedResources(a) {
		from := byResource[r]
		if from == nil {
			continue
		}
		targets, err := namedTargets(r, byResource, names)
		if err != nil {
			return "", err
		}
		for _, t := range targets {
			add(from, t.to, t.label)
		}
	}

	var out dot
	out.open("digraph architecture")
	out.line("graph %s", attrs("label", "leadbridge: resources per account, drawn from the synthesized templates (make docs)", "labelloc", "t", "pad", "0.3", "fontname", "Helvetica", "fontsize", "14", "rankdir", "LR", "nodesep", "0.25", "ranksep", "0.9", "newrank", "true"))
	out.line("node %s", attrs("fontname", "Helvetica", "fontsize", "10", "style", "filled"))
	out.line("edge %s", attrs("fontname", "Helvetica", "fontsize", "8", "color", "#555555"))
	for _, env := range environments(a) {
		out.open("subgraph %s", quote("cluster_"+env[0].Account+"_"+env[0].Region))
		out.line("graph %s", attrs("label", fmt.Sprintf("account %s, %s", env[0].Account, env[0].Region), "style", "rounded", "color", "#232f3e", "fontname", "Helvetica", "fontsize", "12"))
		for _, s := range env {
			out.open("subgraph %s", quote("cluster_"+s.Name))
			out.line("graph %s", attrs("label", "stack "+s.Name, "style", "dashed", "color", "#888888"))
			for _, n := range nodes {
				if n.stack == s {
					out.line("%s %s", quote(n.id), attrs("label", n.label, "shape", n.kind.shape, "fillcolor", n.kind.color))
				}
			}
			out.close()
		}
		out.close()
	}
	keys := make([][2]*node, 0, len(edges))
	for k := range edges {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y [2]*node) int {
		return strings.Compare(x[0].id+"\x00"+x[1].id, y[0].id+"\x00"+y[1].id)
	})
	for _, k := range keys {
		labels := edges[k]
		slices.Sort(labels)
		style := []string{"label", wrap(strings.Join(labels, " "), 28)}
		if k[0].stack.Account != k[1].stack.Account {
			style = append(style, "color", "#c0392b", "fontcolor", "#c0392b", "penwidth", "2")
		}
		out.line("%s -> %s %s", quote(k[0].id), quote(k[1].id), attrs(style...))
	}
	out.close()
	return out.String(), nil
}

// isInput tells whether a property names where a resource's input comes
// from rather than what it acts on: a rule reads the bus it is on and
// matches the events of what its pattern names.
func isInput(n *node, label string) bool {
	return n.kind == mainKinds["AWS::Events::Rule"] && (strings.HasPrefix(label, "EventPattern") || label == "EventBusName")
}

// architectureNodes makes a node per main resource and one per stack for
// its alarms, in stack and construct path order.
func architectureNodes(a *Assembly) ([]*node, map[*Resource]*node) {
	var nodes []*node
	byResource := map[*Resource]*node{}
	for _, s := range a.Stacks {
		var alarms *node
		resources := s.SortedResources()
		slices.SortStableFunc(resources, func(x, y *Resource) int { return strings.Compare(x.Path, y.Path) })
		for _, r := range resources {
			k, ok := mainKinds[r.Type]
			if !ok {
				continue
			}
			if r.Type == "AWS::CloudWatch::Alarm" {
				if alarms == nil {
					alarms = &node{id: s.Name + "/alarms", stack: s, kind: k}
					nodes = append(nodes, alarms)
				}
				alarms.members = append(alarms.members, r)
				alarms.label = fmt.Sprintf("%s (%d)", k.label, len(alarms.members))
				byResource[r] = alarms
				continue
			}
			n := &node{id: s.Name + "/" + r.LogicalID, stack: s, kind: k, members: []*Resource{r},
				label: joinLines(r.Path, k.label, r.PhysicalName())}
			nodes = append(nodes, n)
			byResource[r] = n
		}
	}
	return nodes, byResource
}

// freeText properties are written for people: a name in them is no reference.
var freeText = map[string]bool{"Description": true, "AlarmDescription": true}

type target struct {
	to    *node
	label string
}

var placeholder = regexp.MustCompile(`\$\{([^}]+)\}`)

// namedTargets lists the drawn nodes a resource names. A state machine's
// definition is read per service call (the parameters that say what it acts
// on, not the data it passes), labelled with its action; any other
// property is labelled with its property path (without list indexes and
// intrinsic names).
func namedTargets(r *Resource, byResource map[*Resource]*node, names map[string]*node) ([]target, error) {
	var out []target
	for _, key := range sortedKeys(r.Properties) {
		if freeText[key] || (r.Type == "AWS::StepFunctions::StateMachine" && (key == "DefinitionString" || key == "Definition")) {
			continue
		}
		walkProperty(r.Properties[key], []string{key}, func(path []string, v any) {
			label := propertyLabel(path)
			for _, text := range r.Stack.Strings(v) {
				for _, n := range nodesNamedIn(text, r.Stack, byResource, names) {
					out = append(out, target{n, label})
				}
			}
		})
	}
	if r.Type != "AWS::StepFunctions::StateMachine" {
		return out, nil
	}
	m, err := ParseMachine(r)
	if err != nil {
		return nil, err
	}
	tasks := m.Tasks()
	for _, name := range sortedKeys(tasks) {
		for _, param := range targetParameters(tasks[name]) {
			for _, n := range nodesNamedIn(param[1], r.Stack, byResource, names) {
				out = append(out, target{n, taskAction(tasks[name])})
			}
		}
	}
	return out, nil
}

// walkProperty calls f on each value of a property that is a leaf or an
// intrinsic function, with the path of keys leading to it.
func walkProperty(v any, path []string, f func(path []string, v any)) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			for k := range v {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					f(path, v)
					return
				}
			}
		}
		for _, k := range sortedKeys(v) {
			walkProperty(v[k], append(slices.Clone(path), k), f)
		}
	case []any:
		for _, x := range v {
			walkProperty(x, path, f)
		}
	default:
		f(path, v)
	}
}

// propertyLabel is a property path without the leaf when the leaf only
// says which attribute is used ("Targets.DeadLetterConfig.Arn" ->
// "Targets.DeadLetterConfig").
func propertyLabel(path []string) string {
	if len(path) > 1 {
		switch path[len(path)-1] {
		case "Arn", "Ref", "Name", "Id", "BucketName", "Value":
			path = path[:len(path)-1]
		}
	}
	return strings.Join(path, ".")
}

// nodesNamedIn finds the drawn nodes a resolved string names: a
// ${construct path} placeholder of the stack's own resources, or the
// physical name of any stack's resource.
func nodesNamedIn(text string, s *Stack, byResource map[*Resource]*node, names map[string]*node) []*node {
	var out []*node
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		for _, r := range s.SortedResources() {
			if m[1] == r.Path || strings.HasPrefix(m[1], r.Path+".") {
				if n := byResource[r]; n != nil {
					out = append(out, n)
				}
			}
		}
	}
	for _, name := range sortedKeys(names) {
		if strings.Contains(text, name) && namePattern(name).MatchString(text) {
			out = append(out, names[name])
		}
	}
	return out
}

// environments groups the stacks by account and region, in order.
func environments(a *Assembly) [][]*Stack {
	var out [][]*Stack
	index := map[string]int{}
	envs := slices.Clone(a.Stacks)
	slices.SortStableFunc(envs, func(x, y *Stack) int { return strings.Compare(x.Account+x.Region, y.Account+y.Region) })
	for _, s := range envs {
		key := s.Account + "/" + s.Region
		if i, ok := index[key]; ok {
			out[i] = append(out[i], s)
			continue
		}
		index[key] = len(out)
		out = append(out, []*Stack{s})
	}
	return out
}

func sortedResources(a *Assembly) []*Resource {
	var out []*Resource
	for _, s := range a.Stacks {
		out = append(out, s.SortedResources()...)
	}
	return out
}
