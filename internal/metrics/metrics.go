// Package metrics names the CloudWatch metrics the constructs' MetricXxx
// helpers return: AppFlow's own, and the pipeline's (namespace leadbridge),
// so that dashboards and alarms read the same metric as its publisher writes.
package metrics

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	tasks "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// AppFlowNamespace holds AppFlow's metrics, with the one dimension FlowName:
// FlowExecutionsStarted, FlowExecutionsFailed, FlowExecutionsSucceeded,
// FlowExecutionTime (ms) and FlowExecutionRecordsProcessed (AppFlow guide,
// monitoring-cloudwatch).
const AppFlowNamespace = "AWS/AppFlow"

// AppFlow is one of AppFlow's metrics for a flow, by default the sum per hour.
func AppFlow(flowName *string, metricName string, opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return with(awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String(AppFlowNamespace), MetricName: jsii.String(metricName),
		DimensionsMap: &map[string]*string{"FlowName": flowName},
	}), opts)
}

// Pipeline is one of the pipeline's own metrics, by default the sum per hour.
func Pipeline(metricName string, dimensions map[string]*string, opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return with(awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String(workflow.MetricNamespace), MetricName: jsii.String(metricName), DimensionsMap: &dimensions,
	}), opts)
}

// Hourly is the default of the helpers: runs are hours apart.
var Hourly = &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: awscdk.Duration_Hours(jsii.Number(1))}

func with(m awscloudwatch.Metric, opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	m = m.With(Hourly)
	if opts != nil {
		m = m.With(opts)
	}
	return m
}

// Options is opts over the hourly default, with another default statistic.
func Options(statistic *string, opts *awscloudwatch.MetricOptions) *awscloudwatch.MetricOptions {
	out := *Hourly
	out.Statistic = statistic
	if opts != nil {
		if opts.Statistic != nil {
			out.Statistic = opts.Statistic
		}
		if opts.Period != nil {
			out.Period = opts.Period
		}
		out.Label = opts.Label
	}
	return &out
}

// FiveMinutes is the period of alarms that fire on one data point.
var FiveMinutes = awscdk.Duration_Minutes(jsii.Number(5))

// Put is a JSONata task that puts metricData (a list of MetricDatum, or a
// JSONata expression of one) in the pipeline's namespace, retried like every
// task, with outputs as its output. PutMetricData takes no resource, so the
// task's Allow is on "*": the role must also carry
// workflow.PutMetricsOnlyInNamespace. The caller adds its Catch.
func Put(scope constructs.Construct, id string, metricData, outputs interface{}) tasks.CallAwsService {
	task := tasks.CallAwsService_Jsonata(scope, jsii.String(id), &tasks.CallAwsServiceJsonataProps{
		Service:      jsii.String("cloudwatch"),
		Action:       jsii.String("putMetricData"),
		Parameters:   &map[string]interface{}{"Namespace": workflow.MetricNamespace, "MetricData": metricData},
		IamAction:    jsii.String("cloudwatch:PutMetricData"),
		IamResources: jsii.Strings("*"),
		Outputs:      outputs,
	})
	workflow.Retriable(task)
	return task
}

// FlowCount is one data point of PutFlowCounts: the number at ValuePath on
// the pipeline's per-flow metric Metric.
type FlowCount struct{ Metric, ValuePath string }

// PutFlowCount is a task that puts the number at valuePath on one of the
// pipeline's per-flow metrics; see PutFlowCounts.
func PutFlowCount(scope constructs.Construct, id string, flowName *string, metricName, valuePath string) tasks.CallAwsService {
	return PutFlowCounts(scope, id, flowName, FlowCount{metricName, valuePath})
}

// PutFlowCounts is a task that puts each count on its per-flow metric in
// one request, retried like every task. PutMetricData takes no resource, so
// the task's Allow is on "*": the role must also carry
// workflow.PutMetricsOnlyInNamespace. The caller adds its Catch.
func PutFlowCounts(scope constructs.Construct, id string, flowName *string, counts ...FlowCount) tasks.CallAwsService {
	data := make([]map[string]interface{}, 0, len(counts))
	for _, c := range counts {
		data = append(data, map[string]interface{}{
			"MetricName": c.Metric,
			"Dimensions": []map[string]interface{}{{"Name": "Flow", "Value": flowName}},
			"Unit":       "Count",
			"Value":      sfn.JsonPath_NumberAt(jsii.String(c.ValuePath)),
		})
	}
	task := tasks.NewCallAwsService(scope, jsii.String(id), &tasks.CallAwsServiceProps{
		Service:      jsii.String("cloudwatch"),
		Action:       jsii.String("putMetricData"),
		Parameters:   &map[string]interface{}{"Namespace": workflow.MetricNamespace, "MetricData": data},
		IamAction:    jsii.String("cloudwatch:PutMetricData"),
		IamResources: jsii.Strings("*"),
		ResultPath:   sfn.JsonPath_DISCARD(),
	})
	workflow.Retriable(task)
	return task
}
