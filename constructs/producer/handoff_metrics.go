package producer

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/leadbridge/leadbridge/internal/metrics"
)

// ObjectsHandedOffMetric counts, per flow (in workflow.MetricNamespace), the
// objects a hand-off copied to every consumer and archived.
const ObjectsHandedOffMetric = "ObjectsHandedOff"

// publishObjectsHandedOff puts the number of objects of the run just copied
// and archived on the flow's ObjectsHandedOff metric. A failure to publish
// fails the hand-off before any consumer is told, and a recovery (a new
// execution with the same input, README "Recovering a failed run") repeats it.
func (h *handoffDefinition) publishObjectsHandedOff(catch func(sfn.TaskStateBase)) sfn.TaskStateBase {
	task := metrics.PutFlowCount(h.scope, "PublishObjectsHandedOff", h.props.FlowName, ObjectsHandedOffMetric, "$.copied.objectCount")
	catch(task)
	return task
}

// MetricObjectsHandedOff counts the objects handed off (sum per hour by default).
func (h *HandoffStateMachine) MetricObjectsHandedOff(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return metrics.Pipeline(ObjectsHandedOffMetric, map[string]*string{"Flow": h.flowName}, opts)
}

// MetricExecutionTime is how long hand-offs took, in milliseconds (maximum by default).
func (h *HandoffStateMachine) MetricExecutionTime(opts *awscloudwatch.MetricOptions) awscloudwatch.Metric {
	return h.StateMachine.MetricTime(metrics.Options(awscloudwatch.Stats_MAXIMUM(), opts))
}
