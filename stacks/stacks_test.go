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

// exampleApp synthesizes the example config (two consumers) with cdk-nag.
func exampleApp(t *testing.T) *stacks.App {
	d, err := config.Load("")
	require.NoError(t, err)
	app := awscdk.NewApp(nil)
	out := stacks.NewApp(app, d, "../glue-scripts/filter_leads.py")
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(nil), nil)
	return out
}

func TestApp_ProducerTargetsAreTheConsumersResources(t *testing.T) {
	// GIVEN the example config with two consumers
	app := exampleApp(t)
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
		// ... puts events on this consumer's bus ...
		busName := tpl.Only(t, "AWS::Events::EventBus")["Name"].(string)
		busArn := fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", *c.Stack.Region(), *c.Stack.Account(), busName)
		assert.Contains(t, producerPolicies, busArn)
		// ... and the consumer trusts exactly the producer's role.
		assert.Contains(t, cdktest.JSON(tpl.Resources("AWS::S3::BucketPolicy")), `"aws:PrincipalArn":"`+roleArn+`"`)
		assert.Contains(t, cdktest.JSON(tpl.Resources("AWS::Events::EventBusPolicy")), `"aws:PrincipalArn":"`+roleArn+`"`)
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
