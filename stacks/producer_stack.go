// Package stacks composes the constructs into the two deployable stacks. It
// defines no resource itself: every resource lives in a construct.
package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/config"
	"github.com/leadbridge/leadbridge/constructs/monitoring"
	"github.com/leadbridge/leadbridge/constructs/producer"
	"github.com/leadbridge/leadbridge/internal/workflow"
	"github.com/leadbridge/leadbridge/naming"
)

// Construct IDs inside the producer stack: changing one replaces its resources.
const (
	LandingID    = "Landing"
	MarketoID    = "MarketoFlow"
	HandoffID    = "Handoff"
	CompletionID = "HandoffTrigger"
	MissedRunID  = "MissedRunCheck"
	// MonitoringID is the dashboard and alarms of either side.
	MonitoringID = "Monitoring"
	FlowAlarmsID = "MarketoFlowAlarms"
)

// ProducerStackProps configures a ProducerStack.
type ProducerStackProps struct {
	awscdk.StackProps
	Deployment *config.Deployment
}

// ProducerStack is everything the marketing account runs.
type ProducerStack struct {
	awscdk.Stack
	Landing    *producer.LandingBucket
	Flow       *producer.MarketoFlow
	Handoff    *producer.HandoffStateMachine
	Completion *producer.CompletionRule
	// MissedRun alarms on a run left in landing/: its completion event was missed.
	MissedRun *monitoring.StaleObjectsCheck
	// Monitoring is the dashboard and the freshness and dead-letter alarms.
	Monitoring *monitoring.ProducerMonitoring
	// FlowAlarms alarm on a failed Marketo run and on the flow being deactivated.
	FlowAlarms *producer.FlowAlarmRules
}

// ProducerStackName is the stack name users pass to `cdk deploy`.
func ProducerStackName(d *config.Deployment) string {
	return d.Project + "-producer"
}

// NewProducerStack composes the producer constructs for the deployment.
func NewProducerStack(scope constructs.Construct, props *ProducerStackProps) *ProducerStack {
	d := props.Deployment
	sp := props.StackProps
	sp.Env = &awscdk.Environment{Account: jsii.String(d.Producer.Account), Region: jsii.String(d.Producer.Region)}
	if sp.Description == nil {
		sp.Description = jsii.String("Marketo leads to S3, handed off to consumer accounts (" + d.Project + ")")
	}
	stack := awscdk.NewStack(scope, jsii.String(ProducerStackName(d)), &sp)

	landing := producer.NewLandingBucket(stack, jsii.String(LandingID), &producer.LandingBucketProps{
		ArchiveRetentionDays: jsii.Number(float64(*d.Producer.ArchiveRetentionDays)),
	})
	m := d.Producer.Marketo
	flow := producer.NewMarketoFlow(stack, jsii.String(MarketoID), &producer.MarketoFlowProps{
		FlowName:             jsii.String(naming.MarketoFlowName(d.Project)),
		ConnectorProfileName: jsii.String(m.ConnectorProfile),
		Bucket:               landing.Bucket,
		Object:               jsii.String(m.Object),
		Schedule:             jsii.String(m.Schedule),
		IncrementalField:     jsii.String(m.IncrementalField),
		Fields:               jsii.Strings(m.Fields...),
		FirstExecutionFrom:   m.FirstPullFrom(),
	})
	targets := d.ConsumerTargets()
	handoff := producer.NewHandoffStateMachine(stack, jsii.String(HandoffID), &producer.HandoffStateMachineProps{
		LandingBucket: landing.Bucket,
		FlowName:      flow.FlowName,
		Consumers:     &targets,
		RoleName:      jsii.String(naming.HandoffRoleName(d.Project)),
		AlarmEmail:    optional(d.Producer.AlarmEmail),
	})
	completion := producer.NewCompletionRule(stack, jsii.String(CompletionID), &producer.CompletionRuleProps{
		FlowName:     flow.FlowName,
		StateMachine: handoff.StateMachine,
	})
	// An active scheduled flow may run as soon as it exists: its end event
	// must find the rule and the hand-off already there.
	flow.Flow.Node().AddDependency(completion.Rule, handoff.StateMachine)
	alarms := handoff.Monitoring.Alarms
	forwardAlarms(stack, alarms, d.Producer.AlarmTopicArn)
	flowAlarms := producer.NewFlowAlarmRules(stack, jsii.String(FlowAlarmsID), &producer.FlowAlarmRulesProps{
		FlowName: flow.FlowName, Topic: alarms.Topic,
	})
	missed := monitoring.NewStaleObjectsCheck(stack, jsii.String(MissedRunID), &monitoring.StaleObjectsCheckProps{
		Bucket:      landing.Bucket,
		Prefix:      jsii.String(producer.LandingPrefix),
		Alarms:      alarms,
		MaxAge:      awscdk.Duration_Hours(jsii.Number(float64(*d.Producer.StaleAfterHours))),
		Description: jsii.String("A Marketo run is still in landing/ (its completion event was missed or its hand-off failed): hand it off by hand, see the README's operations section."),
	})
	watch := monitoring.NewProducerMonitoring(stack, jsii.String(MonitoringID), &monitoring.ProducerMonitoringProps{
		DashboardName: jsii.String(ProducerStackName(d)), Flow: flow, Handoff: handoff, Completion: completion, MissedRun: missed,
		Alarms: alarms, FreshnessHours: jsii.Number(float64(*d.Producer.FreshnessHours)),
	})

	output(stack, "HandoffRoleArn", handoff.Role.RoleArn(), "Trusted by every consumer's inbox bucket and event bus")
	output(stack, "MarketoFlowName", flow.FlowName, "Runs on its schedule once the Marketo connection is authorised")
	output(stack, "LandingBucketName", landing.Bucket.BucketName(), "Landing and archive of Marketo runs")
	output(stack, "HandoffStateMachineArn", handoff.StateMachine.StateMachineArn(), "Copies each run to the consumers")
	output(stack, "AlarmTopicArn", alarms.Topic.TopicArn(), alarmTopicHelp)
	output(stack, "DashboardName", watch.Dashboard.DashboardName(), dashboardHelp)
	return &ProducerStack{Stack: stack, Landing: landing, Flow: flow, Handoff: handoff, Completion: completion, MissedRun: missed, Monitoring: watch, FlowAlarms: flowAlarms}
}

const dashboardHelp = "CloudWatch dashboard of this side: runs, leads, durations, dead letters, alarms"

const alarmTopicHelp = "Every alarm of this stack publishes here: subscribe (and confirm) an address or a central topic"

// forwardAlarms makes every alarm also publish to the configured existing topic, if any.
func forwardAlarms(stack awscdk.Stack, alarms *workflow.AlarmTopic, topicArn string) {
	if topicArn != "" {
		alarms.ForwardTo(awssns.Topic_FromTopicArn(stack, jsii.String("AlarmForwardTopic"), jsii.String(topicArn)))
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
