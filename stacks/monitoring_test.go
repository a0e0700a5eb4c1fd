package stacks_test

import (
	"strings"
	"testing"

	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// alarmProps returns the properties of the stack's alarm whose logical ID contains id.
func alarmProps(t *testing.T, tpl cdktest.Template, id string) map[string]any {
	t.Helper()
	for logicalID, a := range tpl.Resources("AWS::CloudWatch::Alarm") {
		if strings.Contains(logicalID, id) {
			return a["Properties"].(map[string]any)
		}
	}
	t.Fatalf("no alarm %s", id)
	return nil
}

func TestApp_EveryStateMachineLogsErrorsWithDataToARetainedLogGroup(t *testing.T) {
	for _, stack := range allStacks(exampleApp(t)) {
		tpl := cdktest.Synth(t, stack)
		groups := tpl.Resources("AWS::Logs::LogGroup")
		for id, sm := range tpl.Resources("AWS::StepFunctions::StateMachine") {
			logging := sm["Properties"].(map[string]any)["LoggingConfiguration"].(map[string]any)
			assert.Equal(t, "ERROR", logging["Level"], id)
			assert.Equal(t, true, logging["IncludeExecutionData"], id)
			ref := cdktest.JSON(logging["Destinations"])
			found := false
			for gid, g := range groups {
				if strings.Contains(ref, `"`+gid+`"`) {
					found = true
					assert.Equal(t, "Retain", g["DeletionPolicy"], gid)
					assert.Equal(t, 365.0, g["Properties"].(map[string]any)["RetentionInDays"], gid)
				}
			}
			assert.True(t, found, "%s logs to a log group of its stack", id)
		}
	}
}

func TestApp_EveryFailedExecutionIsSentByNameAndCauseToTheAlarmTopic(t *testing.T) {
	for _, stack := range allStacks(exampleApp(t)) {
		tpl := cdktest.Synth(t, stack)
		machines := tpl.Resources("AWS::StepFunctions::StateMachine")
		rules := 0
		for id, r := range tpl.Resources("AWS::Events::Rule") {
			props := r["Properties"].(map[string]any)
			pattern := cdktest.JSON(props["EventPattern"])
			if !strings.Contains(pattern, "Step Functions Execution Status Change") {
				continue
			}
			rules++
			// THEN it matches every unsuccessful end of one of this stack's state machines ...
			assert.Contains(t, pattern, `"status":["FAILED","TIMED_OUT","ABORTED"]`, id)
			assert.Contains(t, pattern, `"source":["aws.states"]`, id)
			// ... and tells the alarm topic the execution, its error and cause.
			target := cdktest.JSON(props["Targets"])
			assert.Contains(t, target, `"Ref":"`, id)
			assert.Contains(t, target, `Alarms`, id)
			for _, path := range []string{"$.detail.name", "$.detail.error", "$.detail.cause", "$.detail.executionArn"} {
				assert.Contains(t, target, path, id)
			}
		}
		assert.Equal(t, len(machines), rules, "%s: one failure rule per state machine", *stack.StackName())
	}
}

func TestApp_FreshnessAlarmsFireWhenNothingRunsForTheWindow(t *testing.T) {
	app := exampleApp(t)
	cases := map[string]struct {
		tpl        cdktest.Template
		id, metric string
		hours      float64
	}{
		"producer": {cdktest.Synth(t, app.Producer.Stack), "NoMarketoPullAlarm", "FlowExecutionsSucceeded", 26},
		"consumer": {cdktest.Synth(t, app.Consumers[0].Stack), "NoLoadAlarm", "RunsReported", 30},
	}
	for name, c := range cases {
		a := alarmProps(t, c.tpl, c.id)
		// THEN an hour without a success counts against it, missing data too:
		assert.Equal(t, c.metric, a["MetricName"], name)
		assert.Equal(t, "Sum", a["Statistic"], name)
		assert.Equal(t, 3600.0, a["Period"], name)
		assert.Equal(t, "LessThanThreshold", a["ComparisonOperator"], name)
		assert.Equal(t, 1.0, a["Threshold"], name)
		assert.Equal(t, "breaching", a["TreatMissingData"], name, "nothing running at all must alarm")
		// ... and it fires only when every hour of the window had none.
		assert.Equal(t, c.hours, a["EvaluationPeriods"], name)
		assert.Equal(t, c.hours, a["DatapointsToAlarm"], name)
		assert.NotEmpty(t, a["AlarmActions"], name)
	}
}

func TestApp_AnyDeadLetterAlarmsAndAFailedGlueRunIsSentToTheAlarmTopic(t *testing.T) {
	app := exampleApp(t)
	for _, stack := range allStacks(app) {
		tpl := cdktest.Synth(t, stack)
		queues := tpl.Resources("AWS::SQS::Queue")
		watched := 0
		for id, a := range tpl.Resources("AWS::CloudWatch::Alarm") {
			p := a["Properties"].(map[string]any)
			if p["MetricName"] != "ApproximateNumberOfMessagesVisible" {
				continue
			}
			watched++
			assert.Equal(t, "Maximum", p["Statistic"], id)
			assert.Equal(t, 1.0, p["Threshold"], id)
			assert.Equal(t, "GreaterThanOrEqualToThreshold", p["ComparisonOperator"], id)
			assert.NotEmpty(t, p["AlarmActions"], id)
		}
		assert.Equal(t, len(queues), watched, "%s: every dead-letter queue has an alarm", *stack.StackName())
	}
	consumer := cdktest.Synth(t, app.Consumers[0].Stack)
	rule := consumer.OnlyWhere(t, "AWS::Events::Rule", `"Glue Job State Change"`)
	pattern := cdktest.JSON(rule["EventPattern"])
	assert.Contains(t, pattern, `"jobName":["leadbridge-sales-filter-leads"]`)
	assert.Contains(t, pattern, `"state":["FAILED","TIMEOUT","ERROR"]`)
	assert.Contains(t, cdktest.JSON(rule["Targets"]), "$.detail.jobRunId")
}

// alarmStates replays one data point per period (nil: none reported) through an
// alarm of EvaluationPeriods periods, GreaterThanOrEqualToThreshold, with the
// rules of the CloudWatch guide (alarms-and-missing-data): a missing point is
// breaching, not breaching, or "ignore", which keeps the alarm's state; with
// "missing", a window without any point is INSUFFICIENT_DATA.
func alarmStates(props map[string]any, points []*float64) []string {
	periods := int(props["EvaluationPeriods"].(float64))
	threshold := props["Threshold"].(float64)
	state, states := "INSUFFICIENT_DATA", []string{}
	for i := range points {
		window := points[max(0, i-periods+1) : i+1]
		breaching, reported := 0, 0
		for _, p := range window {
			switch {
			case p != nil:
				reported++
				if *p >= threshold {
					breaching++
				}
			case props["TreatMissingData"] == "breaching":
				breaching++
			}
		}
		switch {
		case breaching > 0 && breaching >= len(window):
			state = "ALARM"
		case reported > 0 || props["TreatMissingData"] == "notBreaching" || props["TreatMissingData"] == "breaching":
			state = "OK"
		case props["TreatMissingData"] == "ignore":
		default:
			state = "INSUFFICIENT_DATA"
		}
		states = append(states, state)
	}
	return states
}

func TestApp_DeadLetterAlarmsStayInAlarmWhileAMessageWaits(t *testing.T) {
	// GIVEN five-minute data points of a dead-letter queue: idle and empty for a day (SQS reports
	// nothing for a queue that is not active), then an event that could not start a run arrives and
	// waits; SQS counts a queue active "for up to six hours if it contains any messages or if any
	// action accesses it" (SQS guide, sqs-monitoring-using-cloudwatch), so after 6 hours it reports
	// nothing again while the message still waits, until someone reads and deletes it.
	one, zero := 1.0, 0.0
	var points []*float64
	phase := func(n int, v *float64) (from int) {
		from = len(points)
		for range n {
			points = append(points, v)
		}
		return from
	}
	idle := phase(288, nil)
	arrived := phase(72, &one)
	phase(288, nil) // still waiting, no longer reported
	handled := phase(12, &zero)
	for _, stack := range allStacks(exampleApp(t)) {
		tpl := cdktest.Synth(t, stack)
		for id, a := range tpl.Resources("AWS::CloudWatch::Alarm") {
			props := a["Properties"].(map[string]any)
			if props["MetricName"] != "ApproximateNumberOfMessagesVisible" {
				continue
			}
			// WHEN the alarm evaluates them
			states := alarmStates(props, points)
			// THEN it stays quiet while the queue is idle, alarms from the message's arrival for as
			// long as it waits, and returns to OK only once the message is handled
			assert.NotContains(t, states[idle:arrived], "ALARM", id)
			for i, s := range states[arrived:handled] {
				require.Equal(t, "ALARM", s, "%s: back to %s %d minutes after the message arrived", id, s, 5*i)
			}
			assert.Equal(t, "OK", states[len(states)-1], id)
		}
	}
}

func TestApp_EachSideHasADashboardOfItsOwnMetrics(t *testing.T) {
	app := exampleApp(t)
	want := map[string][]string{
		"leadbridge-producer": {"FlowExecutionsSucceeded", "FlowExecutionRecordsProcessed", "ExecutionsSucceeded", "ExecutionTime",
			"ObjectsHandedOff", "ApproximateNumberOfMessagesVisible"},
		"leadbridge-consumer-sales": {"ExecutionsStarted", "LockWaitSeconds", "LeadsRead", "LeadsSent", "LeadsLoaded", "RejectedRows",
			"LeadsDropped", "glue.driver.aggregate.elapsedTime", "CrawlSeconds", "TriggeredRules", "ApproximateNumberOfMessagesVisible"},
	}
	for _, stack := range allStacks(app) {
		metrics, ok := want[*stack.StackName()]
		if !ok {
			continue
		}
		tpl := cdktest.Synth(t, stack)
		dashboard := tpl.Only(t, "AWS::CloudWatch::Dashboard")
		assert.Equal(t, *stack.StackName(), dashboard["DashboardName"])
		body := cdktest.JSON(dashboard["DashboardBody"])
		for _, m := range metrics {
			assert.Contains(t, body, m, *stack.StackName())
		}
	}
}

func TestApp_RunMetricsAreThoseTheDashboardAndAlarmsRead(t *testing.T) {
	// GIVEN the consumer's orchestration definition
	def := cdktest.Synth(t, exampleApp(t).Consumers[0].Stack).StateMachineDefinition(t, "OrchestrationStateMachine")
	publish := cdktest.JSON(def.States["PublishRunMetrics"].Raw["Arguments"])
	// THEN it publishes every metric the freshness alarm and dashboard read, per flow
	for _, m := range []string{"RunsReported", "LeadsRead", "LeadsSent", "LeadsLoaded", "LockWaitSeconds", "LeadsDropped"} {
		assert.Contains(t, publish, m)
	}
	assert.Contains(t, publish, `leadbridge-sales-salesforce-leads`)
	require.Contains(t, publish, `"Namespace":"leadbridge"`)
}
