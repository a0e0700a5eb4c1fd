package consumer

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/metrics"
)

// MetricElapsedTime is how long the job's runs took, in milliseconds
// (maximum per hour by default): glue.driver.aggregate.elapsedTime, which the
// job publishes because it runs with --enable-metrics (namespace Glue,
// dimensions JobName, JobRunId ALL, Type count; Glue guide,
// monitoring-awsglue-with-cloudwatch-metrics).
func (j *FilterJob) MetricElapsedTime(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String("Glue"),
		MetricName:    jsii.String("glue.driver.aggregate.elapsedTime"),
		DimensionsMap: &map[string]*string{"JobName": j.JobName, "JobRunId": jsii.String("ALL"), "Type": jsii.String("count")},
	}).With(metrics.Options(awscloudwatch.Stats_MAXIMUM(), opts))
}
