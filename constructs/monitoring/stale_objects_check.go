// Package monitoring holds constructs that watch the pipeline from outside
// its state machines, for what no execution reports: a run that never started.
package monitoring

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/metrics"
	"github.com/leadbridge/leadbridge/internal/s3steps"
	"github.com/leadbridge/leadbridge/internal/validate"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// What the check publishes: the number of objects under the prefix older
// than MaxAge, per bucket and prefix.
const (
	MetricNamespace = workflow.MetricNamespace
	StaleMetricName = "StaleObjects"
)

// How a check works: every checkMinutes; an Express child counts the stale
// objects among up to objectsPerChild of the listing (a child's input stays
// under the 256 KiB payload quota, s3steps caps it in bytes too), at most
// childrenAtOnce at a time.
const (
	checkMinutes    = 30
	objectsPerChild = 1000
	childrenAtOnce  = 10
)

// StaleObjectsCheckProps configures a StaleObjectsCheck.
type StaleObjectsCheckProps struct {
	// Bucket and Prefix name the folder that must not hold old objects.
	Bucket awss3.IBucket
	Prefix *string
	// Alarms receives the alarm (and the check's own failed-execution alarm).
	Alarms *workflow.AlarmTopic
	// MaxAge is the age at which an object counts as stale.
	// Default: - 1 day.
	MaxAge awscdk.Duration
	// Description says, in the alarm, what a stale object means and what to do.
	// Default: - "Objects under <prefix> are older than <max age>".
	Description *string
}

// StaleObjectsCheck alarms when an object under a prefix is older than
// MaxAge: a run whose completion event was missed (or whose processing
// never started) leaves its files there, and no execution fails to say so.
//
// Every 30 minutes a rule starts a small state machine whose Distributed Map
// lists the whole prefix, any number of objects (a Map Run pages through the
// listing itself), and counts, in Express children of up to 1,000 objects,
// those whose LastModified is older than MaxAge before the execution's start;
// it puts the sum as a metric. An empty prefix starts no child. Step
// Functions' JSONPath has no date arithmetic, so the counting is JSONata
// ($toMillis). No Lambda function to patch or pay for. S3 Inventory or
// Storage Lens would be daily at best.
//
// A check that cannot finish (listing refused, a child failing) fails its
// execution, which alarms; and the stale-objects alarm treats missing data
// as breaching: if the check stops reporting (rule disabled, role broken),
// that alarms too.
type StaleObjectsCheck struct {
	constructs.Construct
	StateMachine sfn.StateMachine
	Role         awsiam.Role
	Rule         awsevents.Rule
	// DeadLetterQueue holds schedule events that could not start a check.
	DeadLetterQueue awssqs.Queue
	Alarm           awscloudwatch.Alarm
	Monitoring      workflow.Parts
	dimensions      map[string]*string
}

// MetricStaleObjects is the number of stale objects each check found (maximum per hour by default).
func (c *StaleObjectsCheck) MetricStaleObjects(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return metrics.Pipeline(StaleMetricName, c.dimensions, metrics.Options(awscloudwatch.Stats_MAXIMUM(), opts))
}

func (p *StaleObjectsCheckProps) validate() error {
	errs := []error{
		validate.NotNil(map[string]any{"Bucket": p.Bucket, "Alarms": p.Alarms}),
		validate.RequiredStrings(map[string]*string{"Prefix": p.Prefix}),
	}
	if p.Prefix != nil && *p.Prefix != "" && !strings.HasSuffix(*p.Prefix, "/") {
		errs = append(errs, fmt.Errorf("Prefix must end with /, got %q", *p.Prefix))
	}
	if p.MaxAge != nil {
		errs = append(errs, validate.Range("MaxAge (hours)", *p.MaxAge.ToHours(&awscdk.TimeConversionOptions{Integral: jsii.Bool(false)}), 1, 720))
	}
	return errors.Join(errs...)
}

// NewStaleObjectsCheck creates the schedule, the state machine, its role and the alarm.
func NewStaleObjectsCheck(scope constructs.Construct, id *string, props *StaleObjectsCheckProps) *StaleObjectsCheck {
	if props == nil {
		props = &StaleObjectsCheckProps{}
	}
	validate.Must("StaleObjectsCheck", props.validate())
	this := constructs.NewConstruct(scope, id)
	maxAge := props.MaxAge
	if maxAge == nil {
		maxAge = awscdk.Duration_Days(jsii.Number(1))
	}
	prefix := *props.Prefix

	role := awsiam.NewRole(this, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("states.amazonaws.com"), nil),
	})
	workflow.PutMetricsOnlyInNamespace(role)

	dimensions := map[string]*string{"Bucket": props.Bucket.BucketName(), "Prefix": jsii.String(prefix)}
	parts := workflow.NewStateMachine(this, &workflow.Props{
		Definition: checkDefinition(this, props.Bucket, prefix, *maxAge.ToMilliseconds(nil), dimensions),
		Role:       role,
		Timeout:    awscdk.Duration_Minutes(jsii.Number(checkMinutes)),
		Alarms:     props.Alarms,
	})
	workflow.SuppressWildcards(role, "cloudwatch:PutMetricData supports only Resource '*'; a Deny statement limits it to the leadbridge namespace.",
		`/^Resource::\*$/g`)

	target, dlq := workflow.NewEventTarget(this, parts.StateMachine)
	rule := awsevents.NewRule(this, jsii.String("Schedule"), &awsevents.RuleProps{
		Description: jsii.String(fmt.Sprintf("Looks for objects under %s older than %s.", prefix, *maxAge.ToHumanString())),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(checkMinutes))),
		Targets:     &[]awsevents.IRuleTarget{target},
	})

	description := props.Description
	if description == nil {
		description = jsii.String(fmt.Sprintf("Objects under %s are older than %s.", prefix, *maxAge.ToHumanString()))
	}
	// Two checks per one-hour period; two of the last three periods stale,
	// or without any report, raise the alarm (CloudWatch guide,
	// alarms-and-missing-data: breaching missing points count as breaching).
	alarm := awscloudwatch.NewAlarm(this, jsii.String("StaleObjectsAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String(*description + " No report from the check also alarms."),
		Metric:             metrics.Pipeline(StaleMetricName, dimensions, metrics.Options(awscloudwatch.Stats_MAXIMUM(), nil)),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(3),
		DatapointsToAlarm:  jsii.Number(2),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_BREACHING,
	})
	props.Alarms.Notify(alarm)
	return &StaleObjectsCheck{Construct: this, StateMachine: parts.StateMachine, Role: role, Rule: rule, DeadLetterQueue: dlq, Alarm: alarm,
		Monitoring: parts, dimensions: dimensions}
}

// checkDefinition counts the objects under the prefix older than
// maxAgeMillis before the execution started, and puts the count.
func checkDefinition(scope constructs.Construct, bucket awss3.IBucket, prefix string, maxAgeMillis float64, dimensions map[string]*string) sfn.IChainable {
	start := sfn.Pass_Jsonata(scope, jsii.String("StartCheck"), &sfn.PassJsonataProps{
		Comment: jsii.String("An object is stale if it was last modified before this cutoff, in milliseconds."),
		Outputs: map[string]interface{}{"cutoff": fmt.Sprintf("{%% $toMillis($states.context.Execution.StartTime) - %.0f %%}", maxAgeMillis)},
	})
	count := s3steps.BatchMap(scope, "CountStaleObjects", &s3steps.BatchMapProps{
		Bucket: bucket, Prefix: jsii.String(prefix), ResultPath: "$.staleInChildren",
		ObjectsPerChild: objectsPerChild, ChildrenAtOnce: childrenAtOnce,
		BatchInput: map[string]interface{}{"cutoff.$": "$.cutoff"},
	})
	count.ItemProcessor(sfn.Pass_Jsonata(scope, jsii.String("CountStaleInChild"), &sfn.PassJsonataProps{
		Comment: jsii.String("LastModified is read as an ISO 8601 time, or as epoch seconds."),
		Outputs: `{% $count($states.input.Items[($type(LastModified) = "number" ? LastModified * 1000 : $toMillis(LastModified)) <= $states.input.BatchInput.cutoff]) %}`,
	}), nil)
	var dims []map[string]interface{}
	for _, name := range []string{"Bucket", "Prefix"} {
		dims = append(dims, map[string]interface{}{"Name": name, "Value": dimensions[name]})
	}
	stale := "$sum([0, $states.input.staleInChildren])"
	put := metrics.Put(scope, "PutStaleObjectCount", []map[string]interface{}{{
		"MetricName": StaleMetricName, "Dimensions": dims, "Value": "{% " + stale + " %}", "Unit": "Count",
	}}, map[string]interface{}{"staleObjects": "{% " + stale + " %}"})
	return sfn.Chain_Start(start).Next(count).Next(put)
}
