package docgen

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stackOf builds a stack from resources written as template JSON, each with
// its construct path under "Path".
func stackOf(t *testing.T, name, account string, resources string) *Stack {
	t.Helper()
	var raw map[string]struct {
		Type       string
		Path       string
		Properties map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(resources), &raw))
	s := &Stack{Name: name, Account: account, Region: "eu-west-1", Resources: map[string]*Resource{}}
	for id, r := range raw {
		s.Resources[id] = &Resource{Stack: s, LogicalID: id, Type: r.Type, Path: r.Path, Properties: r.Properties}
	}
	return s
}

// handoffDefinition copies into the consumer's bucket and puts an event on its
// bus, both named only by physical name and ARN; the event's detail carries
// the bucket name as data.
const handoffDefinition = `{"StartAt":"Copy","States":{` +
	`"Copy":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:s3:copyObject","Arguments":{"Bucket":"app-sales-inbox-222222222222-eu-west-1","CopySource":"x","Key":"k"},"Next":"Notify"},` +
	`"Notify":{"Type":"Task","Resource":"arn:aws:states:::events:putEvents","Parameters":{"Entries":[{"EventBusName":"arn:aws:events:eu-west-1:222222222222:event-bus/app-sales-handoff","Detail":{"bucket":"app-sales-inbox-222222222222-eu-west-1"}}]},"End":true}}}`

func twoAccounts(t *testing.T) *Assembly {
	producer := stackOf(t, "app-producer", "111111111111", `{
		"Flow1": {"Type": "AWS::AppFlow::Flow", "Path": "MarketoFlow/Flow", "Properties": {"FlowName": "app-marketo-leads"}},
		"Trigger1": {"Type": "AWS::Events::Rule", "Path": "HandoffTrigger/Rule", "Properties": {
			"Description": "starts on every run of app-marketo-leads",
			"EventPattern": {"detail": {"flow-name": ["app-marketo-leads"]}},
			"Targets": [{"Arn": {"Ref": "Handoff1"}, "RoleArn": {"Fn::GetAtt": ["Role1", "Arn"]}}]}},
		"Role1": {"Type": "AWS::IAM::Role", "Path": "Handoff/Role", "Properties": {}},
		"Policy1": {"Type": "AWS::IAM::Policy", "Path": "Handoff/Role/DefaultPolicy", "Properties": {"Roles": [{"Ref": "Role1"}]}},
		"Handoff1": {"Type": "AWS::StepFunctions::StateMachine", "Path": "Handoff/StateMachine", "Properties": {
			"RoleArn": {"Fn::GetAtt": ["Role1", "Arn"]}, "DefinitionString": `+quoteJSON(handoffDefinition)+`}}
	}`)
	consumer := stackOf(t, "app-consumer-sales", "222222222222", `{
		"Inbox1": {"Type": "AWS::S3::Bucket", "Path": "Inbox/Bucket", "Properties": {"BucketName": "app-sales-inbox-222222222222-eu-west-1"}},
		"Bus1": {"Type": "AWS::Events::EventBus", "Path": "HandoffBus/Bus", "Properties": {"Name": "app-sales-handoff"}},
		"Topic1": {"Type": "AWS::SNS::Topic", "Path": "Alarms", "Properties": {}},
		"AlarmA": {"Type": "AWS::CloudWatch::Alarm", "Path": "A/Alarm", "Properties": {"AlarmActions": [{"Ref": "Topic1"}]}},
		"AlarmB": {"Type": "AWS::CloudWatch::Alarm", "Path": "B/Alarm", "Properties": {"AlarmActions": [{"Ref": "Topic1"}]}}
	}`)
	return &Assembly{Stacks: []*Stack{consumer, producer}}
}

func quoteJSON(s string) string {
	data, _ := json.Marshal(s)
	return string(data)
}

func TestArchitectureDOT_DrawsEachAccountWithItsMainResources(t *testing.T) {
	got, err := ArchitectureDOT(twoAccounts(t))

	require.NoError(t, err)
	assert.Contains(t, got, `label="account 111111111111, eu-west-1"`)
	assert.Contains(t, got, `label="account 222222222222, eu-west-1"`)
	assert.Contains(t, got, `label="stack app-producer"`)
	assert.Contains(t, got, `"app-consumer-sales/Inbox1" [label="Inbox/Bucket\nS3 bucket\napp-sales-inbox-222222222222-eu-west-1", shape="cylinder"`)
	// Roles and policies are left out; alarms are one node per stack.
	assert.NotContains(t, got, "Role1")
	assert.NotContains(t, got, "Policy1")
	assert.Contains(t, got, `"app-consumer-sales/alarms" [label="CloudWatch alarms (2)"`)
	assert.Contains(t, got, `"app-consumer-sales/alarms" -> "app-consumer-sales/Topic1" [label="AlarmActions"]`)
}

func TestArchitectureDOT_FindsCrossAccountEdgesInTheDefinition(t *testing.T) {
	got, err := ArchitectureDOT(twoAccounts(t))

	require.NoError(t, err)
	// The copy and the event go to the other account, drawn bold and red, labelled with the call.
	assert.Contains(t, got, `"app-producer/Handoff1" -> "app-consumer-sales/Inbox1" [label="s3:copyObject", color="#c0392b"`)
	assert.Contains(t, got, `"app-producer/Handoff1" -> "app-consumer-sales/Bus1" [label="events:putEvents", color="#c0392b"`)
}

func TestArchitectureDOT_DrawsARulesEventsFromTheirSourceAndToItsTarget(t *testing.T) {
	got, err := ArchitectureDOT(twoAccounts(t))

	require.NoError(t, err)
	assert.Contains(t, got, `"app-producer/Flow1" -> "app-producer/Trigger1" [label="EventPattern.detail.flow-name"]`)
	assert.Contains(t, got, `"app-producer/Trigger1" -> "app-producer/Handoff1" [label="Targets"]`)
	// A name in a description is no reference.
	assert.Equal(t, 1, strings.Count(got, `"app-producer/Flow1" ->`))
}

func TestPictures_DrawsAlikeMachinesOnceAndTellsTheStacks(t *testing.T) {
	// GIVEN two consumer stacks whose machines differ only in their own names, and a third that differs
	machine := func(stack, job string) *Stack {
		return stackOf(t, stack, "222222222222", `{
			"Job1": {"Type": "AWS::Glue::Job", "Path": "FilterJob/Job", "Properties": {"Name": "`+job+`"}},
			"M1": {"Type": "AWS::StepFunctions::StateMachine", "Path": "Orchestration/StateMachine", "Properties": {"DefinitionString": `+
			quoteJSON(`{"StartAt":"Run","States":{"Run":{"Type":"Task","Resource":"arn:aws:states:::glue:startJobRun.sync","Parameters":{"JobName":"`+job+`"},"End":true}}}`)+`}}}`)
	}
	odd := machine("app-consumer-zeta", "app-zeta-filter-leads")
	odd.Resources["M1"].Properties["DefinitionString"] = `{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}`
	a := &Assembly{Stacks: []*Stack{machine("app-consumer-partners", "app-partners-filter-leads"), machine("app-consumer-sales", "app-sales-filter-leads"), odd}}

	// WHEN the pictures are made
	got, err := Pictures(a)

	// THEN the alike pair is one picture named after the stacks' common prefix, the odd one its own
	require.NoError(t, err)
	assert.Equal(t, []string{"architecture.svg", "state-machines/app-consumer-orchestration.svg", "state-machines/app-consumer-zeta-orchestration.svg"}, sortedKeys(got))
	assert.Contains(t, got["state-machines/app-consumer-orchestration.svg"], `stacks app-consumer-partners, app-consumer-sales`)
	assert.Contains(t, got["state-machines/app-consumer-orchestration.svg"], `JobName: ${FilterJob/Job}`)
}

func TestPictures_AreTheSameOnEveryRun(t *testing.T) {
	first, err := Pictures(twoAccounts(t))
	require.NoError(t, err)
	for range 10 {
		again, err := Pictures(twoAccounts(t))
		require.NoError(t, err)
		require.Equal(t, first, again)
	}
}
