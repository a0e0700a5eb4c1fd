// Package cdktest helps tests read synthesized templates without jsii
// panics stopping a whole package: CDK errors reach Go as panics, so every
// call that can throw is wrapped and reported as one failed test.
package cdktest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
)

// Template is a synthesized CloudFormation template as plain JSON values.
type Template map[string]any

// Synth returns the template of stack, failing the test if synthesis throws.
func Synth(t testing.TB, stack awscdk.Stack) Template {
	t.Helper()
	var tpl Template
	if err := Recover(func() {
		raw := assertions.Template_FromStack(stack, nil).ToJSON()
		data, _ := json.Marshal(raw)
		_ = json.Unmarshal(data, &tpl)
	}); err != nil {
		t.Fatalf("synthesis failed: %v", err)
	}
	return tpl
}

// Recover runs f and returns what it panicked with, as an error.
func Recover(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = e
			} else {
				err = fmt.Errorf("%v", r)
			}
		}
	}()
	f()
	return nil
}

// Resources returns the resources of a type, by logical ID.
func (tpl Template) Resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	resources, _ := tpl["Resources"].(map[string]any)
	for id, r := range resources {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// Only returns the properties of the one resource of a type, failing otherwise.
func (tpl Template) Only(t testing.TB, typ string) map[string]any {
	t.Helper()
	found := tpl.Resources(typ)
	if len(found) != 1 {
		t.Fatalf("want exactly one %s, got %d", typ, len(found))
	}
	for _, r := range found {
		props, _ := r["Properties"].(map[string]any)
		return props
	}
	return nil
}

// OnlyWhere returns the properties of the one resource of typ whose
// properties' JSON contains text.
func (tpl Template) OnlyWhere(t testing.TB, typ, text string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, r := range tpl.Resources(typ) {
		if props, _ := r["Properties"].(map[string]any); strings.Contains(JSON(props), text) {
			found = append(found, props)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one %s with %s, got %d", typ, text, len(found))
	}
	return found[0]
}

// JSON renders any template value as compact JSON, for substring checks.
func JSON(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}

// nameProperties are the properties that fix a resource's physical name.
var nameProperties = []string{"BucketName", "Name", "RoleName", "FlowName", "TableName", "StateMachineName",
	"LogGroupName", "AlarmName", "TopicName", "QueueName", "AliasName", "DatabaseInput.Name"}

// PhysicalName returns the fixed name a resource declares, rendered as JSON
// when it is an expression, or "" when CloudFormation generates the name.
func PhysicalName(resource map[string]any) string {
	props, _ := resource["Properties"].(map[string]any)
	for _, p := range nameProperties {
		var v any = props
		for _, part := range strings.Split(p, ".") {
			m, _ := v.(map[string]any)
			v = m[part]
		}
		if s, ok := v.(string); ok {
			return s
		}
		if v != nil {
			return JSON(v)
		}
	}
	return ""
}

// Definition is a state machine definition with every CloudFormation
// reference replaced by a placeholder, parsed into an ASL document.
type Definition struct {
	StartAt string
	States  map[string]State
}

// State is one ASL state, with the fields the tests look at.
type State struct {
	Type       string
	Next       string
	End        bool
	Default    string
	Resource   string
	Retry      []map[string]any
	Catch      []map[string]any
	Choices    []map[string]any
	Parameters map[string]any
	// Arguments are a JSONata state's Parameters.
	Arguments     map[string]any
	ItemProcessor *Definition
	Raw           map[string]any `json:"-"`
}

// StateMachineDefinition returns the definition of the state machine whose
// logical ID starts with prefix.
func (tpl Template) StateMachineDefinition(t testing.TB, prefix string) *Definition {
	t.Helper()
	for id, r := range tpl.Resources("AWS::StepFunctions::StateMachine") {
		if !strings.HasPrefix(id, prefix) {
			continue
		}
		props := r["Properties"].(map[string]any)
		text := flatten(props["DefinitionString"])
		var def Definition
		if err := json.Unmarshal([]byte(text), &def); err != nil {
			t.Fatalf("definition of %s is not JSON: %v\n%s", id, err, text)
		}
		var raw struct{ States map[string]map[string]any }
		_ = json.Unmarshal([]byte(text), &raw)
		def.attachRaw(raw.States)
		return &def
	}
	t.Fatalf("no state machine with logical ID prefix %q", prefix)
	return nil
}

// RawDefinitions returns every state machine definition of the template as
// parsed JSON, by logical ID, with references replaced by placeholders.
func (tpl Template) RawDefinitions(t testing.TB) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for id, r := range tpl.Resources("AWS::StepFunctions::StateMachine") {
		var def map[string]any
		text := flatten(r["Properties"].(map[string]any)["DefinitionString"])
		if err := json.Unmarshal([]byte(text), &def); err != nil {
			t.Fatalf("definition of %s is not JSON: %v\n%s", id, err, text)
		}
		out[id] = def
	}
	return out
}

// Intrinsics returns every intrinsic function call in a definition (the
// values of keys ending in ".$" that start with "States."), with its path.
func Intrinsics(definition any) map[string]string {
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, child := range x {
				if s, ok := child.(string); ok && strings.HasSuffix(k, ".$") && strings.HasPrefix(s, "States.") {
					out[path+"/"+k] = s
				}
				walk(path+"/"+k, child)
			}
		case []any:
			for i, child := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), child)
			}
		}
	}
	walk("", definition)
	return out
}

func (d *Definition) attachRaw(raw map[string]map[string]any) {
	for name, s := range d.States {
		s.Raw = raw[name]
		d.States[name] = s
		if s.ItemProcessor != nil {
			inner, _ := raw[name]["ItemProcessor"].(map[string]any)
			states := map[string]map[string]any{}
			for k, v := range inner["States"].(map[string]any) {
				states[k] = v.(map[string]any)
			}
			s.ItemProcessor.attachRaw(states)
		}
	}
}

// flatten turns an Fn::Join of strings and references into one string.
func flatten(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if join, ok := x["Fn::Join"].([]any); ok {
			var b strings.Builder
			for _, part := range join[1].([]any) {
				b.WriteString(flatten(part))
			}
			return b.String()
		}
		return "REF"
	}
	return ""
}

// All returns every state, including those inside Map item processors, by name.
func (d *Definition) All() map[string]State {
	out := map[string]State{}
	for name, s := range d.States {
		out[name] = s
		if s.ItemProcessor != nil {
			for inner, is := range s.ItemProcessor.All() {
				out[inner] = is
			}
		}
	}
	return out
}

// Reachable lists the states reachable from `from` (through Next, Default,
// Choices and Catch), within one level of the definition.
func (d *Definition) Reachable(from string) map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(name string) {
		if name == "" || seen[name] {
			return
		}
		seen[name] = true
		s := d.States[name]
		walk(s.Next)
		walk(s.Default)
		for _, c := range s.Choices {
			walk(fmt.Sprint(c["Next"]))
		}
		for _, c := range s.Catch {
			walk(fmt.Sprint(c["Next"]))
		}
	}
	walk(from)
	return seen
}

// ShadowedRetriers lists, per state (Map item processors included), each
// retrier that an earlier retrier with MaxAttempts 0 makes useless: Step
// Functions uses the first retrier whose ErrorEquals matches, and
// States.ALL or States.TaskFailed match every error (TaskFailed all but
// States.Timeout; Step Functions guide, error handling). A later retrier
// that can then only ever see States.Timeout counts as shadowed too.
func (d *Definition) ShadowedRetriers() []string {
	var out []string
	for name, s := range d.All() {
		for j, later := range s.Retry {
			for i := 0; i < j; i++ {
				earlier := s.Retry[i]
				if attempts, ok := earlier["MaxAttempts"].(float64); ok && attempts == 0 && coversAllBut(errorSet(earlier), errorSet(later)) {
					out = append(out, fmt.Sprintf("%s: Retry[%d] %v is shadowed by Retry[%d] %v with MaxAttempts 0",
						name, j, later["ErrorEquals"], i, earlier["ErrorEquals"]))
				}
			}
		}
	}
	return out
}

func errorSet(retrier map[string]any) map[string]bool {
	set := map[string]bool{}
	list, _ := retrier["ErrorEquals"].([]any)
	for _, e := range list {
		set[fmt.Sprint(e)] = true
	}
	return set
}

// coversAllBut tells whether every error that later matches is matched by
// earlier, leaving aside the States.Timeout that a catch-all later retrier
// would still see behind an earlier States.TaskFailed.
func coversAllBut(earlier, later map[string]bool) bool {
	if earlier["States.ALL"] {
		return true
	}
	if later["States.ALL"] || later["States.TaskFailed"] {
		return earlier["States.TaskFailed"]
	}
	for e := range later {
		matched := earlier[e] || (e != "States.Timeout" && earlier["States.TaskFailed"])
		if !matched {
			return false
		}
	}
	return true
}

// EnvStack is a stack of its own app in account and eu-west-1: the patterns
// and the constructs that derive names need an explicit env.
func EnvStack(app awscdk.App, name, account string) awscdk.Stack {
	if app == nil {
		app = awscdk.NewApp(nil)
	}
	return awscdk.NewStack(app, &name, &awscdk.StackProps{
		Env: &awscdk.Environment{Account: &account, Region: ptr("eu-west-1")},
	})
}

func ptr(s string) *string { return &s }
