package pipeline_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/constructs/pipeline"
	"github.com/leadbridge/leadbridge/constructs/producer"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newStack() awscdk.Stack {
	return cdktest.EnvStack(nil, "Marketing", "111111111111")
}

var twoConsumers = []*producer.ConsumerTarget{
	producer.NewConsumerTarget("leadbridge", "sales", "222222222222", "eu-west-1"),
	producer.NewConsumerTarget("leadbridge", "partners", "333333333333", "eu-west-1"),
}

func TestProducer_BuildsTheWholeProducerFromTheRequiredPropsAlone(t *testing.T) {
	// GIVEN only the Marketo connection and the consumers
	stack := newStack()
	marketing := pipeline.NewProducer(stack, jsii.String("Marketing"), &pipeline.ProducerProps{
		MarketoConnectorProfile: jsii.String("marketo"), Consumers: &twoConsumers,
	})
	// WHEN synthesized
	tpl := cdktest.Synth(t, stack)
	// THEN the fixed names consumers rely on are there, with every part exported
	assert.Equal(t, "leadbridge-marketo-leads", tpl.Only(t, "AWS::AppFlow::Flow")["FlowName"])
	assert.Contains(t, cdktest.JSON(tpl.Resources("AWS::IAM::Role")), `"RoleName":"leadbridge-handoff"`)
	for name, part := range map[string]any{
		"Landing": marketing.Landing, "LandingBucket": marketing.LandingBucket, "MarketoFlow": marketing.MarketoFlow, "Handoff": marketing.Handoff,
		"HandoffRole": marketing.HandoffRole, "HandoffStateMachine": marketing.HandoffStateMachine, "Completion": marketing.Completion,
		"MissedRun": marketing.MissedRun, "Monitoring": marketing.Monitoring, "AlarmTopic": marketing.AlarmTopic,
	} {
		assert.NotNil(t, part, name)
	}
}

func TestProducer_LetsAppFlowWriteToAnExistingLandingBucket(t *testing.T) {
	// GIVEN the app's own bucket
	stack := newStack()
	own := awss3.NewBucket(stack, jsii.String("DataLake"), &awss3.BucketProps{EnforceSSL: jsii.Bool(true)})
	marketing := pipeline.NewProducer(stack, jsii.String("Marketing"), &pipeline.ProducerProps{
		MarketoConnectorProfile: jsii.String("marketo"), Consumers: &twoConsumers, ExistingLandingBucket: own,
	})
	tpl := cdktest.Synth(t, stack)
	// THEN no bucket is created, the flow writes to it, and its policy admits this account's AppFlow
	assert.Nil(t, marketing.Landing)
	assert.Len(t, tpl.Resources("AWS::S3::Bucket"), 1)
	policy := cdktest.JSON(tpl.Resources("AWS::S3::BucketPolicy"))
	assert.Contains(t, policy, `"Sid":"AppFlowWritesLanding"`)
	assert.Contains(t, policy, `"aws:SourceAccount":"111111111111"`)
}

func TestProducer_ReportsEveryBadPropInOneError(t *testing.T) {
	stack := newStack()
	err := cdktest.Recover(func() {
		pipeline.NewProducer(stack, jsii.String("Marketing"), &pipeline.ProducerProps{
			Project: jsii.String("Lead Bridge"), StaleAfter: awscdk.Duration_Days(jsii.Number(60)), Schedule: jsii.String("rate(15minutes)"),
			ExistingLandingBucket: awss3.Bucket_FromBucketName(stack, jsii.String("Imported"), jsii.String("lake")),
		})
	})
	require.Error(t, err)
	assert.Equal(t, `pipeline.Producer: MarketoConnectorProfile is required
Project must be 2 to 20 lowercase letters, digits or hyphens, starting with a letter, got "Lead Bridge"
ExistingLandingBucket must be an awss3.Bucket defined in this app, got an imported bucket: its policy cannot take the statements the pipeline needs
Consumers must list at least one consumer, got none
StaleAfter must be from 1 to 720 hours, got 1440
Schedule must be at least rate(1hours): Marketo flows run at most hourly, got "rate(15minutes)"`, err.Error())
}
