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
	tasks "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/metrics"
	"github.com/leadbridge/leadbridge/internal/validate"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// What the check publishes: the number of objects under the prefix older
// than MaxAge, per bucket and prefix.
const (
	MetricNamespace = workflow.MetricNamespace
	StaleMetricName = "StaleObjects"
)

// Bounds of one check: keys per ListObjectsV2 page (a page of 250 keys stays
// far below Step Functions' 256 KB result limit) and pages per check.
const (
	keysPerPage  = 250
	maxPages     = 40 // 10,000 objects; a prefix this full is itself a fault
	checkMinutes = 30
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
// Every 30 minutes a rule starts a small state machine that pages through
// the prefix (bounded), counts objects whose LastModified is older than
// MaxAge before the execution's start, and puts that count as a metric.
// Step Functions' JSONPath has no date arithmetic, so the machine uses
// JSONata ($toMillis). No Lambda function to patch or pay for. S3 Inventory
// or Storage Lens would be daily at best.
//
// The alarm treats missing data as breaching: if the check stops
// reporting (rule disabled, role broken), that alarms too.
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
		Definition:    checkDefinition(this, props.Bucket, prefix, *maxAge.ToMilliseconds(nil), dimensions),
		QueryLanguage: sfn.QueryLanguage_JSONATA,
		Role:          role,
		Timeout:       awscdk.Duration_Minutes(jsii.Number(checkMinutes)),
		Alarms:        props.Alarms,
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

// checkDefinition pages through the prefix, counting objects older than
// maxAgeMillis before the execution started, and puts the count.
func checkDefinition(scope constructs.Construct, bucket awss3.IBucket, prefix string, maxAgeMillis float64, dimensions map[string]*string) sfn.IChainable {
	start := sfn.Pass_Jsonata(scope, jsii.String("StartCheck"), &sfn.PassJsonataProps{
		Comment: jsii.String("Listing starts after the prefix itself: StartAfter then carries the last key of each page."),
		Assign:  &map[string]interface{}{"stale": 0, "after": prefix, "pages": 0},
	})
	cutoff := fmt.Sprintf("$toMillis($states.context.Execution.StartTime) - %.0f", maxAgeMillis)
	list := tasks.CallAwsService_Jsonata(scope, jsii.String("ListObjectsPage"), &tasks.CallAwsServiceJsonataProps{
		Service: jsii.String("s3"),
		Action:  jsii.String("listObjectsV2"),
		Parameters: &map[string]interface{}{
			"Bucket": bucket.BucketName(), "Prefix": prefix, "StartAfter": "{% $after %}", "MaxKeys": keysPerPage,
		},
		// The IAM action for ListObjectsV2 is s3:ListBucket.
		IamAction:    jsii.String("s3:ListBucket"),
		IamResources: jsii.Strings(*bucket.BucketArn()),
		Assign: &map[string]interface{}{
			"stale": fmt.Sprintf("{%% $stale + $count($states.result.Contents[$toMillis(LastModified) <= %s]) %%}", cutoff),
			"after": "{% $states.result.IsTruncated ? $states.result.Contents[-1].Key : '' %}",
			"pages": "{% $pages + 1 %}",
		},
	})
	workflow.Retriable(list)
	var dims []map[string]interface{}
	for _, name := range []string{"Bucket", "Prefix"} {
		dims = append(dims, map[string]interface{}{"Name": name, "Value": dimensions[name]})
	}
	put := metrics.Put(scope, "PutStaleObjectCount", []map[string]interface{}{{
		"MetricName": StaleMetricName, "Dimensions": dims, "Value": "{% $stale %}", "Unit": "Count",
	}}, map[string]interface{}{"staleObjects": "{% $stale %}", "pages": "{% $pages %}"})
	more := sfn.Choice_Jsonata(scope, jsii.String("HasMorePages"), nil).
		When(sfn.Condition_Jsonata(jsii.String(fmt.Sprintf("{%% $after != '' and $pages < %d %%}", maxPages))), list, nil).
		Otherwise(put)
	return sfn.Chain_Start(start).Next(list).Next(more)
}
