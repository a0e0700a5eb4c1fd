package consumer

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/metrics"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// Per-run metrics of a Salesforce flow (dimension Flow, in
// workflow.MetricNamespace), published from the run report once the load is
// settled; LeadsDropped also has the dimension Reason. RunsReported is 1 per
// run: the freshness alarm watches it.
const (
	RunsReportedMetric    = "RunsReported"
	LeadsReadMetric       = "LeadsRead"
	LeadsSentMetric       = "LeadsSent"
	LeadsLoadedMetric     = "LeadsLoaded"
	LeadsDroppedMetric    = "LeadsDropped"
	LockWaitSecondsMetric = "LockWaitSeconds"
	// CrawlSecondsMetric is published after the crawl, once it succeeded.
	CrawlSecondsMetric = "CrawlSeconds"
)

// runMetrics builds PutMetricData's MetricData from $.runReport: one datum
// per count, and one LeadsDropped per reason the job dropped leads for.
func runMetrics(flowName string) string {
	return fmt.Sprintf(`{%% (
  $r := $states.input.runReport;
  $flow := {"Name": "Flow", "Value": %q};
  $count := function($name, $value, $unit) { {"MetricName": $name, "Dimensions": [$flow], "Unit": $unit, "Value": $value} };
  $append([
    $count(%q, 1, "Count"), $count(%q, $r.read, "Count"), $count(%q, $r.sent, "Count"), $count(%q, $r.loaded, "Count"),
    $count(%q, $states.input.lockWaits.count * %d, "Seconds")
  ], $each($r.dropped, function($n, $reason) {
    {"MetricName": %q, "Dimensions": [$flow, {"Name": "Reason", "Value": $reason}], "Unit": "Count", "Value": $n}
  }))
) %%}`, flowName, RunsReportedMetric, LeadsReadMetric, LeadsSentMetric, LeadsLoadedMetric, LockWaitSecondsMetric, lockWaitSeconds, LeadsDroppedMetric)
}

// publishRunMetrics puts the run report's counts on the flow's metrics, for
// the dashboard and the freshness alarm, and passes its input on unchanged.
func (o *orchestration) publishRunMetrics() sfn.IChainable {
	task := metrics.Put(o.scope, "PublishRunMetrics", runMetrics(*o.props.SalesforceFlowName), "{% $states.input %}")
	// A JSONata state catches with Output, not ResultPath: the error goes
	// where the failure path reads it.
	task.AddCatch(o.failed, &sfn.CatchProps{
		Outputs: errorIntoInput,
		Assign:  &map[string]interface{}{workflow.FailedStateVariable: "{% $states.context.State.Name %}"},
	})
	return task
}

// errorIntoInput is a JSONata Catch's output: the state's input with the
// error at $.error, where a Fail state's CausePath reads it.
const errorIntoInput = `{% $merge([$states.input, {"error": $states.errorOutput}]) %}`

func (s *OrchestrationStateMachine) flowMetric(name string, opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return metrics.Pipeline(name, map[string]*string{"Flow": s.flowName}, opts)
}

// MetricRunsReported counts runs whose load settled (sum per hour by default).
func (s *OrchestrationStateMachine) MetricRunsReported(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return s.flowMetric(RunsReportedMetric, opts)
}

// MetricLeadsRead counts the leads the filter job read.
func (s *OrchestrationStateMachine) MetricLeadsRead(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return s.flowMetric(LeadsReadMetric, opts)
}

// MetricLeadsSent counts the leads sent on to Salesforce.
func (s *OrchestrationStateMachine) MetricLeadsSent(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return s.flowMetric(LeadsSentMetric, opts)
}

// MetricLeadsLoaded counts the leads Salesforce took.
func (s *OrchestrationStateMachine) MetricLeadsLoaded(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return s.flowMetric(LeadsLoadedMetric, opts)
}

// MetricLeadsRejected counts the leads Salesforce refused (published only when some were).
func (s *OrchestrationStateMachine) MetricLeadsRejected(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return s.flowMetric(RejectedRowsMetric, opts)
}

// MetricLockWaitSeconds is how long runs waited for the run lock (maximum by default).
func (s *OrchestrationStateMachine) MetricLockWaitSeconds(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return s.flowMetric(LockWaitSecondsMetric, metrics.Options(awscloudwatch.Stats_MAXIMUM(), opts))
}

// MetricCrawlSeconds is how long the crawls of archive/ took, to the 30 s
// poll (maximum by default).
func (s *OrchestrationStateMachine) MetricCrawlSeconds(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return s.flowMetric(CrawlSecondsMetric, metrics.Options(awscloudwatch.Stats_MAXIMUM(), opts))
}

// MetricLeadsDroppedByReason is one line per reason the filter job dropped
// leads for: a SEARCH over the Reason dimension, whose values are the job's.
func (s *OrchestrationStateMachine) MetricLeadsDroppedByReason() awscloudwatch.IMetric {
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String(fmt.Sprintf(`SEARCH('{%s,Flow,Reason} MetricName="%s" Flow="%s"', 'Sum', 3600)`,
			workflow.MetricNamespace, LeadsDroppedMetric, *s.flowName)),
		Label:  jsii.String(""),
		Period: metrics.Hourly.Period,
	})
}

// MetricExecutionTime is how long executions took, in milliseconds (maximum by default).
func (s *OrchestrationStateMachine) MetricExecutionTime(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return s.StateMachine.MetricTime(metrics.Options(awscloudwatch.Stats_MAXIMUM(), opts))
}
