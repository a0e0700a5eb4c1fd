package pipeline

import (
	"errors"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/constructs/consumer"
	"github.com/leadbridge/leadbridge/constructs/monitoring"
	"github.com/leadbridge/leadbridge/internal/cdkflags"
	"github.com/leadbridge/leadbridge/internal/databucket"
	"github.com/leadbridge/leadbridge/internal/validate"
	"github.com/leadbridge/leadbridge/naming"
)

// Construct IDs inside a Consumer: changing one replaces its resources.
const (
	InboxID         = "Inbox"
	CatalogID       = "LeadsCatalog"
	FilterJobID     = "FilterJob"
	SalesforceID    = "SalesforceFlow"
	OrchestrationID = "Orchestration"
	HandoffBusID    = "HandoffBus"
	UnprocessedID   = "UnprocessedRunCheck"
)

// ConsumerProps configures a Consumer. Only Name, ProducerAccount and
// SalesforceConnectorProfile are required.
type ConsumerProps struct {
	// Name is the consumer's short name (1 to 12 lowercase letters or
	// digits, starting with a letter), part of every name the producer must
	// know; no other Consumer of the app may have it in the same account and
	// region.
	Name *string
	// ProducerAccount is the account whose hand-off role may write to the
	// inbox and put events on the bus: a 12-digit account id other than this
	// stack's.
	ProducerAccount *string
	// SalesforceConnectorProfile is the AppFlow Salesforce connection, made
	// once by a person in the AppFlow console.
	SalesforceConnectorProfile *string
	// Project prefixes every derived name: 2 to 20 lowercase letters, digits
	// or hyphens, starting with a letter. It must equal the producer's.
	// Default: - naming.DefaultProject ("leadbridge").
	Project *string
	// HandoffRoleArn is the producer's hand-off role, trusted by ARN: a role
	// of ProducerAccount.
	// Default: - naming.HandoffRoleArn(Project, ProducerAccount, this stack's region).
	HandoffRoleArn *string
	// ExistingInboxBucket is used as the inbox instead of a new bucket; it
	// must be an awss3.Bucket of this app (the pattern adds the producer's
	// and AppFlow's statements to its policy), encrypted with SSE-S3 or an
	// awskms.Key of this app (the pattern adds its users to the key policy),
	// and the producer's ConsumerTarget must name it.
	// Default: - a new bucket named naming.InboxBucketName: a customer-managed KMS key, TLS only, versioned, access logs, retained.
	ExistingInboxBucket awss3.IBucket
	// S3ManagedEncryption encrypts the new inbox bucket with SSE-S3 instead
	// of a customer-managed KMS key (not used with ExistingInboxBucket).
	// Default: - false: a rotated, retained key whose policy admits each user by name.
	S3ManagedEncryption *bool
	// RawRunsRetentionDays is how long an object of a run stays under inbox/
	// or archive/ of the new inbox bucket (not used with ExistingInboxBucket).
	// Default: - databucket.DefaultRawRunsDays (365).
	RawRunsRetentionDays *float64
	// SentRetentionDays is how long what was sent to Salesforce stays under
	// curated/, parquet/ and processed/ of the new inbox bucket.
	// Default: - databucket.DefaultSentDays (90).
	SentRetentionDays *float64
	// RefusedRetentionDays is how long refused rows stay under rejected/,
	// retry/, quarantine/ and errors/ of the new inbox bucket.
	// Default: - databucket.DefaultRefusedDays (90).
	RefusedRetentionDays *float64
	// ReportsRetentionDays is how long run reports and Distributed Map
	// results stay under reports/ and map-results/ of the new inbox bucket.
	// Default: - databucket.DefaultReportsDays (90).
	ReportsRetentionDays *float64
	// FieldMapping maps curated columns to Lead fields.
	// Default: - consumer.DefaultLeadFieldMapping().
	FieldMapping *map[string]*string
	// IdField is the Lead field AppFlow upserts on (Id or a custom External ID field).
	// Default: - consumer.DefaultUpsertField (Marketo_Id__c).
	IdField *string
	// Rules are what the filter job checks every row against; build them
	// with consumer.NewLeadRules from FieldMapping and IdField.
	// Default: - consumer.NewLeadRules for FieldMapping and IdField, consumer.DefaultCustomFieldLengths and the default behaviours.
	Rules *consumer.LeadRules
	// MaxLoadAttempts is how many loads may refuse a row before the filter
	// job quarantines it instead of sending it again.
	// Default: - consumer.DefaultMaxLoadAttempts (3).
	MaxLoadAttempts *float64
	// FilterScriptPath is a PySpark script to run instead of the embedded one.
	// Default: - filter_leads.py embedded in this module.
	FilterScriptPath *string
	// WorkerType is the filter job's Glue worker type.
	// Default: - G.1X.
	WorkerType *string
	// NumberOfWorkers is how many workers run the filter job.
	// Default: - 2.
	NumberOfWorkers *float64
	// TimeoutMinutes bounds one filter job run.
	// Default: - 60.
	TimeoutMinutes *float64
	// EventArchiveRetentionDays keeps hand-off events for replay.
	// Default: - 30 days.
	EventArchiveRetentionDays *float64
	// AlarmEmail is subscribed to the alarm topic (the address must confirm).
	// Default: - no subscription.
	AlarmEmail *string
	// AlarmTopic is an existing standard topic (same region, any account, no
	// KMS key) that every alarm and every alerting rule also publishes to:
	// the alarms as cloudwatch.amazonaws.com, the rules with the role in field
	// AlarmForwardRole. Its policy must admit both (README, "Who gets the alarms").
	// Default: - only the pattern's own topic (field AlarmTopic).
	AlarmTopic awssns.ITopic
	// StaleAfter is the age at which an object under inbox/ alarms as a run
	// never processed.
	// Default: - 24 hours.
	StaleAfter awscdk.Duration
	// FreshnessHours is how long without a settled load before an alarm: more
	// than the producer's schedule interval, at most 168.
	// Default: - 30 hours (a daily producer schedule plus 6).
	FreshnessHours *float64
	// DashboardName names the CloudWatch dashboard, unique in the account and region.
	// Default: - <Project>-consumer-<Name>.
	DashboardName *string
	// CreateOutputs declares the stack outputs an operator reads: HandoffBusArn,
	// InboxBucketName, OrchestrationStateMachineArn, SalesforceFlowName,
	// AlarmTopicArn, DashboardName, and AlarmForwardRoleArn with the AlarmTopic prop.
	// Default: - true.
	CreateOutputs *bool
}

// Consumer is one consumer (sales) side in one construct: the inbox bucket
// and the hand-off bus the producer writes to, the catalog, the filter job,
// the Salesforce flow, the orchestration that runs them per hand-off, the
// unprocessed-run check, a dashboard with freshness, dead-letter and job
// alarms, and one alarm topic for all of them.
type Consumer struct {
	constructs.Construct
	// Inbox is the created inbox bucket; nil with ExistingInboxBucket.
	Inbox *consumer.InboxBucket
	// InboxBucket is Inbox.Bucket or the existing one.
	InboxBucket    awss3.IBucket
	Catalog        *consumer.LeadsCatalog
	FilterJob      *consumer.FilterJob
	SalesforceFlow *consumer.SalesforceFlow
	Orchestration  *consumer.OrchestrationStateMachine
	// OrchestrationStateMachine is Orchestration.StateMachine.
	OrchestrationStateMachine sfn.StateMachine
	HandoffBus                *consumer.HandoffBus
	// Unprocessed alarms on a run left in inbox/: it was handed off but never processed.
	Unprocessed *monitoring.StaleObjectsCheck
	// Monitoring is the dashboard and the freshness, dead-letter and job alarms.
	Monitoring *monitoring.ConsumerMonitoring
	// alerting holds fields AlarmTopic and AlarmForwardRole, and Notify and
	// Alert route an app's own alarms and rules where the pattern's go.
	alerting
}

func (p *ConsumerProps) withDefaults(stack awscdk.Stack) ConsumerProps {
	out := *p
	if out.Project == nil {
		out.Project = jsii.String(naming.DefaultProject)
	}
	if out.HandoffRoleArn == nil && out.ProducerAccount != nil {
		out.HandoffRoleArn = jsii.String(naming.HandoffRoleArn(*out.Project, *out.ProducerAccount, *stack.Region()))
	}
	if out.StaleAfter == nil {
		out.StaleAfter = awscdk.Duration_Hours(jsii.Number(24))
	}
	if out.FreshnessHours == nil {
		out.FreshnessHours = jsii.Number(30)
	}
	if out.DashboardName == nil && out.Name != nil {
		out.DashboardName = jsii.String(*out.Project + "-consumer-" + *out.Name)
	}
	return out
}

// retention names the retention props of the inbox bucket.
func (p *ConsumerProps) retention() map[string]*float64 {
	return map[string]*float64{
		"RawRunsRetentionDays": p.RawRunsRetentionDays, "SentRetentionDays": p.SentRetentionDays,
		"RefusedRetentionDays": p.RefusedRetentionDays, "ReportsRetentionDays": p.ReportsRetentionDays,
	}
}

// validate checks the props with defaults applied; roleArn is the
// HandoffRoleArn the user set, nil when it is derived.
func (p *ConsumerProps) validate(stack awscdk.Stack, roleArn *string) error {
	errs := []error{
		validate.RequiredStrings(map[string]*string{"Name": p.Name, "ProducerAccount": p.ProducerAccount, "SalesforceConnectorProfile": p.SalesforceConnectorProfile}),
		validate.Project("Project", *p.Project),
		consumer.ValidateProducerTrust(p.ProducerAccount, roleArn),
		databucket.ValidateExisting("ExistingInboxBucket", p.ExistingInboxBucket),
		explicitEnv(stack),
	}
	if p.Name != nil && *p.Name != "" {
		errs = append(errs, validate.ConsumerName("Name", *p.Name))
	}
	if p.ProducerAccount != nil && *p.ProducerAccount == *stack.Account() {
		errs = append(errs, fmt.Errorf("ProducerAccount %q is this stack's own account: deploy the consumer to another account than the producer", *p.ProducerAccount))
	}
	if explicitEnv(stack) == nil && p.ExistingInboxBucket == nil && p.Name != nil {
		if name := naming.InboxBucketName(*p.Project, *p.Name, *stack.Account(), *stack.Region()); len(name) > 63 {
			errs = append(errs, fmt.Errorf("Name %q with Project %q makes the inbox bucket name %q longer than S3's 63 characters", *p.Name, *p.Project, name))
		}
	}
	errs = append(errs, retentionOfNewBucket("inbox", p.ExistingInboxBucket != nil, p.retention()),
		encryptionOfNewBucket("inbox", p.ExistingInboxBucket != nil, p.S3ManagedEncryption))
	errs = append(errs, validate.StaleAfterHours("StaleAfter", *p.StaleAfter.ToHours(nil)))
	// The later constructs' props too, so that a bad one stops the pattern before it creates anything.
	sizing := consumer.FilterJobProps{WorkerType: p.WorkerType, NumberOfWorkers: p.NumberOfWorkers, TimeoutMinutes: p.TimeoutMinutes}
	errs = append(errs, sizing.ValidateSizing("pipeline.Consumer"))
	if *p.FreshnessHours < 2 || *p.FreshnessHours > monitoring.MaxFreshnessHours {
		errs = append(errs, fmt.Errorf("FreshnessHours must be from 2 to %d, got %g", monitoring.MaxFreshnessHours, *p.FreshnessHours))
	}
	if p.EventArchiveRetentionDays != nil {
		errs = append(errs, validate.Range("EventArchiveRetentionDays", *p.EventArchiveRetentionDays, 1, 3650))
	}
	return errors.Join(errs...)
}

// rules derives the filter job's rules from the flow's mapping and upsert
// field when none are given.
func (p *ConsumerProps) rules() (*consumer.LeadRules, error) {
	if p.Rules != nil {
		return p.Rules, nil
	}
	mapping, idField := consumer.DefaultLeadFieldMapping(), consumer.DefaultUpsertField
	if p.FieldMapping != nil {
		mapping = map[string]string{}
		for column, field := range *p.FieldMapping {
			mapping[column] = *field
		}
	}
	if p.IdField != nil {
		idField = *p.IdField
	}
	if err := consumer.ValidateLeadMapping("pipeline.Consumer", mapping, idField); err != nil {
		return nil, err
	}
	rules, err := consumer.NewLeadRules("pipeline.Consumer", mapping, idField, consumer.DefaultCustomFieldLengths(), consumer.RuleBehaviours{})
	return &rules, err
}

// NewConsumer builds one consumer side. Props are checked first, each
// construct checks its own again, and every problem is reported in one
// error naming the prop and the value.
func NewConsumer(scope constructs.Construct, id *string, props *ConsumerProps) *Consumer {
	if props == nil {
		props = &ConsumerProps{}
	}
	stack := awscdk.Stack_Of(scope)
	p := props.withDefaults(stack)
	validate.Must("pipeline.Consumer", p.validate(stack, props.HandoffRoleArn))
	if p.Name != nil {
		validate.Must("pipeline.Consumer", claimConsumerName(scope, *id, *p.Project, *p.Name))
	}
	rules, err := p.rules()
	validate.Must("pipeline.Consumer", err)
	this := constructs.NewConstruct(scope, id)
	cdkflags.Pin(this)
	name := *p.Project + "-" + *p.Name
	out := &Consumer{Construct: this, InboxBucket: p.ExistingInboxBucket}
	if p.ExistingInboxBucket == nil {
		out.Inbox = consumer.NewInboxBucket(this, jsii.String(InboxID), &consumer.InboxBucketProps{
			BucketName:           jsii.String(naming.InboxBucketName(*p.Project, *p.Name, *stack.Account(), *stack.Region())),
			ProducerAccount:      p.ProducerAccount,
			HandoffRoleArn:       p.HandoffRoleArn,
			RawRunsRetentionDays: p.RawRunsRetentionDays,
			SentRetentionDays:    p.SentRetentionDays,
			RefusedRetentionDays: p.RefusedRetentionDays,
			ReportsRetentionDays: p.ReportsRetentionDays,
			S3ManagedEncryption:  p.S3ManagedEncryption,
		})
		out.InboxBucket = out.Inbox.Bucket
	} else {
		consumer.GrantInboxAccess(p.ExistingInboxBucket, p.ProducerAccount, p.HandoffRoleArn)
	}
	out.Catalog = consumer.NewLeadsCatalog(this, jsii.String(CatalogID), &consumer.LeadsCatalogProps{Bucket: out.InboxBucket, Name: jsii.String(name)})
	out.FilterJob = consumer.NewFilterJob(this, jsii.String(FilterJobID), &consumer.FilterJobProps{
		JobName:               jsii.String(name + "-filter-leads"),
		ScriptPath:            p.FilterScriptPath,
		Bucket:                out.InboxBucket,
		SecurityConfiguration: out.Catalog.SecurityConfiguration,
		Key:                   out.Catalog.Key,
		WorkerType:            p.WorkerType,
		NumberOfWorkers:       p.NumberOfWorkers,
		TimeoutMinutes:        p.TimeoutMinutes,
		Rules:                 rules,
		UpsertField:           p.IdField,
		MaxLoadAttempts:       p.MaxLoadAttempts,
	})
	out.SalesforceFlow = consumer.NewSalesforceFlow(this, jsii.String(SalesforceID), &consumer.SalesforceFlowProps{
		FlowName:             jsii.String(naming.SalesforceFlowName(*p.Project, *p.Name)),
		ConnectorProfileName: p.SalesforceConnectorProfile,
		Bucket:               out.InboxBucket,
		FieldMapping:         p.FieldMapping,
		IdField:              p.IdField,
	})
	out.Orchestration = consumer.NewOrchestrationStateMachine(this, jsii.String(OrchestrationID), &consumer.OrchestrationStateMachineProps{
		Bucket:                  out.InboxBucket,
		CrawlerName:             out.Catalog.Crawler.Name(),
		FilterJobName:           out.FilterJob.JobName,
		SalesforceFlowName:      out.SalesforceFlow.FlowName,
		FilterJobTimeoutMinutes: p.TimeoutMinutes,
		AlarmEmail:              p.AlarmEmail,
	})
	out.OrchestrationStateMachine = out.Orchestration.StateMachine
	out.HandoffBus = consumer.NewHandoffBus(this, jsii.String(HandoffBusID), &consumer.HandoffBusProps{
		EventBusName:         jsii.String(naming.HandoffBusName(*p.Project, *p.Name)),
		ProducerAccount:      p.ProducerAccount,
		HandoffRoleArn:       p.HandoffRoleArn,
		StateMachine:         out.Orchestration.StateMachine,
		ArchiveRetentionDays: p.EventArchiveRetentionDays,
	})
	alarms := out.Orchestration.Monitoring.Alarms
	out.Unprocessed = watchSide(this, alarms, p.AlarmTopic, leftBehind{
		id: UnprocessedID, bucket: out.InboxBucket, prefix: consumer.SourcePrefix, maxAge: p.StaleAfter,
		description: "A handed-off run is still in inbox/ (its event was missed or its orchestration failed): process it by hand, see the README's operations section.",
	})
	out.Monitoring = monitoring.NewConsumerMonitoring(this, jsii.String(MonitoringID), &monitoring.ConsumerMonitoringProps{
		DashboardName: p.DashboardName, Orchestration: out.Orchestration, FilterJob: out.FilterJob, HandoffBus: out.HandoffBus,
		Unprocessed: out.Unprocessed, Alarms: alarms, FreshnessHours: p.FreshnessHours,
	})
	out.alerting = newAlerting(alarms)
	addOutputs(this, p.CreateOutputs, append([]output{
		{HandoffBusArnOutput, "The producer puts hand-off events here", out.HandoffBus.EventBus.EventBusArn()},
		{InboxBucketNameOutput, "The producer copies runs to inbox/ here", out.InboxBucket.BucketName()},
		{OrchestrationStateMachineArnOutput, "Curates and loads each run", out.OrchestrationStateMachine.StateMachineArn()},
		{SalesforceFlowNameOutput, "Started by the orchestration once the Salesforce connection is authorised", out.SalesforceFlow.FlowName},
	}, sideOutputs(&out.alerting, out.Monitoring.Dashboard.DashboardName())...))
	return out
}

// GrantRead lets a role of the consumer's account read the inbox bucket's
// objects under prefix (e.g. consumer.CuratedParquetPrefix+"*"), S3 and key
// alike: the key policy admits nobody an IAM policy alone would let in.
func (c *Consumer) GrantRead(role awsiam.IRole, prefix string) {
	databucket.GrantRead(c.InboxBucket, role, prefix, readSid(role))
}
