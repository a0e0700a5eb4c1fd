// Package stacks maps the configuration file onto the pattern constructs
// (pipeline.NewProducer, pipeline.NewConsumer), one per stack. It defines no
// resource itself; the patterns declare the stacks' outputs.
package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
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
		RawRunsRetentionDays:    number(d.Producer.RawRunsRetentionDays),
		ReportsRetentionDays:    number(d.Producer.ReportsRetentionDays),
		S3ManagedEncryption:     config.S3Managed(d.Producer.Encryption),
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

	return &ProducerStack{Stack: stack, Pipeline: marketing}
}

// existingTopic imports the configured topic every alarm also publishes to, if any.
func existingTopic(stack awscdk.Stack, topicArn string) awssns.ITopic {
	if topicArn == "" {
		return nil
	}
	return awssns.Topic_FromTopicArn(stack, jsii.String("AlarmForwardTopic"), jsii.String(topicArn))
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
