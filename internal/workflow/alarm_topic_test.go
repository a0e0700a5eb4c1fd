package workflow_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/leadbridge/leadbridge/internal/workflow"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const forwardArn = "arn:aws:sns:eu-west-1:444444444444:central-on-call"

func newStack() awscdk.Stack {
	return awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Test"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("111111111111"), Region: jsii.String("eu-west-1")},
	})
}

func newRule(stack awscdk.Stack, id string) awsevents.Rule {
	return awsevents.NewRule(stack, jsii.String(id), &awsevents.RuleProps{
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings("test." + id)},
	})
}

func TestAlarmTopic_ForwardsRulesThatAlertBeforeOrAfterForwardTo(t *testing.T) {
	// GIVEN a rule that alerts before the topic forwards, and one after
	stack := newStack()
	alarms := workflow.NewAlarmTopic(stack, nil)
	alarms.Alert(newRule(stack, "Before"), awsevents.RuleTargetInput_FromText(jsii.String("before")))
	alarms.ForwardTo(awssns.Topic_FromTopicArn(stack, jsii.String("Forward"), jsii.String(forwardArn)))
	alarms.Alert(newRule(stack, "After"), nil)
	// THEN each publishes to both topics, the forward one with the forward role.
	tpl := cdktest.Synth(t, stack)
	rules := tpl.Resources("AWS::Events::Rule")
	require.Len(t, rules, 2)
	for id, r := range rules {
		targets := r["Properties"].(map[string]any)["Targets"].([]any)
		require.Len(t, targets, 2, id)
		forward := targets[1].(map[string]any)
		assert.Equal(t, forwardArn, forward["Arn"], id)
		assert.Contains(t, cdktest.JSON(forward["RoleArn"]), `"AlarmsForwardRole`, id)
	}
}

func TestAlarmTopic_ForwardsToOneTopicOnly(t *testing.T) {
	stack := newStack()
	alarms := workflow.NewAlarmTopic(stack, nil)
	alarms.ForwardTo(awssns.Topic_FromTopicArn(stack, jsii.String("Forward"), jsii.String(forwardArn)))
	err := cdktest.Recover(func() {
		alarms.ForwardTo(awssns.Topic_FromTopicArn(stack, jsii.String("Other"), jsii.String("arn:aws:sns:eu-west-1:444444444444:other")))
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ForwardTo takes one topic, got arn:aws:sns:eu-west-1:444444444444:other after "+forwardArn)
}
