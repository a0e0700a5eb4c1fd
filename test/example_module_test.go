package test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The library example (examples/two-accounts) stands for a user's app: a Go
// module of its own that imports the patterns. These tests meet the library
// the way such an app does.

const exampleDir = "../examples/two-accounts"

// buildExample compiles the example module once for the tests of this package.
var buildExample = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "two-accounts")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "two-accounts")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = exampleDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &exec.ExitError{Stderr: out}
	}
	return bin, nil
})

// exampleSynth is one synthesis of the example: its templates by stack
// name, and what the app printed.
type exampleSynth struct {
	templates map[string]map[string]any
	output    string
	err       error
}

// synthesizeExample runs the example app as the CDK CLI does (the context in
// CDK_CONTEXT_JSON, the assembly into CDK_OUTDIR), with every use of a
// deprecated aws-cdk-lib member made an error (JSII_DEPRECATED=fail).
func synthesizeExample(t *testing.T, bin string, context map[string]any) exampleSynth {
	contextJSON, err := json.Marshal(context)
	require.NoError(t, err)
	outdir := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "CDK_OUTDIR="+outdir, "CDK_CONTEXT_JSON="+string(contextJSON), "JSII_DEPRECATED=fail")
	out, err := cmd.CombinedOutput()
	synth := exampleSynth{templates: map[string]map[string]any{}, output: string(out), err: err}
	paths, _ := filepath.Glob(filepath.Join(outdir, "*.template.json"))
	for _, path := range paths {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		var template map[string]any
		require.NoError(t, json.Unmarshal(data, &template))
		synth.templates[strings.TrimSuffix(filepath.Base(path), ".template.json")] = template
	}
	return synth
}

// flagIndependent rewrites what two feature flags change in a template
// without changing what it deploys. Both are read at the stack, outside the
// patterns' subtree (which internal/cdkflags pins), so they stay the app's:
//
//   - @aws-cdk/core:enablePartitionLiterals: Stack.partition returns the
//     literal "aws" for a region of a known partition instead of
//     {"Ref": "AWS::Partition"} (aws-cdk-lib core/lib/stack.js, get partition);
//     in eu-west-1 both resolve to "aws". Partition references become "aws"
//     and joins of literals become one string.
//   - @aws-cdk/aws-iam:minimizePolicies: a policy document reads it with the
//     scope it is resolved in, the stack (aws-iam/lib/policy-document.js,
//     resolve → shouldMerge(context.scope)), and then sorts each statement's
//     Action and Resource lists; IAM reads both as sets. The lists are sorted
//     here. A statement merged differently would still differ.
func flagIndependent(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 && v["Ref"] == "AWS::Partition" {
			return "aws"
		}
		out := map[string]any{}
		for k, x := range v {
			out[k] = flagIndependent(x)
		}
		if join, ok := out["Fn::Join"].([]any); ok && len(out) == 1 && join[0] == "" {
			return joinLiterals(join[1].([]any))
		}
		for _, key := range []string{"Action", "Resource"} {
			if list, ok := out[key].([]any); ok {
				sort.Slice(list, func(i, j int) bool { return canonical(list[i]) < canonical(list[j]) })
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = flagIndependent(x)
		}
		return out
	}
	return v
}

// joinLiterals merges neighbouring strings of an Fn::Join with no separator.
func joinLiterals(parts []any) any {
	var out []any
	for _, p := range parts {
		if s, ok := p.(string); ok && len(out) > 0 {
			if last, ok := out[len(out)-1].(string); ok {
				out[len(out)-1] = last + s
				continue
			}
		}
		out = append(out, p)
	}
	if len(out) == 1 {
		if s, ok := out[0].(string); ok {
			return s
		}
	}
	return map[string]any{"Fn::Join": []any{"", out}}
}

func canonical(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}

func TestExample_SynthesizesTheSameWhateverTheAppsFeatureFlags(t *testing.T) {
	bin, err := buildExample()
	require.NoError(t, err)
	// GIVEN the example app with this repository's cdk.json, with the flags
	// cdk init writes for the pinned CDK, and with no flags at all
	contexts := map[string]map[string]any{
		"this repository's cdk.json": cdkContext(t, "../cdk.json"),
		"cdk init's flags":           cliRecommendedFlags(t),
		"no flags":                   {},
	}
	// WHEN each synthesizes
	synths := map[string]exampleSynth{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, context := range contexts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := synthesizeExample(t, bin, context)
			mu.Lock()
			synths[name] = s
			mu.Unlock()
		}()
	}
	wg.Wait()
	// THEN none uses a deprecated API, every Distributed Map writes its
	// results but those that return one summary per child into state (without
	// a ResultWriter a Map returns its children's outputs, and a run fails
	// reading its Map Run), and all three deploy the same resources
	for name, s := range synths {
		require.NoError(t, s.err, "%s: %s", name, s.output)
		assert.NotContains(t, s.output, "is deprecated", "%s: a deprecated aws-cdk-lib member was used", name)
		require.Len(t, s.templates, 2, name)
		writers := map[string]bool{}
		for _, template := range s.templates {
			for _, def := range cdktest.Template(template).RawDefinitions(t) {
				distributedMapWriters(def, writers)
			}
		}
		assert.Equal(t, map[string]bool{
			"ArchiveRun": true, "CountArchivedRun": true, "MoveCurated": true, "ArchiveSource": true,
			"CopyToConsumers": false, "CountStaleObjects": false,
		}, writers, "%s: Distributed Maps (true: with a ResultWriter)", name)
	}
	want := synths["cdk init's flags"]
	for name, s := range synths {
		for stack, template := range want.templates {
			assert.Empty(t, templateDifferences(flagIndependent(template), flagIndependent(s.templates[stack])),
				"%s: what differs between cdk init's flags and %s", stack, name)
		}
	}
}

// distributedMapWriters records, for each Distributed Map of an ASL
// definition (in item processors too), whether it has a ResultWriter.
func distributedMapWriters(def map[string]any, writers map[string]bool) {
	states, _ := def["States"].(map[string]any)
	for name, v := range states {
		state, _ := v.(map[string]any)
		processor, _ := state["ItemProcessor"].(map[string]any)
		if processor == nil {
			continue
		}
		if config, _ := processor["ProcessorConfig"].(map[string]any); config["Mode"] == "DISTRIBUTED" {
			_, writes := state["ResultWriter"]
			writers[name] = writes
		}
		distributedMapWriters(processor, writers)
	}
}

// templateDifferences names each top-level entry (a resource, an output, a
// parameter) that two templates do not share, or that differs between them.
func templateDifferences(a, b any) []string {
	var out []string
	as, bs := a.(map[string]any), b.(map[string]any)
	for _, section := range []string{"Resources", "Outputs", "Parameters", "Conditions", "Rules", "Mappings"} {
		ea, _ := as[section].(map[string]any)
		eb, _ := bs[section].(map[string]any)
		for id := range ea {
			if _, ok := eb[id]; !ok {
				out = append(out, section+"."+id+" only with the first")
			} else if canonical(ea[id]) != canonical(eb[id]) {
				out = append(out, section+"."+id+" differs")
			}
		}
		for id := range eb {
			if _, ok := ea[id]; !ok {
				out = append(out, section+"."+id+" only with the second")
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestExample_DoesNotDependOnCdkNag(t *testing.T) {
	// GIVEN the example module, which never runs cdk-nag
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Dir = exampleDir
	// WHEN its build's packages are listed
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	// THEN the constructs brought no cdk-nag with them
	assert.NotContains(t, string(out), "cdk-nag", "cdk-nag is in the build of an app that imports the constructs")
	assert.Contains(t, string(out), "github.com/leadbridge/leadbridge/constructs/pipeline")
}

func TestReadme_ShowsTheLibraryExampleAsItIs(t *testing.T) {
	// GIVEN the example module's code, which make test compiles and synthesizes
	example, err := os.ReadFile(exampleDir + "/main.go")
	require.NoError(t, err)
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	// THEN the README's "Use as a library" shows exactly that code
	assert.True(t, strings.Contains(string(readme), "```go\n"+string(example)+"```\n"),
		"the README's Use as a library section differs from examples/two-accounts/main.go: copy the file into it")
}
