package pipeline

import (
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/constructs/monitoring"
	"github.com/leadbridge/leadbridge/constructs/producer"
	"github.com/leadbridge/leadbridge/internal/cdkflags"
	"github.com/leadbridge/leadbridge/internal/databucket"
	"github.com/leadbridge/leadbridge/internal/validate"
	"github.com/leadbridge/leadbridge/naming"
)

// Construct IDs inside a Producer: changing one replaces its resources.
const (
	LandingID    = "Landing"
	MarketoID    = "MarketoFlow"
	HandoffID    = "Handoff"
	CompletionID = "HandoffTrigger"
	MissedRunID  = "MissedRunCheck"
	FlowAlarmsID = "MarketoFlowAlarms"
	// MonitoringID is the dashboard and alarms of either side.
	MonitoringID = "Monitoring"
)

// defaultSchedule is MarketoFlow's default, which the freshness window follows.
const defaultSchedule = "rate(1days)"

// ProducerProps configures a Producer. Only MarketoConnectorProfile and
// Consumers are required.
type ProducerProps struct {
	// MarketoConnectorProfile is the AppFlow Marketo connection, made once by
	// a person in the AppFlow console.
	MarketoConnectorProfile *string
	// Consumers receive a copy of every run and one event each; build each
	// with producer.NewConsumerTarget. Each must be in another account than
	// this stack's, in this stack's region, under a name no other of them has.
	Consumers *[]*producer.ConsumerTarget
	// Project prefixes the names of the flow and the hand-off role: 2 to 20
	// lowercase letters, digits or hyphens, starting with a letter. The
	// consumers' Project must be the same.
	// Default: - naming.DefaultProject ("leadbridge").
	Project *string
	// ExistingLandingBucket receives the Marketo runs instead of a new
	// bucket; it must be an awss3.Bucket of this app (the pattern adds
	// AppFlow's statements to its policy), encrypted with SSE-S3 or an
	// awskms.Key of this app (the pattern adds its users to the key policy).
	// Default: - a new bucket: a customer-managed KMS key, TLS only, versioned, access logs, retained.
	ExistingLandingBucket awss3.IBucket
	// S3ManagedEncryption encrypts the new landing bucket with SSE-S3
	// instead of a customer-managed KMS key (not used with ExistingLandingBucket).
	// Default: - false: a rotated, retained key whose policy admits each user by name.
	S3ManagedEncryption *bool
	// RawRunsRetentionDays is how long an object of a run stays under
	// landing/ or archive/ of the new landing bucket (not used with
	// ExistingLandingBucket).
	// Default: - databucket.DefaultRawRunsDays (365).
	RawRunsRetentionDays *float64
	// ReportsRetentionDays is how long the hand-off's Distributed Map results
	// stay under map-results/ of the new landing bucket (not used with
	// ExistingLandingBucket).
	// Default: - databucket.DefaultReportsDays (90).
	ReportsRetentionDays *float64
	// MarketoObject is the Marketo object to pull.
	// Default: - leads.
	MarketoObject *string
	// Schedule is an AppFlow rate expression, without spaces, at least hourly.
	// Default: - rate(1days).
	Schedule *string
	// IncrementalField is the timestamp field an incremental pull filters on.
	// Default: - updatedAt.
	IncrementalField *string
	// Fields are the Marketo fields to pull; they must include id, updatedAt and doNotCall.
	// Default: - producer.DefaultMarketoFields.
	Fields *[]*string
	// FirstExecutionFrom is where the first incremental pull starts: leads
	// updated since then (Marketo serves at most 31 days per extract).
	// Default: - AppFlow's own, 30 days back from the first run.
	FirstExecutionFrom *time.Time
	// AlarmEmail is subscribed to the alarm topic (the address must confirm).
	// Default: - no subscription.
	AlarmEmail *string
	// AlarmTopic is an existing standard topic (same region, any account, no
	// KMS key) that every alarm and every alerting rule also publishes to:
	// the alarms as cloudwatch.amazonaws.com, the rules with the role in field
	// AlarmForwardRole. Its policy must admit both (README, "Who gets the alarms").
	// Default: - only the pattern's own topic (field AlarmTopic).
	AlarmTopic awssns.ITopic
	// StaleAfter is the age at which an object under landing/ alarms as a
	// run never handed off.
	// Default: - 24 hours.
	StaleAfter awscdk.Duration
	// FreshnessHours is how long without a successful Marketo pull before an
	// alarm: more than the schedule's interval, at most 168.
	// Default: - the schedule's interval plus 2 hours (26 with rate(1days)).
	FreshnessHours *float64
	// DashboardName names the CloudWatch dashboard, unique in the account and region.
	// Default: - <Project>-producer.
	DashboardName *string
	// CreateOutputs declares the stack outputs an operator reads: HandoffRoleArn,
	// MarketoFlowName, LandingBucketName, HandoffStateMachineArn, AlarmTopicArn,
	// DashboardName, and AlarmForwardRoleArn with the AlarmTopic prop.
	// Default: - true.
	CreateOutputs *bool
}

// Producer is the whole producer (marketing) side in one construct: the
// landing bucket, the scheduled Marketo flow, the hand-off state machine
// with its fixed-name role, the rule that starts it when a run succeeds,
// the missed-run check, a dashboard with freshness and dead-letter alarms,
// and one alarm topic for all of them.
type Producer struct {
	constructs.Construct
	// Landing is the created landing bucket; nil with ExistingLandingBucket.
	Landing *producer.LandingBucket
	// LandingBucket is where the flow writes: Landing.Bucket or the existing one.
	LandingBucket awss3.IBucket
	MarketoFlow   *producer.MarketoFlow
	Handoff       *producer.HandoffStateMachine
	// HandoffRole is the role consumers trust by name (naming.HandoffRoleName).
	HandoffRole awsiam.Role
	// HandoffStateMachine is Handoff.StateMachine.
	HandoffStateMachine sfn.StateMachine
	Completion          *producer.CompletionRule
	// FlowAlarms alarm on a failed Marketo run and on the flow being deactivated.
	FlowAlarms *producer.FlowAlarmRules
	// MissedRun alarms on a run left in landing/: its completion event was missed.
	MissedRun *monitoring.StaleObjectsCheck
	// Monitoring is the dashboard and the freshness and dead-letter alarms.
	Monitoring *monitoring.ProducerMonitoring
	// alerting holds fields AlarmTopic and AlarmForwardRole, and Notify and
	// Alert route an app's own alarms and rules where the pattern's go.
	alerting
}

func (p *ProducerProps) withDefaults() ProducerProps {
	out := *p
	if out.Project == nil {
		out.Project = jsii.String(naming.DefaultProject)
	}
	if out.StaleAfter == nil {
		out.StaleAfter = awscdk.Duration_Hours(jsii.Number(24))
	}
	if out.Schedule == nil {
		out.Schedule = jsii.String(defaultSchedule)
	}
	if out.Fields == nil {
		out.Fields = jsii.Strings(producer.DefaultMarketoFields...)
	}
	if out.FreshnessHours == nil {
		out.FreshnessHours = jsii.Number(float64(validate.ScheduleHours(*out.Schedule) + 2))
	}
	if out.DashboardName == nil {
		out.DashboardName = jsii.String(*out.Project + "-producer")
	}
	return out
}

// retention names the retention props of the landing bucket.
func (p *ProducerProps) retention() map[string]*float64 {
	return map[string]*float64{"RawRunsRetentionDays": p.RawRunsRetentionDays, "ReportsRetentionDays": p.ReportsRetentionDays}
}

func (p *ProducerProps) validate(stack awscdk.Stack) error {
	errs := []error{
		explicitEnv(stack),
		validate.RequiredStrings(map[string]*string{"MarketoConnectorProfile": p.MarketoConnectorProfile}),
		validate.Project("Project", *p.Project),
		databucket.ValidateExisting("ExistingLandingBucket", p.ExistingLandingBucket),
	}
	if p.Consumers == nil || len(*p.Consumers) == 0 {
		errs = append(errs, errors.New("Consumers must list at least one consumer, got none"))
	} else {
		errs = append(errs, validateConsumerTargets(*p.Consumers, stack))
	}
	errs = append(errs, retentionOfNewBucket("landing", p.ExistingLandingBucket != nil, p.retention()),
		encryptionOfNewBucket("landing", p.ExistingLandingBucket != nil, p.S3ManagedEncryption))
	errs = append(errs, validate.StaleAfterHours("StaleAfter", *p.StaleAfter.ToHours(nil)))
	// The flow's props too, so that a bad one stops the pattern before it creates anything.
	incremental := "updatedAt"
	if p.IncrementalField != nil {
		incremental = *p.IncrementalField
	}
	var fields []string
	for _, f := range *p.Fields {
		fields = append(fields, *f)
	}
	errs = append(errs, validate.Schedule("Schedule", *p.Schedule), producer.ValidateMarketoFields("Fields", fields, incremental))
	if interval := float64(validate.ScheduleHours(*p.Schedule)); *p.FreshnessHours <= interval || *p.FreshnessHours > monitoring.MaxFreshnessHours {
		errs = append(errs, fmt.Errorf("FreshnessHours must be more than the schedule's %g hours and at most %d, got %g", interval, monitoring.MaxFreshnessHours, *p.FreshnessHours))
	}
	return errors.Join(errs...)
}

// NewProducer builds the producer side. Props are checked first, each
// construct checks its own again, and every problem is reported in one error
// naming the prop and the value.
func NewProducer(scope constructs.Construct, id *string, props *ProducerProps) *Producer {
	if props == nil {
		props = &ProducerProps{}
	}
	p := props.withDefaults()
	validate.Must("pipeline.Producer", p.validate(awscdk.Stack_Of(scope)))
	this := constructs.NewConstruct(scope, id)
	cdkflags.Pin(this)
	out := &Producer{Construct: this, LandingBucket: p.ExistingLandingBucket}
	if p.ExistingLandingBucket == nil {
		out.Landing = producer.NewLandingBucket(this, jsii.String(LandingID), &producer.LandingBucketProps{
			RawRunsRetentionDays: p.RawRunsRetentionDays, ReportsRetentionDays: p.ReportsRetentionDays,
			S3ManagedEncryption: p.S3ManagedEncryption,
		})
		out.LandingBucket = out.Landing.Bucket
	} else {
		producer.GrantAppFlowWritesLanding(p.ExistingLandingBucket)
	}
	out.MarketoFlow = producer.NewMarketoFlow(this, jsii.String(MarketoID), &producer.MarketoFlowProps{
		FlowName:             jsii.String(naming.MarketoFlowName(*p.Project)),
		ConnectorProfileName: p.MarketoConnectorProfile,
		Bucket:               out.LandingBucket,
		Object:               p.MarketoObject,
		Schedule:             p.Schedule,
		IncrementalField:     p.IncrementalField,
		Fields:               p.Fields,
		FirstExecutionFrom:   p.FirstExecutionFrom,
	})
	out.Handoff = producer.NewHandoffStateMachine(this, jsii.String(HandoffID), &producer.HandoffStateMachineProps{
		LandingBucket: out.LandingBucket,
		FlowName:      out.MarketoFlow.FlowName,
		Consumers:     p.Consumers,
		RoleName:      jsii.String(naming.HandoffRoleName(*p.Project)),
		AlarmEmail:    p.AlarmEmail,
	})
	out.HandoffRole, out.HandoffStateMachine = out.Handoff.Role, out.Handoff.StateMachine
	out.Completion = producer.NewCompletionRule(this, jsii.String(CompletionID), &producer.CompletionRuleProps{
		FlowName:     out.MarketoFlow.FlowName,
		StateMachine: out.Handoff.StateMachine,
	})
	// An active scheduled flow may run as soon as it exists: its end event
	// must find the rule and the hand-off already there.
	out.MarketoFlow.Flow.Node().AddDependency(out.Completion.Rule, out.Handoff.StateMachine)
	alarms := out.Handoff.Monitoring.Alarms
	out.FlowAlarms = producer.NewFlowAlarmRules(this, jsii.String(FlowAlarmsID), &producer.FlowAlarmRulesProps{
		FlowName: out.MarketoFlow.FlowName, Alarms: alarms,
	})
	out.MissedRun = watchSide(this, alarms, p.AlarmTopic, leftBehind{
		id: MissedRunID, bucket: out.LandingBucket, prefix: producer.LandingPrefix, maxAge: p.StaleAfter,
		description: "A Marketo run is still in landing/ (its completion event was missed or its hand-off failed): hand it off by hand, see the README's operations section.",
	})
	out.Monitoring = monitoring.NewProducerMonitoring(this, jsii.String(MonitoringID), &monitoring.ProducerMonitoringProps{
		DashboardName: p.DashboardName, Flow: out.MarketoFlow, Handoff: out.Handoff, Completion: out.Completion, MissedRun: out.MissedRun,
		Alarms: alarms, FreshnessHours: p.FreshnessHours,
	})
	out.alerting = newAlerting(alarms)
	addOutputs(this, p.CreateOutputs, append([]output{
		{HandoffRoleArnOutput, "Trusted by every consumer's inbox bucket and event bus", out.HandoffRole.RoleArn()},
		{MarketoFlowNameOutput, "Runs on its schedule once the Marketo connection is authorised", out.MarketoFlow.FlowName},
		{LandingBucketNameOutput, "Landing and archive of Marketo runs", out.LandingBucket.BucketName()},
		{HandoffStateMachineArnOutput, "Copies each run to the consumers", out.HandoffStateMachine.StateMachineArn()},
	}, sideOutputs(&out.alerting, out.Monitoring.Dashboard.DashboardName())...))
	return out
}

// GrantRead lets a role of the producer's account read the landing bucket's
// objects under prefix (e.g. "archive/*"), S3 and key alike.
func (p *Producer) GrantRead(role awsiam.IRole, prefix string) {
	databucket.GrantRead(p.LandingBucket, role, prefix, readSid(role))
}
