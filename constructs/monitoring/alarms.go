package monitoring

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/metrics"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// MaxFreshnessHours is the longest freshness window: an alarm with hourly
// periods evaluates at most 7 days (CloudWatch API reference, PutMetricAlarm:
// Period x EvaluationPeriods at most 604,800 seconds, one day below one-hour periods).
const MaxFreshnessHours = 168

// NewFreshnessAlarm fires when successes, a metric whose hourly sum is at
// least 1 in an hour with a success, saw none in the last windowHours hours.
// An hour without data is breaching: a pipeline where nothing runs at all
// publishes nothing, and that must alarm too (so the alarm is in ALARM from
// deploy until the first success). The caller validates windowHours.
func NewFreshnessAlarm(scope constructs.Construct, id string, successes awscloudwatch.IMetric, windowHours int, alarms *workflow.AlarmTopic, description string) awscloudwatch.Alarm {
	alarm := awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmDescription:   jsii.String(fmt.Sprintf("%s None in the last %d hours.", description, windowHours)),
		Metric:             successes,
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(float64(windowHours)),
		DatapointsToAlarm:  jsii.Number(float64(windowHours)),
		ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_BREACHING,
	})
	alarms.Notify(alarm)
	return alarm
}

// NewDeadLetterAlarm fires as soon as the queue holds a message: an event
// EventBridge could not deliver in a day of retries, i.e. a run that did not
// start. SQS reports a queue's metrics only while it is active, "for up to
// six hours if it contains any messages or if any action accesses it" (SQS
// guide, sqs-monitoring-using-cloudwatch): an idle empty queue reports
// nothing, and so does a queue whose message has waited six hours. Missing
// data therefore keeps the alarm's state (ignore): quiet while idle, in
// ALARM from the message's arrival until reading or deleting it makes the
// queue report again.
func NewDeadLetterAlarm(scope constructs.Construct, id string, queue awssqs.IQueue, alarms *workflow.AlarmTopic, what string) awscloudwatch.Alarm {
	alarm := awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String(what + " could not be started and its event is in dead-letter queue " + *queue.QueueName() +
			": read the message (it holds the event and the error), start the run by hand (README, operations), then delete it."),
		Metric: queue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Statistic: awscloudwatch.Stats_MAXIMUM(), Period: metrics.FiveMinutes,
		}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_IGNORE,
	})
	alarms.Notify(alarm)
	return alarm
}

// GlueJobFailedStates are the job run states that are a failure (Glue guide,
// job-run-statuses); STOPPED is an operator's stop, not a failure.
var GlueJobFailedStates = []string{"FAILED", "TIMEOUT", "ERROR"}

// NewGlueJobFailureRule sends every failed run of the job to the alarm
// topic, with the job run id and Glue's message: a "Glue Job State Change"
// event on the default bus (detail jobName, jobRunId, state, message; Glue
// guide, automating-awsglue-with-cloudwatch-events). Its TriggeredRules
// metric counts failed runs.
func NewGlueJobFailureRule(scope constructs.Construct, id string, jobName *string, alarms *workflow.AlarmTopic) awsevents.Rule {
	field := func(path string) string { return *awsevents.EventField_FromPath(jsii.String(path)) }
	rule := awsevents.NewRule(scope, jsii.String(id), &awsevents.RuleProps{
		Description: jsii.String("Alarms when a run of the filter job fails or times out."),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.glue"),
			DetailType: jsii.Strings("Glue Job State Change"),
			Detail:     &map[string]interface{}{"jobName": []*string{jobName}, "state": jsii.Strings(GlueJobFailedStates...)},
		},
	})
	alarms.Alert(rule, awsevents.RuleTargetInput_FromText(jsii.String("Glue job "+field("$.detail.jobName")+" run "+field("$.detail.jobRunId")+
		" ended "+field("$.detail.state")+": "+field("$.detail.message")+
		". The orchestration that started it fails too; fix the cause, then recover that execution (README, Recovering a failed run: make recover).")))
	return rule
}
