package workflow_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/leadbridge/leadbridge/internal/workflow"
	"github.com/stretchr/testify/assert"
)

func TestAlarmTopic_RuleTargetLetsOnlyThatRulePublish(t *testing.T) {
	// GIVEN an alarm topic
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Test"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("111111111111"), Region: jsii.String("eu-west-1")},
	})
	alarms := workflow.NewAlarmTopic(stack, nil)
	// WHEN a rule targets it
	awsevents.NewRule(stack, jsii.String("FlowFailed"), &awsevents.RuleProps{
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings("aws.appflow")},
		Targets:      &[]awsevents.IRuleTarget{alarms.RuleTarget()},
	})
	// THEN the rule sends to the topic, and the topic policy lets this rule of this account publish
	tpl := cdktest.Synth(t, stack)
	assert.Equal(t, `[{"Arn":{"Ref":"Alarms04B5A0BF"},"Id":"Target0"}]`, cdktest.JSON(tpl.Only(t, "AWS::Events::Rule")["Targets"]))
	policy := cdktest.JSON(tpl.Resources("AWS::SNS::TopicPolicy"))
	assert.Contains(t, policy, `{"Action":"sns:Publish","Condition":{"ArnEquals":{"aws:SourceArn":{"Fn::GetAtt":["FlowFailed`)
	assert.Contains(t, policy, `"StringEquals":{"aws:SourceAccount":"111111111111"}},"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"}`)
	assert.Contains(t, policy, `"Sid":"`+workflow.RulePublishSid+`FlowFailed"`)
	assert.Contains(t, policy, `"Sid":"AllowPublishThroughSSLOnly"`)
	// ... and nothing else from EventBridge.
	assert.Equal(t, 1, strings.Count(policy, "events.amazonaws.com"), policy)
}
