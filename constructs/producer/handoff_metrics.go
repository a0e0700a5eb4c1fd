package producer

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/leadbridge/leadbridge/internal/metrics"
)

// Per flow (in workflow.MetricNamespace): ObjectsHandedOffMetric counts the
// objects a hand-off copied to every consumer itself; ObjectsSkippedMetric
// counts those it found already handed off (their source gone from landing/,
// archived by another execution for the same run, which archives only after
// copying every object to every consumer).
const (
	ObjectsHandedOffMetric = "ObjectsHandedOff"
	ObjectsSkippedMetric   = "ObjectsSkipped"
)

// publishHandoffCounts puts the run's objects copied and skipped on the
// flow's metrics. A failure to publish fails the hand-off before any
// consumer is told, and a recovery (a new execution with the same input,
// README "Recovering a failed run") repeats it.
func (h *handoffDefinition) publishHandoffCounts(id string, catch func(sfn.TaskStateBase)) sfn.TaskStateBase {
	task := metrics.PutFlowCounts(h.scope, id, h.props.FlowName,
		metrics.FlowCount{Metric: ObjectsHandedOffMetric, ValuePath: "$.copied.objectCount"},
		metrics.FlowCount{Metric: ObjectsSkippedMetric, ValuePath: "$.copied.skippedCount"})
	catch(task)
	return task
}

// MetricObjectsHandedOff counts the objects handed off (sum per hour by default).
func (h *HandoffStateMachine) MetricObjectsHandedOff(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return metrics.Pipeline(ObjectsHandedOffMetric, map[string]*string{"Flow": h.flowName}, opts)
}

// MetricObjectsSkipped counts the objects a hand-off found already handed
// off (sum per hour by default): non-zero when an event was delivered twice.
func (h *HandoffStateMachine) MetricObjectsSkipped(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return metrics.Pipeline(ObjectsSkippedMetric, map[string]*string{"Flow": h.flowName}, opts)
}

// MetricExecutionTime is how long hand-offs took, in milliseconds (maximum by default).
func (h *HandoffStateMachine) MetricExecutionTime(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return h.StateMachine.MetricTime(metrics.Options(awscloudwatch.Stats_MAXIMUM(), opts))
}
