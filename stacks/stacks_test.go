package stacks_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/leadbridge/leadbridge/config"
	"github.com/leadbridge/leadbridge/constructs/pipeline"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/leadbridge/leadbridge/stacks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sameAccountConfig has two consumers in one account, as a dev and a prod
// Salesforce org of one sales team would.
const sameAccountConfig = "../config/testdata/two-consumers-one-account.json"

// exampleApp is the example config (two consumers) with cdk-nag.
func exampleApp(t *testing.T) *stacks.App {
	return appOf(t, "")
}

// appOf is the app of the config at path ("" for the example) with cdk-nag,
// one per test binary (see buildOnce).
func appOf(t *testing.T, path string) *stacks.App {
	return buildOnce("config "+path, func() *stacks.App {
		d, err := config.Load(path)
		require.NoError(t, err)
		app := awscdk.NewApp(nil)
		out := stacks.NewApp(app, d)
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(nil), nil)
		return out
	})
}

// built holds the apps the tests read, by key. Building the whole app and
// synthesizing it with cdk-nag takes seconds, so each app is built once per
// test binary and synthesized once (CDK keeps an app's assembly); no test
// changes an app it reads, and CDK refuses a construct added after synthesis.
var built sync.Map

// buildOnce returns what build returned for key, building it on first use.
func buildOnce[T any](key string, build func() T) T {
	if v, ok := built.Load(key); ok {
		return v.(T)
	}
	v, _ := built.LoadOrStore(key, build())
	return v.(T)
}

func TestApp_ProducerTargetsAreTheConsumersResources(t *testing.T) {
	// GIVEN two consumers in two accounts, or in one
	for _, path := range []string{"", sameAccountConfig} {
		t.Run(path, func(t *testing.T) { assertProducerTargetsTheConsumers(t, appOf(t, path)) })
	}
}

func assertProducerTargetsTheConsumers(t *testing.T, app *stacks.App) {
	require.Len(t, app.Consumers, 2)
	producerTpl := cdktest.Synth(t, app.Producer.Stack)
	producerPolicies := cdktest.JSON(producerTpl.Resources("AWS::IAM::Policy"))
	definition := cdktest.JSON(producerTpl.StateMachineDefinition(t, "HandoffStateMachine"))
	roleArn := fmt.Sprintf("arn:aws:iam::%s:role/%s", *app.Producer.Stack.Account(), "leadbridge-handoff")
	assert.Contains(t, cdktest.JSON(producerTpl.Resources("AWS::IAM::Role")), `"RoleName":"leadbridge-handoff"`)

	for _, c := range app.Consumers {
		tpl := cdktest.Synth(t, c.Stack)
		// THEN the producer copies into this consumer's inbox bucket ...
		var bucketName string
		for id, b := range tpl.Resources("AWS::S3::Bucket") {
			if strings.HasPrefix(id, "InboxBucket") {
				bucketName = b["Properties"].(map[string]any)["BucketName"].(string)
			}
		}
		require.NotEmpty(t, bucketName, "logical ID of the inbox bucket must stay InboxBucket*")
		assert.Contains(t, definition, `"Bucket":"`+bucketName+`"`)
		assert.Contains(t, producerPolicies, bucketName+"/inbox/*")
		// ... puts this consumer's event on this consumer's bus only ...
		busName := tpl.Only(t, "AWS::Events::EventBus")["Name"].(string)
		busArn := fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", *c.Stack.Region(), *c.Stack.Account(), busName)
		assert.Contains(t, producerPolicies, busArn)
		consumerName := strings.TrimPrefix(*c.Stack.StackName(), "leadbridge-consumer-")
		notify := cdktest.JSON(producerTpl.StateMachineDefinition(t, "HandoffStateMachine").States["Notify_"+consumerName].Parameters)
		assert.Contains(t, notify, `"EventBusName":"`+busArn+`"`)
		assert.Contains(t, notify, `"bucket":"`+bucketName+`"`)
		assert.Equal(t, 1, strings.Count(notify, `"EventBusName"`), "one entry, for this consumer")
		// ... and the consumer trusts exactly the producer's role.
		for _, p := range tpl.Resources("AWS::S3::BucketPolicy") {
			if strings.Contains(cdktest.JSON(p["Properties"].(map[string]any)["Bucket"]), `"InboxBucket`) {
				assertAdmitsOnlyRole(t, p["Properties"].(map[string]any)["PolicyDocument"], *app.Producer.Stack.Account(), roleArn)
			}
		}
		assertAdmitsOnlyRole(t, tpl.Only(t, "AWS::Events::EventBusPolicy")["Statement"], *app.Producer.Stack.Account(), roleArn)
	}
}

// assertAdmitsOnlyRole checks that every statement that lets the producer
// account in narrows it to the hand-off role by aws:PrincipalArn.
func assertAdmitsOnlyRole(t *testing.T, policy any, producerAccount, roleArn string) {
	t.Helper()
	// A policy document, or (on an EventBusPolicy) one statement.
	statements := []any{policy}
	if doc, ok := policy.(map[string]any); ok && doc["Statement"] != nil {
		statements = doc["Statement"].([]any)
	}
	admitting := 0
	for _, st := range statements {
		st := st.(map[string]any)
		if st["Effect"] != "Allow" || !strings.Contains(cdktest.JSON(st["Principal"]), ":iam::"+producerAccount+":root") {
			continue
		}
		admitting++
		assert.Equal(t, `{"aws:PrincipalArn":"`+roleArn+`"}`, cdktest.JSON(st["Condition"].(map[string]any)["ArnEquals"]), cdktest.JSON(st))
	}
	assert.Positive(t, admitting, "no statement admits the producer")
}

func TestApp_TwoConsumersInOneAccountHaveDistinctNames(t *testing.T) {
	// GIVEN two consumers in one account
	app := appOf(t, sameAccountConfig)
	require.Equal(t, *app.Consumers[0].Stack.Account(), *app.Consumers[1].Stack.Account())
	// WHEN both stacks are synthesized THEN no physical name is used twice:
	// a fixed name differs, and a generated one derives from a distinct stack name.
	owner := map[string]string{}
	types := map[string]bool{}
	for _, c := range app.Consumers {
		for id, r := range cdktest.Synth(t, c.Stack)["Resources"].(map[string]any) {
			typ := r.(map[string]any)["Type"].(string)
			types[typ] = true
			name := cdktest.PhysicalName(r.(map[string]any))
			if name == "" {
				name = "generated from " + *c.Stack.StackName() + "/" + id
			}
			key := typ + " " + name
			if first, used := owner[key]; used {
				t.Errorf("%s is used by %s and %s/%s", key, first, *c.Stack.StackName(), id)
			}
			owner[key] = *c.Stack.StackName() + "/" + id
		}
	}
	// AND every kind of per-consumer resource the issue lists was compared.
	for _, typ := range []string{"AWS::Events::EventBus", "AWS::Events::Rule", "AWS::IAM::Role", "AWS::S3::Bucket",
		"AWS::Glue::Database", "AWS::Glue::Crawler", "AWS::Glue::Job", "AWS::Glue::SecurityConfiguration", "AWS::AppFlow::Flow",
		"AWS::DynamoDB::Table", "AWS::StepFunctions::StateMachine", "AWS::Logs::LogGroup", "AWS::CloudWatch::Alarm", "AWS::SNS::Topic"} {
		assert.True(t, types[typ], typ)
	}
}

func TestApp_HasNoUnsuppressedCdkNagFindings(t *testing.T) {
	app := exampleApp(t)
	for _, stack := range allStacks(app) {
		t.Run(*stack.StackName(), func(t *testing.T) {
			var findings []string
			err := cdktest.Recover(func() {
				annotations := assertions.Annotations_FromStack(stack)
				for _, m := range append(*annotations.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))),
					*annotations.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))...) {
					findings = append(findings, fmt.Sprint(*m.Id, ": ", m.Entry.Data))
				}
			})
			require.NoError(t, err)
			assert.Empty(t, findings)
		})
	}
}

func TestApp_StatefulResourcesKeepTheirLogicalIDs(t *testing.T) {
	app := exampleApp(t)
	producerTpl := cdktest.Synth(t, app.Producer.Stack)
	assert.Contains(t, producerTpl.Resources("AWS::S3::Bucket"), "LandingBucket6D60388F")
	consumerTpl := cdktest.Synth(t, app.Consumers[0].Stack)
	assert.Contains(t, consumerTpl.Resources("AWS::S3::Bucket"), "InboxBucket1EDE8E4F")
	assert.Contains(t, consumerTpl.Resources("AWS::Events::EventBus"), "HandoffBus00D0B021")
}

// BenchmarkSynth_ExampleApp measures what `cdk synth` spends in the app: the
// producer and two consumer stacks, with cdk-nag.
func BenchmarkSynth_ExampleApp(b *testing.B) {
	d, err := config.Load("")
	require.NoError(b, err)
	for b.Loop() {
		app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(b.TempDir())})
		stacks.NewApp(app, d)
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(nil), nil)
		app.Synth(nil)
	}
}

// allTemplates synthesizes every stack of app.
func allTemplates(t *testing.T, app *stacks.App) map[string]cdktest.Template {
	out := map[string]cdktest.Template{*app.Producer.Stack.StackName(): cdktest.Synth(t, app.Producer.Stack)}
	for _, c := range app.Consumers {
		out[*c.Stack.StackName()] = cdktest.Synth(t, c.Stack)
	}
	return out
}

func TestApp_EventArchivesNameNoEmptyKmsKey(t *testing.T) {
	// CDK renders KmsKeyIdentifier "" without a key; some regions fail the
	// deploy on it (aws/aws-cdk#37847). Absent, or a real key, only.
	archives := 0
	for name, tpl := range allTemplates(t, exampleApp(t)) {
		for id, r := range tpl.Resources("AWS::Events::Archive") {
			archives++
			key, present := r["Properties"].(map[string]any)["KmsKeyIdentifier"]
			if present {
				assert.NotEqual(t, "", key, "%s %s", name, id)
			}
		}
	}
	assert.Positive(t, archives)
}

func TestApp_IntrinsicFunctionsUseNoQuotedBracketPaths(t *testing.T) {
	// `'` is reserved inside intrinsic functions (Step Functions guide,
	// intrinsic functions): $.detail['execution-id'] belongs in a plain path.
	calls := 0
	for name, tpl := range allTemplates(t, exampleApp(t)) {
		for id, def := range tpl.RawDefinitions(t) {
			for path, call := range cdktest.Intrinsics(def) {
				calls++
				assert.NotContains(t, call, "['", "%s %s%s", name, id, path)
			}
		}
	}
	assert.Positive(t, calls)
}

func TestApp_NoRetrierIsShadowedByAnEarlierOne(t *testing.T) {
	// GIVEN every state machine of the example app
	app := exampleApp(t)
	for _, stack := range allStacks(app) {
		tpl := cdktest.Synth(t, stack)
		for id := range tpl.Resources("AWS::StepFunctions::StateMachine") {
			// THEN no retrier with MaxAttempts 0 hides a later one: a task
			// meant to retry transient errors really does.
			assert.Empty(t, tpl.StateMachineDefinition(t, id).ShadowedRetriers(), "%s %s", *stack.StackName(), id)
		}
	}
}

func TestApp_FilterJobRetriesStartErrorsButNotAFailedRun(t *testing.T) {
	app := exampleApp(t)
	tpl := cdktest.Synth(t, app.Consumers[0].Stack)
	job := tpl.StateMachineDefinition(t, "Orchestration").States["RunFilterJob"]
	require.Len(t, job.Retry, 1)
	retried := cdktest.JSON(job.Retry[0]["ErrorEquals"])
	for _, e := range []string{"Glue.ThrottlingException", "Glue.InternalServiceException", "Glue.ConcurrentRunsExceededException", "Glue.OperationTimeoutException"} {
		assert.Contains(t, retried, `"`+e+`"`)
	}
	assert.NotContains(t, retried, "States.", "a failed run (States.TaskFailed) must go to the Catch, not be run again")
	assert.Equal(t, "FULL", job.Retry[0]["JitterStrategy"])
	assert.Greater(t, job.Retry[0]["MaxAttempts"].(float64), 1.0)
}

// allStacks lists the producer and consumer stacks of an app.
func allStacks(app *stacks.App) []awscdk.Stack {
	out := []awscdk.Stack{app.Producer.Stack}
	for _, c := range app.Consumers {
		out = append(out, c.Stack)
	}
	return out
}

// statements returns the policy statements of the topic policy that covers topicID.
func topicStatements(t *testing.T, tpl cdktest.Template, topicID string) []map[string]any {
	t.Helper()
	for _, p := range tpl.Resources("AWS::SNS::TopicPolicy") {
		props := p["Properties"].(map[string]any)
		if !strings.Contains(cdktest.JSON(props["Topics"]), `"Ref":"`+topicID+`"`) {
			continue
		}
		var out []map[string]any
		for _, s := range props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			out = append(out, s.(map[string]any))
		}
		return out
	}
	t.Fatalf("no topic policy for %s", topicID)
	return nil
}

func TestApp_EveryAlarmTopicLetsThisAccountsAlarmsPublishOverHTTPSOnly(t *testing.T) {
	app := exampleApp(t)
	for _, stack := range allStacks(app) {
		tpl := cdktest.Synth(t, stack)
		account := *stack.Account()
		alarms := tpl.Resources("AWS::CloudWatch::Alarm")
		require.NotEmpty(t, alarms)
		for alarmID, alarm := range alarms {
			actions := alarm["Properties"].(map[string]any)["AlarmActions"].([]any)
			require.NotEmpty(t, actions, "%s has no action", alarmID)
			for _, action := range actions {
				if arn, forwarded := action.(string); forwarded {
					// the configured central topic: its policy is its owner's
					assert.True(t, strings.HasPrefix(arn, "arn:aws:sns:"), "%s: %v", alarmID, arn)
					continue
				}
				topicID := action.(map[string]any)["Ref"].(string)
				var allow, deny bool
				for _, s := range topicStatements(t, tpl, topicID) {
					switch {
					case s["Effect"] == "Deny":
						// THEN the HTTPS-only Deny stays ...
						deny = cdktest.JSON(s["Condition"]) == `{"Bool":{"aws:SecureTransport":"false"}}` && s["Action"] == "sns:Publish"
					case cdktest.JSON(s["Principal"]) == `{"Service":"cloudwatch.amazonaws.com"}`:
						// ... and CloudWatch may publish, for this account's alarms only.
						assert.Equal(t, "sns:Publish", s["Action"])
						cond := s["Condition"].(map[string]any)
						assert.Equal(t, account, cond["StringEquals"].(map[string]any)["aws:SourceAccount"])
						assert.Equal(t, fmt.Sprintf(`{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":cloudwatch:%s:%s:alarm:*"]]}`, *stack.Region(), account),
							cdktest.JSON(cond["ArnLike"].(map[string]any)["aws:SourceArn"]))
						allow = true
					}
				}
				assert.True(t, deny, "%s %s: HTTPS-only Deny missing", *stack.StackName(), topicID)
				assert.True(t, allow, "%s %s: nothing lets %s publish", *stack.StackName(), topicID, alarmID)
			}
		}
	}
}

func TestApp_FailedExecutionAlarmsFillMissingPointsWithZero(t *testing.T) {
	app := exampleApp(t)
	for _, stack := range allStacks(app) {
		tpl := cdktest.Synth(t, stack)
		for id, alarm := range tpl.Resources("AWS::CloudWatch::Alarm") {
			if !strings.Contains(id, "FailedExecutionsAlarm") {
				continue
			}
			var expression string
			var ids []string
			for _, m := range alarm["Properties"].(map[string]any)["Metrics"].([]any) {
				metric := m.(map[string]any)
				if e, ok := metric["Expression"].(string); ok {
					expression = e
				} else {
					ids = append(ids, metric["Id"].(string))
				}
			}
			// THEN one failed execution alone breaches: every sparse metric is filled.
			require.Len(t, ids, 3)
			for _, metricID := range ids {
				assert.Contains(t, expression, "FILL("+metricID+", 0)", "%s %s", *stack.StackName(), id)
			}
		}
	}
}

func TestApp_LogGroupsAreVendedLogsAndUniquePerAccount(t *testing.T) {
	// GIVEN two consumers in one account
	d, err := config.Load("")
	require.NoError(t, err)
	d.Consumers[1].Account = d.Consumers[0].Account
	app := stacks.NewApp(awscdk.NewApp(nil), d)
	seen := map[string]string{}
	for _, stack := range allStacks(app) {
		for id, lg := range cdktest.Synth(t, stack).Resources("AWS::Logs::LogGroup") {
			name, _ := lg["Properties"].(map[string]any)["LogGroupName"].(string)
			// THEN every log group has a fixed name under /aws/vendedlogs/states/ ...
			assert.True(t, strings.HasPrefix(name, "/aws/vendedlogs/states/"), "%s %s: %q", *stack.StackName(), id, name)
			// ... that no other stack of the account uses.
			key := *stack.Account() + " " + name
			assert.NotContains(t, seen, key, "%s %s and %s", name, seen[key], *stack.StackName())
			seen[key] = *stack.StackName()
		}
	}
}

func TestApp_EveryStackNamesWhoGetsItsAlarms(t *testing.T) {
	// GIVEN the example: producer and sales subscribe an e-mail, partners forwards to a topic
	app := exampleApp(t)
	for _, stack := range allStacks(app) {
		tpl := cdktest.Synth(t, stack)
		// THEN every stack outputs its alarm topic, for a central subscriber ...
		outputs, _ := tpl["Outputs"].(map[string]any)
		assert.Contains(t, outputs, "AlarmTopicArn", *stack.StackName())
	}
	emails := func(s awscdk.Stack) string {
		return cdktest.JSON(cdktest.Synth(t, s).Resources("AWS::SNS::Subscription"))
	}
	// ... an e-mail from config is subscribed ...
	assert.Contains(t, emails(app.Producer.Stack), `"Endpoint":"data-platform@example.com","Protocol":"email"`)
	assert.Contains(t, emails(app.Consumers[0].Stack), `"Endpoint":"sales-ops@example.com","Protocol":"email"`)
	// ... and a topic from config receives every alarm of its stack.
	partners := cdktest.Synth(t, app.Consumers[1].Stack)
	alarms := partners.Resources("AWS::CloudWatch::Alarm")
	require.Len(t, alarms, 8, "orchestration failures, rejected rows, quarantined rows, unprocessed-run check and its failures, no load, two dead-letter queues")
	for id, a := range alarms {
		assert.Contains(t, cdktest.JSON(a["Properties"].(map[string]any)["AlarmActions"]), `"arn:aws:sns:eu-west-1:333333333333:on-call"`, id)
	}
}

func TestProducer_MarketoFlowIsCreatedAfterTheRuleAndHandoffItFeeds(t *testing.T) {
	app := exampleApp(t)
	tpl := cdktest.Synth(t, app.Producer.Stack)
	var dependsOn string
	for _, f := range tpl.Resources("AWS::AppFlow::Flow") {
		dependsOn = cdktest.JSON(f["DependsOn"])
	}
	for _, prefix := range []string{"HandoffTriggerRule", "HandoffStateMachine3F94A4FA"} {
		assert.Contains(t, dependsOn, prefix)
	}
}

func TestApp_LandingAndInboxAreWatchedForRunsLeftBehind(t *testing.T) {
	app := exampleApp(t)
	watched := map[string]string{
		*app.Producer.Stack.StackName():     "landing/",
		*app.Consumers[0].Stack.StackName(): "inbox/",
		*app.Consumers[1].Stack.StackName(): "inbox/",
	}
	checks := map[string]string{
		*app.Producer.Stack.StackName():     pipeline.MissedRunID,
		*app.Consumers[0].Stack.StackName(): pipeline.UnprocessedID,
		*app.Consumers[1].Stack.StackName(): pipeline.UnprocessedID,
	}
	for _, stack := range allStacks(app) {
		tpl := cdktest.Synth(t, stack)
		var found bool
		for _, a := range tpl.Resources("AWS::CloudWatch::Alarm") {
			props := a["Properties"].(map[string]any)
			if props["MetricName"] == "StaleObjects" {
				found = true
				assert.Contains(t, cdktest.JSON(props["Dimensions"]), `{"Name":"Prefix","Value":"`+watched[*stack.StackName()]+`"}`)
				start := tpl.StateMachineDefinition(t, checks[*stack.StackName()]).States["StartCheck"]
				assert.Contains(t, cdktest.JSON(start.Raw), "- 86400000", "default age: one day")
			}
		}
		assert.True(t, found, "%s has no stale-objects alarm", *stack.StackName())
	}
}
