package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/config"
	"github.com/leadbridge/leadbridge/constructs/consumer"
	"github.com/leadbridge/leadbridge/constructs/monitoring"
	"github.com/leadbridge/leadbridge/internal/validate"
	"github.com/leadbridge/leadbridge/naming"
)

// Construct IDs inside a consumer stack: changing one replaces its resources.
const (
	InboxID         = "Inbox"
	CatalogID       = "LeadsCatalog"
	FilterJobID     = "FilterJob"
	SalesforceID    = "SalesforceFlow"
	OrchestrationID = "Orchestration"
	HandoffBusID    = "HandoffBus"
	UnprocessedID   = "UnprocessedRunCheck"
)

// ConsumerStackProps configures a ConsumerStack.
type ConsumerStackProps struct {
	awscdk.StackProps
	Deployment *config.Deployment
	// Consumer is the entry of Deployment.Consumers this stack is for.
	Consumer *config.Consumer
	// FilterScriptPath is glue-scripts/filter_leads.py, relative to where `cdk` runs.
	FilterScriptPath *string
}

// ConsumerStack is everything one sales account runs.
type ConsumerStack struct {
	awscdk.Stack
	Inbox          *consumer.InboxBucket
	Catalog        *consumer.LeadsCatalog
	FilterJob      *consumer.FilterJob
	SalesforceFlow *consumer.SalesforceFlow
	Orchestration  *consumer.OrchestrationStateMachine
	HandoffBus     *consumer.HandoffBus
	// Unprocessed alarms on a run left in inbox/: it was handed off but never processed.
	Unprocessed *monitoring.StaleObjectsCheck
	// Monitoring is the dashboard and the freshness, dead-letter and job alarms.
	Monitoring *monitoring.ConsumerMonitoring
}

// ConsumerStackName is the stack name users pass to `cdk deploy`.
func ConsumerStackName(d *config.Deployment, c *config.Consumer) string {
	return d.Project + "-consumer-" + c.Name
}

// NewConsumerStack composes the consumer constructs for one consumer.
func NewConsumerStack(scope constructs.Construct, props *ConsumerStackProps) *ConsumerStack {
	d, c := props.Deployment, props.Consumer
	sp := props.StackProps
	sp.Env = &awscdk.Environment{Account: jsii.String(c.Account), Region: jsii.String(c.Region)}
	if sp.Description == nil {
		sp.Description = jsii.String("Hand-offs from the producer, curated and loaded into Salesforce (" + d.Project + ", " + c.Name + ")")
	}
	stack := awscdk.NewStack(scope, jsii.String(ConsumerStackName(d, c)), &sp)
	roleArn := jsii.String(naming.HandoffRoleArn(d.Project, d.Producer.Account, d.Producer.Region))
	name := d.Project + "-" + c.Name

	inbox := consumer.NewInboxBucket(stack, jsii.String(InboxID), &consumer.InboxBucketProps{
		BucketName:           jsii.String(naming.InboxBucketName(d.Project, c.Name, c.Account, c.Region)),
		ProducerAccount:      jsii.String(d.Producer.Account),
		HandoffRoleArn:       roleArn,
		ArchiveRetentionDays: jsii.Number(float64(*c.ArchiveRetentionDays)),
	})
	catalog := consumer.NewLeadsCatalog(stack, jsii.String(CatalogID), &consumer.LeadsCatalogProps{
		Bucket: inbox.Bucket, Name: jsii.String(name),
	})
	// config.Parse has checked these rules; an error here is the stack's
	// caller skipping it, reported like a construct's own props error.
	rules, err := c.LeadRules("consumers[" + c.Name + "]")
	validate.Must("ConsumerStack", err)
	job := consumer.NewFilterJob(stack, jsii.String(FilterJobID), &consumer.FilterJobProps{
		JobName:               jsii.String(name + "-filter-leads"),
		ScriptPath:            props.FilterScriptPath,
		Bucket:                inbox.Bucket,
		SecurityConfiguration: catalog.SecurityConfiguration,
		Key:                   catalog.Key,
		WorkerType:            jsii.String(c.FilterJob.WorkerType),
		NumberOfWorkers:       jsii.Number(float64(*c.FilterJob.NumberOfWorkers)),
		TimeoutMinutes:        jsii.Number(float64(*c.FilterJob.TimeoutMinutes)),
		Rules:                 &rules,
		UpsertField:           jsii.String(c.Salesforce.IdField),
		MaxLoadAttempts:       jsii.Number(float64(*c.Salesforce.MaxLoadAttempts)),
	})
	mapping := map[string]*string{}
	for column, field := range c.Salesforce.FieldMapping {
		mapping[column] = jsii.String(field)
	}
	flow := consumer.NewSalesforceFlow(stack, jsii.String(SalesforceID), &consumer.SalesforceFlowProps{
		FlowName:             jsii.String(naming.SalesforceFlowName(d.Project, c.Name)),
		ConnectorProfileName: jsii.String(c.Salesforce.ConnectorProfile),
		Bucket:               inbox.Bucket,
		FieldMapping:         &mapping,
		IdField:              jsii.String(c.Salesforce.IdField),
	})
	orchestration := consumer.NewOrchestrationStateMachine(stack, jsii.String(OrchestrationID), &consumer.OrchestrationStateMachineProps{
		Bucket:                  inbox.Bucket,
		CrawlerName:             catalog.Crawler.Name(),
		FilterJobName:           job.JobName,
		SalesforceFlowName:      flow.FlowName,
		FilterJobTimeoutMinutes: jsii.Number(float64(*c.FilterJob.TimeoutMinutes)),
		AlarmEmail:              optional(c.AlarmEmail),
	})
	bus := consumer.NewHandoffBus(stack, jsii.String(HandoffBusID), &consumer.HandoffBusProps{
		EventBusName:         jsii.String(naming.HandoffBusName(d.Project, c.Name)),
		ProducerAccount:      jsii.String(d.Producer.Account),
		HandoffRoleArn:       roleArn,
		StateMachine:         orchestration.StateMachine,
		ArchiveRetentionDays: jsii.Number(float64(*c.EventArchiveRetentionDays)),
	})

	alarms := orchestration.Monitoring.Alarms
	forwardAlarms(stack, alarms, c.AlarmTopicArn)
	unprocessed := monitoring.NewStaleObjectsCheck(stack, jsii.String(UnprocessedID), &monitoring.StaleObjectsCheckProps{
		Bucket:      inbox.Bucket,
		Prefix:      jsii.String(consumer.SourcePrefix),
		Alarms:      alarms,
		MaxAge:      awscdk.Duration_Hours(jsii.Number(float64(*c.StaleAfterHours))),
		Description: jsii.String("A handed-off run is still in inbox/ (its event was missed or its orchestration failed): process it by hand, see the README's operations section."),
	})
	watch := monitoring.NewConsumerMonitoring(stack, jsii.String(MonitoringID), &monitoring.ConsumerMonitoringProps{
		DashboardName: jsii.String(ConsumerStackName(d, c)), Orchestration: orchestration, FilterJob: job, HandoffBus: bus,
		Unprocessed: unprocessed, Alarms: alarms, FreshnessHours: jsii.Number(float64(*c.FreshnessHours)),
	})

	output(stack, "HandoffBusArn", bus.EventBus.EventBusArn(), "The producer puts hand-off events here")
	output(stack, "AlarmTopicArn", alarms.Topic.TopicArn(), alarmTopicHelp)
	output(stack, "DashboardName", watch.Dashboard.DashboardName(), dashboardHelp)
	output(stack, "InboxBucketName", inbox.Bucket.BucketName(), "The producer copies runs to inbox/ here")
	output(stack, "OrchestrationStateMachineArn", orchestration.StateMachine.StateMachineArn(), "Curates and loads each run")
	output(stack, "SalesforceFlowName", flow.FlowName, "Started by the orchestration once the Salesforce connection is authorised")
	return &ConsumerStack{Stack: stack, Inbox: inbox, Catalog: catalog, FilterJob: job, SalesforceFlow: flow, Orchestration: orchestration, HandoffBus: bus, Unprocessed: unprocessed, Monitoring: watch}
}
