package producer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/constructs/producer"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/leadbridge/leadbridge/internal/workflow"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newStack() awscdk.Stack {
	return awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Test"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("111111111111"), Region: jsii.String("eu-west-1")},
	})
}

var twoConsumers = []*producer.ConsumerTarget{
	{Name: "sales", BucketName: "lb-sales-inbox", EventBusArn: "arn:aws:events:eu-west-1:222222222222:event-bus/lb-handoff"},
	{Name: "partners", BucketName: "lb-partners-inbox", EventBusArn: "arn:aws:events:eu-west-1:333333333333:event-bus/lb-handoff"},
}

// handoffStack builds a landing bucket and a hand-off state machine for consumers.
func handoffStack(t *testing.T, consumers []*producer.ConsumerTarget) cdktest.Template {
	stack := newStack()
	landing := producer.NewLandingBucket(stack, jsii.String("Landing"), nil)
	producer.NewHandoffStateMachine(stack, jsii.String("Handoff"), &producer.HandoffStateMachineProps{
		LandingBucket: landing.Bucket, FlowName: jsii.String("lb-marketo-leads"),
		Consumers: &consumers, RoleName: jsii.String("lb-handoff"),
	})
	return cdktest.Synth(t, stack)
}

func TestLandingBucket_IsEncryptedVersionedAndTLSOnly(t *testing.T) {
	// GIVEN a landing bucket
	stack := newStack()
	producer.NewLandingBucket(stack, jsii.String("Landing"), nil)
	// WHEN synthesized
	tpl := cdktest.Synth(t, stack)
	// THEN the data bucket is encrypted, versioned, logged and retained
	buckets := tpl.Resources("AWS::S3::Bucket")
	require.Len(t, buckets, 2, "the data bucket and its access log bucket")
	var data map[string]any
	for id, b := range buckets {
		if strings.HasPrefix(id, "LandingBucket") {
			data = b
		}
	}
	require.NotNil(t, data, "logical ID of the landing bucket must stay LandingBucket*")
	assert.Equal(t, "Retain", data["DeletionPolicy"])
	props := cdktest.JSON(data["Properties"])
	assert.Contains(t, props, `"SSEAlgorithm":"aws:kms"`)
	assert.Contains(t, props, `"BucketKeyEnabled":true`)
	assert.Contains(t, props, `"VersioningConfiguration":{"Status":"Enabled"}`)
	assert.Contains(t, props, `"LoggingConfiguration"`)
	assert.Contains(t, props, `"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":7}`)
	assert.Contains(t, props, `"Prefix":"archive/"`)
	policies := cdktest.JSON(tpl.Resources("AWS::S3::BucketPolicy"))
	assert.Contains(t, policies, `"aws:SecureTransport":"false"`)
}

func TestLandingBucket_LetsOnlyThisAccountsAppFlowWrite(t *testing.T) {
	stack := newStack()
	producer.NewLandingBucket(stack, jsii.String("Landing"), nil)
	tpl := cdktest.Synth(t, stack)
	policy := cdktest.JSON(tpl.Resources("AWS::S3::BucketPolicy"))
	assert.Contains(t, policy, `"Service":"appflow.amazonaws.com"`)
	assert.Contains(t, policy, `"aws:SourceAccount":"111111111111"`)
	assert.Contains(t, policy, `"s3:PutObject"`)
}

func TestLandingBucket_RejectsRetentionThatIsNotWholeDays(t *testing.T) {
	err := cdktest.Recover(func() {
		producer.NewLandingBucket(newStack(), jsii.String("Landing"), &producer.LandingBucketProps{
			RawRunsRetentionDays: jsii.Number(0), ReportsRetentionDays: jsii.Number(0.5),
		})
	})
	require.Error(t, err)
	assert.Equal(t, "LandingBucket: RawRunsRetentionDays must be a whole number of days from 1 to 36500, got 0\n"+
		"ReportsRetentionDays must be a whole number of days from 1 to 36500, got 0.5", err.Error())
}

func TestLandingBucket_ExpiresRawRunsAndMapResults(t *testing.T) {
	// GIVEN a landing bucket that keeps raw runs 30 days
	stack := newStack()
	producer.NewLandingBucket(stack, jsii.String("Landing"), &producer.LandingBucketProps{RawRunsRetentionDays: jsii.Number(30)})
	// THEN landing/ and archive/ expire after 30 days, map-results/ after the default 90
	expiry := map[string]float64{}
	for _, b := range cdktest.Synth(t, stack).VersionedBuckets() {
		for _, r := range cdktest.LifecycleRules(b) {
			if r.Prefix != "" {
				expiry[r.Prefix] = r.ExpirationInDays
			}
		}
	}
	assert.Equal(t, map[string]float64{"landing/": 30, "archive/": 30, "map-results/": 90}, expiry)
}

// marketoFlow synthesizes a Marketo flow with props (name, connection and bucket filled in).
func marketoFlow(t *testing.T, props producer.MarketoFlowProps) map[string]any {
	stack := newStack()
	landing := producer.NewLandingBucket(stack, jsii.String("Landing"), nil)
	props.FlowName, props.ConnectorProfileName, props.Bucket = jsii.String("lb-marketo-leads"), jsii.String("marketo"), landing.Bucket
	producer.NewMarketoFlow(stack, jsii.String("Flow"), &props)
	return cdktest.Synth(t, stack).Only(t, "AWS::AppFlow::Flow")
}

func TestMarketoFlow_PullsIncrementallyOnScheduleAsParquet(t *testing.T) {
	// GIVEN a Marketo flow with defaults, WHEN synthesized
	flow := marketoFlow(t, producer.MarketoFlowProps{})
	// THEN it is scheduled daily, incremental on updatedAt, writes Parquet, and projects the fields
	text := cdktest.JSON(flow)
	assert.Equal(t, "Active", flow["FlowStatus"])
	assert.Contains(t, text, `"ScheduleExpression":"rate(1days)"`)
	assert.Contains(t, text, `"DataPullMode":"Incremental"`)
	assert.Contains(t, text, `"DatetimeTypeFieldName":"updatedAt"`)
	assert.Contains(t, text, `"FileType":"PARQUET"`)
	assert.Contains(t, text, `"ConnectorType":"Marketo"`)
	assert.Contains(t, text, `"Object":"leads"`)
	assert.Contains(t, text, `"ConnectorOperator":{"Marketo":"PROJECTION"}`)
	assert.Contains(t, text, `"doNotCall"`)
}

func TestMarketoFlow_StartsTheFirstPullAtFirstExecutionFrom(t *testing.T) {
	// GIVEN a flow whose first pull starts on 15 January 2026
	from := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	flow := marketoFlow(t, producer.MarketoFlowProps{FirstExecutionFrom: &from})
	// THEN AppFlow gets it in seconds since 1970
	assert.Contains(t, cdktest.JSON(flow), `"FirstExecutionFrom":1768435200`)
}

func TestMarketoFlow_LeavesTheFirstPullToAppFlowByDefault(t *testing.T) {
	flow := marketoFlow(t, producer.MarketoFlowProps{})
	assert.NotContains(t, cdktest.JSON(flow), `FirstExecutionFrom`)
}

func TestParseFirstExecutionFrom_TakesADateOrATime(t *testing.T) {
	day, err := producer.ParseFirstExecutionFrom("k", "2026-01-15")
	require.NoError(t, err)
	assert.Equal(t, int64(1768435200), day.Unix())
	at, err := producer.ParseFirstExecutionFrom("k", "2026-01-15T08:00:00+01:00")
	require.NoError(t, err)
	assert.Equal(t, int64(1768435200+7*3600), at.Unix())
	_, err = producer.ParseFirstExecutionFrom("k", "15/01/2026")
	assert.EqualError(t, err, `k must be a date such as 2026-01-15 or a time such as 2026-01-15T08:00:00Z, got "15/01/2026"`)
	_, err = producer.ParseFirstExecutionFrom("k", "1969-12-31")
	assert.EqualError(t, err, `k must be after 1970-01-01, got 1969-12-31T00:00:00Z`)
}

func TestMarketoFlow_RejectsBadProps(t *testing.T) {
	cases := map[string]struct {
		props producer.MarketoFlowProps
		want  string
	}{
		"schedule with a space": {producer.MarketoFlowProps{Schedule: jsii.String("rate(1 day)")}, `Schedule must look like rate(1days) or rate(6hours), got "rate(1 day)"`},
		"schedule in minutes":   {producer.MarketoFlowProps{Schedule: jsii.String("rate(5minutes)")}, "Marketo flows run at most hourly"},
		"empty field list":      {producer.MarketoFlowProps{Fields: &[]*string{}}, "Fields must list at least one Marketo field, got none"},
		"no doNotCall":          {producer.MarketoFlowProps{Fields: jsii.Strings("id", "updatedAt")}, `Fields must include "doNotCall"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			stack := newStack()
			landing := producer.NewLandingBucket(stack, jsii.String("Landing"), nil)
			tc.props.FlowName, tc.props.ConnectorProfileName, tc.props.Bucket = jsii.String("f"), jsii.String("p"), landing.Bucket
			err := cdktest.Recover(func() { producer.NewMarketoFlow(stack, jsii.String("Flow"), &tc.props) })
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestCompletionRule_MatchesThisFlowsSuccessfulRuns(t *testing.T) {
	stack := newStack()
	landing := producer.NewLandingBucket(stack, jsii.String("Landing"), nil)
	handoff := producer.NewHandoffStateMachine(stack, jsii.String("Handoff"), &producer.HandoffStateMachineProps{
		LandingBucket: landing.Bucket, FlowName: jsii.String("lb-marketo-leads"), Consumers: &twoConsumers, RoleName: jsii.String("lb-handoff"),
	})
	producer.NewCompletionRule(stack, jsii.String("Trigger"), &producer.CompletionRuleProps{FlowName: jsii.String("lb-marketo-leads"), StateMachine: handoff.StateMachine})
	rule := cdktest.Synth(t, stack).OnlyWhere(t, "AWS::Events::Rule", `"aws.appflow"`)
	assert.Equal(t, map[string]any{
		"source":      []any{"aws.appflow"},
		"detail-type": []any{"AppFlow End Flow Run Report"},
		"detail":      map[string]any{"flow-name": []any{"lb-marketo-leads"}, "status": []any{"Execution Successful"}},
	}, rule["EventPattern"])
	target := cdktest.JSON(rule["Targets"])
	assert.Contains(t, target, `"DeadLetterConfig"`)
	assert.Contains(t, target, `"RetryPolicy"`)
}

func TestFlowAlarmRules_SendFailedRunsAndDeactivationOfThisFlowToTheTopic(t *testing.T) {
	// GIVEN the rules for one flow and a topic
	stack := newStack()
	producer.NewFlowAlarmRules(stack, jsii.String("FlowAlarms"), &producer.FlowAlarmRulesProps{FlowName: jsii.String("lb-marketo-leads"), Alarms: workflow.NewAlarmTopic(stack, nil)})
	rules := cdktest.Synth(t, stack).Resources("AWS::Events::Rule")
	patterns := map[string]any{}
	for _, r := range rules {
		props := r["Properties"].(map[string]any)
		patterns[props["EventPattern"].(map[string]any)["detail-type"].([]any)[0].(string)] = props["EventPattern"]
		// THEN each publishes to the topic with a role of its own
		assert.Contains(t, cdktest.JSON(props["Targets"]), `"RoleArn"`)
		assert.Contains(t, cdktest.JSON(props["Targets"]), `"Arn":{"Ref":"Alarms`)
	}
	// AND one matches every run of this flow but the successful ones, the other its deactivation
	assert.Equal(t, map[string]any{
		"source": []any{"aws.appflow"}, "detail-type": []any{"AppFlow End Flow Run Report"},
		"detail": map[string]any{"flow-name": []any{"lb-marketo-leads"}, "status": []any{map[string]any{"anything-but": []any{"Execution Successful"}}}},
	}, patterns["AppFlow End Flow Run Report"])
	assert.Equal(t, map[string]any{
		"source": []any{"aws.appflow"}, "detail-type": []any{"AppFlow Scheduled Flow Deactivated"},
		"detail": map[string]any{"flow-name": []any{"lb-marketo-leads"}},
	}, patterns["AppFlow Scheduled Flow Deactivated"])
}

func TestFlowAlarmRules_RejectMissingProps(t *testing.T) {
	err := cdktest.Recover(func() { producer.NewFlowAlarmRules(newStack(), jsii.String("FlowAlarms"), nil) })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "FlowName is required")
	assert.Contains(t, err.Error(), "Alarms is required")
}

func TestHandoff_FailsWithoutConsumers(t *testing.T) {
	err := cdktest.Recover(func() { handoffStack(t, nil) })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HandoffStateMachine: Consumers must list at least one consumer, got none")
}

func TestHandoff_RejectsABadBusArn(t *testing.T) {
	err := cdktest.Recover(func() {
		handoffStack(t, []*producer.ConsumerTarget{{Name: "sales", BucketName: "lb-sales-inbox", EventBusArn: "lb-handoff"}})
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `Consumers[0].EventBusArn must be an event bus ARN, got "lb-handoff"`)
}

func TestHandoff_CopiesToEveryConsumerBeforeArchivingThenNotifies(t *testing.T) {
	// GIVEN two consumers
	def := handoffStack(t, twoConsumers).StateMachineDefinition(t, "HandoffStateMachine")
	// THEN copying is one Distributed Map whose children each take a batch of objects and copy each of
	// them to each consumer in turn
	copyMap := def.States["CopyToConsumers"]
	require.NotNil(t, copyMap.ItemProcessor, "CopyToConsumers must be a Map")
	assert.Equal(t, "DISTRIBUTED", copyMap.Raw["ItemProcessor"].(map[string]any)["ProcessorConfig"].(map[string]any)["Mode"])
	assert.Contains(t, cdktest.JSON(copyMap.Raw["ItemReader"]), "s3:listObjectsV2", "the map must page through the listing itself")
	eachObject := copyMap.ItemProcessor.States["CopyToConsumersEachObject"]
	require.NotNil(t, eachObject.ItemProcessor, "a child works through its batch with an inline Map")
	assert.Equal(t, "CopyTo_sales", eachObject.ItemProcessor.StartAt)
	assert.Equal(t, "CopyTo_partners", eachObject.ItemProcessor.States["CopyTo_sales"].Next)
	// AND archiving comes only after the whole copy map (and its count), and events only after archiving
	assert.Equal(t, "CountCopiedObjects", copyMap.Next)
	assert.Equal(t, "ArchiveRun", def.States["CountCopiedObjects"].Next)
	archive := def.States["ArchiveRun"].ItemProcessor.States["ArchiveRunEachObject"]
	assert.Equal(t, "CopyToArchive", archive.ItemProcessor.StartAt)
	assert.Equal(t, "DeleteLandedObject", archive.ItemProcessor.States["CopyToArchive"].Next, "delete only after the archive copy")
	assert.Equal(t, "PublishHandoffCounts", def.States["ArchiveRun"].Next)
	assert.Equal(t, "Notify_sales", def.States["PublishHandoffCounts"].Next)
	assert.Equal(t, "Notify_partners", def.States["Notify_sales"].Next)
	assert.Contains(t, cdktest.JSON(def.States["Notify_sales"].Parameters), `"Source":"leadbridge.handoff"`)
	// AND a run found only in archive/ is announced again, counted from the archive
	assert.Contains(t, cdktest.JSON(def.States["WasRunArchived"].Choices), `"Next":"CountArchivedRun"`)
	assert.Equal(t, "CountArchivedRunObjects", def.States["CountArchivedRun"].Next)
	assert.Equal(t, "PublishHandoffCounts", def.States["CountArchivedRunObjects"].Next)
	// AND no path from the start reaches ArchiveRun without passing CopyToConsumers
	before := def.Reachable("ReadRunFromEvent")
	delete(before, "CopyToConsumers")
	delete(before, "CountCopiedObjects") // entered only from CopyToConsumers (above)
	for name := range before {
		assert.NotEqual(t, "ArchiveRun", def.States[name].Next, "%s leads to ArchiveRun", name)
	}
}

func TestHandoff_EveryDistributedMapRunsBatchesInExpressChildren(t *testing.T) {
	// GIVEN the hand-off's definition
	def := handoffStack(t, twoConsumers).StateMachineDefinition(t, "HandoffStateMachine")
	maps := 0
	for name, s := range def.States {
		if s.ItemProcessor == nil {
			continue
		}
		maps++
		// THEN each child is an Express workflow with a batch of at most 100 objects and 200 KiB of input
		config := s.Raw["ItemProcessor"].(map[string]any)["ProcessorConfig"].(map[string]any)
		assert.Equal(t, map[string]any{"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}, config, name)
		assert.Equal(t, map[string]any{"MaxItemsPerBatch": 100.0, "MaxInputBytesPerBatch": 204800.0,
			"BatchInput": map[string]any{"run.$": "$.run"}}, s.Raw["ItemBatcher"], name)
		// AND 40 objects at once: 4 children of 10 objects at once
		assert.Equal(t, 4.0, s.Raw["MaxConcurrency"], name)
		assert.Equal(t, 10.0, s.ItemProcessor.States[s.ItemProcessor.StartAt].Raw["MaxConcurrency"], name)
	}
	assert.Equal(t, 3, maps)
}

func TestHandoff_StateGrowsByOneSummaryPerChildAtMost(t *testing.T) {
	// GIVEN the hand-off's definition
	def := handoffStack(t, twoConsumers).StateMachineDefinition(t, "HandoffStateMachine")
	// THEN the Maps that move or count objects write their results to S3 under map-results/
	for _, name := range []string{"ArchiveRun", "CountArchivedRun"} {
		writer := cdktest.JSON(def.States[name].Raw["ResultWriter"])
		assert.Contains(t, writer, `"Resource":"arn:REF:states:::s3:putObject"`, name)
		assert.Contains(t, writer, `"Prefix":"map-results/"`, name)
	}
	// AND the copy Map returns one summary per child (copied, skipped), which a JSONata Pass adds up
	copyMap := def.States["CopyToConsumers"]
	assert.Nil(t, copyMap.Raw["ResultWriter"])
	assert.Equal(t, "CountCopiesOfChild", copyMap.ItemProcessor.States["CopyToConsumersEachObject"].Next)
	assert.Contains(t, cdktest.JSON(def.States["CountCopiedObjects"].Raw["Output"]), `$sum([0, $states.input.copied.copied])`)
	// AND a run found only in archive/ is counted from its Map Run, as skipped
	count := def.States["CountArchivedRunObjects"]
	assert.Equal(t, "arn:REF:states:::aws-sdk:sfn:describeMapRun", count.Resource)
	assert.Contains(t, cdktest.JSON(count.Raw["ResultSelector"]), `"skippedCount.$":"$.ItemCounts.Succeeded"`)
	assert.Contains(t, cdktest.JSON(count.Raw["ResultSelector"]), `"objectCount":0`)
}

func TestHandoff_RunThatReportedRecordsButLeftNoFilesFails(t *testing.T) {
	def := handoffStack(t, twoConsumers).StateMachineDefinition(t, "HandoffStateMachine")
	// GIVEN a run found neither in landing/ nor in archive/
	assert.Equal(t, "DidRunReportRecords", def.States["WasRunArchived"].Raw["Default"])
	// THEN it succeeds quietly only when AppFlow reported "0" records (a string in the event), and fails otherwise
	choice := cdktest.JSON(def.States["DidRunReportRecords"].Choices)
	assert.Contains(t, choice, `"And":[{"IsPresent":true,"Variable":"$.detail['num-of-records-processed']"},{"StringEquals":"0","Variable":"$.detail['num-of-records-processed']"}]`)
	assert.Contains(t, choice, `"Next":"RunWroteNoFiles"`)
	assert.Equal(t, "RunFilesMissing", def.States["DidRunReportRecords"].Raw["Default"])
	assert.Equal(t, "Fail", def.States["RunFilesMissing"].Type)
}

func TestHandoff_EveryCopyURLEncodesItsSourceAndPassesItsInputOn(t *testing.T) {
	def := handoffStack(t, twoConsumers).StateMachineDefinition(t, "HandoffStateMachine")
	copies := 0
	for name, s := range def.All() {
		if !strings.HasSuffix(s.Resource, ":s3:copyObject") {
			continue
		}
		copies++
		// S3 wants CopySource URL-encoded; Step Functions passes it as given
		assert.Equal(t, "JSONata", s.Raw["QueryLanguage"], name)
		assert.Contains(t, cdktest.JSON(s.Arguments), `$join($map($split($states.input.key, '/'), $encodeUrlComponent), '/')`, name)
		// the next state (another copy, the delete) reads the same item
		assert.Equal(t, "{% $states.input %}", s.Raw["Output"], name)
	}
	assert.Equal(t, 3, copies, "two consumers and the archive")
}

func TestHandoff_EveryTaskRetriesWithJitterAndIsCaught(t *testing.T) {
	def := handoffStack(t, twoConsumers).StateMachineDefinition(t, "HandoffStateMachine")
	for name, s := range def.All() {
		if s.Type != "Task" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			last := s.Retry[len(s.Retry)-1]
			assert.Equal(t, []any{"States.ALL"}, last["ErrorEquals"])
			assert.Equal(t, "FULL", last["JitterStrategy"])
			assert.EqualValues(t, 2, last["BackoffRate"])
			// Top-level tasks fail into the failure path; item tasks fail their Map, which does.
			if _, top := def.States[name]; top {
				assert.Contains(t, cdktest.JSON(s.Catch), `"Next":"HandoffFailed"`)
			}
		})
	}
	for _, m := range []string{"CopyToConsumers", "ArchiveRun"} {
		assert.Contains(t, cdktest.JSON(def.States[m].Catch), `"Next":"HandoffFailed"`, m)
	}
}

func TestHandoff_RoleHasFixedNameAndNoWildcardActions(t *testing.T) {
	tpl := handoffStack(t, twoConsumers)
	roles := cdktest.JSON(tpl.Resources("AWS::IAM::Role"))
	assert.Contains(t, roles, `"RoleName":"lb-handoff"`)
	policies := cdktest.JSON(tpl.Resources("AWS::IAM::Policy"))
	assert.NotContains(t, policies, `"Action":"*"`)
	assert.NotContains(t, policies, `"s3:*"`)
	assert.NotContains(t, policies, `"s3:copyObject"`, "CopyObject is no IAM action")
	assert.Contains(t, policies, `lb-sales-inbox/inbox/*`)
	assert.Contains(t, policies, `lb-partners-inbox/inbox/*`)
	assert.Contains(t, policies, `arn:aws:events:eu-west-1:222222222222:event-bus/lb-handoff`)
	assert.Contains(t, policies, `arn:aws:events:eu-west-1:333333333333:event-bus/lb-handoff`)
}

func TestHandoff_UsesTheLandingKeyByKeyPolicyAndEachConsumersKeyThroughS3Only(t *testing.T) {
	// GIVEN the landing bucket and the hand-off to two consumers, WHEN synthesized
	tpl := handoffStack(t, twoConsumers)
	// THEN the landing key admits the hand-off role and AppFlow, each through S3 only
	statements := tpl.KeyStatements()
	handoff := cdktest.JSON(statements["HandoffMovesRuns"])
	assert.Contains(t, handoff, `"Action":["kms:Decrypt","kms:GenerateDataKey"]`)
	assert.Contains(t, handoff, `HandoffRole`)
	assert.Contains(t, handoff, `"kms:ViaService":"s3.eu-west-1.amazonaws.com"`)
	assert.Contains(t, cdktest.JSON(statements["AppFlowWritesLanding"]), `"aws:SourceAccount":"111111111111"`)
	// AND its own policy lets S3 use each consumer's key, for that consumer's inbox only
	policy := cdktest.JSON(tpl.Resources("AWS::IAM::Policy"))
	for _, c := range twoConsumers {
		account := strings.Split(c.EventBusArn, ":")[4]
		assert.Contains(t, policy, `"Resource":"arn:aws:kms:eu-west-1:`+account+`:key/*"`)
		assert.Contains(t, policy, `"kms:EncryptionContext:aws:s3:arn":"arn:aws:s3:::`+c.BucketName+`"`)
	}
}

func TestHandoff_TakesABusArnKnownOnlyAtDeploy(t *testing.T) {
	// GIVEN a consumer whose bus ARN is a token (a stack parameter)
	stack := newStack()
	busArn := awscdk.NewCfnParameter(stack, jsii.String("SalesBusArn"), nil).ValueAsString()
	landing := producer.NewLandingBucket(stack, jsii.String("Landing"), nil)
	producer.NewHandoffStateMachine(stack, jsii.String("Handoff"), &producer.HandoffStateMachineProps{
		LandingBucket: landing.Bucket, FlowName: jsii.String("lb-marketo-leads"), RoleName: jsii.String("lb-handoff"),
		Consumers: &[]*producer.ConsumerTarget{{Name: "sales", BucketName: "lb-sales-inbox", EventBusArn: *busArn}},
	})
	// WHEN synthesized  THEN the consumer's key statement takes its account and region from the ARN at deploy
	policies := cdktest.JSON(cdktest.Synth(t, stack).Resources("AWS::IAM::Policy"))
	assert.Contains(t, policies, `"Sid":"CopiesIntoSalesInboxWithItsKey"`)
	assert.Contains(t, policies, `{"Fn::Select":[4,{"Fn::Split":[":",{"Ref":"SalesBusArn"}]}]}`)
}
