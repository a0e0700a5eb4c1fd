package producer

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/leadbridge/leadbridge/internal/metrics"
)

// MetricFlowExecutionsSucceeded counts the flow's successful runs (sum per hour by default).
func (f *MarketoFlow) MetricFlowExecutionsSucceeded(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return metrics.AppFlow(f.FlowName, "FlowExecutionsSucceeded", opts)
}

// MetricFlowExecutionsFailed counts the flow's failed runs.
func (f *MarketoFlow) MetricFlowExecutionsFailed(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return metrics.AppFlow(f.FlowName, "FlowExecutionsFailed", opts)
}

// MetricFlowExecutionRecordsProcessed counts the records the flow's runs pulled from Marketo.
func (f *MarketoFlow) MetricFlowExecutionRecordsProcessed(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return metrics.AppFlow(f.FlowName, "FlowExecutionRecordsProcessed", opts)
}

// MetricFlowExecutionTime is how long the flow's runs took, in milliseconds (maximum by default).
func (f *MarketoFlow) MetricFlowExecutionTime(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return metrics.AppFlow(f.FlowName, "FlowExecutionTime", metrics.Options(awscloudwatch.Stats_MAXIMUM(), opts))
}
