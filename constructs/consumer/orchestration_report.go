package consumer

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	tasks "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// RunReportSuffix names a run's accounting report: reports/<run id> + suffix,
// beside the Glue job's own reports/<run id>.json.
const RunReportSuffix = "-run.json"

// checkJobAccounting adds $.jobAccounting.balanced: whether the job's report accounts
// for every lead it read and every row it took from retry/ (read + retried =
// dropped by reason + kept). A job that lost leads on the way must not be
// loaded as if it had not.
const checkJobAccounting = `{% (
  $job := $states.input.job.report;
  $dropped := $sum([$each($job.rejected, function($n) { $n })]);
  $retried := $exists($job.retried) ? $job.retried : 0;
  $merge([$states.input, {"jobAccounting": {"dropped": $dropped, "balanced": $job.read + $retried = $dropped + $job.kept}}])
) %}`

// composeRunReport writes $.runReport, the run's accounting: leads read,
// rows retried (refused by the last load, sent again) and quarantined
// (refused too often, in quarantine/), dropped by reason and repaired (the
// job's report), sent to Salesforce (kept), and of those loaded or rejected
// (AppFlow's PutFailuresCount), so that read + retried = dropped + sent and
// sent = loaded + rejected. Rejected records are at the flow's error location.
func composeRunReport(errorsAt string) string {
	return fmt.Sprintf(`{%% (
  $job := $states.input.job.report;
  $sent := $job.kept;
  $rejected := $exists($states.input.loadStatus) ? $states.input.loadStatus.rejected : 0;
  $merge([$states.input, {"runReport": {
    "runId": $states.input.run.runId,
    "read": $job.read,
    "retried": $exists($job.retried) ? $job.retried : 0,
    "quarantined": $exists($job.quarantined) ? $job.quarantined : 0,
    "dropped": $job.rejected,
    "repaired": $exists($job.repaired) ? $job.repaired : {},
    "sent": $sent,
    "loaded": $sent - $rejected,
    "rejected": $rejected,
    "flowExecutionId": $exists($states.input.load) ? $states.input.load.executionId : null,
    "appflowRecordsProcessed": $exists($states.input.loadStatus) ? $states.input.loadStatus.recordsProcessed : null,
    "rejectedRecordsAt": $exists($states.input.load) ? "%s" & $states.input.load.executionId & "/" : null
  }}])
) %%}`, errorsAt)
}

// checkJobReport follows the job's report: a report that does not balance
// fails the run before anything is loaded; no kept lead skips the load.
func (o *orchestration) checkJobReport(load, noLeads sfn.IChainable) sfn.IChainable {
	check := sfn.Pass_Jsonata(o.scope, jsii.String("CheckJobAccounting"), &sfn.PassJsonataProps{Outputs: jsii.String(checkJobAccounting)})
	return check.Next(sfn.NewChoice(o.scope, jsii.String("DidJobKeepLeads"), nil).
		When(sfn.Condition_BooleanEquals(jsii.String("$.jobAccounting.balanced"), jsii.Bool(false)),
			o.failWith("LeadsUnaccounted", "The filter job's report does not balance (read != dropped + kept); nothing was loaded or moved."), nil).
		When(sfn.Condition_NumberGreaterThan(jsii.String("$.job.report.kept"), jsii.Number(0)), load, nil).
		Otherwise(noLeads))
}

// reportRun writes the run's accounting to reports/<run id>-run.json and, when
// Salesforce refused records, publishes their number on the flow's
// RejectedRows metric (an alarm watches it), then goes on to then: the load
// is settled either way, and the refused records stay at the error location.
func (o *orchestration) reportRun(then sfn.IChainable) sfn.IChainable {
	errorsAt := fmt.Sprintf("s3://%s/%s%s/", *o.bucket.BucketName(), ErrorsPrefix, *o.props.SalesforceFlowName)
	compose := sfn.Pass_Jsonata(o.scope, jsii.String("ComposeRunReport"), &sfn.PassJsonataProps{Outputs: jsii.String(composeRunReport(errorsAt))})
	write := tasks.NewCallAwsService(o.scope, jsii.String("WriteRunReport"), &tasks.CallAwsServiceProps{
		Service: jsii.String("s3"),
		Action:  jsii.String("putObject"),
		Parameters: &map[string]interface{}{
			"Bucket": o.bucket.BucketName(),
			"Key":    sfn.JsonPath_Format(jsii.String(ReportsPrefix+"{}"+RunReportSuffix), sfn.JsonPath_StringAt(jsii.String("$.run.runId"))),
			// An object, which Step Functions writes as JSON; a string from
			// States.JsonToString would be written JSON-quoted a second time.
			"Body":        sfn.JsonPath_ObjectAt(jsii.String("$.runReport")),
			"ContentType": "application/json",
		},
		IamResources: jsii.Strings(*o.bucket.ArnForObjects(jsii.String(ReportsPrefix + "*"))),
		ResultPath:   sfn.JsonPath_DISCARD(),
	})
	workflow.Retriable(write)
	o.catch(write)
	quarantined := o.alarmOnQuarantinedRows(then)
	publish := o.publishRowCount("PublishRejectedRows", RejectedRowsMetric, "$.runReport.rejected")
	publish.Next(quarantined)
	return compose.Next(write).Next(o.publishRunMetrics()).Next(o.keepRejectedForRetry(sfn.NewChoice(o.scope, jsii.String("DidSalesforceRejectRows"), nil).
		When(sfn.Condition_NumberGreaterThan(jsii.String("$.runReport.rejected"), jsii.Number(0)), publish, nil).
		Otherwise(quarantined)))
}

// newRejectedRowsAlarm fires in the five minutes after a run in which
// Salesforce refused records: one data point per run, so missing data is
// the normal state. Its text says where the records and counts are.
func newRejectedRowsAlarm(scope constructs.Construct, props *OrchestrationStateMachineProps) awscloudwatch.Alarm {
	flow := *props.SalesforceFlowName
	return newRowCountAlarm(scope, "RejectedRowsAlarm", RejectedRowsMetric, props, fmt.Sprintf("Salesforce refused records loaded by flow %s. The records and Salesforce's reasons are under "+
		"s3://%s/%s%s/<flow execution id>/; the run's counts (read, retried, quarantined, dropped, sent, loaded, rejected) are in s3://%s/%s<run id>%s. "+
		"The next run sends them again unless a newer version of the lead replaced them; a row refused by maxLoadAttempts loads goes to quarantine/ instead.",
		flow, *props.Bucket.BucketName(), ErrorsPrefix, flow, *props.Bucket.BucketName(), ReportsPrefix, RunReportSuffix))
}

// newRowCountAlarm fires in the five minutes after a run that put a count
// of at least 1 on the flow's metric: one data point per run, so missing
// data is the normal state.
func newRowCountAlarm(scope constructs.Construct, id, metric string, props *OrchestrationStateMachineProps, description string) awscloudwatch.Alarm {
	return awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String(description),
		Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(workflow.MetricNamespace), MetricName: jsii.String(metric),
			DimensionsMap: &map[string]*string{"Flow": props.SalesforceFlowName},
			Statistic:     jsii.String("Sum"), Period: awscdk.Duration_Minutes(jsii.Number(5)),
		}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
}
