package pipeline_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/constructs/pipeline"
	"github.com/leadbridge/leadbridge/constructs/producer"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newProducer builds a producer in account 111111111111, eu-west-1, for consumers.
func newProducer(stack awscdk.Stack, consumers ...*producer.ConsumerTarget) error {
	return cdktest.Recover(func() {
		pipeline.NewProducer(stack, jsii.String("Marketing"), &pipeline.ProducerProps{
			MarketoConnectorProfile: jsii.String("marketo"), Consumers: &consumers,
		})
	})
}

func TestProducer_RefusesAConsumerInItsOwnAccount(t *testing.T) {
	err := newProducer(newStack(), producer.NewConsumerTarget("leadbridge", "sales", "111111111111", "eu-west-1"))
	require.Error(t, err)
	assert.Equal(t, "pipeline.Producer: Consumers[0] (sales) is in account 111111111111, the producer's own: deploy each consumer to another account than the producer", err.Error())
}

func TestProducer_RefusesAConsumerInAnotherRegion(t *testing.T) {
	err := newProducer(newStack(), producer.NewConsumerTarget("leadbridge", "sales", "222222222222", "us-east-1"))
	require.Error(t, err)
	assert.Equal(t, "pipeline.Producer: Consumers[0] (sales) is in region us-east-1, the producer's is eu-west-1: the hand-off copies and announces within one region, deploy the consumer to eu-west-1", err.Error())
}

func TestProducer_RefusesTwoConsumersWithOneName(t *testing.T) {
	// GIVEN two consumers named sales, in two accounts: the hand-off names its states after them
	err := newProducer(newStack(),
		producer.NewConsumerTarget("leadbridge", "sales", "222222222222", "eu-west-1"),
		producer.NewConsumerTarget("leadbridge", "sales", "333333333333", "eu-west-1"))
	require.Error(t, err)
	assert.Equal(t, `pipeline.Producer: Consumers[1].Name "sales" is already used by Consumers[0]: give each consumer its own name`, err.Error())
}

func TestProducer_NeedsAStackWithAnExplicitEnvironment(t *testing.T) {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Agnostic"), nil)
	err := newProducer(stack, twoConsumers...)
	require.Error(t, err)
	assert.Equal(t, "pipeline.Producer: the stack Agnostic must have an explicit env (awscdk.StackProps.Env with Account and Region): the pipeline's names carry them", err.Error())
	assert.Empty(t, *stack.Node().Children(), "nothing was created")
}

func TestProducer_AdmitsAppFlowToTheKeyOfAnExistingKmsLandingBucket(t *testing.T) {
	// GIVEN the app's own bucket under the app's own KMS key
	stack := newStack()
	lake := awss3.NewBucket(stack, jsii.String("DataLake"), &awss3.BucketProps{Encryption: awss3.BucketEncryption_KMS})
	// WHEN it is the landing bucket
	pipeline.NewProducer(stack, jsii.String("Marketing"), &pipeline.ProducerProps{
		MarketoConnectorProfile: jsii.String("marketo"), Consumers: &twoConsumers, ExistingLandingBucket: lake,
	})
	// THEN its key policy admits AppFlow for this account, through S3
	keys := cdktest.JSON(cdktest.Synth(t, stack).Resources("AWS::KMS::Key"))
	assert.Contains(t, keys, `"Sid":"AppFlowWritesLanding"`)
	assert.Contains(t, keys, `"aws:SourceAccount":"111111111111"`)
	assert.Contains(t, keys, `"kms:ViaService":"s3.eu-west-1.amazonaws.com"`)
}

func TestProducer_RefusesALandingBucketUnderAnImportedKey(t *testing.T) {
	stack := newStack()
	key := awskms.Key_FromKeyArn(stack, jsii.String("LakeKey"), jsii.String("arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"))
	lake := awss3.NewBucket(stack, jsii.String("DataLake"), &awss3.BucketProps{Encryption: awss3.BucketEncryption_KMS, EncryptionKey: key})
	err := cdktest.Recover(func() {
		pipeline.NewProducer(stack, jsii.String("Marketing"), &pipeline.ProducerProps{
			MarketoConnectorProfile: jsii.String("marketo"), Consumers: &twoConsumers, ExistingLandingBucket: lake,
		})
	})
	require.Error(t, err)
	assert.Equal(t, "pipeline.Producer: ExistingLandingBucket must be encrypted with SSE-S3 or an awskms.Key defined in this app, got the imported key Marketing/LakeKey: its key policy cannot take the statements the pipeline needs", err.Error())
}

func TestConsumer_RefusesTheProducersAccountAsItsOwn(t *testing.T) {
	props := requiredOnly()
	props.ProducerAccount = jsii.String("222222222222")
	err := cdktest.Recover(func() { pipeline.NewConsumer(salesStack(awscdk.NewApp(nil)), jsii.String("Sales"), props) })
	require.Error(t, err)
	assert.Equal(t, `pipeline.Consumer: ProducerAccount "222222222222" is this stack's own account: deploy the consumer to another account than the producer`, err.Error())
}

func TestConsumer_RefusesANameAnotherConsumerOfTheAccountHasAnywhereInTheApp(t *testing.T) {
	// GIVEN a consumer named sales in account 222222222222
	app := awscdk.NewApp(nil)
	pipeline.NewConsumer(salesStack(app), jsii.String("Sales"), requiredOnly())
	// WHEN another stack of that account and region adds one of the same name
	other := awscdk.NewStack(app, jsii.String("SalesAgain"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("222222222222"), Region: jsii.String("eu-west-1")},
	})
	err := cdktest.Recover(func() { pipeline.NewConsumer(other, jsii.String("Leads"), requiredOnly()) })
	// THEN the synth stops: the two would share a bus, a job and flows by name
	require.Error(t, err)
	assert.Equal(t, `pipeline.Consumer: Name "sales" is already used by the consumer under Sales/Sales in account 222222222222 and region eu-west-1: give each consumer of an account its own name`, err.Error())
	// AND the same name in another region, or in another app, is fine
	elsewhere := awscdk.NewStack(app, jsii.String("SalesUS"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("222222222222"), Region: jsii.String("us-east-1")},
	})
	assert.NoError(t, cdktest.Recover(func() { pipeline.NewConsumer(elsewhere, jsii.String("Leads"), requiredOnly()) }))
	assert.NoError(t, cdktest.Recover(func() { pipeline.NewConsumer(salesStack(awscdk.NewApp(nil)), jsii.String("Sales"), requiredOnly()) }))
}

func TestConsumer_NamesOnlyThePropsTheUserSetWrong(t *testing.T) {
	// GIVEN a bad producer account and no HandoffRoleArn (it is derived from the account)
	props := requiredOnly()
	props.ProducerAccount = jsii.String("1111")
	err := cdktest.Recover(func() { pipeline.NewConsumer(salesStack(awscdk.NewApp(nil)), jsii.String("Sales"), props) })
	require.Error(t, err)
	assert.Equal(t, `pipeline.Consumer: ProducerAccount must be a 12-digit AWS account id, got "1111"`, err.Error())
}

func TestPropsError_IsPublicForErrorsAs(t *testing.T) {
	err := cdktest.Recover(func() { pipeline.NewConsumer(salesStack(awscdk.NewApp(nil)), jsii.String("Sales"), nil) })
	var propsErr *pipeline.PropsError
	require.True(t, errors.As(err, &propsErr), "%T", err)
	assert.Equal(t, "pipeline.Consumer", propsErr.Construct)
}
