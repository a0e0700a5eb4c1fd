package docgen

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Machine is a state machine of a template with its definition resolved.
type Machine struct {
	Resource   *Resource
	Name       string         // the construct owning it, e.g. "Handoff"
	Definition map[string]any // the ASL, intrinsics replaced by placeholders
}

// ParseMachine reads the synthesized definition of a state machine resource.
// Physical names of the stack's own resources become ${construct path}
// placeholders, so that two stacks built by one construct draw alike.
func ParseMachine(r *Resource) (*Machine, error) {
	var text string
	switch {
	case r.Properties["DefinitionString"] != nil:
		text = r.Stack.ResolveString(r.Properties["DefinitionString"])
	case r.Properties["Definition"] != nil:
		data, _ := json.Marshal(r.Stack.Resolve(r.Properties["Definition"]))
		text = string(data)
	default:
		return nil, fmt.Errorf("%s/%s: state machine has no inline definition", r.Stack.Name, r.Path)
	}
	text = r.Stack.withHandles(text)
	var def map[string]any
	if err := json.Unmarshal([]byte(text), &def); err != nil {
		return nil, fmt.Errorf("%s/%s: definition is not JSON once resolved: %w", r.Stack.Name, r.Path, err)
	}
	return &Machine{Resource: r, Name: strings.TrimSuffix(strings.TrimSuffix(r.Path, "StateMachine"), "/"), Definition: def}, nil
}

// Tasks returns every state that calls a service (Task states, and Map
// states' item readers and result writers), nested ones included, by name.
func (m *Machine) Tasks() map[string]map[string]any {
	out := map[string]map[string]any{}
	var walk func(def map[string]any)
	walk = func(def map[string]any) {
		states, _ := def["States"].(map[string]any)
		for name, s := range states {
			st, _ := s.(map[string]any)
			switch st["Type"] {
			case "Task":
				out[name] = st
			case "Map":
				for _, key := range []string{"ItemReader", "ResultWriter"} {
					if io, ok := st[key].(map[string]any); ok {
						out[name+"."+key] = io
					}
				}
				walk(processor(st))
			case "Parallel":
				branches, _ := st["Branches"].([]any)
				for _, b := range branches {
					branch, _ := b.(map[string]any)
					walk(branch)
				}
			}
		}
	}
	walk(m.Definition)
	return out
}

// DOT draws the machine: every state, Next/Default/Choice edges, Catch edges
// dashed and labelled with their errors, each state's Retry as a self-loop,
// Map item processors and Parallel branches as nested clusters. A state of a
// type it does not know, or a transition to no state, is an error.
func (m *Machine) DOT(title string) (string, error) {
	g := &machineGraph{lang: stringOr(m.Definition["QueryLanguage"], "JSONPath")}
	g.out.open("digraph %s", quote(m.Name))
	g.out.line("graph %s", attrs("label", wrap(title, 50), "labelloc", "t", "pad", "0.3", "fontname", "Helvetica", "fontsize", "14", "rankdir", "TB", "nodesep", "0.3", "ranksep", "0.35"))
	g.out.line("node %s", attrs("fontname", "Helvetica", "fontsize", "10", "margin", "0.15,0.06", "shape", "box", "style", "rounded,filled", "fillcolor", "#ffffff"))
	g.out.line("edge %s", attrs("fontname", "Helvetica", "fontsize", "9"))
	g.out.line("start %s", attrs("label", "start", "shape", "circle", "style", "filled", "fillcolor", "#222222", "fontcolor", "#ffffff", "width", "0.4"))
	start, err := g.scope("", m.Definition, "end")
	if err != nil {
		return "", fmt.Errorf("%s/%s: %w", m.Resource.Stack.Name, m.Resource.Path, err)
	}
	g.edges = append([]string{fmt.Sprintf("start -> %s", quote(start))}, g.edges...)
	if g.ends {
		g.out.line("end %s", attrs("label", "end", "shape", "doublecircle", "style", "filled", "fillcolor", "#222222", "fontcolor", "#ffffff", "width", "0.3"))
	}
	for _, e := range g.edges {
		g.out.line("%s", e)
	}
	g.out.close()
	return g.out.String(), nil
}

type machineGraph struct {
	out   dot
	edges []string
	lang  string // the machine's query language, JSONPath unless set
	ends  bool   // some state has End: true at the top level
}

// scope draws the states of a definition (the machine, a Map's item
// processor, a Parallel branch) under the id prefix and returns the id of
// its StartAt state. end is the node an End state leads to ("" for none).
func (g *machineGraph) scope(prefix string, def map[string]any, end string) (string, error) {
	states, _ := def["States"].(map[string]any)
	startAt, _ := def["StartAt"].(string)
	if _, ok := states[startAt]; !ok {
		return "", fmt.Errorf("StartAt %q names no state", startAt)
	}
	lang := stringOr(def["QueryLanguage"], g.lang)
	for _, name := range flowOrder(startAt, states) {
		st, _ := states[name].(map[string]any)
		id := prefix + name
		if err := g.state(id, name, st, stringOr(st["QueryLanguage"], lang)); err != nil {
			return "", fmt.Errorf("state %q: %w", name, err)
		}
		if err := g.transitions(id, prefix, st, states, end); err != nil {
			return "", fmt.Errorf("state %q: %w", name, err)
		}
	}
	return prefix + startAt, nil
}

// state draws one state's node (a cluster for Map and Parallel).
func (g *machineGraph) state(id, name string, st map[string]any, lang string) error {
	typ, _ := st["Type"].(string)
	switch typ {
	case "Task":
		g.out.line("%s %s", quote(id), attrs("label", joinLines(name, "Task, "+taskAction(st)+languageNote(lang, g.lang), targetsOf(st)), "fillcolor", "#e8f0fe"))
	case "Pass":
		g.out.line("%s %s", quote(id), attrs("label", joinLines(name, "Pass"+languageNote(lang, g.lang)), "style", "rounded,dashed"))
	case "Wait":
		g.out.line("%s %s", quote(id), attrs("label", joinLines(name, "Wait "+waitFor(st)), "shape", "hexagon", "style", "filled", "fillcolor", "#fff4d6"))
	case "Choice":
		g.out.line("%s %s", quote(id), attrs("label", joinLines(name, "Choice"+languageNote(lang, g.lang)), "shape", "diamond", "style", "filled", "fillcolor", "#fff4d6"))
	case "Succeed":
		g.out.line("%s %s", quote(id), attrs("label", joinLines(name, "Succeed"), "shape", "ellipse", "fillcolor", "#d9f2d9", "style", "filled"))
	case "Fail":
		g.out.line("%s %s", quote(id), attrs("label", joinLines(name, "Fail", field(st, "Error"), wrap(field(st, "Cause"), 50)), "shape", "octagon", "fillcolor", "#f8d7da", "style", "filled"))
	case "Map":
		return g.nested(id, name, st, lang, "Map, "+mapMode(st), []map[string]any{processor(st)})
	case "Parallel":
		branches, _ := st["Branches"].([]any)
		defs := make([]map[string]any, len(branches))
		for i, b := range branches {
			defs[i], _ = b.(map[string]any)
		}
		return g.nested(id, name, st, lang, "Parallel", defs)
	default:
		return fmt.Errorf("unknown state type %q", typ)
	}
	return nil
}

// nested draws a Map or Parallel state as a cluster: a header node that
// carries the state's own edges, and each inner definition in it.
func (g *machineGraph) nested(id, name string, st map[string]any, lang, kind string, defs []map[string]any) error {
	g.out.open("subgraph %s", quote("cluster_"+id))
	g.out.line("graph %s", attrs("label", "", "style", "rounded", "color", "#5b7bd5"))
	header := joinLines(name, kind+languageNote(lang, g.lang), mapDetails(st))
	g.out.line("%s %s", quote(id), attrs("label", header, "shape", "box3d", "fillcolor", "#dfe7fb", "style", "filled"))
	for i, def := range defs {
		prefix := id + "/"
		if len(defs) > 1 {
			prefix = fmt.Sprintf("%s/%d/", id, i+1)
			g.out.open("subgraph %s", quote("cluster_"+prefix))
			g.out.line("graph %s", attrs("label", fmt.Sprintf("branch %d", i+1), "style", "dashed"))
		}
		start, err := g.scope(prefix, def, "")
		if err != nil {
			return err
		}
		if len(defs) > 1 {
			g.out.close()
		}
		label := "each item"
		if kind == "Parallel" {
			label = fmt.Sprintf("branch %d", i+1)
		}
		g.edges = append(g.edges, fmt.Sprintf("%s -> %s %s", quote(id), quote(start), attrs("label", label, "style", "dotted")))
	}
	g.out.close()
	return nil
}

// transitions adds a state's Next/End, Choice rules and Default, Catch and
// Retry edges.
func (g *machineGraph) transitions(id, prefix string, st map[string]any, states map[string]any, end string) error {
	edge := func(to, label string, style ...string) error {
		if _, ok := states[to]; !ok {
			return fmt.Errorf("transition to %q, which is no state here", to)
		}
		g.edges = append(g.edges, fmt.Sprintf("%s -> %s %s", quote(id), quote(prefix+to), attrs(append([]string{"label", label}, style...)...)))
		return nil
	}
	if next, ok := st["Next"].(string); ok {
		if err := edge(next, ""); err != nil {
			return err
		}
	}
	if st["End"] == true && end != "" {
		g.ends = true
		g.edges = append(g.edges, fmt.Sprintf("%s -> %s", quote(id), end))
	}
	choices, _ := st["Choices"].([]any)
	for _, c := range choices {
		rule, _ := c.(map[string]any)
		if err := edge(field(rule, "Next"), wrap(condition(rule), 40), "color", "#8a6d00", "fontcolor", "#8a6d00"); err != nil {
			return err
		}
	}
	if def, ok := st["Default"].(string); ok {
		if err := edge(def, "default", "color", "#8a6d00", "fontcolor", "#8a6d00"); err != nil {
			return err
		}
	}
	catches, _ := st["Catch"].([]any)
	for _, c := range catches {
		catch, _ := c.(map[string]any)
		if err := edge(field(catch, "Next"), "catch "+errorNames(catch), "style", "dashed", "color", "#c0392b", "fontcolor", "#c0392b"); err != nil {
			return err
		}
	}
	if retries, _ := st["Retry"].([]any); len(retries) > 0 {
		lines := make([]string, len(retries))
		for i, r := range retries {
			retrier, _ := r.(map[string]any)
			lines[i] = retryText(retrier)
		}
		g.edges = append(g.edges, fmt.Sprintf("%s -> %s %s", quote(id), quote(id), attrs("label", strings.Join(lines, "\n"), "color", "#1f5fbf", "fontcolor", "#1f5fbf", "dir", "back", "arrowtail", "curve")))
	}
	return nil
}

// flowOrder lists states in the order the flow reaches them from StartAt
// (Next, then Choices and Default, then Catch), then any left, by name: a
// stable order that lays out top to bottom the way a run goes.
func flowOrder(startAt string, states map[string]any) []string {
	seen := map[string]bool{}
	var order []string
	queue := []string{startAt}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		st, ok := states[name].(map[string]any)
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		order = append(order, name)
		queue = append(queue, field(st, "Next"))
		for _, key := range []string{"Choices", "Catch"} {
			if key == "Catch" {
				queue = append(queue, field(st, "Default"))
			}
			items, _ := st[key].([]any)
			for _, item := range items {
				rule, _ := item.(map[string]any)
				queue = append(queue, field(rule, "Next"))
			}
		}
	}
	for _, name := range sortedKeys(states) {
		if !seen[name] {
			order = append(order, name)
		}
	}
	return order
}

// taskAction names what a Task calls: "s3:copyObject" for an SDK
// integration, "glue:startJobRun.sync" for an optimised one.
func taskAction(st map[string]any) string {
	resource := field(st, "Resource")
	if _, after, ok := strings.Cut(resource, ":states:::"); ok {
		return strings.TrimPrefix(after, "aws-sdk:")
	}
	return resource
}

// targetKeys are the parameters that name what a call acts on.
var targetKeys = []string{"Bucket", "TableName", "JobName", "Name", "CrawlerName", "FlowName",
	"EventBusName", "TopicArn", "QueueUrl", "StateMachineArn", "FunctionName", "MapRunArn", "Namespace"}

// targetsOf lists "Key: value" for each target parameter of a call, sorted.
func targetsOf(st map[string]any) string {
	var out []string
	for _, t := range targetParameters(st) {
		out = append(out, wrap(t[0]+": "+t[1], 60))
	}
	return strings.Join(slices.Compact(out), "\n")
}

// targetParameters returns the key and value of each target parameter of a
// call (Parameters or Arguments, nested ones included, but not the Name of
// a Name/Value pair such as a metric dimension), sorted.
func targetParameters(st map[string]any) [][2]string {
	var out [][2]string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			_, pair := v["Value"]
			for _, k := range sortedKeys(v) {
				key := strings.TrimSuffix(k, ".$")
				if s, ok := v[k].(string); ok && slices.Contains(targetKeys, key) && !pair {
					out = append(out, [2]string{key, s})
					continue
				}
				walk(v[k])
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(st["Parameters"])
	walk(st["Arguments"])
	slices.SortFunc(out, func(x, y [2]string) int { return strings.Compare(x[0]+"\x00"+x[1], y[0]+"\x00"+y[1]) })
	return out
}

func mapMode(st map[string]any) string {
	if cfg, ok := processorConfig(st)["Mode"].(string); ok {
		return strings.ToLower(cfg)
	}
	return "inline"
}

// mapDetails says how a Map gets its items and where it writes results.
func mapDetails(st map[string]any) string {
	var lines []string
	if n, ok := st["MaxConcurrency"].(float64); ok {
		lines = append(lines, fmt.Sprintf("at most %s at once", strconv.FormatFloat(n, 'f', -1, 64)))
	}
	for _, io := range []struct{ key, verb string }{{"ItemReader", "items from"}, {"ResultWriter", "results to"}} {
		if spec, ok := st[io.key].(map[string]any); ok {
			lines = append(lines, joinLines(io.verb+" "+taskAction(spec), targetsOf(spec)))
		}
	}
	return strings.Join(lines, "\n")
}

func processor(st map[string]any) map[string]any {
	if p, ok := st["ItemProcessor"].(map[string]any); ok {
		return p
	}
	p, _ := st["Iterator"].(map[string]any) // the older name of ItemProcessor
	return p
}

func processorConfig(st map[string]any) map[string]any {
	cfg, _ := processor(st)["ProcessorConfig"].(map[string]any)
	return cfg
}

func waitFor(st map[string]any) string {
	for _, key := range []string{"Seconds", "SecondsPath", "Timestamp", "TimestampPath"} {
		switch v := st[key].(type) {
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64) + " s"
		case string:
			return key + " " + v
		}
	}
	return ""
}

// condition renders a Choice rule: a JSONata Condition as written, a
// JSONPath rule as "Variable Operator value", And/Or/Not nested.
func condition(rule map[string]any) string {
	if c, ok := rule["Condition"].(string); ok {
		return strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(c, "{%"), "%}"))
	}
	for _, op := range []string{"And", "Or"} {
		if items, ok := rule[op].([]any); ok {
			parts := make([]string, len(items))
			for i, item := range items {
				sub, _ := item.(map[string]any)
				parts[i] = "(" + condition(sub) + ")"
			}
			return strings.Join(parts, " "+strings.ToLower(op)+" ")
		}
	}
	if sub, ok := rule["Not"].(map[string]any); ok {
		return "not (" + condition(sub) + ")"
	}
	for _, k := range sortedKeys(rule) {
		switch k {
		case "Variable", "Next", "Comment", "Assign", "Output":
			continue
		}
		value, _ := json.Marshal(rule[k])
		return fmt.Sprintf("%s %s %s", field(rule, "Variable"), k, value)
	}
	return field(rule, "Variable")
}

func errorNames(v map[string]any) string {
	names, _ := v["ErrorEquals"].([]any)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprint(n)
	}
	return strings.Join(out, ", ")
}

// retryText sums up a retrier with ASL's defaults filled in (IntervalSeconds
// 1, MaxAttempts 3, BackoffRate 2, no jitter).
func retryText(r map[string]any) string {
	num := func(key string, def float64) string {
		if v, ok := r[key].(float64); ok {
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		return strconv.FormatFloat(def, 'f', -1, 64)
	}
	if num("MaxAttempts", 3) == "0" {
		return "retry " + errorNames(r) + ": never"
	}
	text := fmt.Sprintf("retry %s: %sx, %ss *%s", errorNames(r), num("MaxAttempts", 3), num("IntervalSeconds", 1), num("BackoffRate", 2))
	if _, ok := r["MaxDelaySeconds"]; ok {
		text += ", max " + num("MaxDelaySeconds", 0) + "s"
	}
	return text + ", jitter " + stringOr(r["JitterStrategy"], "NONE")
}

func languageNote(lang, machine string) string {
	if lang == machine {
		return ""
	}
	return " (" + lang + ")"
}

func field(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func stringOr(v any, def string) string {
	if s, ok := v.(string); ok && s != "" {
		return s
	}
	return def
}

func joinLines(lines ...string) string {
	var out []string
	for _, l := range lines {
		if l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// physicalNameKeys are the properties that give a resource a fixed name.
var physicalNameKeys = []string{"BucketName", "FlowName", "Name", "TableName", "TopicName", "QueueName", "StateMachineName"}

// PhysicalName is the fixed name a resource's properties give it, if any.
func (r *Resource) PhysicalName() string {
	for _, key := range physicalNameKeys {
		if s, ok := r.Properties[key].(string); ok && len(s) >= 8 {
			return s
		}
	}
	return ""
}

// nameChars may surround a name without ending it.
const nameChars = `A-Za-z0-9_.\-`

// namePattern matches a physical name as a whole word of a string.
func namePattern(name string) *regexp.Regexp {
	return regexp.MustCompile(`(^|[^` + nameChars + `])` + regexp.QuoteMeta(name) + `($|[^` + nameChars + `])`)
}

// withHandles replaces the stack's own physical names in text by
// ${construct path}, as Resolve does for a Ref.
func (s *Stack) withHandles(text string) string {
	for _, r := range s.SortedResources() {
		if name := r.PhysicalName(); name != "" {
			text = namePattern(name).ReplaceAllString(text, "${1}$${"+r.Path+"}${2}")
		}
	}
	return text
}
