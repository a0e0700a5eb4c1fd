package monitoring

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/constructs/consumer"
	"github.com/leadbridge/leadbridge/internal/metrics"
	"github.com/leadbridge/leadbridge/internal/validate"
	"github.com/leadbridge/leadbridge/internal/workflow"
)

// ConsumerMonitoringProps configures ConsumerMonitoring.
type ConsumerMonitoringProps struct {
	// DashboardName is the dashboard's name, unique in the account and region.
	DashboardName *string
	Orchestration *consumer.OrchestrationStateMachine
	FilterJob     *consumer.FilterJob
	HandoffBus    *consumer.HandoffBus
	Unprocessed   *StaleObjectsCheck
	Alarms        *workflow.AlarmTopic
	// FreshnessHours is how long without a settled load before the freshness
	// alarm fires: the producer's schedule plus a margin, 2 to 168.
	FreshnessHours *float64
}

// ConsumerMonitoring is a consumer's dashboard and the alarms that watch it
// from outside its executions: no load for too long, a hand-off event that
// could not start the orchestration, a failed Glue job run.
type ConsumerMonitoring struct {
	constructs.Construct
	Dashboard       awscloudwatch.Dashboard
	FreshnessAlarm  awscloudwatch.Alarm
	DeadLetterAlarm awscloudwatch.Alarm
	// JobFailureRule sends each failed filter job run to the alarm topic.
	JobFailureRule awsevents.Rule
}

func (p *ConsumerMonitoringProps) validate() error {
	return validateSide(map[string]any{"Orchestration": p.Orchestration, "FilterJob": p.FilterJob, "HandoffBus": p.HandoffBus,
		"Unprocessed": p.Unprocessed, "Alarms": p.Alarms}, p.DashboardName, p.FreshnessHours)
}

// NewConsumerMonitoring creates the dashboard and alarms.
func NewConsumerMonitoring(scope constructs.Construct, id *string, props *ConsumerMonitoringProps) *ConsumerMonitoring {
	if props == nil {
		props = &ConsumerMonitoringProps{}
	}
	validate.Must("ConsumerMonitoring", props.validate())
	this := constructs.NewConstruct(scope, id)
	o := props.Orchestration
	fresh := NewFreshnessAlarm(this, "NoLoadAlarm", o.MetricRunsReported(nil), int(*props.FreshnessHours), props.Alarms,
		"No run was loaded into Salesforce (or found nothing to load): check the producer's hand-offs and this orchestration's executions.")
	dlq := NewDeadLetterAlarm(this, "OrchestrationNotStartedAlarm", props.HandoffBus.DeadLetterQueue, props.Alarms, "An orchestration")
	NewDeadLetterAlarm(this, "UnprocessedRunCheckNotStartedAlarm", props.Unprocessed.DeadLetterQueue, props.Alarms, "An unprocessed-run check")
	jobFailed := NewGlueJobFailureRule(this, "FilterJobFailed", props.FilterJob.JobName, props.Alarms)
	catalogFailed := o.CatalogAlarmRule
	triggered := func(rule awsevents.Rule, label string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/Events"), MetricName: jsii.String("TriggeredRules"),
			DimensionsMap: &map[string]*string{"RuleName": rule.RuleName()},
			Statistic:     jsii.String("Sum"), Period: metrics.Hourly.Period, Label: jsii.String(label),
		})
	}
	dashboard := newDashboard(this, *props.DashboardName,
		[]awscloudwatch.IWidget{alarmStatus(fresh, dlq, o.Monitoring.Alarm, o.RejectedRowsAlarm, props.Unprocessed.Alarm)},
		[]awscloudwatch.IWidget{
			executions("Orchestration executions", o.StateMachine),
			graph("Orchestration duration (ms)", o.MetricExecutionTime(nil)),
			graph("Wait for the run lock (s)", o.MetricLockWaitSeconds(nil)),
		},
		[]awscloudwatch.IWidget{
			graph("Leads per run: read, sent, loaded, rejected by Salesforce",
				o.MetricLeadsRead(nil), o.MetricLeadsSent(nil), o.MetricLeadsLoaded(nil), o.MetricLeadsRejected(nil)),
			graph("Leads dropped by the filter job, by reason", o.MetricLeadsDroppedByReason()),
			graph("Filter job and crawler: runs loaded, job runs failed, crawls failed",
				o.MetricRunsReported(&awscloudwatch.MetricOptions{Label: jsii.String("runs loaded")}),
				triggered(jobFailed, "job runs failed"), triggered(catalogFailed, "crawls failed")),
		},
		[]awscloudwatch.IWidget{
			graph("Filter job run time (ms)", props.FilterJob.MetricElapsedTime(nil)),
			graph("Crawl time (s, to the 30 s poll)", o.MetricCrawlSeconds(nil)),
			deadLetters(props.HandoffBus.DeadLetterQueue, props.Unprocessed.DeadLetterQueue),
			graph("Objects left in inbox/ (unprocessed runs)", props.Unprocessed.MetricStaleObjects(nil)),
		},
	)
	return &ConsumerMonitoring{Construct: this, Dashboard: dashboard, FreshnessAlarm: fresh, DeadLetterAlarm: dlq, JobFailureRule: jobFailed}
}
