package monitoring

import (
	"errors"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/metrics"
	"github.com/leadbridge/leadbridge/internal/validate"
)

// DashboardID is the construct ID of each side's dashboard.
const DashboardID = "Dashboard"

// graph is one graph widget a third of the dashboard wide.
func graph(title string, left ...awscloudwatch.IMetric) awscloudwatch.IWidget {
	return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
		Title: jsii.String(title), Left: &left, Width: jsii.Number(8), Height: jsii.Number(6),
	})
}

// executions graphs a state machine's executions by outcome, hourly.
func executions(title string, sm awsstepfunctions.IStateMachine) awscloudwatch.IWidget {
	return graph(title,
		sm.MetricStarted(metrics.Hourly), sm.MetricSucceeded(metrics.Hourly), sm.MetricFailed(metrics.Hourly),
		sm.MetricTimedOut(metrics.Hourly), sm.MetricAborted(metrics.Hourly))
}

// deadLetters graphs the messages waiting in dead-letter queues.
func deadLetters(queues ...awssqs.IQueue) awscloudwatch.IWidget {
	var depth []awscloudwatch.IMetric
	for _, q := range queues {
		depth = append(depth, q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Statistic: awscloudwatch.Stats_MAXIMUM(), Period: metrics.FiveMinutes,
		}))
	}
	return graph("Dead-letter queues: events not delivered (must be 0)", depth...)
}

// alarmStatus shows the side's alarms, so the dashboard says what is wrong.
func alarmStatus(alarms ...awscloudwatch.IAlarm) awscloudwatch.IWidget {
	refs := make([]interfacesawscloudwatch.IAlarmRef, 0, len(alarms))
	for _, a := range alarms {
		refs = append(refs, a)
	}
	return awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title: jsii.String("Alarms"), Alarms: &refs, Width: jsii.Number(24),
	})
}

func newDashboard(scope constructs.Construct, name string, rows ...[]awscloudwatch.IWidget) awscloudwatch.Dashboard {
	widgets := make([]*[]awscloudwatch.IWidget, 0, len(rows))
	for i := range rows {
		widgets = append(widgets, &rows[i])
	}
	return awscloudwatch.NewDashboard(scope, jsii.String(DashboardID), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(name),
		Widgets:       &widgets,
	})
}

// validateSide checks what both sides' monitoring needs.
func validateSide(required map[string]any, dashboardName *string, freshnessHours *float64) error {
	errs := []error{
		validate.NotNil(required),
		validate.RequiredStrings(map[string]*string{"DashboardName": dashboardName}),
	}
	if freshnessHours == nil || *freshnessHours < 2 || *freshnessHours > MaxFreshnessHours || *freshnessHours != float64(int(*freshnessHours)) {
		errs = append(errs, fmt.Errorf("FreshnessHours must be a whole number from 2 to %d, got %s", MaxFreshnessHours, describe(freshnessHours)))
	}
	return errors.Join(errs...)
}

func describe(n *float64) string {
	if n == nil {
		return "none"
	}
	return fmt.Sprint(*n)
}
