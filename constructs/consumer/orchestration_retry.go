package consumer

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	tasks "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// QuarantinedRowsMetric counts, per Salesforce flow (in workflow.MetricNamespace),
// the rows a run moved to quarantine/ because loads refused them too often.
const QuarantinedRowsMetric = "QuarantinedRows"

// keepRejectedForRetry, once a run's load is settled, leaves the next run a
// marker (RetryMarkerKey) naming the records Salesforce refused, or removes
// the marker when it refused none. The next run's filter job reads the
// marker: it finds the refused rows among the rows this run sent, by upsert
// key, and sends them again unless a newer version replaced them, or moves
// them to quarantine/ once they were refused MaxLoadAttempts times. The
// marker changes only after a settled load, so a failed run, recovered,
// retries the same rows again.
func (o *orchestration) keepRejectedForRetry(then sfn.IChainable) sfn.IChainable {
	put := tasks.NewCallAwsService(o.scope, jsii.String("KeepRejectedRowsForRetry"), &tasks.CallAwsServiceProps{
		Service: jsii.String("s3"),
		Action:  jsii.String("putObject"),
		Parameters: &map[string]interface{}{
			"Bucket": o.bucket.BucketName(),
			"Key":    RetryMarkerKey,
			"Body": map[string]interface{}{
				"runId":             sfn.JsonPath_StringAt(jsii.String("$.runReport.runId")),
				"rejected":          sfn.JsonPath_NumberAt(jsii.String("$.runReport.rejected")),
				"rejectedRecordsAt": sfn.JsonPath_StringAt(jsii.String("$.runReport.rejectedRecordsAt")),
			},
			"ContentType": "application/json",
		},
		IamResources: jsii.Strings(*o.bucket.ArnForObjects(jsii.String(RetryMarkerKey))),
		ResultPath:   sfn.JsonPath_DISCARD(),
	})
	clear := tasks.NewCallAwsService(o.scope, jsii.String("ClearRetryMarker"), &tasks.CallAwsServiceProps{
		Service:      jsii.String("s3"),
		Action:       jsii.String("deleteObject"),
		Parameters:   &map[string]interface{}{"Bucket": o.bucket.BucketName(), "Key": RetryMarkerKey},
		IamResources: jsii.Strings(*o.bucket.ArnForObjects(jsii.String(RetryMarkerKey))),
		ResultPath:   sfn.JsonPath_DISCARD(),
	})
	for _, task := range []tasks.CallAwsService{put, clear} {
		workflow.Retriable(task)
		o.catch(task)
		task.Next(then)
	}
	return sfn.NewChoice(o.scope, jsii.String("DidLoadRefuseRows"), nil).
		When(sfn.Condition_NumberGreaterThan(jsii.String("$.runReport.rejected"), jsii.Number(0)), put, nil).
		Otherwise(clear)
}

// alarmOnQuarantinedRows publishes the rows the job quarantined on the flow's
// QuarantinedRows metric when there are any, then goes on to then.
func (o *orchestration) alarmOnQuarantinedRows(then sfn.IChainable) sfn.IChainable {
	publish := o.publishRowCount("PublishQuarantinedRows", QuarantinedRowsMetric, "$.runReport.quarantined")
	publish.Next(then)
	return sfn.NewChoice(o.scope, jsii.String("DidJobQuarantineRows"), nil).
		When(sfn.Condition_NumberGreaterThan(jsii.String("$.runReport.quarantined"), jsii.Number(0)), publish, nil).
		Otherwise(then)
}

// newQuarantinedRowsAlarm fires after a run that quarantined rows: leads that
// will not reach Salesforce until someone fixes them.
func newQuarantinedRowsAlarm(scope constructs.Construct, props *OrchestrationStateMachineProps) awscloudwatch.Alarm {
	bucket := *props.Bucket.BucketName()
	return newRowCountAlarm(scope, "QuarantinedRowsAlarm", QuarantinedRowsMetric, props, fmt.Sprintf(
		"Salesforce refused rows of flow %s at every allowed load; they are no longer sent. Each row, its attempts and Salesforce's last error "+
			"are under s3://%s/%srun_id=<run id>/; the run's counts are in s3://%s/%s<run id>%s. Fix the lead in Marketo (a newer version is "+
			"loaded as usual) or in Salesforce.", *props.SalesforceFlowName, bucket, QuarantinePrefix, bucket, ReportsPrefix, RunReportSuffix))
}

// MetricQuarantinedRows is the rows the flow's runs quarantined (published only when there are some).
func (s *OrchestrationStateMachine) MetricQuarantinedRows(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return s.flowMetric(QuarantinedRowsMetric, opts)
}
