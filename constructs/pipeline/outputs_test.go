package pipeline_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/constructs/pipeline"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// outputIDs are the logical IDs of a template's outputs, sorted.
func outputIDs(tpl cdktest.Template) []string {
	outputs, _ := tpl["Outputs"].(map[string]any)
	var ids []string
	for id := range outputs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func TestProducer_DeclaresTheOutputsTheOperationsSectionsName(t *testing.T) {
	// GIVEN a producer in a stack as this repository's (pattern ID "Default")
	stack := newStack()
	pipeline.NewProducer(stack, jsii.String("Default"), &pipeline.ProducerProps{MarketoConnectorProfile: jsii.String("marketo"), Consumers: &twoConsumers})
	// THEN the stack has the outputs the README names, under those logical IDs
	assert.Equal(t, []string{"AlarmTopicArn", "DashboardName", "HandoffRoleArn", "HandoffStateMachineArn", "LandingBucketName", "MarketoFlowName"},
		outputIDs(cdktest.Synth(t, stack)))
}

func TestConsumer_DeclaresTheOutputsTheOperationsSectionsNameUnlessTurnedOff(t *testing.T) {
	// GIVEN a consumer that forwards its alarms, and one with CreateOutputs false
	app := awscdk.NewApp(nil)
	stack := salesStack(app)
	props := requiredOnly()
	props.AlarmTopic = awssns.Topic_FromTopicArn(stack, jsii.String("Central"), jsii.String("arn:aws:sns:eu-west-1:444444444444:on-call"))
	pipeline.NewConsumer(stack, jsii.String("Default"), props)
	quiet := cdktest.EnvStack(nil, "Quiet", "222222222222")
	off := requiredOnly()
	off.CreateOutputs = jsii.Bool(false)
	pipeline.NewConsumer(quiet, jsii.String("Default"), off)
	// THEN the first has every output, the forward role's too, and the second none
	assert.Equal(t, []string{"AlarmForwardRoleArn", "AlarmTopicArn", "DashboardName", "HandoffBusArn", "InboxBucketName", "OrchestrationStateMachineArn", "SalesforceFlowName"},
		outputIDs(cdktest.Synth(t, stack)))
	assert.Empty(t, outputIDs(cdktest.Synth(t, quiet)))
}

func TestConsumer_NotifyAndAlertReachEveryDestinationOfThePatternsAlarms(t *testing.T) {
	// GIVEN a consumer forwarding to a central topic, and an alarm and a rule of the app's own
	stack := salesStack(awscdk.NewApp(nil))
	props := requiredOnly()
	central := "arn:aws:sns:eu-west-1:444444444444:on-call"
	props.AlarmTopic = awssns.Topic_FromTopicArn(stack, jsii.String("Central"), jsii.String(central))
	sales := pipeline.NewConsumer(stack, jsii.String("Default"), props)
	alarm := awscloudwatch.NewAlarm(stack, jsii.String("AppAlarm"), &awscloudwatch.AlarmProps{
		Metric:    sales.OrchestrationStateMachine.MetricFailed(nil),
		Threshold: jsii.Number(1), EvaluationPeriods: jsii.Number(1),
	})
	rule := awsevents.NewRule(stack, jsii.String("AppRule"), &awsevents.RuleProps{
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings("app.own")},
	})
	// WHEN the app routes them through the pattern
	sales.Notify(alarm)
	sales.Alert(rule, awsevents.RuleTargetInput_FromText(jsii.String("app rule matched")))
	// THEN each reaches the pattern's own topic and the central one
	tpl := cdktest.Synth(t, stack)
	ownTopic := `{"Ref":"` + *stack.GetLogicalId(sales.AlarmTopic.Node().DefaultChild().(awscdk.CfnElement)) + `"}`
	for typ, prefix := range map[string]string{"AWS::CloudWatch::Alarm": "AppAlarm", "AWS::Events::Rule": "AppRule"} {
		found := 0
		for id, resource := range tpl.Resources(typ) {
			if strings.HasPrefix(id, prefix) {
				found++
				assert.Contains(t, cdktest.JSON(resource), central, id)
				assert.Contains(t, cdktest.JSON(resource), ownTopic, id)
			}
		}
		require.Equal(t, 1, found, typ)
	}
}
