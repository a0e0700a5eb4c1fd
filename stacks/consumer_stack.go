package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/config"
	"github.com/leadbridge/leadbridge/constructs/pipeline"
	"github.com/leadbridge/leadbridge/internal/validate"
)

// ConsumerStackProps configures a ConsumerStack.
type ConsumerStackProps struct {
	awscdk.StackProps
	Deployment *config.Deployment
	// Consumer is the entry of Deployment.Consumers this stack is for.
	Consumer *config.Consumer
}

// ConsumerStack is everything one sales account runs: one pipeline.Consumer.
type ConsumerStack struct {
	awscdk.Stack
	Pipeline *pipeline.Consumer
}

// ConsumerStackName is the stack name users pass to `cdk deploy`.
func ConsumerStackName(d *config.Deployment, c *config.Consumer) string {
	return d.Project + "-consumer-" + c.Name
}

// NewConsumerStack maps one consumer of the configuration onto a pipeline.Consumer.
func NewConsumerStack(scope constructs.Construct, props *ConsumerStackProps) *ConsumerStack {
	d, c := props.Deployment, props.Consumer
	sp := props.StackProps
	sp.Env = &awscdk.Environment{Account: jsii.String(c.Account), Region: jsii.String(c.Region)}
	if sp.Description == nil {
		sp.Description = jsii.String("Hand-offs from the producer, curated and loaded into Salesforce (" + d.Project + ", " + c.Name + ")")
	}
	stack := awscdk.NewStack(scope, jsii.String(ConsumerStackName(d, c)), &sp)
	// config.Parse has checked these rules; an error here is the stack's
	// caller skipping it, reported like a construct's own props error.
	rules, err := c.LeadRules("consumers[" + c.Name + "]")
	validate.Must("ConsumerStack", err)
	mapping := map[string]*string{}
	for column, field := range c.Salesforce.FieldMapping {
		mapping[column] = jsii.String(field)
	}
	sales := pipeline.NewConsumer(stack, jsii.String(PipelineID), &pipeline.ConsumerProps{
		Name:                       jsii.String(c.Name),
		ProducerAccount:            jsii.String(d.Producer.Account),
		SalesforceConnectorProfile: jsii.String(c.Salesforce.ConnectorProfile),
		Project:                    jsii.String(d.Project),
		RawRunsRetentionDays:       number(c.RawRunsRetentionDays),
		SentRetentionDays:          number(c.SentRetentionDays),
		RefusedRetentionDays:       number(c.RefusedRetentionDays),
		ReportsRetentionDays:       number(c.ReportsRetentionDays),
		S3ManagedEncryption:        config.S3Managed(c.Encryption),
		FieldMapping:               &mapping,
		IdField:                    jsii.String(c.Salesforce.IdField),
		Rules:                      &rules,
		MaxLoadAttempts:            number(c.Salesforce.MaxLoadAttempts),
		WorkerType:                 jsii.String(c.FilterJob.WorkerType),
		NumberOfWorkers:            number(c.FilterJob.NumberOfWorkers),
		TimeoutMinutes:             number(c.FilterJob.TimeoutMinutes),
		EventArchiveRetentionDays:  number(c.EventArchiveRetentionDays),
		AlarmEmail:                 optional(c.AlarmEmail),
		AlarmTopic:                 existingTopic(stack, c.AlarmTopicArn),
		StaleAfter:                 awscdk.Duration_Hours(number(c.StaleAfterHours)),
		FreshnessHours:             number(c.FreshnessHours),
		DashboardName:              jsii.String(ConsumerStackName(d, c)),
	})

	return &ConsumerStack{Stack: stack, Pipeline: sales}
}
