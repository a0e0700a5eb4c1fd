package s3steps_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/leadbridge/leadbridge/internal/s3steps"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestForEachObject_WritesItsResultsWhateverTheAppSaysOfResultWriterV2(t *testing.T) {
	for _, flag := range []any{false, true, nil} {
		// GIVEN an app that sets useDistributedMapResultWriterV2 off, on, or not at all
		context := map[string]any{}
		if flag != nil {
			context[s3steps.ResultWriterV2Flag] = flag
		}
		app := awscdk.NewApp(&awscdk.AppProps{Context: &context})
		stack := cdktest.EnvStack(app, "Test", "111111111111")
		bucket := awss3.NewBucket(stack, jsii.String("Bucket"), nil)
		// WHEN a state machine goes through a prefix with ForEachObject
		each := s3steps.ForEachObject(stack, "EachObject", bucket, "$.run.prefix", "$.map", 10, s3steps.Done(stack, "Done"))
		sfn.NewStateMachine(stack, jsii.String("Machine"), &sfn.StateMachineProps{
			DefinitionBody: sfn.DefinitionBody_FromChainable(each),
		})
		// THEN the map writes its results under map-results/
		def := cdktest.Synth(t, stack).StateMachineDefinition(t, "Machine")
		writer, ok := def.All()["EachObject"].Raw["ResultWriter"].(map[string]any)
		require.True(t, ok, "no ResultWriter with the flag %v", flag)
		assert.Contains(t, writer["Resource"], ":states:::s3:putObject", "flag %v", flag)
		assert.Equal(t, "map-results/", writer["Parameters"].(map[string]any)["Prefix"], "flag %v", flag)
	}
}
