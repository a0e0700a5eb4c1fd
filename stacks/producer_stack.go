// Package stacks maps the configuration file onto the pattern constructs
// (pipeline.NewProducer, pipeline.NewConsumer), one per stack, and declares
// the stacks' outputs. It defines no resource itself.
package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/config"
	"github.com/leadbridge/leadbridge/constructs/pipeline"
)

// PipelineID is the construct ID of the pattern in each stack. CDK leaves a
// path component named "Default" out of logical IDs, and so does the state
// machines' log group name (workflow.LogGroupName): the resources keep the
// logical IDs and names they had when the stacks held the constructs
// directly, so an update replaces nothing.
const PipelineID = "Default"

// ProducerStackProps configures a ProducerStack.
type ProducerStackProps struct {
	awscdk.StackProps
	Deployment *config.Deployment
}

// ProducerStack is everything the marketing account runs: one pipeline.Producer.
type ProducerStack struct {
	awscdk.Stack
	Pipeline *pipeline.Producer
}

// ProducerStackName is the stack name users pass to `cdk deploy`.
func ProducerStackName(d *config.Deployment) string {
	return d.Project + "-producer"
}

// NewProducerStack maps the producer of the configuration onto a pipeline.Producer.
func NewProducerStack(scope constructs.Construct, props *ProducerStackProps) *ProducerStack {
	d := props.Deployment
	sp := props.StackProps
	sp.Env = &awscdk.Environment{Account: jsii.String(d.Producer.Account), Region: jsii.String(d.Producer.Region)}
	if sp.Description == nil {
		sp.Description = jsii.String("Marketo leads to S3, handed off to consumer accounts (" + d.Project + ")")
	}
	stack := awscdk.NewStack(scope, jsii.String(ProducerStackName(d)), &sp)
	m := d.Producer.Marketo
	targets := d.ConsumerTargets()
	marketing := pipeline.NewProducer(stack, jsii.String(PipelineID), &pipeline.ProducerProps{
		MarketoConnectorProfile: jsii.String(m.ConnectorProfile),
		Consumers:               &targets,
		Project:                 jsii.String(d.Project),
		ArchiveRetentionDays:    number(d.Producer.ArchiveRetentionDays),
		MarketoObject:           jsii.String(m.Object),
		Schedule:                jsii.String(m.Schedule),
		IncrementalField:        jsii.String(m.IncrementalField),
		Fields:                  jsii.Strings(m.Fields...),
		FirstExecutionFrom:      m.FirstPullFrom(),
		AlarmEmail:              optional(d.Producer.AlarmEmail),
		AlarmTopic:              existingTopic(stack, d.Producer.AlarmTopicArn),
		StaleAfter:              awscdk.Duration_Hours(number(d.Producer.StaleAfterHours)),
		FreshnessHours:          number(d.Producer.FreshnessHours),
		DashboardName:           jsii.String(ProducerStackName(d)),
	})

	output(stack, "HandoffRoleArn", marketing.HandoffRole.RoleArn(), "Trusted by every consumer's inbox bucket and event bus")
	output(stack, "MarketoFlowName", marketing.MarketoFlow.FlowName, "Runs on its schedule once the Marketo connection is authorised")
	output(stack, "LandingBucketName", marketing.LandingBucket.BucketName(), "Landing and archive of Marketo runs")
	output(stack, "HandoffStateMachineArn", marketing.HandoffStateMachine.StateMachineArn(), "Copies each run to the consumers")
	output(stack, "AlarmTopicArn", marketing.AlarmTopic.TopicArn(), alarmTopicHelp)
	outputForwardRole(stack, marketing.AlarmForwardRole)
	output(stack, "DashboardName", marketing.Monitoring.Dashboard.DashboardName(), dashboardHelp)
	return &ProducerStack{Stack: stack, Pipeline: marketing}
}

const dashboardHelp = "CloudWatch dashboard of this side: runs, leads, durations, dead letters, alarms"

const alarmTopicHelp = "Every alarm and alert of this stack publishes here: subscribe (and confirm) an address, a queue or a function; alarmTopicArn forwards them to a central topic"

// existingTopic imports the configured topic every alarm also publishes to, if any.
func existingTopic(stack awscdk.Stack, topicArn string) awssns.ITopic {
	if topicArn == "" {
		return nil
	}
	return awssns.Topic_FromTopicArn(stack, jsii.String("AlarmForwardTopic"), jsii.String(topicArn))
}

// outputForwardRole names, when the stack forwards its alerts, the role its
// rules publish to alarmTopicArn with: the topic's owner may narrow its
// policy to it (README, "Who gets the alarms").
func outputForwardRole(stack awscdk.Stack, role awsiam.Role) {
	if role != nil {
		output(stack, "AlarmForwardRoleArn", role.RoleArn(), "EventBridge rules publish their alerts to alarmTopicArn with this role")
	}
}

func output(stack awscdk.Stack, id string, value *string, description string) {
	awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// number turns a defaulted config number into a prop.
func number(n *int) *float64 {
	return jsii.Number(float64(*n))
}
