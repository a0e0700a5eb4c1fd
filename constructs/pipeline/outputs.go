package pipeline

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Output IDs, under the pattern. In a stack whose pattern has the ID
// "Default" (this repository's), they are the outputs' logical IDs too.
const (
	HandoffRoleArnOutput               = "HandoffRoleArn"
	MarketoFlowNameOutput              = "MarketoFlowName"
	LandingBucketNameOutput            = "LandingBucketName"
	HandoffStateMachineArnOutput       = "HandoffStateMachineArn"
	AlarmTopicArnOutput                = "AlarmTopicArn"
	AlarmForwardRoleArnOutput          = "AlarmForwardRoleArn"
	DashboardNameOutput                = "DashboardName"
	HandoffBusArnOutput                = "HandoffBusArn"
	InboxBucketNameOutput              = "InboxBucketName"
	OrchestrationStateMachineArnOutput = "OrchestrationStateMachineArn"
	SalesforceFlowNameOutput           = "SalesforceFlowName"
)

// output is one stack output an operator reads (README, "Operations").
type output struct {
	id, description string
	value           *string
}

// sideOutputs are the outputs both sides emit: where the alarms go and the dashboard.
func sideOutputs(p *alerting, dashboardName *string) []output {
	out := []output{
		{AlarmTopicArnOutput, "Every alarm and alert of this stack publishes here: subscribe (and confirm) an address, a queue or a function; the AlarmTopic prop (alarmTopicArn) forwards them to a central topic", p.AlarmTopic.TopicArn()},
		{DashboardNameOutput, "CloudWatch dashboard of this side: runs, leads, durations, dead letters, alarms", dashboardName},
	}
	if p.AlarmForwardRole != nil {
		out = append(out, output{AlarmForwardRoleArnOutput, "EventBridge rules publish their alerts to the forward alarm topic with this role", p.AlarmForwardRole.RoleArn()})
	}
	return out
}

// addOutputs declares the outputs under scope unless create is false.
func addOutputs(scope constructs.Construct, create *bool, outputs []output) {
	if create != nil && !*create {
		return
	}
	for _, o := range outputs {
		awscdk.NewCfnOutput(scope, jsii.String(o.id), &awscdk.CfnOutputProps{Value: o.value, Description: jsii.String(o.description)})
	}
}
