package workflow

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Construct ID and event of the rule NewStateMachine adds.
const (
	FailureRuleID = "FailedExecutionRule"
	// ExecutionStatusChange is the event Step Functions puts on the default
	// bus when a standard workflow's execution changes status (EventBridge
	// events reference, events-ref-states).
	ExecutionStatusChange = "Step Functions Execution Status Change"
)

// FailedStatuses are the terminal statuses that are not a success.
var FailedStatuses = []string{"FAILED", "TIMED_OUT", "ABORTED"}

// newFailureRule sends every execution of sm that fails, times out or is
// aborted to the alarm topic, as a message that names the execution and its
// error and cause. The metric alarm on failed executions cannot say which
// execution failed; this message can. The event's detail "provides the same
// information as the DescribeExecution API" (Step Functions guide, cw-events:
// executionArn, name, status, and for a failure error and cause, which the
// guide's examples leave out); a path missing from an event is left empty.
// The failure paths put the run and the failed state into the cause.
func newFailureRule(scope constructs.Construct, sm awsstepfunctions.IStateMachine, logs awslogs.ILogGroup, alarms *AlarmTopic) awsevents.Rule {
	field := func(path string) string { return *awsevents.EventField_FromPath(jsii.String(path)) }
	message := "Execution " + field("$.detail.name") + " of state machine " + field("$.detail.stateMachineArn") +
		" ended " + field("$.detail.status") + ". Error: " + field("$.detail.error") + ". Cause: " + field("$.detail.cause") +
		". History: " + field("$.detail.executionArn") + " ; log group " + *logs.LogGroupName() + " (level ERROR, with data)."
	rule := awsevents.NewRule(scope, jsii.String(FailureRuleID), &awsevents.RuleProps{
		Description: jsii.String("Alarms, naming the execution and its cause, when an execution does not succeed."),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.states"),
			DetailType: jsii.Strings(ExecutionStatusChange),
			Detail: &map[string]interface{}{
				"stateMachineArn": []*string{sm.StateMachineArn()},
				"status":          jsii.Strings(FailedStatuses...),
			},
		},
	})
	alarms.Alert(rule, awsevents.RuleTargetInput_FromText(jsii.String(message)))
	return rule
}
