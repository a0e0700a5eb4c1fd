package monitoring_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/constructs/monitoring"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/leadbridge/leadbridge/internal/workflow"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkStack builds a bucket and a check of its landing/ prefix.
func checkStack(t *testing.T, maxAge awscdk.Duration) cdktest.Template {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Test"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("111111111111"), Region: jsii.String("eu-west-1")},
	})
	bucket := awss3.NewBucket(stack, jsii.String("Bucket"), nil)
	monitoring.NewStaleObjectsCheck(stack, jsii.String("Check"), &monitoring.StaleObjectsCheckProps{
		Bucket: bucket, Prefix: jsii.String("landing/"), MaxAge: maxAge, Alarms: workflow.NewAlarmTopic(stack, nil),
	})
	return cdktest.Synth(t, stack)
}

func TestStaleObjectsCheck_AlarmsOnStaleObjectsAndOnSilence(t *testing.T) {
	// GIVEN a check with the default age
	tpl := checkStack(t, nil)
	// THEN its alarm fires on one stale object, and when the check stops reporting
	var stale map[string]any
	for _, a := range tpl.Resources("AWS::CloudWatch::Alarm") {
		if props := a["Properties"].(map[string]any); props["MetricName"] == monitoring.StaleMetricName {
			stale = props
		}
	}
	require.NotNil(t, stale)
	assert.Equal(t, "breaching", stale["TreatMissingData"])
	assert.Equal(t, 1.0, stale["Threshold"])
	assert.Equal(t, "GreaterThanOrEqualToThreshold", stale["ComparisonOperator"])
	assert.Contains(t, cdktest.JSON(stale["Dimensions"]), `{"Name":"Prefix","Value":"landing/"}`)
	assert.NotEmpty(t, stale["AlarmActions"])
	// ... and a schedule starts the check more often than the alarm's period.
	rule := tpl.OnlyWhere(t, "AWS::Events::Rule", `"ScheduleExpression"`)
	assert.Equal(t, "rate(30 minutes)", rule["ScheduleExpression"])
}

func TestStaleObjectsCheck_ComparesLastModifiedWithTheConfiguredAgeAcrossTheWholePrefix(t *testing.T) {
	tpl := checkStack(t, awscdk.Duration_Hours(jsii.Number(6)))
	def := tpl.StateMachineDefinition(t, "CheckStateMachine")
	// GIVEN a check of objects older than 6 hours
	assert.Contains(t, cdktest.JSON(def.States["StartCheck"].Raw["Output"]), `$toMillis($states.context.Execution.StartTime) - 21600000`)
	// THEN a Distributed Map lists the whole prefix (no bound on pages) in Express children of 1,000 objects
	count := def.States["CountStaleObjects"]
	assert.Equal(t, "arn:REF:states:::s3:listObjectsV2", count.Raw["ItemReader"].(map[string]any)["Resource"])
	assert.Contains(t, cdktest.JSON(count.Raw["ItemReader"]), `"Prefix":"landing/"`)
	assert.Contains(t, cdktest.JSON(count.Raw["ItemBatcher"]), `"MaxItemsPerBatch":1000`)
	assert.Contains(t, cdktest.JSON(count.Raw["ItemProcessor"]), `"ExecutionType":"EXPRESS"`)
	assert.Contains(t, cdktest.JSON(count.Raw["ItemProcessor"]), `\u003c= $states.input.BatchInput.cutoff`)
	// AND every failure of the count reaches no Catch: the execution fails, which alarms
	assert.Nil(t, count.Raw["Catch"])
	assert.Contains(t, cdktest.JSON(def.States["PutStaleObjectCount"].Arguments), `$sum([0, $states.input.staleInChildren])`)
	require.NotEmpty(t, def.States["PutStaleObjectCount"].Retry)
	assert.Equal(t, "FULL", def.States["PutStaleObjectCount"].Retry[0]["JitterStrategy"])
}

func TestStaleObjectsCheck_RoleListsTheBucketAndPutsOnlyItsOwnMetrics(t *testing.T) {
	tpl := checkStack(t, nil)
	policies := cdktest.JSON(tpl.Resources("AWS::IAM::Policy"))
	assert.Contains(t, policies, `{"Action":"cloudwatch:PutMetricData","Condition":{"StringNotEquals":{"cloudwatch:namespace":"leadbridge"}},"Effect":"Deny","Resource":"*"}`)
	assert.Contains(t, policies, `"Action":"s3:ListBucket","Effect":"Allow","Resource":{"Fn::GetAtt":["Bucket83908E77","Arn"]}`)
	assert.NotContains(t, policies, "s3:GetObject")
}

func TestStaleObjectsCheck_RejectsBadProps(t *testing.T) {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Test"), nil)
	err := cdktest.Recover(func() {
		monitoring.NewStaleObjectsCheck(stack, jsii.String("Check"), &monitoring.StaleObjectsCheckProps{
			Prefix: jsii.String("landing"), MaxAge: awscdk.Duration_Minutes(jsii.Number(5)),
		})
	})
	require.Error(t, err)
	for _, want := range []string{"Bucket is required", "Alarms is required", `Prefix must end with /, got "landing"`, "MaxAge (hours) must be"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.Empty(t, *stack.Node().Children(), "nothing is created before the props are valid")
}
