package docgen

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// everyKindOfState is a definition with one state of each type, a retried and
// caught Task, a Distributed Map and a Parallel state.
const everyKindOfState = `{
  "StartAt": "Prepare",
  "States": {
    "Prepare": {"Type": "Pass", "Next": "CopyObject"},
    "CopyObject": {
      "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:copyObject",
      "Parameters": {"Bucket": "BUCKET", "Key.$": "$.key"},
      "Retry": [
        {"ErrorEquals": ["S3.NoSuchKeyException"], "MaxAttempts": 0},
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2, "MaxDelaySeconds": 60, "JitterStrategy": "FULL"}
      ],
      "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
      "Next": "IsDone"
    },
    "IsDone": {
      "Type": "Choice",
      "Choices": [{"Variable": "$.count", "NumericLessThan": 3, "Next": "WaitABit"}],
      "Default": "EachObject"
    },
    "WaitABit": {"Type": "Wait", "Seconds": 60, "Next": "CopyObject"},
    "EachObject": {
      "Type": "Map",
      "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "BUCKET"}},
      "ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "DeleteObject",
        "States": {"DeleteObject": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:deleteObject", "End": true}}
      },
      "Next": "Both"
    },
    "Both": {
      "Type": "Parallel",
      "Branches": [
        {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": true}}},
        {"StartAt": "Right", "QueryLanguage": "JSONata", "States": {"Right": {"Type": "Pass", "End": true}}}
      ],
      "Next": "Done"
    },
    "Done": {"Type": "Succeed"},
    "Failed": {"Type": "Fail", "Error": "CopyFailed", "Cause": "the copy failed"}
  }
}`

func machineOf(t *testing.T, definition string) *Machine {
	t.Helper()
	var def map[string]any
	require.NoError(t, json.Unmarshal([]byte(definition), &def))
	s := &Stack{Name: "app-producer", Account: "111111111111", Region: "eu-west-1", Resources: map[string]*Resource{}}
	r := &Resource{Stack: s, LogicalID: "MachineABC", Type: "AWS::StepFunctions::StateMachine", Path: "Handoff/StateMachine", Properties: map[string]any{"Definition": def}}
	s.Resources[r.LogicalID] = r
	m, err := ParseMachine(r)
	require.NoError(t, err)
	return m
}

func TestMachineDOT_DrawsEveryStateAndTransition(t *testing.T) {
	// GIVEN a definition with every kind of state
	m := machineOf(t, everyKindOfState)

	// WHEN it is drawn
	got, err := m.DOT("title")

	// THEN every state is a node, nested ones inside their cluster
	require.NoError(t, err)
	for _, want := range []string{
		`"Prepare" [label="Prepare\nPass"`,
		`"CopyObject" [label="CopyObject\nTask, s3:copyObject\nBucket: BUCKET"`,
		`"IsDone" [label="IsDone\nChoice", shape="diamond"`,
		`"WaitABit" [label="WaitABit\nWait 60 s", shape="hexagon"`,
		`subgraph "cluster_EachObject" {`,
		`"EachObject" [label="EachObject\nMap, distributed\nitems from s3:listObjectsV2\nBucket: BUCKET"`,
		`"EachObject/DeleteObject" [label="DeleteObject\nTask, s3:deleteObject"`,
		`subgraph "cluster_Both/2/" {`,
		`"Both/2/Right" [label="Right\nPass (JSONata)"`,
		`"Done" [label="Done\nSucceed"`,
		`"Failed" [label="Failed\nFail\nCopyFailed\nthe copy failed"`,
	} {
		assert.Contains(t, got, want)
	}
	// AND the transitions are edges: Next, Choice rule, Default, into a Map's processor and Parallel's branches
	for _, want := range []string{
		`start -> "Prepare"`,
		`"Prepare" -> "CopyObject" [label=""]`,
		`"IsDone" -> "WaitABit" [label="$.count NumericLessThan 3"`,
		`"IsDone" -> "EachObject" [label="default"`,
		`"EachObject" -> "EachObject/DeleteObject" [label="each item", style="dotted"]`,
		`"Both" -> "Both/1/Left" [label="branch 1"`,
		`"Both" -> "Both/2/Right" [label="branch 2"`,
		`"Both" -> "Done"`,
	} {
		assert.Contains(t, got, want)
	}
}

func TestMachineDOT_DrawsCatchDashedWithItsErrorsAndRetryAsALabelledLoop(t *testing.T) {
	got, err := machineOf(t, everyKindOfState).DOT("title")

	require.NoError(t, err)
	assert.Contains(t, got, `"CopyObject" -> "Failed" [label="catch States.ALL", style="dashed"`)
	assert.Contains(t, got, `"CopyObject" -> "CopyObject" [label="retry S3.NoSuchKeyException: never\nretry States.ALL: 6x, 2s *2, max 60s, jitter FULL"`)
	// A state without Retry has no loop.
	assert.NotContains(t, got, `"Prepare" -> "Prepare"`)
}

func TestMachineDOT_FillsInRetryDefaults(t *testing.T) {
	got := retryText(map[string]any{"ErrorEquals": []any{"Lambda.ServiceException", "States.Timeout"}})

	assert.Equal(t, "retry Lambda.ServiceException, States.Timeout: 3x, 1s *2, jitter NONE", got)
}

func TestMachineDOT_FailsOnAnUnknownStateType(t *testing.T) {
	m := machineOf(t, `{"StartAt": "A", "States": {"A": {"Type": "Teleport", "End": true}}}`)

	_, err := m.DOT("title")

	require.Error(t, err)
	assert.Equal(t, `app-producer/Handoff/StateMachine: state "A": unknown state type "Teleport"`, err.Error())
}

func TestMachineDOT_FailsOnATransitionToNoState(t *testing.T) {
	for name, definition := range map[string]string{
		"Next":    `{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}`,
		"Catch":   `{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gone"}]}}}`,
		"StartAt": `{"StartAt": "Z", "States": {"A": {"Type": "Succeed"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := machineOf(t, definition).DOT("title")

			assert.Error(t, err)
		})
	}
}

func TestMachineDOT_ShowsAJSONataConditionWithoutItsDelimiters(t *testing.T) {
	m := machineOf(t, `{"StartAt": "C", "QueryLanguage": "JSONata", "States": {
		"C": {"Type": "Choice", "Choices": [{"Condition": "{% $pages < 40 %}", "Next": "D"}], "Default": "D"},
		"D": {"Type": "Succeed"}}}`)

	got, err := m.DOT("title")

	require.NoError(t, err)
	assert.Contains(t, got, `"C" -> "D" [label="$pages < 40"`)
	assert.Contains(t, got, `"C" [label="C\nChoice"`, "a state in the machine's own language carries no note")
}

func TestParseMachine_ResolvesIntrinsicsAndTheStacksOwnNames(t *testing.T) {
	// GIVEN a DefinitionString joined from a Ref, a GetAtt, a pseudo parameter and a literal name of the stack's own job
	s := &Stack{Name: "app-consumer-sales", Account: "222222222222", Region: "eu-west-1", Resources: map[string]*Resource{}}
	s.Resources["Job1"] = &Resource{Stack: s, LogicalID: "Job1", Type: "AWS::Glue::Job", Path: "FilterJob/Job", Properties: map[string]any{"Name": "app-sales-filter-leads"}}
	s.Resources["Bucket1"] = &Resource{Stack: s, LogicalID: "Bucket1", Type: "AWS::S3::Bucket", Path: "Inbox/Bucket"}
	s.Resources["M1"] = &Resource{Stack: s, LogicalID: "M1", Type: "AWS::StepFunctions::StateMachine", Path: "Orchestration/StateMachine", Properties: map[string]any{
		"DefinitionString": map[string]any{"Fn::Join": []any{"", []any{
			`{"StartAt":"Run","States":{"Run":{"Type":"Task","Resource":"arn:`, map[string]any{"Ref": "AWS::Partition"},
			`:states:::glue:startJobRun.sync","Parameters":{"JobName":"app-sales-filter-leads","Arguments":{"--bucket":"`,
			map[string]any{"Ref": "Bucket1"}, `","--arn":"`, map[string]any{"Fn::GetAtt": []any{"Bucket1", "Arn"}}, `"}},"End":true}}}`,
		}}},
	}}

	// WHEN it is parsed
	m, err := ParseMachine(s.Resources["M1"])

	// THEN intrinsics and the job's physical name read as placeholders of construct paths
	require.NoError(t, err)
	assert.Equal(t, "Orchestration", m.Name)
	run := m.Definition["States"].(map[string]any)["Run"].(map[string]any)
	assert.Equal(t, "arn:aws:states:::glue:startJobRun.sync", run["Resource"])
	params := run["Parameters"].(map[string]any)
	assert.Equal(t, "${FilterJob/Job}", params["JobName"])
	assert.Equal(t, map[string]any{"--bucket": "${Inbox/Bucket}", "--arn": "${Inbox/Bucket.Arn}"}, params["Arguments"])
}
