// Package workflow holds what the state machines share: how a task retries,
// a state machine with logs, tracing, a time limit and an alarm that alerts
// on every execution that fails, times out or is aborted, and the alarm
// topic those alarms (and rules) can actually publish to.
package workflow

import (
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/nag"
)

// Construct IDs of the pieces NewStateMachine creates under its scope.
const (
	StateMachineID = "StateMachine"
	LogGroupID     = "Logs"
	AlarmID        = "FailedExecutionsAlarm"
	AlarmTopicID   = "Alarms"
)

// Retriable lets a task retry every error but the given ones, with
// exponential backoff and full jitter: 6 attempts over about two minutes.
// The given errors are meant to be caught: they are answers, not glitches.
// Never pass States.TaskFailed: in a retrier it matches every error but
// States.Timeout (Step Functions guide, error handling), so nothing would
// be retried; use RetryOnly for a task whose failure is an answer.
func Retriable(task awsstepfunctions.TaskStateBase, notRetried ...string) {
	if len(notRetried) > 0 {
		task.AddRetry(&awsstepfunctions.RetryProps{Errors: jsii.Strings(notRetried...), MaxAttempts: jsii.Number(0)})
	}
	RetryOnly(task, *awsstepfunctions.Errors_ALL())
}

// RetryOnly lets a task retry the given (transient) errors with the same
// backoff as Retriable; every other error goes straight to its Catch.
func RetryOnly(task awsstepfunctions.TaskStateBase, transient ...string) {
	task.AddRetry(&awsstepfunctions.RetryProps{
		Errors:         jsii.Strings(transient...),
		Interval:       awscdk.Duration_Seconds(jsii.Number(2)),
		BackoffRate:    jsii.Number(2),
		MaxAttempts:    jsii.Number(6),
		MaxDelay:       awscdk.Duration_Seconds(jsii.Number(60)),
		JitterStrategy: awsstepfunctions.JitterType_FULL,
	})
}

// MetricNamespace holds the pipeline's own CloudWatch metrics.
const MetricNamespace = "leadbridge"

// PutMetricsOnlyInNamespace denies the role cloudwatch:PutMetricData in every
// namespace but MetricNamespace. PutMetricData takes no resource, so the
// task's Allow is on "*"; the cloudwatch:namespace condition key limits it
// (CloudWatch guide, iam-cw-condition-keys-namespace).
func PutMetricsOnlyInNamespace(role awsiam.IRole) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:     awsiam.Effect_DENY,
		Actions:    jsii.Strings("cloudwatch:PutMetricData"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]interface{}{"StringNotEquals": map[string]interface{}{"cloudwatch:namespace": MetricNamespace}},
	}))
}

// Props configures NewStateMachine.
type Props struct {
	Definition awsstepfunctions.IChainable
	Role       awsiam.IRole
	Timeout    awscdk.Duration
	// QueryLanguage of the definition. Default: - JSONPath.
	QueryLanguage awsstepfunctions.QueryLanguage
	// Alarms receives the failed-execution alarm. Default: - a new AlarmTopic.
	Alarms *AlarmTopic
	// AlarmEmail subscribes an address to a new alarm topic. Default: - no subscription.
	AlarmEmail *string
}

// Parts are the resources NewStateMachine creates, exported by the constructs.
type Parts struct {
	StateMachine awsstepfunctions.StateMachine
	LogGroup     awslogs.LogGroup
	AlarmTopic   awssns.Topic
	Alarm        awscloudwatch.Alarm
	// FailureRule sends each execution that does not succeed, by name and
	// cause, to the alarm topic.
	FailureRule awsevents.Rule
	// Alarms is where this state machine's alarms go; other alarms of the
	// same construct can be added to it with Alarms.Notify.
	Alarms *AlarmTopic
}

// LogGroupPrefix is where Step Functions log groups belong: the account's
// CloudWatch Logs resource policy, which Step Functions extends for each
// logging log group, is capped at 5,120 characters, and one entry for
// /aws/vendedlogs/* covers them all (Step Functions guide, bp-cwl).
const LogGroupPrefix = "/aws/vendedlogs/states/"

var notInLogGroupName = regexp.MustCompile(`[^A-Za-z0-9_/.#-]`)

// LogGroupName is the fixed log group name of the state machine at scope:
// the prefix and the construct path, which holds the stack name and so the
// project and consumer name: unique per stack, also for two consumers in
// one account. The group is retained when its stack is deleted, so a stack
// created again under the same name needs it deleted first.
func LogGroupName(scope constructs.Construct) string {
	return LogGroupPrefix + notInLogGroupName.ReplaceAllString(constructPath(scope), "-")
}

// constructPath is scope's path without "Default" components, which CDK
// leaves out of logical IDs too: a stack that composes a pattern construct
// with ID "Default" keeps the names it had when it held the constructs directly.
func constructPath(scope constructs.Construct) string {
	parts := strings.Split(*scope.Node().Path(), "/")
	return strings.Join(slices.DeleteFunc(parts, func(p string) bool { return p == "Default" }), "/")
}

// NewStateMachine creates a standard state machine that logs errors (with
// data) to a retained log group, traces with X-Ray, and alarms on any
// execution that does not succeed. Level ERROR logs the failed task, its
// error and input, and the failed execution, not every state of every run:
// Logs charges per GB ingested, and a Distributed Map logs each child.
func NewStateMachine(scope constructs.Construct, props *Props) Parts {
	logs := awslogs.NewLogGroup(scope, jsii.String(LogGroupID), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String(LogGroupName(scope)),
		Retention:     awslogs.RetentionDays_ONE_YEAR,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	sm := awsstepfunctions.NewStateMachine(scope, jsii.String(StateMachineID), &awsstepfunctions.StateMachineProps{
		DefinitionBody: awsstepfunctions.DefinitionBody_FromChainable(props.Definition),
		QueryLanguage:  props.QueryLanguage,
		Role:           props.Role,
		Timeout:        props.Timeout,
		TracingEnabled: jsii.Bool(true),
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ERROR,
			IncludeExecutionData: jsii.Bool(true),
		},
	})
	alarms := props.Alarms
	if alarms == nil {
		alarms = NewAlarmTopic(scope, &AlarmTopicProps{Email: props.AlarmEmail})
	}
	period := awscdk.Duration_Minutes(jsii.Number(5))
	opts := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: period}
	// The three metrics are sparse: a period without such an execution has
	// no data point at all, and metric math over a missing point gives no
	// value, so without FILL one failed execution alone would not raise the
	// alarm (CloudWatch guide, metric math: FILL).
	notSucceeded := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Label:      jsii.String("Executions failed, timed out or aborted"),
		Expression: jsii.String("FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)"),
		Period:     period,
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"failed":   sm.MetricFailed(opts),
			"timedOut": sm.MetricTimedOut(opts),
			"aborted":  sm.MetricAborted(opts),
		},
	})
	alarm := awscloudwatch.NewAlarm(scope, jsii.String(AlarmID), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String("An execution of " + constructPath(scope) + " did not succeed: see its execution history."),
		Metric:             notSucceeded,
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	alarms.Notify(alarm)
	failureRule := newFailureRule(scope, sm, logs, alarms)

	// Log delivery and X-Ray APIs have no resource-level permissions.
	nag.Suppress(props.Role, true, nag.Suppression{
		ID:        "AwsSolutions-IAM5",
		Reason:    "CloudWatch Logs delivery and X-Ray trace APIs support only Resource '*' (added by CDK for logging and tracing).",
		AppliesTo: []string{"Resource::*"},
	})
	nag.Suppress(sm, false, nag.Suppression{
		ID: "AwsSolutions-SF1",
		Reason: "Logs at level ERROR with execution data by choice: every failed state with its input, error and cause, and the " +
			"failed execution; the full history of every execution stays in Step Functions (90 days). ALL would log each state of each run.",
	})
	// A Distributed Map starts, describes and stops its own child executions,
	// whose names are not known in advance.
	nag.Suppress(sm, true, nag.Suppression{
		ID:             "AwsSolutions-IAM5",
		Reason:         "A Distributed Map manages child executions of this state machine only; their names are generated at run time.",
		AppliesToRegex: []string{`/^Resource::arn:(<AWS::Partition>|[^:]+):states:[^:]+:\d{12}:(stateMachine|execution|mapRun):.*\*$/g`},
	})
	return Parts{StateMachine: sm, LogGroup: logs, AlarmTopic: alarms.Topic, Alarm: alarm, FailureRule: failureRule, Alarms: alarms}
}

// SuppressWildcards records, on a role and its policies, why the AwsSolutions-IAM5
// findings matching appliesToRegex are acceptable.
func SuppressWildcards(role awsiam.IRole, reason, appliesToRegex string) {
	nag.Suppress(role, true, nag.Suppression{
		ID:             "AwsSolutions-IAM5",
		Reason:         reason,
		AppliesToRegex: []string{appliesToRegex},
	})
}
