package stacks_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/leadbridge/leadbridge/config"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/leadbridge/leadbridge/stacks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sameAccountConfig has two consumers in one account, as a dev and a prod
// Salesforce org of one sales team would.
const sameAccountConfig = "../config/testdata/two-consumers-one-account.json"

// exampleApp synthesizes the example config (two consumers) with cdk-nag.
func exampleApp(t *testing.T) *stacks.App {
	return appOf(t, "")
}

// appOf synthesizes the config at path ("" for the example) with cdk-nag.
func appOf(t *testing.T, path string) *stacks.App {
	d, err := config.Load(path)
	require.NoError(t, err)
	app := awscdk.NewApp(nil)
	out := stacks.NewApp(app, d, "../glue-scripts/filter_leads.py")
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(nil), nil)
	return out
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
	all := []awscdk.Stack{app.Producer.Stack}
	for _, c := range app.Consumers {
		all = append(all, c.Stack)
	}
	for _, stack := range all {
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
		stacks.NewApp(app, d, "../glue-scripts/filter_leads.py")
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
	all := []awscdk.Stack{app.Producer.Stack}
	for _, c := range app.Consumers {
		all = append(all, c.Stack)
	}
	for _, stack := range all {
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
