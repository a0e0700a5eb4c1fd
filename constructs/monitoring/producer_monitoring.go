package monitoring

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/leadbridge/leadbridge/constructs/producer"
	"github.com/leadbridge/leadbridge/internal/metrics"
	"github.com/leadbridge/leadbridge/internal/validate"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// ProducerMonitoringProps configures ProducerMonitoring.
type ProducerMonitoringProps struct {
	// DashboardName is the dashboard's name, unique in the account and region.
	DashboardName *string
	Flow          *producer.MarketoFlow
	Handoff       *producer.HandoffStateMachine
	Completion    *producer.CompletionRule
	MissedRun     *StaleObjectsCheck
	Alarms        *workflow.AlarmTopic
	// FreshnessHours is how long without a successful Marketo pull before
	// the freshness alarm fires: the schedule plus a margin, 2 to 168.
	FreshnessHours *float64
}

// ProducerMonitoring is the producer's dashboard and the alarms that watch
// the pipeline from outside its executions: no pull for too long, an event
// that could not start the hand-off.
type ProducerMonitoring struct {
	constructs.Construct
	Dashboard       awscloudwatch.Dashboard
	FreshnessAlarm  awscloudwatch.Alarm
	DeadLetterAlarm awscloudwatch.Alarm
}

func (p *ProducerMonitoringProps) validate() error {
	return validateSide(map[string]any{"Flow": p.Flow, "Handoff": p.Handoff, "Completion": p.Completion, "MissedRun": p.MissedRun, "Alarms": p.Alarms},
		p.DashboardName, p.FreshnessHours)
}

// NewProducerMonitoring creates the dashboard and alarms.
func NewProducerMonitoring(scope constructs.Construct, id *string, props *ProducerMonitoringProps) *ProducerMonitoring {
	if props == nil {
		props = &ProducerMonitoringProps{}
	}
	validate.Must("ProducerMonitoring", props.validate())
	this := constructs.NewConstruct(scope, id)
	fresh := NewFreshnessAlarm(this, "NoMarketoPullAlarm", props.Flow.MetricFlowExecutionsSucceeded(nil), int(*props.FreshnessHours), props.Alarms,
		"No successful run of Marketo flow "+*props.Flow.FlowName+": check the flow's run history and its Marketo connection.")
	dlq := NewDeadLetterAlarm(this, "HandoffNotStartedAlarm", props.Completion.DeadLetterQueue, props.Alarms, "A hand-off")
	NewDeadLetterAlarm(this, "MissedRunCheckNotStartedAlarm", props.MissedRun.DeadLetterQueue, props.Alarms, "A missed-run check")
	f, h := props.Flow, props.Handoff
	dashboard := newDashboard(this, *props.DashboardName,
		[]awscloudwatch.IWidget{alarmStatus(fresh, dlq, h.Monitoring.Alarm, props.MissedRun.Alarm)},
		[]awscloudwatch.IWidget{
			graph("Marketo flow runs", f.MetricFlowExecutionsSucceeded(nil), f.MetricFlowExecutionsFailed(nil)),
			graph("Marketo records pulled", f.MetricFlowExecutionRecordsProcessed(nil)),
			graph("Marketo run time (ms)", f.MetricFlowExecutionTime(nil)),
		},
		[]awscloudwatch.IWidget{
			executions("Hand-off executions", h.StateMachine),
			graph("Hand-off duration (ms)", h.MetricExecutionTime(nil)),
			graph("Objects copied to every consumer and archived", h.MetricObjectsHandedOff(nil)),
		},
		[]awscloudwatch.IWidget{
			deadLetters(props.Completion.DeadLetterQueue, props.MissedRun.DeadLetterQueue),
			graph("Objects left in landing/ (missed runs)", props.MissedRun.MetricStaleObjects(metrics.Options(awscloudwatch.Stats_MAXIMUM(), nil))),
		},
	)
	return &ProducerMonitoring{Construct: this, Dashboard: dashboard, FreshnessAlarm: fresh, DeadLetterAlarm: dlq}
}
